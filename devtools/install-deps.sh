#!/usr/bin/env bash
# Installs what Skiff needs to build and test, from Debian 12's archive, only if missing.
# Usage: devtools/install-deps.sh [--build-only]
set -euo pipefail

build_pkgs=(g++ meson ninja-build pkg-config cmake dpdk dpdk-dev libdpdk-dev libmimalloc-dev libgtest-dev
            libgmock-dev libbenchmark-dev libnuma-dev libpcap-dev
            clang libclang-rt-14-dev)  # clang + libFuzzer's runtime: the fuzz targets (devtools/run-fuzz.sh)
test_pkgs=(iproute2 iputils-ping iputils-arping python3 python3-scapy socat iperf3 tcpdump procps ethtool
           nftables)  # nft: the router that marks congestion in tests/integration/tcp_ecn.sh

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--build-only" ] || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
