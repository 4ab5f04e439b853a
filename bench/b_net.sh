#!/bin/sh
# bench/b_net.sh BUILD_DIR - net.* figures: net.list through sysqd against
# the same work done in-process (raw baseline, same run), and net.mtu.get
# against sys.ping.  Read-only: starts its own sysqd on a temp socket,
# changes no interface, removes everything it made.
set -u
b=${1:?usage: bench/b_net.sh BUILD_DIR}
dir=$(mktemp -d /tmp/sysq-bench-net.XXXXXX) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
"$b/sysqd" -s "$dir/s" 2>"$dir/log" &
pid=$!
i=0
until [ -S "$dir/s" ]; do
	i=$((i + 1))
	if [ "$i" -gt 500 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "  net: sysqd did not start: $(cat "$dir/log")" >&2
		exit 1
	fi
	sleep 0.01
done
echo "net:"
"$b/bench/net_list" "$dir/s" "${NET_BENCH_N:-2000}"
