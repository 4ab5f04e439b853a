#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_sockets.sh BUILD_DIR - net.sockets against ss(8) in the same run,
# with SOCKETS_BENCH_N (10,000) established loopback TCP connections that
# bench/sockets_bench.c makes and closes.  As root, sysqd and the
# connections live in a private network namespace (unshare -n), so the
# host's own sockets do not enter the figures; else the host's namespace.
set -u
b=${1:?usage: bench/b_sockets.sh BUILD_DIR}
if [ -z "${SQ_BENCH_IN_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
   unshare -n true 2>/dev/null; then
	SQ_BENCH_IN_NS=1 exec unshare -n sh "$0" "$@"
fi
[ -n "${SQ_BENCH_IN_NS:-}" ] && ip link set lo up 2>/dev/null
command -v ss >/dev/null || { echo "  sockets: ss(8) is not installed (iproute2)" >&2; exit 1; }
. "$(dirname "$0")/private_sysqd.sh"
private_sysqd sockets "$b/sysqd"
echo "sockets:${SQ_BENCH_IN_NS:+ (private network namespace)}"
"$b/bench/sockets_bench" "$dir/s" "${SOCKETS_BENCH_N:-10000}" "${SOCKETS_BENCH_ITER:-9}" "$pid"
