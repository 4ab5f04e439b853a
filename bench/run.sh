#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/run.sh BUILD_DIR - the driver behind `make bench`.  Runs the
# foundation's figures (bench/b_sys.sh) and then every other bench/b_*.sh in
# name order, each with BUILD_DIR as $1, under a header per section, and ends
# with a summary of every "... OK" / "... MISS" figure line.  A MISS never
# fails the build: the exit status is non-zero only when a section could not
# run.  Each section cleans up its own daemons and temp files.
set -u
out=${1:?usage: bench/run.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
case $out in /*) ;; *) out=$top/$out ;; esac

if [ ! -x "$out/sysqd" ]; then
	echo "bench/run.sh: no $out/sysqd; run 'make bench'" >&2
	exit 1
fi

work=$(mktemp -d /tmp/sysq-bench-run.XXXXXX) || exit 1
child="" teepid=""
# on a signal, stop the running section (its own trap stops its daemons)
# and wait for it, so nothing outlives the driver
on_signal() {
	[ -n "$child" ] && kill "$child" 2>/dev/null && wait "$child" 2>/dev/null
	[ -n "$teepid" ] && wait "$teepid" 2>/dev/null
	exit 130
}
trap 'rm -rf "$work"' EXIT
trap on_signal INT TERM HUP
mkfifo "$work/fifo" || exit 1

figures=$work/figures
: >"$figures"
broken=""
start=$(date +%s)

echo "sysq bench: $(uname -sr), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs," \
	"load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "figure lines: <name>: <figure> <unit>  ratio <x> (target <t>) OK|MISS  (see docs/bench.md)"
# the figures compare against baselines measured alongside, but a busy
# machine still moves them: say so rather than let a reader trust them
busy=$(awk -v n="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)" \
	'{ if ($1 > n / 2) print $1 }' /proc/loadavg 2>/dev/null)
[ -n "$busy" ] && echo "note: load average $busy when starting: other work shares these CPUs," \
	"so expect noisy figures; rerun on a quiet machine"

section() { # TITLE SCRIPT
	echo
	echo "== $1 ($2)"
	t0=$(date +%s)
	tee "$work/section" <"$work/fifo" &
	teepid=$!
	sh "$2" "$out" >"$work/fifo" 2>&1 &
	child=$!
	wait "$child"
	rc=$?
	child=""
	wait "$teepid"
	teepid=""
	grep -E ' (OK|MISS)$' "$work/section" >>"$figures"
	if [ "$rc" -ne 0 ]; then
		broken="$broken $(basename "$2")"
		echo "   (section exit status $rc: something could not run)"
	fi
	echo "   ($(($(date +%s) - t0)) s)"
}

section "sys: foundation" bench/b_sys.sh
for s in bench/b_*.sh; do
	[ -e "$s" ] || continue
	[ "$s" = bench/b_sys.sh ] && continue
	name=$(basename "$s" .sh)
	section "${name#b_}" "$s"
done

echo
echo "== summary ($(($(date +%s) - start)) s)"
cat "$figures"
ok=$(grep -c ' OK$' "$figures")
miss=$(grep -c ' MISS$' "$figures")
if [ -n "$broken" ]; then
	echo "$ok OK, $miss MISS; could not run:$broken"
	exit 1
fi
echo "$ok OK, $miss MISS"
exit 0
