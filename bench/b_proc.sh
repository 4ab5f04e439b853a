#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_proc.sh BUILD_DIR - the process table's figures, with 1,000 and
# then 8,000 extra sleeping processes alive (bench/proc_table.c starts and
# reaps them):
#   proc.list (every field) vs a raw C scan of the same /proc files
#   `sysq ps` (its default columns, %MEM among them) wall time vs
#   `ps -eo pid,ppid,user,stat,rss,time,args`
#   and psutil's process_iter as a third column when python3-psutil is there.
# Starts its own sysqd on a temp socket and removes everything in every path.
# Env: SQ_BENCH_PROCS (the counts, default "1000 8000"), SQ_BENCH_ROUNDS
# (default 15 at 1,000 processes and fewer, 7, from 4,000 on).
# Exit status: 0 when every figure was measured (OK or MISS), 1 otherwise.
set -u
out=${1:?usage: bench/b_proc.sh BUILD_DIR}
counts=${SQ_BENCH_PROCS:-1000 8000}

tmp=$(mktemp -d /tmp/sysq-bench-proc.XXXXXX) || exit 1
spid="" fg=""
cleanup() {
	for p in $fg $spid; do kill "$p" 2>/dev/null; done
	for p in $fg $spid; do wait "$p" 2>/dev/null; done
	fg="" spid=""
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fig() { # NAME FIGURE UNIT RATIO OP LIMIT TARGET_TEXT
	if awk -v a="$4" -v op="$5" -v b="$6" 'BEGIN {
		if (op == "<") exit !(a < b); if (op == "<=") exit !(a <= b); exit !(a >= b) }'
	then verdict=OK; else verdict=MISS; fi
	echo "  $1: $2 $3  ratio $4 (target $7) $verdict"
}
kv() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

for b in sysqd sysq bench/proc_table; do
	if [ ! -x "$out/$b" ]; then
		echo "  b_proc: $out/$b is missing (run make bench)"
		exit 1
	fi
done
if [ "$(uname -s)" != Linux ]; then
	echo "  proc.list: not measured: the raw baseline reads /proc (Linux only)"
	exit 1
fi

"$out/sysqd" -s "$tmp/s.sock" 2>"$tmp/sysqd.log" &
spid=$!
i=0
while [ ! -S "$tmp/s.sock" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$spid" 2>/dev/null; then
		sed 's/^/    sysqd: /' "$tmp/sysqd.log"
		echo "  proc.list: not measured: sysqd did not start"
		exit 1
	fi
	sleep 0.05
done

py=""
if /usr/bin/python3 -c 'import psutil' 2>/dev/null; then
	py=/usr/bin/python3
fi

measure() { # CHILDREN ROUNDS
	children=$1 rounds=$2
	echo "  -- $children extra sleeping processes; $rounds alternating rounds; medians of the"
	echo "     times, and of the round-by-round ratios (each pair ran back to back)"
	# in the background and waited for, so a signal reaches our trap at once
	"$out/bench/proc_table" "$tmp/s.sock" "$out/sysq" "$children" "$rounds" $py \
		>"$tmp/pt.out" 2>"$tmp/pt.err" &
	fg=$!
	wait "$fg"
	rc=$?
	fg=""
	if [ $rc -ne 0 ]; then
		sed 's/^/    /' "$tmp/pt.err"
		echo "  proc.list: not measured: bench/proc_table failed"
		echo "  sysq.ps: not measured: bench/proc_table failed"
		return 1
	fi
	r=$tmp/pt.out
	echo "    processes: $(kv "$r" procs) in /proc, $(kv "$r" listed) listed by proc.list"
	echo "    raw C scan of status+stat+exe+cmdline: $(kv "$r" raw_ms) ms on $(kv "$r" threads)" \
		"thread(s) as sysqd splits it, $(kv "$r" raw1_ms) ms on one"
	echo "    proc.list (all fields, request sent to last reply byte): $(kv "$r" list_ms) ms;" \
		"vs the one-thread scan: $(kv "$r" list_ratio1)x; then client decoding: $(kv "$r" decode_ms) ms"
	echo "    ps -eo pid,ppid,user,stat,rss,time,args: $(kv "$r" ps_ms) ms;" \
		"sysq ps: $(kv "$r" sysq_ps_ms) ms"
	fig "proc.list, $children extra processes" "$(kv "$r" list_ms)" ms "$(kv "$r" list_ratio)" "<=" 1.2 \
		"<= 1.2x raw /proc scan, same threads"
	fig "sysq ps, $children extra processes" "$(kv "$r" sysq_ps_ms)" ms "$(kv "$r" ps_ratio)" "<=" 0.6 "<= 0.6x ps -eo"
	if [ -n "$py" ]; then
		echo "    psutil process_iter (same columns): $(kv "$r" psutil_ms) ms;" \
			"sysq ps / psutil = $(kv "$r" psutil_ratio) (for information, no target)"
	else
		echo "    psutil: python3-psutil is not installed, third column skipped"
	fi
}

for children in $counts; do
	rounds=${SQ_BENCH_ROUNDS:-15}
	[ -z "${SQ_BENCH_ROUNDS:-}" ] && [ "$children" -ge 4000 ] && rounds=7
	measure "$children" "$rounds" || exit 1
done
exit 0
