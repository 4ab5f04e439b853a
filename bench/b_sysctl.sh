#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_sysctl.sh BUILD_DIR - the sys.sysctl.get figure: `sysq sysctl` of
# 100 keys against procps `sysctl` of the same keys, one process each, in
# the same run (bench/sysctl_bench.c).  The keys: the first 100 that
# `sysctl -a` prints, leaving out the per-interface net.ipv4/ipv6.conf.*
# and those whose read has side effects or costs (route flush, random
# uuid, binfmt_misc).  Read-only: starts its own sysqd on a temp socket.
set -u
b=${1:?usage: bench/b_sysctl.sh BUILD_DIR}
sc=$(command -v sysctl || true)
if [ "$(uname -s)" != Linux ] || [ -z "$sc" ]; then
	echo "  sys.sysctl.get: not measured: needs Linux and procps sysctl"
	exit 0
fi
. "$(dirname "$0")/private_sysqd.sh"
private_sysqd sysctl "$b/sysqd"
keys=$("$sc" -a 2>/dev/null | sed 's/ = .*//' |
	grep -v -e '^net\.ipv[46]\.conf\.' -e 'route' -e '^fs\.binfmt_misc' \
		-e 'random\.uuid' -e 'stable_secret' | head -100)
echo "sysctl:"
# shellcheck disable=SC2086 # one argument per key
"$b/bench/sysctl_bench" "$dir/s" "$b/sysq" "$sc" "${SYSCTL_BENCH_N:-50}" $keys
