#!/bin/sh
# SPDX-License-Identifier: ISC
# mk/deps.sh - make sure the packages a make target needs are installed.
# Usage: mk/deps.sh build|test|valgrind|bench|fuzz|lint
# On Debian as root: installs what is missing (apt-get update once first).
# Otherwise: prints the exact command to run, and fails.
set -eu

build="libuv1-dev libmsgpack-dev libmicrohttpd-dev pkg-config"
test="$build libcriterion-dev python3 python3-msgpack python3-psutil python3-fusepy fuse3 iproute2 procps util-linux kmod prometheus systemd golang-go golang-github-ugorji-go-codec-dev"
# Commands rather than packages, as COMMAND:PACKAGE: the package is wanted
# only when the command is not on PATH.  node and npm may come from elsewhere
# (nodesource's nodejs ships both, and conflicts with Debian's npm package).
test_cmds="node:nodejs npm:npm"
valgrind="$test valgrind"
bench="$build redis-server redis-tools procps prometheus-node-exporter curl iproute2"
fuzz="$build clang"
lint="mandoc python3 systemd"

cmds=""
case "${1:-build}" in
build) want=$build ;;
test) want=$test cmds=$test_cmds ;;
valgrind) want=$valgrind cmds=$test_cmds ;;
bench) want=$bench ;;
fuzz) want=$fuzz ;;
lint) want=$lint ;;
*) echo "mk/deps.sh: unknown set '$1'" >&2; exit 2 ;;
esac

if [ "$(uname -s)" = Darwin ]; then
	if ! pkg-config --exists libuv msgpack-c 2>/dev/null && ! pkg-config --exists libuv msgpack 2>/dev/null; then
		echo "sysq needs libuv and msgpack-c. Install them with:" >&2
		echo "    brew install libuv msgpack pkg-config criterion" >&2
		exit 1
	fi
	exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "mk/deps.sh: not a Debian system; install the equivalents of: $want${cmds:+ (and the commands of: $cmds)}" >&2
	exit 0
fi

missing=""
for c in $cmds; do
	command -v "${c%%:*}" >/dev/null 2>&1 || missing="$missing ${c#*:}"
done
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "sysq: missing packages:$missing" >&2
	echo "Install them as root with:" >&2
	echo "    sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "sysq: installing missing packages:$missing"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/sysq-update-stamp
if [ ! -e "$stamp" ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' 2>/dev/null | head -n 1)" ]; then
	apt-get update -q
	mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
