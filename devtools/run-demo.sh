#!/usr/bin/env bash
# Skiff's main job on an embedded default: no NIC, no configuration, no hugepages.
# Installs what is missing, builds, and runs the demo (two Skiff instances wired together in one process).
set -euo pipefail
cd "$(dirname "$0")/.."

devtools/install-deps.sh --build-only
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release >/dev/null
fi
echo "run-demo: building (first time takes a minute)..."
ninja -C build apps/skiff-ping >/dev/null
exec build/apps/skiff-ping --demo
