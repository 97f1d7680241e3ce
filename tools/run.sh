#!/bin/sh
# make run: make (or reuse) a demo instance in RUN_DIR, with a self-signed
# certificate, and run it under s6 in the foreground until Ctrl-C: SMTP with
# STARTTLS on 127.0.0.1:2525, message submission with STARTTLS on
# 127.0.0.1:2587 and over implicit TLS on 127.0.0.1:2465, AUTH as
# demo@example.test, password demo, POP3 with STLS on 127.0.0.1:2110 and
# over implicit TLS on 127.0.0.1:2995, IMAP with STARTTLS on
# 127.0.0.1:2143 and over implicit TLS on 127.0.0.1:2993
# (PM_RUN_SMTP_PORT, PM_RUN_SUBMISSION_PORT, PM_RUN_SUBMISSIONS_PORT,
# PM_RUN_POP3_PORT, PM_RUN_POP3S_PORT, PM_RUN_IMAP_PORT and
# PM_RUN_IMAPS_PORT change the ports); with a private rspamd on
# 127.0.0.1:21333 (PM_RUN_RSPAMD_PORT) when rspamd is installed.
# Called as: PM_BUILD=... sh tools/run.sh RUN_DIR
set -u
die() { echo "run: fatal: $*" >&2; exit 111; }
[ $# -eq 1 ] || { echo "run: usage: PM_BUILD=BUILD sh tools/run.sh ABS_RUN_DIR" >&2; exit 100; }
run=$1
top=$(cd "$(dirname "$0")/.." && pwd) || die "unable to find the source tree"
bin=${PM_BUILD:-$top/build}/bin
[ -x "$bin/instance-setup" ] || die "$bin/instance-setup missing: run make first"
sp=${PM_RUN_SMTP_PORT:-2525} msp=${PM_RUN_SUBMISSION_PORT:-2587}
ssp=${PM_RUN_SUBMISSIONS_PORT:-${PM_RUN_SMTPS_PORT:-2465}}
pp=${PM_RUN_POP3_PORT:-2110} psp=${PM_RUN_POP3S_PORT:-2995}
# A private rspamd (instance-setup -R) when the host has the program.
rsp=''
command -v rspamd >/dev/null 2>&1 && rsp=${PM_RUN_RSPAMD_PORT:-21333}
imp=${PM_RUN_IMAP_PORT:-2143} imsp=${PM_RUN_IMAPS_PORT:-2993}

# As root the services drop to users of their own (instance-setup(8)),
# which cannot enter a checkout under a private directory (root's home is
# 0700 on Debian): then the programs and the instance go where they can,
# PM_DEMO_DIR (default /var/lib/pipemail-demo), and this says so.
others_reach() { setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$1" 2>/dev/null; }
if [ "$(id -u)" = 0 ] && ! { others_reach "$bin/instance-setup" && others_reach "$(dirname "$run")"; }; then
  demo=${PM_DEMO_DIR:-/var/lib/pipemail-demo}
  mkdir -p "$demo" && chmod 755 "$demo" || die "unable to create $demo"
  others_reach "$demo" || die "$demo: a directory above it is closed to other users; set PM_DEMO_DIR"
  s6-svscanctl -a "$demo/run/service" 2>/dev/null &&
    die "an s6-svscan already runs on $demo/run/service (stop it with: s6-svscanctl -t $demo/run/service)"
  rm -rf "$demo/bin.new" && cp -R "$bin" "$demo/bin.new" && chmod -R a+rX,go-w "$demo/bin.new" &&
    rm -rf "$demo/bin" && mv "$demo/bin.new" "$demo/bin" || die "unable to copy the programs to $demo/bin"
  echo "run: info: the service users cannot enter $top (a directory above it is private):" \
    "programs copied to $demo/bin, demo instance in $demo/run" >&2
  bin=$demo/bin run=$demo/run
elif s6-svscanctl -a "$run/service" 2>/dev/null; then
  die "an s6-svscan already runs on $run/service (stop it with: s6-svscanctl -t $run/service)"
fi
PATH=$bin:$PATH PIPEMAIL_ROOT=$run
export PATH PIPEMAIL_ROOT
svc=$run/service

setup() {
  instance-setup -r "$run" -b "$bin" -t "$top/services" -s "$sp" -M "$msp" -S "$ssp" -p "$pp" -P "$psp" -a "$imp" -A "$imsp" -c -i 127.0.0.1 \
    -d example.test -m mx.example.test ${rsp:+-R "$rsp"}
}
setup || die "instance-setup failed"
if ! grep -q '^demo@example\.test:' "$run/etc/users" 2>/dev/null; then
  echo demo | user-add demo@example.test || die "user-add failed"
fi
if ! grep -q '^postmaster@example\.test:' "$run/etc/aliases" 2>/dev/null; then
  alias-add postmaster@example.test demo@example.test || die "alias-add failed"
fi
# again: compile etc/, give the new mailbox to the queue's user (as root)
out=$(setup 2>&1) || { echo "$out" >&2; die "instance-setup failed"; }

# s6-svscan in its own session: Ctrl-C reaches only this script, which
# then stops the tree cleanly (s6-svscanctl -t: services get SIGTERM, the
# loggers drain their pipes, s6-svscan exits).
svscan=
# shellcheck disable=SC2317 # called by the trap
stop() {
  trap '' INT TERM
  echo
  echo "run: stopping the services..."
  s6-svscanctl -t "$svc" 2>/dev/null || kill -TERM "$svscan" 2>/dev/null
}
trap stop INT TERM
# (env: an asynchronous command of a script starts with SIGINT ignored)
env --default-signal=INT,QUIT s6-setsid s6-svscan "$svc" &
svscan=$!

i=0
until { s6-svok "$svc/smtp" && s6-svok "$svc/submission" && s6-svok "$svc/submissions" &&
        s6-svok "$svc/pop3" && s6-svok "$svc/pop3s" && s6-svok "$svc/imap" && s6-svok "$svc/imaps"; } 2>/dev/null || [ $i -ge 150 ]; do
  sleep 0.1; i=$((i + 1))
done
# Up and ready, within a generous bound (a busy machine starts seven TLS
# services slowly). s6-svwait fails at once, not at its timeout, while a
# supervisor that s6-svok already sees has not written its status file:
# then it is asked again.
ready() {
  s6-svwait -U -t "$1" "$svc/smtp" "$svc/submission" "$svc/submissions" "$svc/pop3" "$svc/pop3s" "$svc/imap" "$svc/imaps" 2>/dev/null
}
up='' end=$(($(date +%s) + 60))
while [ -z "$up" ] && [ "$(date +%s)" -lt "$end" ]; do
  if ready 5000; then up=1; else sleep 0.5; fi
done
if [ -n "$up" ]; then
  m='"Subject: hello\r\n\r\nhello, pipemail\r\n"'
  a='"From: demo@example.test\r\nSubject: hello\r\n\r\nhello, pipemail\r\n"'
  cat <<EOF

pipemail is running: instance $run
SMTP with STARTTLS on 127.0.0.1:$sp (mail to local users), message
submission (AUTH before MAIL, then mail anywhere) with STARTTLS on
127.0.0.1:$msp and over implicit TLS on 127.0.0.1:$ssp
(self-signed certificate for mx.example.test: $run/etc/tls/cert.pem).
Local domain example.test, user demo@example.test (password demo),
postmaster@example.test -> demo@example.test.

Send a mail to demo (swaks does not check the certificate unless --tls-verify):
  swaks --server 127.0.0.1:$sp --from you@example.org --to demo@example.test
  swaks --server 127.0.0.1:$sp --tls --from you@example.org --to demo@example.test
Submit one as demo, with AUTH (LOGIN or PLAIN), over STARTTLS and implicit TLS:
  swaks --server 127.0.0.1:$msp --tls --auth LOGIN --auth-user demo@example.test --auth-password demo --from demo@example.test --to demo@example.test
  swaks --server 127.0.0.1:$ssp --tlsc --auth PLAIN --auth-user demo@example.test --auth-password demo --from demo@example.test --to demo@example.test
msmtp (STARTTLS, AUTH PLAIN; tls_certcheck off: the certificate is self-signed):
  printf 'From: demo@example.test\nSubject: hello\n\nhello, pipemail\n' | msmtp --host=127.0.0.1 --port=$msp --tls=on --tls-starttls=on --tls-certcheck=off --auth=plain --user=demo@example.test --passwordeval='echo demo' --from=demo@example.test demo@example.test
Python's smtplib, login() over STARTTLS and over implicit TLS, not checking the certificate:
  python3 -c 'import smtplib, ssl; s = smtplib.SMTP("127.0.0.1", $msp); s.starttls(context=ssl._create_unverified_context()); s.login("demo@example.test", "demo"); s.sendmail("demo@example.test", ["demo@example.test"], $a); s.quit()'
  python3 -c 'import smtplib, ssl; s = smtplib.SMTP_SSL("127.0.0.1", $ssp, context=ssl._create_unverified_context()); s.login("demo@example.test", "demo"); s.sendmail("demo@example.test", ["demo@example.test"], $a); s.quit()'
Without AUTH, on the SMTP port:
  python3 -c 'import smtplib, ssl; s = smtplib.SMTP("127.0.0.1", $sp); s.starttls(context=ssl._create_unverified_context()); s.sendmail("you@example.org", ["demo@example.test"], $m); s.quit()'
By hand (EHLO, MAIL FROM:<...>, RCPT TO:<...>, DATA, ..., QUIT):
  openssl s_client -quiet -crlf -starttls smtp -connect 127.0.0.1:$sp
  openssl s_client -quiet -crlf -connect 127.0.0.1:$ssp
It lands in $run/mail/example.test/demo/new/ (Received: ... with ESMTPS,
or ESMTPSA and the user's name when submitted with AUTH).
Read demo's mailbox by POP3 with STLS on 127.0.0.1:$pp or implicit TLS on
127.0.0.1:$psp (Python's poplib, not checking the certificate):
  python3 -c 'import poplib, ssl; c = poplib.POP3("127.0.0.1", $pp); c.stls(ssl._create_unverified_context()); c.user("demo@example.test"); c.pass_("demo"); print(c.stat()); print(b"\n".join(c.retr(1)[1]).decode(errors="replace")); c.quit()'
  python3 -c 'import poplib, ssl; c = poplib.POP3_SSL("127.0.0.1", $psp, context=ssl._create_unverified_context()); c.user("demo@example.test"); c.pass_("demo"); print(c.uidl()); c.quit()'
fetchmail into an mbox, keeping the mail on the server (a second run fetches nothing new):
  printf 'poll 127.0.0.1 service $psp protocol pop3 user "demo@example.test" password "demo" ssl sslcertck off keep mda "cat >> /tmp/demo.mbox"\n' > /tmp/demo.fetchmailrc; chmod 600 /tmp/demo.fetchmailrc; fetchmail -f /tmp/demo.fetchmailrc --uidl -i /tmp/demo.fetchids
Read it by IMAP with STARTTLS on 127.0.0.1:$imp or implicit TLS on
127.0.0.1:$imsp (user demo@example.test, password demo; accept the
self-signed certificate when asked):
  neomutt -n -F /dev/null -e 'set imap_user=demo@example.test imap_pass=demo ssl_force_tls=yes' -f imap://127.0.0.1:$imp/INBOX
  neomutt -n -F /dev/null -e 'set imap_user=demo@example.test imap_pass=demo' -f imaps://127.0.0.1:$imsp/INBOX
Thunderbird, manual configuration: incoming IMAP, server 127.0.0.1, port
$imp with STARTTLS (or $imsp with SSL/TLS), authentication "Normal password",
username demo@example.test; outgoing SMTP 127.0.0.1, port $msp, STARTTLS,
"Normal password", same username; then confirm the security exception.
Python's imaplib, not checking the certificate:
  python3 -c 'import imaplib, ssl; c = imaplib.IMAP4("127.0.0.1", $imp); c.starttls(ssl._create_unverified_context()); c.login("demo@example.test", "demo"); print(c.select("INBOX")); print(c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])")); c.logout()'
  python3 -c 'import imaplib, ssl; c = imaplib.IMAP4_SSL("127.0.0.1", $imsp, ssl_context=ssl._create_unverified_context()); c.login("demo@example.test", "demo"); print(c.list()); c.logout()'
${rsp:+Spam: a private rspamd on 127.0.0.1:$rsp (ready a little after start) checks mail to port $sp;
  its GTUBE string is refused, mail it marks goes to the Junk folder.
}Logs: $run/log/{smtp,submission,submissions,pop3,pop3s,imap,imaps,queue${rsp:+,rspamd}}/current (s6-tai64nlocal < FILE)
Queue: queue-list (with PATH=$bin and PIPEMAIL_ROOT=$run)
Ctrl-C stops the services.

EOF
else
  echo "run: warning: the smtp, submission, submissions, pop3, pop3s, imap or imaps service is not up; see $run/log/{smtp,submission,submissions,pop3,pop3s,imap,imaps}/current" >&2
  for s in smtp submission submissions pop3 pop3s imap imaps; do
    printf 'run: %s: %s\n' "$s" "$(s6-svstat "$svc/$s" 2>&1)" >&2
  done
fi

# wait returns early when a trapped signal arrives: wait until s6-svscan is gone.
rc=0
while kill -0 "$svscan" 2>/dev/null; do
  wait "$svscan"; rc=$?
done
echo "run: stopped"
[ "$rc" -ge 128 ] && rc=0 # interrupted wait
exit "$rc"
