#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_procev.sh BUILD_DIR - process events (issue 24): fork -> proc.fork
# latency, a 20,000 processes/s fork+exec loop with every event told or
# counted and sysqd's CPU, and 1,008 subscriptions taking a 1,000-fork burst
# with sysqd's RSS growth.  bench/procev_bench.c runs its own sysqd; it
# needs root (prints SKIPPED otherwise).
set -u
out=${1:?usage: bench/b_procev.sh BUILD_DIR}
bin=$out/bench/procev_bench
if [ ! -x "$bin" ] || [ ! -x "$out/sysqd" ]; then
	echo "b_procev: build first (make bench builds $bin and $out/sysqd)" >&2
	exit 1
fi
echo "process events:"
"$bin" "$out/sysqd" "${SQ_BENCH_PROCEV_ROUNDS:-300}"
