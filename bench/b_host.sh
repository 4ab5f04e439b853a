#!/bin/sh
# SPDX-License-Identifier: ISC
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
. "$(dirname "$0")/private_sysqd.sh"
private_sysqd host "$b/sysqd"
echo "host:"
"$b/bench/host_bench" "$dir/s" "${HOST_BENCH_N:-2000}"
