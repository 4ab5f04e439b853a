# SPDX-License-Identifier: ISC
# sysq - Makefile.  `make run` starts sysqd, `make test` runs every suite
# under ASan+UBSan.  Both install missing Debian packages when run as root
# (mk/deps.sh) and otherwise print the command to run.
#
# Builds land in build/rel (release) or build/asan (sanitizers); the
# variant is chosen by BUILD=rel|asan on the recursive make below.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= rel
OUT      := build/$(BUILD)

UNAME_S := $(shell uname -s)
ifeq ($(UNAME_S),Darwin)
  OS := darwin
  OS_CPPFLAGS := -D_DARWIN_C_SOURCE
else
  OS := linux
  OS_CPPFLAGS := -D_GNU_SOURCE
endif

PKGS     := libuv msgpack
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC       ?= cc
WARN     := -Wall -Wextra -Werror -Wshadow -Wconversion -Wno-sign-conversion \
            -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += $(OS_CPPFLAGS) -DSQ_VERSION='"$(VERSION)"' -Iproto -Ilib -Idaemon -Iclient
$(OUT)/tests/%.o: CPPFLAGS += -Itests/common
CFLAGS_rel  := -std=c11 -O2 -g $(WARN)
CFLAGS_asan := -std=c11 -O1 -g -fno-omit-frame-pointer $(WARN) \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_asan := -fsanitize=address,undefined
ALL_CFLAGS  = $(CFLAGS_$(BUILD)) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS_$(BUILD)) $(LDFLAGS)

# Per-OS sources: lib/<x>_<os>.c, daemon/<x>_<os>.c; everything else is portable.
os_filter = $(filter-out %_linux.c %_darwin.c,$(1)) $(filter %_$(OS).c,$(1))
PROTO_SRCS  := $(wildcard proto/*.c)
LIB_SRCS    := $(call os_filter,$(wildcard lib/*.c))
DAEMON_SRCS := $(call os_filter,$(wildcard daemon/*.c))
CLIENTLIB_SRCS := client/libsysq.c client/json.c
CLI_SRCS    := $(filter-out $(CLIENTLIB_SRCS),$(wildcard client/*.c))
TESTCOMMON_SRCS := $(wildcard tests/common/*.c)
UNIT_SRCS   := $(wildcard tests/unit/*.c) $(TESTCOMMON_SRCS)
INTEG_SRCS  := $(wildcard tests/integration/*.c) $(TESTCOMMON_SRCS)

obj = $(patsubst %.c,$(OUT)/%.o,$(1))

# Quiet by default; `make V=1` prints every command.
ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-6s %s\n'
endif
CORE_OBJS   := $(call obj,$(PROTO_SRCS) $(LIB_SRCS))
DAEMON_OBJS := $(call obj,$(DAEMON_SRCS))
CLIENT_OBJS := $(call obj,$(CLIENTLIB_SRCS))

# The installed libsysq (build/<variant>/dist): libsysq.h's API and what it
# needs, position-independent, as libsysq.a and a shared library exporting
# only sysq_* (-fvisibility=hidden and libsysq.h's SYSQ_API; with GNU ld
# also the version script client/libsysq.map).
# $(OUT)/libsysq.a above, all of the client side, is for the CLI and tests.
LIBSYSQ_SRCS := client/libsysq.c proto/buf.c proto/frame.c proto/msg.c \
                lib/utf8.c lib/paths.c lib/os_$(OS).c
LIBSYSQ_PIC  := $(patsubst %.c,$(OUT)/pic/%.o,$(LIBSYSQ_SRCS))
LIBSYSQ_ABI  := 0
# The msgpack-c pkg-config name: msgpack-c since 6.0, msgpack before.
MSGPACK_PC   := $(shell pkg-config --exists msgpack-c 2>/dev/null && echo msgpack-c || echo msgpack)
ifeq ($(OS),darwin)
  LIBSYSQ_SHARED := libsysq.$(LIBSYSQ_ABI).dylib
  LIBSYSQ_DEVLINK := libsysq.dylib
  LIBSYSQ_SHFLAGS = -dynamiclib -install_name $(LIBDIR)/$(LIBSYSQ_SHARED) \
                    -compatibility_version 1 -current_version $(VERSION)
else
  LIBSYSQ_SHARED := libsysq.so.$(LIBSYSQ_ABI)
  LIBSYSQ_DEVLINK := libsysq.so
  LIBSYSQ_SHFLAGS = -shared -Wl,-soname,$(LIBSYSQ_SHARED) -Wl,-z,defs \
                    -Wl,--version-script=client/libsysq.map
endif

.PHONY: all build deps run test check unit integration interop bench fuzz docs \
        test-bins bench-bins interop-clients valgrind test-confined install install-files uninstall clean lint check-darwin help

all:
	@mk/deps.sh build
	@$(MAKE) --no-print-directory BUILD=rel build

build: $(OUT)/sysqd $(OUT)/sysq $(OUT)/libsysq.a $(OUT)/dist/libsysq.a \
       $(OUT)/dist/$(LIBSYSQ_SHARED)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $(BUILD)/$<
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(OUT)/libsysq.a: $(CLIENT_OBJS) $(CORE_OBJS)
	$(say) AR $@
	$(Q)$(AR) rcs $@ $^

$(OUT)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $(BUILD)/pic/$<
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c -o $@ $<

$(OUT)/dist/libsysq.a: $(LIBSYSQ_PIC)
	@mkdir -p $(dir $@)
	$(say) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUT)/dist/$(LIBSYSQ_SHARED): $(LIBSYSQ_PIC) client/libsysq.map
	@mkdir -p $(dir $@)
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) $(LIBSYSQ_SHFLAGS) -o $@ $(LIBSYSQ_PIC) \
	  $(shell pkg-config --libs $(MSGPACK_PC) 2>/dev/null)

$(OUT)/sysqd: $(DAEMON_OBJS) $(CORE_OBJS)
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

# Only the sysq CLI speaks HTTP (sysq metrics --listen); sysqd never does.
# libmicrohttpd's headers are needed to build; the library itself is
# dlopen()ed by --listen (client/metrics_http.c), not linked: it would cost
# every other sysq command ~2 ms of start-up.
MHD_CFLAGS = $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
$(OUT)/client/metrics_http.o: CFLAGS += $(MHD_CFLAGS)

$(OUT)/sysq: $(call obj,$(CLI_SRCS)) $(OUT)/libsysq.a
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm -lpthread

# ---- tests ---------------------------------------------------------------
$(OUT)/tests/unit-tests: $(call obj,$(UNIT_SRCS) client/metrics.c client/get_stream.c client/ss_filter.c) $(CORE_OBJS) $(CLIENT_OBJS)
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

$(OUT)/tests/integration-tests: $(call obj,$(INTEG_SRCS)) $(OUT)/libsysq.a
	$(say) LINK $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion -lpthread

test-bins: build $(OUT)/tests/unit-tests $(OUT)/tests/integration-tests

# `make test` (= `make check`): everything, sanitized.  The summary line at
# the end is "sysq tests: N passed, N failed, N skipped".
test check:
	@mk/deps.sh test
	@$(MAKE) --no-print-directory BUILD=asan test-bins
	@tests/interop/thirdparty.sh >/dev/null
	@tests/run-all.sh build/asan

unit integration interop:
	@mk/deps.sh test
	@$(MAKE) --no-print-directory BUILD=asan test-bins
	@if [ $@ = interop ]; then tests/interop/thirdparty.sh >/dev/null; fi
	@tests/run-all.sh build/asan $@

# The third-party msgpack-rpc clients tests/interop/test_thirdparty.py drives
# (Go's ugorji/go/codec from Debian, msgpack5rpc from npm at pinned versions),
# built and installed under $${SYSQ_CACHE_DIR:-~/.cache/sysq}/interop, never
# in the tree.  The test runs it too (tests/run-all.sh alone works); running
# it first makes a failed fetch the first thing `make test` says.
interop-clients:
	@tests/interop/thirdparty.sh

# `make valgrind`: the integration suite against a release sysqd run under
# valgrind; any memory error or definite leak makes sysqd exit 99, which the
# harness reports as a failed test, and tests/valgrind-logs.sh then fails the
# run on any error or definite leak in a log, whoever started that sysqd.
valgrind:
	@mk/deps.sh valgrind
	@$(MAKE) --no-print-directory BUILD=rel test-bins
	@mkdir -p build/valgrind && chmod 1777 build/valgrind && rm -f build/valgrind/sysqd.*.log
	@printf '#!/bin/sh\nexec valgrind -q --sim-hints=fuse-compatible --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=%s/build/valgrind/sysqd.%%p.log %s/build/rel/sysqd "$$@"\n' "$(CURDIR)" "$(CURDIR)" >build/valgrind/sysqd
	@chmod +x build/valgrind/sysqd
	@SQ_UNDER_VALGRIND=1 SQ_SYSQD_OVERRIDE=$(CURDIR)/build/valgrind/sysqd \
	  tests/run-all.sh build/rel integration; rc=$$?; \
	  tests/valgrind-logs.sh build/valgrind && exit $$rc

# `make test-confined`: integration suites against sysqd confined as
# systemd/sysqd.service confines it (its capability bounding set and
# no_new_privs, tests/service/sandboxed-sysqd.sh).  proc and xattr are not
# among them: some of their root-caller checks need what the unit leaves out
# on purpose (trusted.* attributes need CAP_SYS_ADMIN, ptrace-guarded /proc
# files CAP_SYS_PTRACE; README "Sandboxing").
CONFINED_SUITES ?= @(sys|file|fs|limits|watch|cli|peruser)/*
test-confined:
	@mk/deps.sh test
	@$(MAKE) --no-print-directory BUILD=asan test-bins
	@SQ_SYSQD_OVERRIDE=$(CURDIR)/tests/service/sandboxed-sysqd.sh \
	  SQ_SYSQD_REAL=$(CURDIR)/build/asan/sysqd SQ_TEST_FILTER='$(CONFINED_SUITES)' \
	  tests/run-all.sh build/asan integration

# ---- running -------------------------------------------------------------
run: all
	@echo "sysqd: starting in the foreground (Ctrl-C stops it)"
	$(OUT)/sysqd -v $(ARGS)

bench:
	@mk/deps.sh bench
	@$(MAKE) --no-print-directory BUILD=rel build bench-bins
	@bench/run.sh build/rel

BENCH_SRCS := $(wildcard bench/*.c)
bench-bins: $(patsubst bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))
$(OUT)/bench/%: bench/%.c $(OUT)/libsysq.a $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $(filter-out %.h,$^) $(PKG_LIBS) -lpthread -lm
# what procev_load execs: no C library, no dynamic loader (the cheapest exec)
$(OUT)/bench/procev_true: bench/procev_true.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -nostdlib -Wall -Wextra -Werror -o $@ $<

# ---- fuzzing (clang libFuzzer) ---------------------------------------------
# make fuzz [FUZZ_TIME=60]: each harness in tests/fuzz/ runs FUZZ_TIME seconds,
# starting from its seed corpus tests/fuzz/corpus/<name>/ (copied, not grown).
FUZZ_TIME ?= 60
FUZZ_CC   ?= clang
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined $(OS_CPPFLAGS) -Iproto -Ilib -Idaemon -Iclient

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(PROTO_SRCS) $(LIB_SRCS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS)

# the request-path harness links the daemon (all of it but main.c)
build/fuzz/fuzz_request: tests/fuzz/fuzz_request.c $(filter-out daemon/main.c,$(DAEMON_SRCS)) \
                         $(PROTO_SRCS) $(LIB_SRCS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

fuzz:
	@mk/deps.sh fuzz
	@$(MAKE) --no-print-directory $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
	@for f in $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS)); do \
		name=$${f#fuzz_}; work=build/fuzz/corpus-$$name; \
		rm -rf $$work; mkdir -p $$work build/fuzz/artifacts; \
		cp tests/fuzz/corpus/$$name/* $$work/ 2>/dev/null; \
		echo "fuzz: $$f for $(FUZZ_TIME)s"; \
		build/fuzz/$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=build/fuzz/artifacts/ $$work >build/fuzz/$$f.log 2>&1 \
			|| { tail -n 40 build/fuzz/$$f.log; echo "fuzz: $$f FAILED"; exit 1; }; \
		grep -E 'stat::number_of_executed_units|cov:' build/fuzz/$$f.log | tail -n 2; \
	done

# ---- install -------------------------------------------------------------
# `make install` builds the release binaries, then copies; `make install-files`
# only copies what build/$(BUILD) holds (packagers after `make`; the install
# test).  DESTDIR is prepended to every path; PREFIX is where things run from.
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The Python package python/sysq goes where the system's Python looks for
# PREFIX (mk/pythondir.py: Debian's /usr/lib/python3/dist-packages for
# /usr); PYTHONDIR= to choose, empty (or no python3) to leave it out.
PYTHON      ?= $(firstword $(wildcard /usr/bin/python3) python3)
PYTHONDIR   ?= $(shell $(PYTHON) mk/pythondir.py '$(PREFIX)' 2>/dev/null)
PY_MODULES  := $(wildcard python/sysq/*.py)
# Shell completions, when the tree has them (COMPLETIONS= another dir).
COMPLETIONS ?= completions
BASH_COMPLETION = $(firstword $(wildcard $(COMPLETIONS)/sysq.bash $(COMPLETIONS)/sysq))
ZSH_COMPLETION  = $(firstword $(wildcard $(COMPLETIONS)/_sysq $(COMPLETIONS)/sysq.zsh))
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ifeq ($(OS),darwin)
  ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
else
  ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
endif
LAUNCHDDIR  ?= /Library/LaunchDaemons
# Service files: systemd units on Linux, the launchd plist on macOS, or none.
ifeq ($(OS),darwin)
  SERVICE ?= launchd
else
  SERVICE ?= systemd
endif
# Hook for the default policy (security issue): set POLICY_SRC to its file in
# the tree.  It goes to $(SYSCONFDIR)/sysq/, never over an existing (edited)
# copy, and uninstall removes it only while it is unchanged.
POLICY_SRC  ?= etc/policy.conf
MAN_PAGES   := $(wildcard man/*.[1-9])
# The unit and the plist name the default path; install rewrites it.
SQ_SHIPPED_SYSQD := /usr/local/sbin/sysqd
SQ_SHIPPED_SYSQ  := /usr/local/bin/sysq
METRICS_UNITS    := sysq-metrics.service sysq-metrics.timer sysq-metrics-http.service

install: all
	@$(MAKE) --no-print-directory BUILD=rel install-files

install-files:
	@test -x $(OUT)/sysqd -a -x $(OUT)/sysq -a -f $(OUT)/dist/$(LIBSYSQ_SHARED) || \
	  { echo "install: no binaries in $(OUT); run make first" >&2; exit 1; }
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(OUT)/sysqd $(DESTDIR)$(SBINDIR)/sysqd
	install -m 0755 $(OUT)/sysq $(DESTDIR)$(BINDIR)/sysq
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(OUT)/dist/$(LIBSYSQ_SHARED) $(DESTDIR)$(LIBDIR)/$(LIBSYSQ_SHARED)
	ln -sf $(LIBSYSQ_SHARED) $(DESTDIR)$(LIBDIR)/$(LIBSYSQ_DEVLINK)
	install -m 0644 $(OUT)/dist/libsysq.a $(DESTDIR)$(LIBDIR)/libsysq.a
	install -m 0644 client/libsysq.h $(DESTDIR)$(INCLUDEDIR)/libsysq.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	  -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@MSGPACK@|$(MSGPACK_PC)|' client/sysq.pc.in \
	  > $(DESTDIR)$(PKGCONFIGDIR)/sysq.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/sysq.pc
	@d='$(PYTHONDIR)'; if [ -z "$$d" ]; then \
	  echo "install: no Python ($(PYTHON)) to place the sysq package for; PYTHONDIR=DIR to install it"; \
	else \
	  echo "install -m 0644 $(PY_MODULES) $$d/sysq/"; \
	  install -d "$(DESTDIR)$$d/sysq" && install -m 0644 $(PY_MODULES) "$(DESTDIR)$$d/sysq/"; \
	fi
ifneq ($(BASH_COMPLETION),)
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 $(BASH_COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/sysq
endif
ifneq ($(ZSH_COMPLETION),)
	install -d $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 $(ZSH_COMPLETION) $(DESTDIR)$(ZSHCOMPDIR)/_sysq
endif
	@set -e; for m in $(MAN_PAGES); do \
	  d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
	  echo "install -m 0644 $$m $$d/"; install -d $$d; install -m 0644 $$m $$d/; \
	done
ifeq ($(SERVICE),systemd)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|$(SQ_SHIPPED_SYSQD)|$(SBINDIR)/sysqd|g' systemd/sysqd.service \
	  > $(DESTDIR)$(SYSTEMDUNITDIR)/sysqd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/sysqd.service
	install -m 0644 systemd/sysqd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/sysqd.socket
	@set -e; for u in $(METRICS_UNITS); do \
	  echo "install systemd/$$u -> $(SYSTEMDUNITDIR)/$$u"; \
	  sed 's|$(SQ_SHIPPED_SYSQ)|$(BINDIR)/sysq|g' systemd/$$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
	  chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
	done
endif
ifeq ($(SERVICE),launchd)
	install -d $(DESTDIR)$(LAUNCHDDIR)
	sed 's|$(SQ_SHIPPED_SYSQD)|$(SBINDIR)/sysqd|g' launchd/com.sysq.sysqd.plist \
	  > $(DESTDIR)$(LAUNCHDDIR)/com.sysq.sysqd.plist
	chmod 0644 $(DESTDIR)$(LAUNCHDDIR)/com.sysq.sysqd.plist
	sed 's|$(SQ_SHIPPED_SYSQ)|$(BINDIR)/sysq|g' launchd/com.sysq.metrics.plist \
	  > $(DESTDIR)$(LAUNCHDDIR)/com.sysq.metrics.plist
	chmod 0644 $(DESTDIR)$(LAUNCHDDIR)/com.sysq.metrics.plist
endif
ifneq ($(POLICY_SRC),)
	install -d $(DESTDIR)$(SYSCONFDIR)/sysq
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sysq/$(notdir $(POLICY_SRC)) ]; then \
	  echo "install: keeping the existing $(SYSCONFDIR)/sysq/$(notdir $(POLICY_SRC))"; \
	else \
	  install -m 0644 $(POLICY_SRC) $(DESTDIR)$(SYSCONFDIR)/sysq/$(notdir $(POLICY_SRC)); \
	fi
endif
	@case "$(SERVICE)" in \
	systemd) echo "installed; start it with: systemctl daemon-reload && systemctl enable --now sysqd.socket" ;; \
	launchd) echo "installed; start it with: sudo launchctl bootstrap system $(LAUNCHDDIR)/com.sysq.sysqd.plist" ;; \
	esac

# Stop the service first (systemctl disable --now sysqd.socket sysqd.service,
# or launchctl bootout system/com.sysq.sysqd).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sysqd $(DESTDIR)$(BINDIR)/sysq
	rm -f $(DESTDIR)$(LIBDIR)/$(LIBSYSQ_SHARED) $(DESTDIR)$(LIBDIR)/$(LIBSYSQ_DEVLINK) \
	  $(DESTDIR)$(LIBDIR)/libsysq.a $(DESTDIR)$(INCLUDEDIR)/libsysq.h $(DESTDIR)$(PKGCONFIGDIR)/sysq.pc
	rm -f $(DESTDIR)$(BASHCOMPDIR)/sysq $(DESTDIR)$(ZSHCOMPDIR)/_sysq
	@d='$(PYTHONDIR)'; if [ -n "$$d" ] && [ -d "$(DESTDIR)$$d/sysq" ]; then \
	  echo "rm -rf $$d/sysq"; rm -rf "$(DESTDIR)$$d/sysq"; fi
	rm -f $(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
ifeq ($(SERVICE),systemd)
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/sysqd.service $(DESTDIR)$(SYSTEMDUNITDIR)/sysqd.socket
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(METRICS_UNITS))
endif
ifeq ($(SERVICE),launchd)
	rm -f $(DESTDIR)$(LAUNCHDDIR)/com.sysq.sysqd.plist $(DESTDIR)$(LAUNCHDDIR)/com.sysq.metrics.plist
endif
ifneq ($(POLICY_SRC),)
	@f=$(DESTDIR)$(SYSCONFDIR)/sysq/$(notdir $(POLICY_SRC)); \
	if cmp -s $(POLICY_SRC) $$f; then rm -f $$f; rmdir $(DESTDIR)$(SYSCONFDIR)/sysq 2>/dev/null || true; \
	elif [ -e $$f ]; then echo "uninstall: keeping the edited $$f"; fi
endif

# ---- docs ----------------------------------------------------------------
# `make docs`: rewrite the generated parts of PROTOCOL.md (a contract block
# under each method's heading) and man/sysq-protocol.7 (the METHODS list)
# from the method table (daemon/methods.c), as a freshly built sysqd reports
# it in sys.methods; then check the hand-written parts against it.  `make
# test` runs the same check (tests/interop/test_contract.py) and fails when
# they are out of date.  Needs python3-msgpack.
docs:
	@$(MAKE) --no-print-directory build
	@/usr/bin/python3 mk/contract_docs.py write $(OUT)/sysqd

# ---- lint ----------------------------------------------------------------
# Citations (every project file the code and docs name exists, and nothing
# outside the project is cited), man pages (mandoc), the launchd plist
# (well-formed plist XML), and the systemd units (systemd-analyze verify,
# where systemd is installed, on a copy whose ExecStart= names an existing
# program; man pages not checked).
# Any message fails: verify itself exits 0 on settings it ignores.
lint:
	@mk/deps.sh lint
	/usr/bin/python3 mk/check-citations.py
	@missing=$$(git ls-files '*.c' '*.h' '*.sh' '*.py' '*.mk' Makefile .ci/run 2>/dev/null | \
	  while read -r f; do head -c 400 "$$f" | grep -q 'SPDX-License-Identifier: ISC' || echo "$$f"; done); \
	  if [ -n "$$missing" ]; then echo "no SPDX-License-Identifier line in:" $$missing >&2; exit 1; fi; \
	  echo "SPDX lines: every source file"
	mandoc -T lint -W warning $(MAN_PAGES)
	bash -n completions/sysq.bash
	@if command -v zsh >/dev/null 2>&1; then echo "zsh -n completions/_sysq"; zsh -n completions/_sysq; fi
	python3 -c 'import plistlib, sys; [plistlib.load(open(f, "rb")) for f in sys.argv[1:]]' \
	  launchd/com.sysq.sysqd.plist launchd/com.sysq.metrics.plist
	@if command -v systemd-analyze >/dev/null 2>&1; then \
	  echo "systemd-analyze verify systemd/sysqd.socket systemd/sysqd.service $(METRICS_UNITS)"; \
	  t=$$(mktemp -d) && trap 'rm -rf "$$t"' EXIT && \
	  sed 's|$(SQ_SHIPPED_SYSQD)|/bin/true|' systemd/sysqd.service > $$t/sysqd.service && \
	  cp systemd/sysqd.socket $$t/ && \
	  for u in $(METRICS_UNITS); do sed 's|$(SQ_SHIPPED_SYSQ)|/bin/true|' systemd/$$u > $$t/$$u; done && \
	  out=$$(cd $$t && systemd-analyze verify --man=no sysqd.socket sysqd.service $(METRICS_UNITS) 2>&1); \
	  rc=$$?; [ -n "$$out" ] && echo "$$out" >&2; [ $$rc = 0 ] && [ -z "$$out" ]; \
	fi

clean:
	rm -rf build

help:
	@echo "make            build sysqd, sysq and libsysq (release) into build/rel"
	@echo "make run        build and start sysqd in the foreground (ARGS=... to add options)"
	@echo "make test       build with ASan+UBSan and run unit, integration and interop tests"
	@echo "make bench      speed and memory figures against raw baselines"
	@echo "make check-darwin  compile the macOS code for arm64 and x86_64"
	@echo "make install    install under PREFIX=$(PREFIX) (DESTDIR honoured): binaries,"
	@echo "                man pages, systemd units or the launchd plist, libsysq (shared,"
	@echo "                static, libsysq.h, sysq.pc), the Python package sysq, shell"
	@echo "                completions; make uninstall"
	@echo "make lint       check citations of project files, the man pages, the plist"
	@echo "                and the systemd units"
	@echo "make docs       regenerate the method contracts in PROTOCOL.md and sysq-protocol(7)"

-include mk/darwin.mk
-include $(wildcard $(OUT)/*/*.d $(OUT)/*/*/*.d)
