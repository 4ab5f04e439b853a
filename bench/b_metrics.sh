#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_metrics.sh BUILD_DIR - scrape latency of `sysq metrics --listen`
# against prometheus-node-exporter running the collectors for the same
# figures (cpu, meminfo, loadavg, pressure, netdev, filesystem: sysq's host,
# net and fs collectors, chosen with collect[] as node_exporter's are;
# docs/metrics.md), on the same machine in the same run, both on loopback,
# scraped alternately with curl; medians compared.  sysq's whole scrape
# (every collector, sockets and processes too) is printed for information.
# Everything started here (sysqd, the endpoint, node_exporter, the temp dir)
# is stopped/removed on exit.
set -u
out=${1:?usage: bench/b_metrics.sh BUILD_DIR}
rounds=${SQ_BENCH_METRICS_ROUNDS:-100}
ne=$(command -v prometheus-node-exporter || command -v node_exporter || true)
if [ ! -x "$out/sysqd" ] || [ ! -x "$out/sysq" ]; then
	echo "b_metrics: build first ($out/sysqd, $out/sysq)" >&2
	exit 1
fi
if [ -z "$ne" ] || ! command -v curl >/dev/null 2>&1; then
	echo "b_metrics: needs prometheus-node-exporter and curl (mk/deps.sh bench)" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/sysq-bench-metrics.XXXXXX) || exit 1
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -f "$dir"/*
	rmdir "$dir" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # what file pattern
	i=0
	while ! grep -q "$3" "$2" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 500 ]; then
			echo "b_metrics: $1 did not start:" >&2
			cat "$2" >&2
			exit 1
		fi
		sleep 0.02
	done
}

"$out/sysqd" -s "$dir/sysqd.sock" 2>"$dir/sysqd.log" &
pids="$pids $!"
i=0
while [ ! -S "$dir/sysqd.sock" ]; do
	i=$((i + 1)); [ "$i" -gt 500 ] && { echo "b_metrics: sysqd did not start" >&2; exit 1; }
	sleep 0.02
done
"$out/sysq" -s "$dir/sysqd.sock" metrics --listen 127.0.0.1:0 2>"$dir/listen.log" &
pids="$pids $!"
wait_for "sysq metrics --listen" "$dir/listen.log" 'listening on'
sport=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$dir/listen.log")
nport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ne" --collector.disable-defaults --collector.cpu --collector.meminfo \
	--collector.loadavg --collector.pressure --collector.netdev --collector.filesystem \
	--web.listen-address="127.0.0.1:$nport" >"$dir/ne.log" 2>&1 &
pids="$pids $!"
wait_for node_exporter "$dir/ne.log" 'Listening on'

same='collect[]=host&collect[]=net&collect[]=fs'
scrape() { curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$1/metrics${2-}"; }
scrape "$sport" "?$same" >/dev/null; scrape "$nport" >/dev/null # warm up
scrape "$sport" >/dev/null
n=0
while [ "$n" -lt "$rounds" ]; do
	scrape "$sport" "?$same" >>"$dir/s.t"
	scrape "$nport" "" >>"$dir/n.t"
	scrape "$sport" "" >>"$dir/all.t"
	n=$((n + 1))
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
s=$(median "$dir/s.t")
n=$(median "$dir/n.t")
a=$(median "$dir/all.t")
ssz=$(curl -s "http://127.0.0.1:$sport/metrics?$same" | wc -l)
nsz=$(curl -s "http://127.0.0.1:$nport/metrics" | wc -l)
asz=$(curl -s "http://127.0.0.1:$sport/metrics" | wc -l)
awk -v s="$s" -v n="$n" -v a="$a" -v ss="$ssz" -v ns="$nsz" -v as="$asz" 'BEGIN {
	r = s / n
	printf "    node_exporter cpu+meminfo+loadavg+pressure+netdev+filesystem (%d lines): median %.2f ms\n",
	       ns, n * 1000
	printf "    sysq every collector (sockets and processes too; %d lines): median %.2f ms, %.2fx (information)\n",
	       as, a * 1000, a / n
	printf "  metrics scrape (sysq --listen, collect[]=host,net,fs, %d lines): %.2f ms  ratio %.2f (target <= 1.0x node_exporter, same collectors) %s\n",
	       ss, s * 1000, r, r <= 1.0 ? "OK" : "MISS"
}'
