#!/bin/sh
# make check / check-asan: prove over the unit tests and t/*.t with the
# programs of BUILD. As root, the tests' services drop to users of their
# own, which cannot run programs under a private directory (root's home is
# 0700 on Debian): then the programs are copied, for this run, to a
# directory every user can enter. With -a, sanitizer reports of every
# program, whichever user ran it, go to one directory; any report fails.
# Called as: sh tools/check.sh [-a] ABS_BUILD_DIR TEST...
set -u
die() { echo "check: fatal: $*" >&2; exit 111; }
asan=
[ "${1:-}" = -a ] && { asan=1; shift; }
[ $# -ge 1 ] || { echo "check: usage: sh tools/check.sh [-a] ABS_BUILD_DIR TEST..." >&2; exit 100; }
build=$1; shift
[ -x "$build/bin/tcp-serve" ] || die "$build/bin/tcp-serve missing: run make first"

others_reach() { setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$1" 2>/dev/null; }
stage=
if [ "$(id -u)" = 0 ] && ! others_reach "$build/bin/tcp-serve"; then
  stage=$(mktemp -d /tmp/pipemail-check.XXXXXX) || die "unable to make a directory in /tmp"
  trap 'rm -rf "$stage"' EXIT
  trap 'exit 130' INT TERM
  # The build directory's name is kept: the tests see build-asan in it.
  mkdir "$stage/${build##*/}" && cp -R "$build/bin" "$stage/${build##*/}/" &&
    chmod -R a+rX,go-w "$stage" || die "unable to copy the programs to $stage"
  echo "check: the service users cannot enter $build: programs copied to $stage for this run" >&2
  PM_BUILD=$stage/${build##*/}
else
  PM_BUILD=$build
fi
export PM_BUILD

# Each failed test and what it said of it, printed again at the end (prove
# shows no comments; CI shows the end of the run).
PM_FAILLOG=$(mktemp /tmp/pipemail-faillog.XXXXXX) || die "unable to make a file in /tmp"
chmod 666 "$PM_FAILLOG"
export PM_FAILLOG
rc=0
if [ -n "$asan" ]; then
  sandir=${stage:-$build}/sanitizer
  rm -rf "$sandir" && mkdir -p "$sandir" && chmod 1777 "$sandir" || die "unable to make $sandir"
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:log_path=$sandir/asan \
    UBSAN_OPTIONS=print_stacktrace=1:log_path=$sandir/ubsan prove --exec '' "$@" || rc=1
  if [ -n "$(ls "$sandir")" ]; then
    cat "$sandir"/*
    [ -n "$stage" ] && { rm -rf "$build/sanitizer"; cp -R "$sandir" "$build/sanitizer"; }
    echo "check-asan: sanitizer reports (above, in $build/sanitizer)"
    rc=1
  fi
else
  prove --exec '' "$@" || rc=1
fi
if [ -s "$PM_FAILLOG" ]; then
  echo "check: what the failed tests said (the last 200 lines):"
  tail -n 200 "$PM_FAILLOG"
fi
rm -f "$PM_FAILLOG"
exit "$rc"
