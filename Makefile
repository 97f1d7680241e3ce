# pipemail — see README and INSTALL.
# Out-of-tree objects in $(B) so that a normal and a sanitizer build coexist.
B       ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
ROOT_DEFAULT ?= /var/pipemail
CC      ?= cc
OPT     ?= -O2 -g
CFLAGS  ?=
LDFLAGS ?=
PM_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) -Ilib \
            -DPM_ROOT_DEFAULT='"$(ROOT_DEFAULT)"' $(CFLAGS)
# skalibs, s6, BearSSL and udns linked statically, libc dynamically: the
# program maps only libc.so, which every process on the host shares, so an
# SMTP session costs little memory (a fully static glibc binary is ~4x the
# PSS for one session, for a ~0.15 ms cheaper exec). check-asan links the
# sanitizer runtimes dynamically, so it sets STATIC to nothing.
STATIC  ?= -Wl,-Bstatic
LDLIBS  = $(STATIC) -ls6 -lskarnet -lbearssl -ludns -Wl,-Bdynamic
# libcrypt (password hashes of /etc/shadow and Dovecot, lib/pwcrypt.c) only
# where a password hash is verified; dynamically: see INSTALL.
$(B)/bin/auth-check $(B)/bin/user-add $(B)/unit/pwhash: LDLIBS += -lcrypt
# zlib (COMPRESS=DEFLATE, lib/deflateio.c) only in imap-mailbox, statically
# as the others (memory per session): see INSTALL.
$(B)/bin/imap-mailbox: LDLIBS += $(STATIC) -lz -Wl,-Bdynamic
# imap-mailbox fully static, libc too: a logged-in IMAP session is one
# imap-mailbox process, and thousands of idle ones share a static binary's
# pages, with no private relocations of libc.so and ld.so in each (70 kB
# instead of 115 kB PSS per idle session, t/99-imap-idle-scale). Sanitizer
# builds set it to nothing, as STATIC.
IMAP_STATIC ?= -static
ifneq ($(IMAP_STATIC),)
$(B)/bin/imap-mailbox: PM_LDFLAGS += $(IMAP_STATIC)
$(B)/bin/imap-mailbox: LDLIBS = -ls6 -lskarnet -lbearssl -ludns -lz
endif
# Symbols bound at start-up, not at first call: a server that forks a child
# per connection or delivery would otherwise resolve them again in each one.
PM_LDFLAGS = -Wl,-z,now

CMDS     := $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
SCRIPTS  := $(patsubst cmd/%.sh,%,$(wildcard cmd/*.sh))
# lib/DIR/*.c: a subsystem of several modules (lib/dkim). ar keeps base
# names only, and a second member of the same name replaces the first:
# a file name must not repeat across lib/'s folders (checked below).
LIBSRC   := $(wildcard lib/*.c lib/*/*.c)
LIBDUPS  := $(shell for f in $(notdir $(LIBSRC)); do echo $$f; done | sort | uniq -d)
ifneq ($(LIBDUPS),)
$(error lib/ has two source files named $(LIBDUPS): ar would keep one; rename one of them)
endif
LIBOBJ   := $(patsubst lib/%.c,$(B)/lib/%.o,$(LIBSRC))
UNITS    := $(patsubst t/unit/%.c,%,$(wildcard t/unit/*.c))
BINS     := $(addprefix $(B)/bin/,$(CMDS) $(SCRIPTS))

.PHONY: all deps check check-asan bench fuzz run install install-sendmail clean
all: $(BINS) $(addprefix $(B)/unit/,$(UNITS))

$(B)/lib/%.o: lib/%.c lib/*.h $(wildcard lib/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(PM_CFLAGS) -c -o $@ $<
$(B)/libpipemail.a: $(LIBOBJ)
	rm -f $@; ar rcs $@ $^
$(B)/bin/%: cmd/%.c $(B)/libpipemail.a lib/*.h $(wildcard lib/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(PM_CFLAGS) $(PM_LDFLAGS) $(LDFLAGS) -o $@ $< $(B)/libpipemail.a $(LDLIBS)
$(B)/bin/%: cmd/%.sh
	@mkdir -p $(@D)
	cp $< $@; chmod 755 $@
$(B)/bench/%: t/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(PM_CFLAGS) $(LDFLAGS) -o $@ $<
$(B)/bench/nofsync.so: t/bench/nofsync.c
	@mkdir -p $(@D)
	$(CC) $(PM_CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ $<
$(B)/unit/%: t/unit/%.c t/unit/tap.h $(B)/libpipemail.a
	@mkdir -p $(@D)
	$(CC) $(PM_CFLAGS) -It/unit $(LDFLAGS) -o $@ $< $(B)/libpipemail.a $(LDLIBS)

# make check/run install what a fresh Debian 12 machine lacks, then work.
deps:
	@sh tools/deps.sh
# TESTS: the t/ scripts to run (all by default); tools/check.sh says why
# it may copy the programs elsewhere first.
TESTS ?= t/*.t
check: deps
	$(MAKE) all
	sh tools/check.sh $(abspath $(B)) $(addprefix $(B)/unit/,$(UNITS)) $(TESTS)
# Every sanitizer report goes to one directory, whichever program made it
# (a service's stderr is its log, which no test reads): any report fails
# the run, and is shown (tools/check.sh). CC=clang checks more (e.g.
# arithmetic on null pointers).
check-asan: deps
	$(MAKE) B=build-asan STATIC= IMAP_STATIC= OPT='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  LDFLAGS='-fsanitize=address,undefined' all
	sh tools/check.sh -a $(abspath build-asan) $(addprefix build-asan/unit/,$(UNITS)) $(TESTS)
bench: deps
	$(MAKE) all $(B)/bench/e2e-time $(B)/bench/e2e-floor $(B)/bench/nofsync.so
	PM_BUILD=$(abspath $(B)) sh t/bench/run
# libFuzzer over lib/'s parsers of untrusted bytes, over whole smtp-recv
# and POP3 and pre-login IMAP sessions, over IMAP command parsing and over
# COMPRESS=DEFLATE's inflate input path (t/fuzz), clang only:
# FUZZ_SECONDS per target (t/fuzz/run).
FUZZ_SECONDS ?= 300
FUZZ_CFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
fuzz: deps
	@sh tools/deps.sh fuzz
	$(MAKE) all
	$(MAKE) B=build-fuzz CC=clang STATIC= IMAP_STATIC= OPT='$(FUZZ_CFLAGS)' LDFLAGS='-fsanitize=address,undefined' build-fuzz/libpipemail.a
	for t in parsers session users pop3 imap imaplogin mime imapsession imapcache imapindex deflate; do \
	  clang $(PM_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o build-fuzz/$$t t/fuzz/$$t.c \
	    build-fuzz/libpipemail.a -ls6 -lskarnet -lbearssl -ludns -lz || exit 1; done
	FUZZ=$(abspath build-fuzz) BIN=$(abspath $(B))/bin FUZZ_SECONDS=$(FUZZ_SECONDS) sh t/fuzz/run
run: deps
	$(MAKE) all
	PM_BUILD=$(abspath $(B)) sh tools/run.sh $(abspath run)
install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/pipemail
	cp $(BINS) $(DESTDIR)$(PREFIX)/bin/
	cp cmd/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	cp -R services $(DESTDIR)$(PREFIX)/share/pipemail/
# /usr/sbin/sendmail -> PREFIX/bin/sendmail, only where there is none or it
# is ours already: never over another MTA's by surprise (FORCE=1 replaces
# it, keeping it as sendmail.pre-pipemail). After make install.
SENDMAIL_PATH ?= /usr/sbin/sendmail
install-sendmail:
	@t='$(DESTDIR)$(SENDMAIL_PATH)'; ours='$(PREFIX)/bin/sendmail'; \
	if [ "$$(readlink "$$t")" = "$$ours" ]; then echo "$$t is pipemail's already"; exit 0; fi; \
	if [ -e "$$t" ] || [ -L "$$t" ]; then \
	  if [ -z '$(FORCE)' ]; then \
	    echo "install-sendmail: $$t exists and is not pipemail's (another MTA's?): left alone; FORCE=1 replaces it" >&2; exit 1; fi; \
	  mv -f "$$t" "$$t.pre-pipemail" || exit 1; echo "$$t kept as $$t.pre-pipemail"; fi; \
	mkdir -p "$$(dirname "$$t")" && ln -s "$$ours" "$$t" && echo "$$t -> $$ours"
clean:
	rm -rf build build-asan build-fuzz
