#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_net.sh BUILD_DIR - net.* figures: net.list through sysqd against
# the same work done in-process (raw baseline, same run), and net.mtu.get
# against sys.ping.  Read-only: starts its own sysqd on a temp socket,
# changes no interface, removes everything it made.
set -u
b=${1:?usage: bench/b_net.sh BUILD_DIR}
. "$(dirname "$0")/private_sysqd.sh"
private_sysqd net "$b/sysqd"
echo "net:"
"$b/bench/net_list" "$dir/s" "${NET_BENCH_N:-2000}"
