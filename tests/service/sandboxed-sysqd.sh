#!/bin/sh
# SPDX-License-Identifier: ISC
# tests/service/sandboxed-sysqd.sh - run sysqd with the capability bounding
# set and no_new_privs that systemd/sysqd.service gives it (read from the
# unit, so they cannot drift apart), to check that the daemon still does its
# job inside them.  Run a suite against it:
#   SQ_SYSQD=$PWD/tests/service/sandboxed-sysqd.sh SQ_SYSQD_REAL=$PWD/build/asan/sysqd \
#     SQ_TOP=$PWD build/asan/tests/integration-tests
# (seccomp and the other unit options need systemd itself; the unit says why)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
real=${SQ_SYSQD_REAL:-$top/build/asan/sysqd}
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$top/systemd/sysqd.service")
[ -n "$caps" ] || { echo "sandboxed-sysqd: no CapabilityBoundingSet= in the unit" >&2; exit 1; }
set=-all
for c in $caps; do
	c=$(echo "$c" | tr 'A-Z' 'a-z')
	set="$set,+${c#cap_}"
done
exec setpriv --bounding-set "$set" --inh-caps -all --no-new-privs -- "$real" "$@"
