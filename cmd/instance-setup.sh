#!/bin/sh
# instance-setup: make or update (idempotently) a pipemail instance: the
# directories, etc/me and etc/domains, a self-signed certificate (-c), and
# the s6 service directories instantiated from the templates.
# See instance-setup(8).
PROG=instance-setup
USAGE="instance-setup [-r ROOT] [-b BINDIR] [-s SMTPPORT] [-M SUBMISSIONPORT] [-S SUBMISSIONSPORT] [-p POP3PORT] [-P POP3SPORT] [-a IMAPPORT] [-A IMAPSPORT] [-R RSPAMDPORT] [-V] [-c] [-i IP] [-u USER] [-d DOMAIN] [-m ME] [-t TEMPLATES]"

fatal() { echo "$PROG: fatal: $*" >&2; exit 111; }
bad() { echo "$PROG: fatal: $*" >&2; exit 100; }
usage() { echo "$PROG: usage: $USAGE" >&2; exit 100; }
info() { echo "$PROG: info: $*" >&2; }

# Values go into run scripts through sed and sh: allow only plain characters.
check_path() { # what value
  case $2 in /*) ;; *) bad "$1 must be an absolute path: $2" ;; esac
  case $2 in *[!A-Za-z0-9._/+,~:=-]*) bad "$1 has unsupported characters: $2" ;; esac
}
check_port() { # what value
  case $2 in '' | *[!0-9]* | 0*) bad "bad $1 port: $2" ;; esac
  [ "$2" -le 65535 ] || bad "bad $1 port: $2"
}

here=$(cd "$(dirname "$0")" && pwd) || fatal "unable to find my own directory"
root=${PIPEMAIL_ROOT:-/var/pipemail} bindir=$here port=25 ip=0.0.0.0 user='' domain='' me='' templates=''
smtpsport='' subport='' popport='' popsport='' imapport='' imapsport='' mkcert='' rspamdport='' verify=''
while getopts :r:b:s:S:M:p:P:a:A:R:Vci:u:d:m:t: opt; do
  case $opt in
  r) root=$OPTARG ;; b) bindir=$OPTARG ;; s) port=$OPTARG ;; i) ip=$OPTARG ;;
  S) smtpsport=$OPTARG ;; M) subport=$OPTARG ;; c) mkcert=1 ;;
  p) popport=$OPTARG ;; P) popsport=$OPTARG ;; a) imapport=$OPTARG ;; A) imapsport=$OPTARG ;;
  R) rspamdport=$OPTARG ;; V) verify=1 ;;
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
check_port SMTP "$port"
if [ -n "$smtpsport" ]; then
  check_port submissions "$smtpsport"
  [ "$smtpsport" != "$port" ] || bad "SMTP and submissions ports are the same: $port"
fi
if [ -n "$subport" ]; then
  check_port submission "$subport"
  [ "$subport" != "$port" ] && [ "$subport" != "$smtpsport" ] ||
    bad "the submission port is the same as another: $subport"
fi
for p in "$popport" "$popsport"; do
  [ -n "$p" ] || continue
  check_port POP3 "$p"
  for q in "$port" "$smtpsport" "$subport"; do
    [ "$p" != "$q" ] || bad "the POP3 port is the same as another: $p"
  done
done
[ -z "$popport" ] || [ "$popport" != "$popsport" ] || bad "the pop3 and pop3s ports are the same: $popport"
if [ -n "$rspamdport" ]; then
  check_port rspamd "$rspamdport"
  for q in "$port" "$smtpsport" "$subport" "$popport" "$popsport" "$imapport" "$imapsport"; do
    [ "$rspamdport" != "$q" ] || bad "the rspamd port is the same as another: $rspamdport"
  done
fi
for p in "$imapport" "$imapsport"; do
  [ -n "$p" ] || continue
  check_port IMAP "$p"
  for q in "$port" "$smtpsport" "$subport" "$popport" "$popsport"; do
    [ "$p" != "$q" ] || bad "the IMAP port is the same as another: $p"
  done
done
[ -z "$imapport" ] || [ "$imapport" != "$imapsport" ] || bad "the imap and imaps ports are the same: $imapport"
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
# (queue files are 0640, queue directories 0770); the TLS engine, after it
# has read the key as root, is pmtls, in a group of its own. Otherwise all
# is USER's.
uid=$(id -u)
if [ -n "$user" ]; then
  id -u "$user" >/dev/null 2>&1 || fatal "no such user: $user"
  smtpuser=$user queueuser=$user loguser=$user tlsuser=$user popuser=$user group=$(id -gn "$user")
elif [ "$uid" = 0 ]; then
  smtpuser=pmsmtp queueuser=pmqueue loguser=pmlog tlsuser=pmtls popuser=pmpop group=pipemail
else
  smtpuser=$(id -un) queueuser=$smtpuser loguser=$smtpuser tlsuser=$smtpuser popuser=$smtpuser group=$(id -gn)
fi

if [ "$uid" = 0 ] && [ -z "$user" ]; then
  nologin=/usr/sbin/nologin
  [ -x $nologin ] || nologin=/bin/false
  getent group pipemail >/dev/null || groupadd --system pipemail ||
    fatal "unable to create group pipemail"
  # pmpop: the client-facing halves of pop3-serve and imap-serve, in a
  # group of its own (they need none of the instance's files)
  for u in pmsmtp pmqueue pmlog pmtls pmpop; do
    id -u $u >/dev/null 2>&1 && continue
    case $u in pmlog | pmtls | pmpop) g=--user-group ;; *) g="--gid pipemail" ;; esac
    # shellcheck disable=SC2086
    useradd --system $g --no-create-home --home-dir "$root" --shell $nologin \
      --comment "pipemail $u" $u || fatal "unable to create user $u"
    info "user=$u action=created"
  done
fi

# -R: rspamd's user, as root: pmspam, in a group of its own (rspamd
# parses what strangers send and needs none of the instance's files).
spamuser=$smtpuser
if [ -n "$rspamdport" ] && [ "$uid" = 0 ] && [ -z "$user" ]; then
  spamuser=pmspam
  if ! id -u pmspam >/dev/null 2>&1; then
    nologin=/usr/sbin/nologin
    [ -x $nologin ] || nologin=/bin/false
    useradd --system --user-group --no-create-home --home-dir "$root/rspamd" --shell $nologin \
      --comment "pipemail rspamd" pmspam || fatal "unable to create user pmspam"
    info "user=pmspam action=created"
  fi
fi

umask 022
logs="$root/log/smtp $root/log/queue"
[ -n "$subport" ] && logs="$logs $root/log/submission"
[ -n "$smtpsport" ] && logs="$logs $root/log/submissions"
[ -n "$popport$popsport" ] && logs="$logs $root/log/pop3"
[ -n "$popsport" ] && logs="$logs $root/log/pop3s"
[ -n "$rspamdport" ] && logs="$logs $root/log/rspamd"
[ -n "$imapport$imapsport" ] && logs="$logs $root/log/imap"
[ -n "$imapsport" ] && logs="$logs $root/log/imaps"
# shellcheck disable=SC2086 # $logs: paths checked by check_path
for d in "$root" "$root/etc" "$root/queue" "$root/mail" "$root/service" "$root/log" $logs; do
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

# -c: a self-signed certificate for ME (EC P-256, 825 days), unless
# etc/tls has one. The key is written mode 600 by whoever runs this: root,
# for the tls-serve that reads it as root and drops to pmtls; else USER.
tls=$root/etc/tls
if [ -n "$mkcert" ]; then
  if [ -e "$tls/cert.pem" ] && [ -e "$tls/key.pem" ]; then
    :
  elif [ -e "$tls/cert.pem" ] || [ -e "$tls/key.pem" ]; then
    fatal "$tls has one of cert.pem and key.pem but not the other: complete or remove it"
  else
    command -v openssl >/dev/null 2>&1 || fatal "-c needs the openssl program (Debian package openssl)"
    cn=$(head -n 1 "$root/etc/me")
    case $cn in '' | *[!A-Za-z0-9.-]* | .*) bad "$root/etc/me is not a host name: $cn" ;; esac
    mkdir -p "$tls" && chmod 755 "$tls" || fatal "unable to create $tls"
    rm -f "$tls/key.pem.new" "$tls/cert.pem.new"
    out=$(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -days 825 -subj "/CN=$cn" -addext "subjectAltName=DNS:$cn" \
      -keyout "$tls/key.pem.new" -out "$tls/cert.pem.new" 2>&1) || {
      printf '%s\n' "$out" >&2
      fatal "openssl req failed"
    }
    chmod 600 "$tls/key.pem.new" && chmod 644 "$tls/cert.pem.new" &&
      mv -f "$tls/key.pem.new" "$tls/key.pem" && mv -f "$tls/cert.pem.new" "$tls/cert.pem" ||
      fatal "unable to write $tls/cert.pem and key.pem"
    info "cert=$tls/cert.pem key=$tls/key.pem cn=$cn action=created"
  fi
fi

# rspamd.conf: the package's defaults, then the instance's own settings
# (ROOT/etc/rspamd/local.d, override.d: the admin's, never written here),
# a scanner on 127.0.0.1:RSPAMDPORT, logs to stderr (s6-log). Rewritten
# at every run; the run script points $LOCAL_CONFDIR, $DBDIR and $RUNDIR
# into the instance.
setup_rspamd() {
  conf=$root/etc/rspamd
  mkdir -p "$conf/local.d" "$conf/override.d" "$root/rspamd" || fatal "unable to create $conf and $root/rspamd"
  cat > "$conf/rspamd.conf.new" <<EOF || fatal "unable to write $conf/rspamd.conf"
# rspamd for the pipemail instance $root, written by instance-setup(8):
# changes here are lost at its next run; put yours in local.d/ and
# override.d/ beside this file (as in /etc/rspamd, which is not read).
.include "\$CONFDIR/common.conf"
options {
  pidfile = "\$RUNDIR/rspamd.pid";
  .include "\$CONFDIR/options.inc"
  .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
  .include(try=true; priority=10) "\$LOCAL_CONFDIR/override.d/options.inc"
}
logging {
  type = "console";
  level = "notice";
  color = false;
  .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/logging.inc"
  .include(try=true; priority=10) "\$LOCAL_CONFDIR/override.d/logging.inc"
}
worker "normal" {
  bind_socket = "127.0.0.1:$rspamdport";
  count = 1;
  .include "\$CONFDIR/worker-normal.inc"
  .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/worker-normal.inc"
  .include(try=true; priority=10) "\$LOCAL_CONFDIR/override.d/worker-normal.inc"
}
EOF
  # -V: auth-verify has checked SPF, DKIM and DMARC before spam-check and
  # acted on DMARC; rspamd 3.4 cannot score an upstream
  # Authentication-Results, so its own checks are off (not redone).
  if [ -n "$verify" ]; then
    # shellcheck disable=SC2016 # $LOCAL_CONFDIR is rspamd's, not ours
    printf '%s\n' '.include(priority=5,duplicate=merge) "$LOCAL_CONFDIR/auth-verify.inc"' >> "$conf/rspamd.conf.new" &&
      printf '%s\n' '# written by instance-setup(8) -V: auth-verify(8) does these checks' \
        'spf { enabled = false; }' 'dkim { enabled = false; }' 'dmarc { enabled = false; }' > "$conf/auth-verify.inc" ||
      fatal "unable to write $conf/auth-verify.inc"
  fi
  mv -f "$conf/rspamd.conf.new" "$conf/rspamd.conf" || fatal "unable to write $conf/rspamd.conf"
  env=$root/service/smtp/env
  mkdir -p "$env" || fatal "unable to create $env"
  # someone else's filter chain is left alone
  if [ -s "$env/QUEUE_INJECT" ] && ! grep -q -e '/spam-check$' -e '/auth-verify$' -e '/smtp/chain$' "$env/QUEUE_INJECT"; then
    echo "$PROG: warning: $env/QUEUE_INJECT names another filter: spam-check not put in the chain (spam-check(8))" >&2
  else
    printf '%s\n' "$bindir/spam-check" > "$env/QUEUE_INJECT.new" && mv -f "$env/QUEUE_INJECT.new" "$env/QUEUE_INJECT" ||
      fatal "unable to write $env/QUEUE_INJECT"
  fi
  printf '127.0.0.1:%s\n' "$rspamdport" > "$env/RSPAMD.new" && mv -f "$env/RSPAMD.new" "$env/RSPAMD" ||
    fatal "unable to write $env/RSPAMD"
  command -v rspamd >/dev/null 2>&1 ||
    echo "$PROG: warning: no rspamd program (Debian package rspamd): the rspamd service stays down and spam-check passes mail on unchecked until it is installed" >&2
}

# Service directories: template files (re)written atomically, so an
# update is safe under a running s6-svscan; env/ and supervise/ are kept.
# submission only with -M, submissions only with -S; one made before is
# then left as it is, and so is the smtps service of older versions
# (submissions replaces it).
subst="s|@ROOT@|$root|g; s|@BINDIR@|$bindir|g; s|@PORT@|$port|g; s|@IP@|$ip|g;
  s|@SUBMISSIONSPORT@|$smtpsport|g; s|@SUBMISSIONPORT@|$subport|g; s|@SMTPUSER@|$smtpuser|g; s|@QUEUEUSER@|$queueuser|g;
  s|@LOGUSER@|$loguser|g; s|@TLSUSER@|$tlsuser|g; s|@POP3PORT@|$popport|g; s|@POP3SPORT@|$popsport|g;
  s|@POPUSER@|$popuser|g; s|@IMAPPORT@|$imapport|g; s|@IMAPSPORT@|$imapsport|g"
subst="$subst; s|@SPAMUSER@|$spamuser|g"
for t in "$templates"/*/; do
  name=$(basename "$t")
  dst=$root/service/$name
  if [ "$name" = rspamd ] && [ -z "$rspamdport" ]; then
    [ -d "$dst" ] && info "service=rspamd action=kept (no -R; to remove it: s6-svc -dx $dst, then rm -r $dst, and remove QUEUE_INJECT and RSPAMD from $root/service/smtp/env)"
    continue
  fi
  if { [ "$name" = submissions ] && [ -z "$smtpsport" ]; } || { [ "$name" = submission ] && [ -z "$subport" ]; } ||
     { [ "$name" = pop3 ] && [ -z "$popport$popsport" ]; } || { [ "$name" = pop3s ] && [ -z "$popsport" ]; } ||
     { [ "$name" = imap ] && [ -z "$imapport$imapsport" ]; } || { [ "$name" = imaps ] && [ -z "$imapsport" ]; }; then
    [ -d "$dst" ] && info "service=$name action=kept (not asked for; to remove it: s6-svc -dx $dst, then rm -r $dst)"
    continue
  fi
  (cd "$t" && find . -type d) | while read -r d; do mkdir -p "$dst/$d" || exit 111; done ||
    fatal "unable to create $dst"
  [ -f "$t/run" ] && { mkdir -p "$dst/env" || fatal "unable to create $dst/env"; }
  (cd "$t" && find . -type f) | while read -r f; do
    sed "$subst" "$t/$f" > "$dst/$f.new" &&
      chmod "$(stat -c %a "$t/$f")" "$dst/$f.new" && mv -f "$dst/$f.new" "$dst/$f" || exit 111
  done || fatal "unable to write $dst"
done

# -R: rspamd's configuration and directory, and spam-check in the smtp
# service's chain (spam-check(8)).
[ -z "$rspamdport" ] || setup_rspamd

# -V: auth-verify in the smtp service's chain, before spam-check with -R
# (QUEUE_INJECT runs one program: then a two-line script; auth-verify(8)).
if [ -n "$verify" ]; then
  env=$root/service/smtp/env q=$bindir/auth-verify
  if [ -s "$env/QUEUE_INJECT" ] && ! grep -q -e '/spam-check$' -e '/auth-verify$' -e '/smtp/chain$' "$env/QUEUE_INJECT"; then
    echo "$PROG: warning: $env/QUEUE_INJECT names another filter: auth-verify not put in the chain (auth-verify(8))" >&2
  else
    if [ -n "$rspamdport" ]; then
      q=$root/service/smtp/chain
      printf '#!/bin/sh\n# the port 25 filter chain, written by instance-setup(8)\nexec %s %s\n' \
        "$bindir/auth-verify" "$bindir/spam-check" > "$q.new" && chmod 755 "$q.new" && mv -f "$q.new" "$q" ||
        fatal "unable to write $q"
    fi
    printf '%s\n' "$q" > "$env/QUEUE_INJECT.new" && mv -f "$env/QUEUE_INJECT.new" "$env/QUEUE_INJECT" ||
      fatal "unable to write $env/QUEUE_INJECT"
  fi
fi
# dkim-sign in the submission services' chain once etc/dkim has a key
# (dkim-keygen); another filter set there is left alone.
if ls "$root"/etc/dkim/*/*.key >/dev/null 2>&1; then
  for s in submission submissions; do
    env=$root/service/$s/env
    [ -d "$env" ] || continue
    if [ -s "$env/QUEUE_INJECT" ] && ! grep -q '/dkim-sign$' "$env/QUEUE_INJECT"; then
      echo "$PROG: warning: $env/QUEUE_INJECT names another filter: dkim-sign not put in the chain (dkim-sign(8))" >&2
    else
      printf '%s\n' "$bindir/dkim-sign" > "$env/QUEUE_INJECT.new" && mv -f "$env/QUEUE_INJECT.new" "$env/QUEUE_INJECT" ||
        fatal "unable to write $env/QUEUE_INJECT"
    fi
  done
fi

# Compile etc/ (users.cdb) when the tools are there.
if [ -x "$bindir/config-make" ]; then
  PIPEMAIL_ROOT=$root "$bindir/config-make" || fatal "config-make failed"
else
  echo "$PROG: warning: $bindir/config-make not found: etc/users.cdb not compiled" >&2
fi

# Ownership, when root: the queue side owns queue/ and mail/, the logger
# log/, the receiver reads etc/ through the group (etc/tls is left alone);
# service/ stays root's.
# shellcheck disable=SC2086 # $logs: paths checked by check_path
if [ "$uid" = 0 ]; then
  chown -R "$queueuser:$group" "$root/queue" "$root/mail" &&
    chmod 770 "$root/queue" && chmod 750 "$root/mail" &&
    chown -R "$loguser" $logs &&
    find "$root/etc" -maxdepth 1 ! -name tls -exec chgrp "$group" {} + -exec chmod g+rX {} + ||
    fatal "unable to set the owners under $root"
  # dkim-keygen as root writes root-only keys: dkim-sign runs as the SMTP user
  [ ! -d "$root/etc/dkim" ] || { chgrp -R "$group" "$root/etc/dkim" && chmod -R g+rX,o-rwx "$root/etc/dkim"; } ||
    fatal "unable to give $root/etc/dkim to group $group"
  [ -z "$rspamdport" ] || chown -R "$spamuser" "$root/rspamd" || fatal "unable to give $root/rspamd to $spamuser"
fi
# Local users' mail (mail-inject, sendmail) reaches the closed queue
# through a copy of queue-inject setgid to the queue's group, which takes
# ROOT from where it lies (queue-inject(8), Local users). ROOT/bin is
# root's, so that nobody else can replace it.
if [ "$uid" = 0 ] && [ -x "$bindir/queue-inject" ]; then
  mkdir -p "$root/bin" && chown root:root "$root/bin" && chmod 755 "$root/bin" &&
    cp "$bindir/queue-inject" "$root/bin/queue-inject.new" &&
    chown "root:$group" "$root/bin/queue-inject.new" && chmod 2755 "$root/bin/queue-inject.new" &&
    mv -f "$root/bin/queue-inject.new" "$root/bin/queue-inject" ||
    fatal "unable to install $root/bin/queue-inject"
fi
# The service users must reach the programs and the instance: a checkout
# under a home of mode 0700 would give services that fail at every start.
reach() { # user test-args...
  u=$1; shift
  [ "$u" = root ] || s6-setuidgid "$u" test "$@" 2>/dev/null
}
if [ "$uid" = 0 ] && command -v s6-setuidgid >/dev/null 2>&1; then
  for check in "$smtpuser -x $bindir/smtp-recv" "$smtpuser -r $root/etc/me" \
    "$queueuser -x $bindir/queue-run" "$queueuser -w $root/queue" "$loguser -w $root/log/smtp" \
    "$spamuser -w $root/rspamd" "$spamuser -r $root/etc/rspamd/rspamd.conf"; do
    case $check in "$spamuser "*/rspamd*) [ -n "$rspamdport" ] || continue ;; esac
    # shellcheck disable=SC2086 # user, test flag, path: checked above
    reach $check && continue
    set -- $check
    fatal "user $1 cannot reach $3 (test $2): a directory above it is closed to other users (e.g. a home of mode 0700); use a BINDIR (-b, e.g. after make install) and a ROOT (-r) that every user can enter"
  done
fi
[ -d "$root/service/smtps" ] && [ ! -d "$templates/smtps" ] &&
  info "service=smtps action=kept (obsolete: the submissions service (-S) replaces it; to remove it: s6-svc -dx $root/service/smtps, then rm -r $root/service/smtps)"
cert=none
[ -f "$tls/cert.pem" ] && [ -f "$tls/key.pem" ] && cert=$tls/cert.pem
info "root=$root smtp=$ip:$port submission=${subport:+$ip:}${subport:-none} submissions=${smtpsport:+$ip:}${smtpsport:-none} pop3=${popport:+$ip:}${popport:-none} pop3s=${popsport:+$ip:}${popsport:-none} imap=${imapport:+$ip:}${imapport:-none} imaps=${imapsport:+$ip:}${imapsport:-none} rspamd=${rspamdport:+127.0.0.1:}${rspamdport:-none} cert=$cert bindir=$bindir users=$smtpuser,$queueuser,$loguser,$tlsuser"
[ -n "$smtpsport$subport$popsport$imapsport" ] && [ "$cert" = none ] &&
  echo "$PROG: warning: no certificate in $tls (cert.pem, key.pem): submission, submissions, pop3s and imaps stay down until there is one (-c makes one)" >&2
exit 0
