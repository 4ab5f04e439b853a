#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_watch.sh BUILD_DIR - latency from a change (mount, umount, kill)
# to its watch.event at the client, against a 1 s poller's average wait.
# bench/watch_latency.c runs its own sysqd in a private mount namespace and
# removes everything it made; it needs root (prints SKIPPED otherwise).
set -u
out=${1:?usage: bench/b_watch.sh BUILD_DIR}
rounds=${SQ_BENCH_WATCH_ROUNDS:-300}
bin=$out/bench/watch_latency
if [ ! -x "$bin" ] || [ ! -x "$out/sysqd" ]; then
	echo "b_watch: build first (make bench builds $bin and $out/sysqd)" >&2
	exit 1
fi
echo "watch (change -> notification latency):"
"$bin" "$out/sysqd" "$rounds"
