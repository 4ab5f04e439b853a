#!/bin/sh
# bench/b_host.sh BUILD_DIR - the sys.host figure: a sys.host round trip
# through sysqd against raw reads of the same /proc files in the same run
# (bench/host_bench.c).  Read-only: starts its own sysqd on a temp socket
# and removes everything it made.
set -u
b=${1:?usage: bench/b_host.sh BUILD_DIR}
if [ "$(uname -s)" != Linux ]; then
	echo "  sys.host: not measured: the raw baseline reads Linux's /proc"
	exit 0
fi
dir=$(mktemp -d /tmp/sysq-bench-host.XXXXXX) || exit 1
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
		echo "  host: sysqd did not start: $(cat "$dir/log")" >&2
		exit 1
	fi
	sleep 0.01
done
echo "host:"
"$b/bench/host_bench" "$dir/s" "${HOST_BENCH_N:-2000}"
