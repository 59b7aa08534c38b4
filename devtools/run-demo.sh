#!/usr/bin/env bash
# Skiff's main job on an embedded default: no NIC, no configuration, no hugepages.
# Installs what is missing, builds, and runs `skiff-perf --demo`: two Skiff stacks in one process (a net_ring
# pair), then the Linux kernel over loopback, each running TCP bulk, 1-byte TCP request/response and small UDP
# datagrams with the same iperf3-protocol client and server; it prints one table, Skiff vs kernel, with
# ratios, in well under a minute. Extra arguments go to the demo (a number: seconds per test, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

devtools/install-deps.sh --build-only
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release >/dev/null
fi
echo "run-demo: building (first time takes a minute)..."
ninja -C build apps/skiff-perf >/dev/null
exec build/apps/skiff-perf --demo "$@"
