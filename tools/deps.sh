#!/bin/sh
# Install the Debian packages that building, running and testing need,
# only when one is missing (so a ready machine makes no network call).
# With the argument fuzz, also what make fuzz needs.
pkgs="build-essential skalibs-dev libs6-dev s6 execline libbearssl-dev libudns-dev libcrypt-dev zlib1g-dev
      ca-certificates perl python3 swaks libnet-ssleay-perl strace openssl iproute2 util-linux procps dnsmasq-base
      whois dovecot-core s-nail git git-email libmailtools-perl python3-dkim opendkim-tools
      publicsuffix fetchmail getmail6 rspamd"
# make fuzz: clang and its libFuzzer runtime (Debian's clang package has it)
[ "${1:-}" = fuzz ] && pkgs="$pkgs clang"
# t/81: msmtp, a real submission client with a config file
pkgs="$pkgs msmtp"
# t/83: dovecot-imapd, a real Dovecot numbering a Maildir (dovecot-uidlist)
pkgs="$pkgs dovecot-imapd"
# t/94: mbsync (isync) and neomutt, real IMAP clients
pkgs="$pkgs isync neomutt"
missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
if [ "$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo; else
  echo "deps: fatal: missing packages:$missing (run as root or install sudo)" >&2; exit 100
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $missing >&2 || {
  echo "deps: fatal: apt-get install failed" >&2; exit 111; }
# dovecot-core is here for doveadm pw (t/80); the IMAP/POP3 service its
# package starts (where invoke-rc.d allows it) is not wanted: stopped, disabled
case " $missing " in *" dovecot-core "*|*" dovecot-imapd "*)
  $sudo systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true ;; esac
# rspamd is here for spam-check (t/87, instance-setup -R runs a private one);
# the host-wide daemon its package enables is not wanted: stopped, disabled
case " $missing " in *" rspamd "*)
  $sudo systemctl disable --now rspamd.service >/dev/null 2>&1 || true ;; esac
