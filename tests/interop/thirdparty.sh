#!/bin/sh
# SPDX-License-Identifier: ISC
# tests/interop/thirdparty.sh - build and install, outside the source tree,
# the third-party msgpack-rpc clients that test_thirdparty.py drives:
#   go:   tests/interop/go/sysq-ugorji against Debian's ugorji/go/codec
#         (golang-github-ugorji-go-codec-dev, GOPATH mode: no network)
#   node: msgpack5rpc and its dependencies at exactly the versions of
#         tests/interop/node/package-lock.json (npm ci from the registry)
# Everything lands in ${SYSQ_CACHE_DIR:-$HOME/.cache/sysq}/interop, Go's
# build cache and npm's cache included.  On success the last two lines of
# stdout are "sysq-ugorji=PATH" and "node_modules=PATH"; any failure (npm
# cannot fetch, the build breaks, a tool is missing) exits non-zero, loudly.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${SYSQ_CACHE_DIR:-${HOME:?set HOME or SYSQ_CACHE_DIR}/.cache/sysq}/interop
mkdir -p "$cache/bin" "$cache/node"

for tool in go node npm; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "thirdparty.sh: '$tool' is not installed (mk/deps.sh test installs it)" >&2
		exit 1
	}
done
gocodec=/usr/share/gocode/src/github.com/ugorji/go/codec
[ -d "$gocodec" ] || {
	echo "thirdparty.sh: $gocodec is missing: install golang-github-ugorji-go-codec-dev" >&2
	exit 1
}

# One run at a time per cache: npm ci empties node_modules first.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/.lock"
	flock 9
fi

# Go: Debian's source tree is the GOPATH; nothing is fetched.
(cd "$here/go/sysq-ugorji" &&
	env GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
	    GOCACHE="$cache/go-build" go build -o "$cache/bin/sysq-ugorji" .) >&2 || {
	echo "thirdparty.sh: building tests/interop/go/sysq-ugorji failed" >&2
	exit 1
}

# node: npm ci only when the pinned lock changed (or nothing is installed).
lock=$here/node/package-lock.json
if ! cmp -s "$lock" "$cache/node/.installed-lock" ||
   [ ! -f "$cache/node/node_modules/msgpack5rpc/package.json" ]; then
	rm -f "$cache/node/.installed-lock"
	cp "$here/node/package.json" "$lock" "$cache/node/"
	(cd "$cache/node" &&
		npm ci --no-audit --no-fund --ignore-scripts --cache "$cache/npm-cache") >&2 || {
		echo "thirdparty.sh: npm could not install msgpack5rpc (pinned in $lock)" >&2
		exit 1
	}
	cp "$lock" "$cache/node/.installed-lock"
fi

echo "sysq-ugorji=$cache/bin/sysq-ugorji"
echo "node_modules=$cache/node/node_modules"
