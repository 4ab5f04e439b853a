#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_xattr.sh BUILD_DIR - xattr figures: pipelined xattr.get against
# pipelined sys.ping (same client and run), and one xattr.get's cost against
# raw getxattr(2) with the pieces in between.  As root the client runs as uid
# 65534, so requests run as that user (a pool thread keeps the identity while
# the caller stays the same).  Cleans up in every path.
set -u
out=${1:?usage: bench/b_xattr.sh BUILD_DIR}
tmp=$(mktemp -d /tmp/sysq-bench-xattr.XXXXXX) || exit 1
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

for b in sysqd sysq bench/xattr_bench; do
	if [ ! -x "$out/$b" ]; then
		echo "  b_xattr: $out/$b is missing (run make bench)"
		exit 1
	fi
done
chmod 755 "$tmp"
"$out/sysqd" -s "$tmp/s.sock" 2>"$tmp/sysqd.log" &
pid=$!
i=0
while ! "$out/sysq" -s "$tmp/s.sock" hello >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "  xattr: sysqd did not start: $(cat "$tmp/sysqd.log")"
		exit 1
	fi
	sleep 0.05
done

# a 16-byte value on a file every user may read
f=$tmp/file
: >"$f"
chmod 644 "$f"
if ! "$out/sysq" -s "$tmp/s.sock" xattr -w user.sq.bench 0123456789abcdef "$f" 2>"$tmp/err"; then
	echo "  xattr.get.pipelined: not measured: user.* attributes do not work in /tmp ($(cat "$tmp/err"))"
	exit 1
fi
as=""
[ "$(id -u)" = 0 ] && as=65534

total=${XATTR_BENCH_N:-100000}
echo "  -- $total requests a run, 8 connections x 16 pipelined, 3 alternating rounds, best of each"
if ! "$out/bench/xattr_bench" "$tmp/s.sock" "$f" user.sq.bench "$total" 8 16 3 $as \
	>"$tmp/out" 2>&1; then
	sed 's/^/    /' "$tmp/out"
	echo "  xattr.get.pipelined: not measured: xattr_bench failed"
	exit 1
fi
kv() { sed -n "s/^$1=//p" "$tmp/out" | tail -n 1; }
ping=$(kv ping_rps) get=$(kv get_rps) ratio=$(kv ratio)
raw=$(kv raw_getxattr_ns) raw64=$(kv raw_getxattr_64k_buffer_ns) lib=$(kv lib_get_ns)
paths=$(kv lib_get_paths_ns) via=$(kv lib_via)
sw=$(kv ident_switch_ns) same=$(kv ident_become_same_ns) other=$(kv ident_become_other_ns)
case $via in
getxattrat) how="getxattrat on entry N of /proc/self/fd" ;;
path) how="getxattr on /proc/self/fd/N" ;;
*) how="f*xattr on the descriptor" ;;
esac
echo "    rounds (req/s): sys.ping$(sed -n 's/^round[0-9]*_ping_rps=/ /p' "$tmp/out" | tr -d '\n')," \
	"xattr.get$(sed -n 's/^round[0-9]*_get_rps=/ /p' "$tmp/out" | tr -d '\n')"
echo "    client uid $(kv uid); per call in-process: raw getxattr $raw ns" \
	"(with a 64 KiB buffer $raw64 ns), sq_xattr_get (O_PATH open, $how, close)" \
	"$lib ns${paths:+ (with /proc/self/fd/N paths, as before Linux 6.13: $paths ns)}"
[ -n "$sw" ] && echo "    identity per request: enter + leave $sw ns; an as-caller pool" \
	"thread: the same caller again $same ns, another caller each time $other ns"
us=$(kv get_us_per_call)
echo "    xattr.get through sysqd: $us us per call at the pipelined rate" \
	"($(awk -v u="$us" -v r="$raw" 'BEGIN { printf "%.1f", u * 1000 / r }')x a raw getxattr," \
	"$(awk -v u="$us" -v r="$lib" 'BEGIN { printf "%.1f", u * 1000 / r }')x sq_xattr_get)"
# what the machine allows: one core doing nothing but raw getxattr calls;
# and one core doing what each request must (open, get, close as the caller)
echo "    bound: a raw getxattr loop on one core makes" \
	"$(awk -v r="$raw" 'BEGIN { printf "%.0f", 1e9 / r }') calls/s," \
	"$(awk -v r="$raw" -v p="$ping" 'BEGIN { printf "%.2f", 1e9 / r / p }')x sys.ping pipelined;" \
	"an sq_xattr_get loop $(awk -v r="$lib" 'BEGIN { printf "%.0f", 1e9 / r }') calls/s," \
	"$(awk -v r="$lib" -v p="$ping" 'BEGIN { printf "%.2f", 1e9 / r / p }')x"

verdict() { awk -v a="$1" -v b="$2" "BEGIN { exit !(a $3 b) }" && echo OK || echo MISS; }
echo "  xattr.get.pipelined: $get req/s  ratio $ratio (target >= 0.7x sys.ping pipelined) $(verdict "$ratio" 0.7 '>=')"
# the safe open (openat2 without magic links, the own-/proc check) must not
# cost the speed: pipelined xattr.get against one thread's raw getxattr loop
vsraw=$(awk -v g="$get" -v r="$raw" 'BEGIN { printf "%.2f", g * r / 1e9 }')
echo "  xattr.get.vs_raw: $get req/s against a raw getxattr loop of" \
	"$(awk -v r="$raw" 'BEGIN { printf "%.0f", 1e9 / r }') calls/s (one thread, this run):" \
	"ratio $vsraw (target >= 0.35) $(verdict "$vsraw" 0.35 '>=')"
