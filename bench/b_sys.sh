#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_sys.sh BUILD_DIR - the foundation's figures (docs/bench.md explains
# them): sys.ping round trip vs raw AF_UNIX ping-pong servers, pipelined
# throughput vs redis-server on a UNIX socket, and sysqd's idle and
# per-connection RSS.  Starts its own daemons and raw servers on temp sockets
# and removes everything in every path.
# Exit status: 0 when every figure was measured (OK or MISS), 1 otherwise.
set -u
out=${1:?usage: bench/b_sys.sh BUILD_DIR}
bin=$out/bench

tmp=$(mktemp -d /tmp/sysq-bench-sys.XXXXXX) || exit 1
pids="" fg="" dog=""
cleanup() {
	for p in $dog $fg $pids; do kill "$p" 2>/dev/null; done
	for p in $dog $fg $pids; do wait "$p" 2>/dev/null; done
	pids="" fg="" dog=""
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# run SECONDS CMD...: CMD in the background, waited for, so a signal to this
# script is handled at once (a shell defers traps while a foreground child
# runs) and a CMD that hangs (redis-benchmark whose server died) is killed.
run() {
	limit=$1
	shift
	"$@" &
	fg=$!
	(
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		sleep "$limit" &
		nap=$!
		wait "$nap" && kill "$fg" 2>/dev/null
	) >/dev/null 2>&1 &
	dog=$!
	wait "$fg"
	rc=$?
	kill "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	fg="" dog=""
	return $rc
}

status=0
broken() { # name why
	echo "  $1: not measured: $2"
	status=1
}

# fig NAME FIGURE UNIT RATIO OP LIMIT TARGET_TEXT [VALUE]: one figure line,
# OK when "VALUE OP LIMIT" holds (OP is <, <= or >=; VALUE defaults to RATIO).
fig() {
	if awk -v a="${8:-$4}" -v op="$5" -v b="$6" 'BEGIN {
		if (op == "<") exit !(a < b); if (op == "<=") exit !(a <= b); exit !(a >= b) }'
	then verdict=OK; else verdict=MISS; fi
	echo "  $1: $2 $3  ratio $4 (target $7) $verdict"
}

# kv FILE KEY: the value of a key=value line the bench programs print.
kv() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# await PID LOG LABEL CMD...: poll CMD until it succeeds (5 s at most); when
# it never does or PID dies first, show LOG and fail.
await() {
	apid=$1 alog=$2 alabel=$3
	shift 3
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$apid" 2>/dev/null; then
			sed "s/^/    $alabel: /" "$alog"
			return 1
		fi
		sleep 0.05
	done
}

# start_sysqd NAME: a release sysqd on $tmp/NAME.sock; sets $spid.
start_sysqd() {
	# 1,000 idle connections need descriptors: raise the soft limit if we can
	(if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
		ulimit -n 4096 2>/dev/null
	fi
	exec "$out/sysqd" -s "$tmp/$1.sock") 2>"$tmp/$1.log" &
	spid=$!
	pids="$pids $spid"
	await "$spid" "$tmp/$1.log" sysqd "$out/sysq" -s "$tmp/$1.sock" hello
}

# start_raw epoll|block: bench/sys_raw on $tmp/raw-KIND.sock (the path
# appears once it accepts); sets $rpid.
start_raw() {
	"$bin/sys_raw" "$1" "$tmp/raw-$1.sock" 2>"$tmp/raw-$1.log" &
	rpid=$!
	pids="$pids $rpid"
	await "$rpid" "$tmp/raw-$1.log" sys_raw test -S "$tmp/raw-$1.sock"
}

stop() { # PID
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

for b in sysqd sysq bench/sys_rtt bench/sys_raw bench/sys_tput bench/sys_mem; do
	if [ ! -x "$out/$b" ]; then
		echo "  b_sys: $out/$b is missing (run make bench)"
		exit 1
	fi
done

# ---- memory: a fresh daemon, idle, then with 1,000 idle connections -------
echo "  -- memory (fresh sysqd: VmRSS after one sys.hello, then 1000 idle connections)"
if start_sysqd mem && run 60 "$bin/sys_mem" "$tmp/mem.sock" "$spid" 1000 >"$tmp/mem.out" 2>&1; then
	idle=$(kv "$tmp/mem.out" idle_kib)
	busy=$(kv "$tmp/mem.out" conns_kib)
	per=$(kv "$tmp/mem.out" per_conn_kib)
	echo "    VmRSS idle $idle KiB, with 1000 idle connections $busy KiB"
	mib=$(awk -v k="$idle" 'BEGIN { printf "%.2f", k / 1024 }')
	fig sysqd.rss_idle "$mib" MiB "$(awk -v k="$idle" 'BEGIN { printf "%.2f", k / 4096 }')" \
		"<" 4096 "< 4 MiB" "$idle"
	fig sysqd.rss_per_idle_conn "$per" KiB "$(awk -v k="$per" 'BEGIN { printf "%.2f", k / 16 }')" \
		"<" 16 "< 16 KiB" "$per"
else
	sed 's/^/    /' "$tmp/mem.out" 2>/dev/null
	broken sysqd.rss_idle "the memory bench did not run"
	broken sysqd.rss_per_idle_conn "the memory bench did not run"
fi
[ -n "${spid:-}" ] && stop "$spid"

# ---- round trip: sys.ping vs raw AF_UNIX, one connection, no pipelining ----
spid=""
if ! start_sysqd main; then
	broken sys.ping.rtt "sysqd did not start"
	broken sys.ping.pipelined "sysqd did not start"
	exit 1
fi
sq=$spid
# The raw servers (bench/sys_raw.c) are started like sysqd, as processes of
# their own listening on a path, and sys_rtt reaches all three the same way.
# "epoll" (nonblocking socket, epoll_wait, read, write) is the baseline of the
# ratio: the floor of any event-loop daemon.  "block" (blocking read/write)
# is printed for information.  Nothing is pinned.  On a 2-vCPU VM a round trip
# between processes sharing a vCPU takes ~11 us, across the vCPUs 70-100 us,
# and where the scheduler puts each server varies from run to run (it keeps a
# ping-pong pair where it finds it); such a run compares placements, not
# servers.  sys_rtt notes, block by block, whether each server ran on the
# client's vCPU, and the figure compares sysqd with the epoll server over the
# blocks in which both were placed alike (both on the client's vCPU, or both
# away: the class with more blocks of each, at least 20).  Up to 3 runs
# (fresh client, so a fresh placement) are tried until that class holds at
# least 50 blocks of each; the kept run is the first such, else the one with
# the most.  Placement alone decides, never the times (docs/bench.md).
rtt_n=30000
echo "  -- round trip (1 connection, no pipelining; $rtt_n each, alternating blocks)"
if start_raw epoll && ep=$rpid && start_raw block && bp=$rpid; then
	rtt_args="$rtt_n $tmp/main.sock $sq $tmp/raw-epoll.sock $ep $tmp/raw-block.sock $bp"
else
	rtt_args=""
fi
attempt=0 best=-1 rtt_ok=0
while [ -n "$rtt_args" ] && [ $attempt -lt 3 ]; do
	attempt=$((attempt + 1))
	# shellcheck disable=SC2086 # rtt_args is split on purpose ($tmp has no spaces)
	if ! run 60 "$bin/sys_rtt" $rtt_args >"$tmp/rtt.try" 2>&1; then
		sed 's/^/    /' "$tmp/rtt.try"
		continue
	fi
	rtt_ok=1
	alike=$(kv "$tmp/rtt.try" alike_blocks)
	alike=${alike:-0}
	if [ "$alike" -gt 0 ]; then
		cmp="over the $(kv "$tmp/rtt.try" alike_sysqd_blocks)+$(kv "$tmp/rtt.try" alike_epoll_blocks)"
		cmp="$cmp blocks both ran $(kv "$tmp/rtt.try" alike_where) the client's vCPU:"
		cmp="$cmp sysqd $(kv "$tmp/rtt.try" alike_sysqd_median_us) us,"
		cmp="$cmp epoll $(kv "$tmp/rtt.try" alike_epoll_median_us) us, ratio $(kv "$tmp/rtt.try" alike_ratio)"
	else
		cmp="no placement class with 20 blocks of each"
	fi
	echo "    run $attempt: all blocks: epoll server $(kv "$tmp/rtt.try" epoll_median_us) us," \
		"sysqd $(kv "$tmp/rtt.try" sysqd_median_us) us, ratio $(kv "$tmp/rtt.try" ratio)" \
		"(blocking-read server $(kv "$tmp/rtt.try" block_median_us) us);" \
		"on the client's vCPU: epoll $(kv "$tmp/rtt.try" epoll_same_cpu_pct)%," \
		"sysqd $(kv "$tmp/rtt.try" sysqd_same_cpu_pct)%," \
		"blocking $(kv "$tmp/rtt.try" block_same_cpu_pct)% of blocks; $cmp"
	if [ "$alike" -gt "$best" ]; then
		best=$alike
		cp "$tmp/rtt.try" "$tmp/rtt.out"
	fi
	[ "$alike" -ge 50 ] && break
done
if [ $rtt_ok = 1 ]; then
	echo "    raw AF_UNIX ping-pong, epoll server ($(kv "$tmp/rtt.out" request_bytes)+$(kv "$tmp/rtt.out" reply_bytes) bytes):" \
		"median $(kv "$tmp/rtt.out" epoll_median_us) us, p99 $(kv "$tmp/rtt.out" epoll_p99_us) us"
	echo "    blocking-read server: median $(kv "$tmp/rtt.out" block_median_us) us," \
		"p99 $(kv "$tmp/rtt.out" block_p99_us) us; sysqd/blocking $(kv "$tmp/rtt.out" block_ratio) (info)"
	echo "    sysqd sys.ping: median $(kv "$tmp/rtt.out" sysqd_median_us) us," \
		"p99 $(kv "$tmp/rtt.out" sysqd_p99_us) us"
	# diagnosis only, not the figure: the same comparison with the client and
	# the three servers confined to one vCPU, i.e. the servers' own costs
	# shellcheck disable=SC2086
	if [ "$(uname -s)" = Linux ] &&
		run 60 "$bin/sys_rtt" $rtt_args pin >"$tmp/pin.out" 2>&1; then
		echo "    diagnosis, all four confined to one vCPU (not the figure):" \
			"epoll $(kv "$tmp/pin.out" epoll_median_us) us," \
			"blocking $(kv "$tmp/pin.out" block_median_us) us," \
			"sysqd $(kv "$tmp/pin.out" sysqd_median_us) us," \
			"ratio $(kv "$tmp/pin.out" ratio) (sysqd/blocking $(kv "$tmp/pin.out" block_ratio))"
	fi
	if [ "$best" -gt 0 ]; then
		echo "    the figure: blocks placed alike ($(kv "$tmp/rtt.out" alike_where) the client's vCPU)"
		fig sys.ping.rtt "$(kv "$tmp/rtt.out" alike_sysqd_median_us)" us \
			"$(kv "$tmp/rtt.out" alike_ratio)" "<=" 1.15 "<= 1.15x raw epoll server"
	else
		echo "    note: no run placed sysqd and the epoll server alike in 20 blocks;" \
			"the ratio below mixes placements (docs/bench.md)"
		fig sys.ping.rtt "$(kv "$tmp/rtt.out" sysqd_median_us)" us \
			"$(kv "$tmp/rtt.out" ratio)" "<=" 1.15 "<= 1.15x raw epoll server"
	fi
elif [ -z "$rtt_args" ]; then
	broken sys.ping.rtt "a raw server did not start"
else
	broken sys.ping.rtt "sys_rtt failed"
fi
[ -n "${ep:-}" ] && stop "$ep"
[ -n "${bp:-}" ] && stop "$bp"

# ---- throughput: 50 connections x 16 pipelined, vs redis-server -----------
# The three runs alternate, three rounds, best of each: the machine is shared,
# and a run that lost the CPU to someone else says nothing about the server.
n=2000000
rounds=3
echo "  -- throughput (50 connections x 16 pipelined, $n requests a run, best of $rounds)"
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then
	broken sys.ping.pipelined "redis-server/redis-benchmark not installed (mk/deps.sh bench)"
	stop "$sq"
	exit $status
fi
redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' --appendonly no \
	--daemonize no >"$tmp/redis.log" 2>&1 &
redis=$!
pids="$pids $redis"
i=0
while [ ! -S "$tmp/redis.sock" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done

s_all="" r_all="" ri_all="" c_all="" ok=1
round=0
while [ $round -lt $rounds ]; do
	round=$((round + 1))
	if run 60 "$bin/sys_tput" sysq "$tmp/main.sock" $n 50 16 >"$tmp/tput.out" 2>&1; then
		s_all="$s_all $(kv "$tmp/tput.out" rps)"
	else
		sed 's/^/    /' "$tmp/tput.out"; ok=0
	fi
	if run 60 redis-benchmark -s "$tmp/redis.sock" -c 50 -P 16 -n $n -t ping --csv \
		>"$tmp/rb.out" 2>&1; then
		r_all="$r_all $(awk -F'"' '$2 == "PING_MBULK" { printf "%.0f", $4 }' "$tmp/rb.out")"
		ri_all="$ri_all $(awk -F'"' '$2 == "PING_INLINE" { printf "%.0f", $4 }' "$tmp/rb.out")"
	else
		sed 's/^/    /' "$tmp/rb.out"; ok=0
	fi
	if run 60 "$bin/sys_tput" redis "$tmp/redis.sock" $n 50 16 >"$tmp/tput.out" 2>&1; then
		c_all="$c_all $(kv "$tmp/tput.out" rps)"
	else
		sed 's/^/    /' "$tmp/tput.out"; ok=0
	fi
done
stop "$redis"
stop "$sq"

max() { echo "$@" | tr ' ' '\n' | awk 'NF && ($1 + 0 > m + 0 || m == "") { m = $1 } END { print m }'; }
s_rps=$(max $s_all) r_rps=$(max $r_all) ri_rps=$(max $ri_all) c_rps=$(max $c_all)
if [ $ok = 1 ] && [ -n "$s_rps" ] && [ -n "$r_rps" ] && [ -n "$c_rps" ]; then
	echo "    sysqd, bench/sys_tput:$s_all req/s"
	echo "    redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')," \
		"redis-benchmark -s SOCK -c 50 -P 16 -n $n -t ping: PING_MBULK$r_all req/s" \
		"(PING_INLINE$ri_all)"
	echo "    redis-server, the same client as sysqd (bench/sys_tput):$c_all req/s;" \
		"best sysqd/best redis with the same client:" \
		"$(awk -v a="$s_rps" -v b="$c_rps" 'BEGIN { printf "%.2f", a / b }')x"
	fig sys.ping.pipelined "$s_rps" req/s \
		"$(awk -v a="$s_rps" -v b="$r_rps" 'BEGIN { printf "%.2f", a / b }')" \
		">=" 1.0 ">= 1.0x redis-benchmark PING_MBULK"
else
	broken sys.ping.pipelined "a throughput run failed"
fi
exit $status
