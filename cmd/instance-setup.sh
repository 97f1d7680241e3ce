#!/bin/sh
# instance-setup: make or update (idempotently) a pipemail instance: the
# directories, etc/me and etc/domains, and the s6 service directories
# instantiated from the templates. See instance-setup(8).
PROG=instance-setup
USAGE="instance-setup [-r ROOT] [-b BINDIR] [-s SMTPPORT] [-i IP] [-u USER] [-d DOMAIN] [-m ME] [-t TEMPLATES]"

fatal() { echo "$PROG: fatal: $*" >&2; exit 111; }
bad() { echo "$PROG: fatal: $*" >&2; exit 100; }
usage() { echo "$PROG: usage: $USAGE" >&2; exit 100; }
info() { echo "$PROG: info: $*" >&2; }

# Values go into run scripts through sed and sh: allow only plain characters.
check_path() { # what value
  case $2 in /*) ;; *) bad "$1 must be an absolute path: $2" ;; esac
  case $2 in *[!A-Za-z0-9._/+,~:=-]*) bad "$1 has unsupported characters: $2" ;; esac
}

here=$(cd "$(dirname "$0")" && pwd) || fatal "unable to find my own directory"
root=${PIPEMAIL_ROOT:-/var/pipemail} bindir=$here port=25 ip=0.0.0.0 user='' domain='' me='' templates=''
while getopts :r:b:s:i:u:d:m:t: opt; do
  case $opt in
  r) root=$OPTARG ;; b) bindir=$OPTARG ;; s) port=$OPTARG ;; i) ip=$OPTARG ;;
  u) user=$OPTARG ;; d) domain=$OPTARG ;; m) me=$OPTARG ;; t) templates=$OPTARG ;;
  *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

root=${root%/} bindir=${bindir%/}
check_path ROOT "$root"
check_path BINDIR "$bindir"
[ -n "${root#/}" ] || bad "ROOT must not be /"
case $port in '' | *[!0-9]* | 0*) bad "bad port: $port" ;; esac
[ "$port" -le 65535 ] || bad "bad port: $port"
case $ip in '' | *[!0-9A-Fa-f.:]*) bad "bad IP address: $ip" ;; esac
case $user in *[!a-z0-9_-]* | -*) bad "bad user name: $user" ;; esac
domain=$(printf '%s' "$domain" | tr '[:upper:]' '[:lower:]')
case $domain in *[!a-z0-9.-]* | .* | *..* ) bad "bad domain: $domain" ;; esac
case $me in *[!A-Za-z0-9.-]* | .*) bad "bad host name: $me" ;; esac

# Templates: -t, installed (PREFIX/share/pipemail/services beside
# PREFIX/bin), or the source tree (build/bin/../../services).
if [ -z "$templates" ]; then
  for d in "$bindir/../share/pipemail/services" "$here/../share/pipemail/services" "$here/../../services"; do
    [ -f "$d/smtp/run" ] && { templates=$d; break; }
  done
  [ -n "$templates" ] || fatal "unable to find the service templates: use -t"
fi
[ -d "$templates" ] || fatal "unable to find the service templates: $templates"

# Who runs what. Started as root without -u: dedicated system users,
# created here; the receiver and the queue share the group pipemail
# (queue files are 0640, queue directories 0770). Otherwise all is USER's.
uid=$(id -u)
if [ -n "$user" ]; then
  id -u "$user" >/dev/null 2>&1 || fatal "no such user: $user"
  smtpuser=$user queueuser=$user loguser=$user group=$(id -gn "$user")
elif [ "$uid" = 0 ]; then
  smtpuser=pmsmtp queueuser=pmqueue loguser=pmlog group=pipemail
else
  smtpuser=$(id -un) queueuser=$smtpuser loguser=$smtpuser group=$(id -gn)
fi

if [ "$uid" = 0 ] && [ -z "$user" ]; then
  nologin=/usr/sbin/nologin
  [ -x $nologin ] || nologin=/bin/false
  getent group pipemail >/dev/null || groupadd --system pipemail ||
    fatal "unable to create group pipemail"
  for u in pmsmtp pmqueue pmlog; do
    id -u $u >/dev/null 2>&1 && continue
    if [ $u = pmlog ]; then g=--user-group; else g="--gid pipemail"; fi
    # shellcheck disable=SC2086
    useradd --system $g --no-create-home --home-dir "$root" --shell $nologin \
      --comment "pipemail $u" $u || fatal "unable to create user $u"
    info "user=$u action=created"
  done
fi

umask 022
for d in "$root" "$root/etc" "$root/queue" "$root/mail" "$root/service" "$root/log" \
  "$root/log/smtp" "$root/log/queue"; do
  mkdir -p "$d" || fatal "unable to create $d"
done
chmod 755 "$root" || fatal "unable to chmod $root"

# etc/me: set once (-m replaces it); etc/domains: DOMAIN added once.
if [ -n "$me" ]; then
  printf '%s\n' "$me" > "$root/etc/me.tmp" && mv -f "$root/etc/me.tmp" "$root/etc/me" ||
    fatal "unable to write $root/etc/me"
elif [ ! -s "$root/etc/me" ]; then
  me=$(hostname -f 2>/dev/null) || me=
  case $me in '' | localhost*) me=$(uname -n) ;; esac
  printf '%s\n' "$me" > "$root/etc/me" || fatal "unable to write $root/etc/me"
fi
touch "$root/etc/domains" || fatal "unable to write $root/etc/domains"
if [ -n "$domain" ] && ! grep -qix -- "$domain" "$root/etc/domains"; then
  printf '%s\n' "$domain" >> "$root/etc/domains" || fatal "unable to write $root/etc/domains"
  info "domain=$domain action=added"
fi

# Service directories: template files (re)written atomically, so an
# update is safe under a running s6-svscan; env/ and supervise/ are kept.
subst="s|@ROOT@|$root|g; s|@BINDIR@|$bindir|g; s|@PORT@|$port|g; s|@IP@|$ip|g;
  s|@SMTPUSER@|$smtpuser|g; s|@QUEUEUSER@|$queueuser|g; s|@LOGUSER@|$loguser|g"
for t in "$templates"/*/; do
  name=$(basename "$t")
  dst=$root/service/$name
  (cd "$t" && find . -type d) | while read -r d; do mkdir -p "$dst/$d" || exit 111; done ||
    fatal "unable to create $dst"
  [ -f "$t/run" ] && { mkdir -p "$dst/env" || fatal "unable to create $dst/env"; }
  (cd "$t" && find . -type f) | while read -r f; do
    sed "$subst" "$t/$f" > "$dst/$f.new" &&
      chmod "$(stat -c %a "$t/$f")" "$dst/$f.new" && mv -f "$dst/$f.new" "$dst/$f" || exit 111
  done || fatal "unable to write $dst"
done

# Compile etc/ (users.cdb) when the tools are there.
if [ -x "$bindir/config-make" ]; then
  PIPEMAIL_ROOT=$root "$bindir/config-make" || fatal "config-make failed"
else
  echo "$PROG: warning: $bindir/config-make not found: etc/users.cdb not compiled" >&2
fi

# Ownership, when root: the queue side owns queue/ and mail/, the logger
# log/, the receiver reads etc/ through the group (etc/tls is left alone);
# service/ stays root's.
if [ "$uid" = 0 ]; then
  chown -R "$queueuser:$group" "$root/queue" "$root/mail" &&
    chmod 770 "$root/queue" && chmod 750 "$root/mail" &&
    chown -R "$loguser" "$root/log/smtp" "$root/log/queue" &&
    find "$root/etc" -maxdepth 1 ! -name tls -exec chgrp "$group" {} + -exec chmod g+rX {} + ||
    fatal "unable to set the owners under $root"
fi
info "root=$root smtp=$ip:$port bindir=$bindir users=$smtpuser,$queueuser,$loguser"
exit 0
