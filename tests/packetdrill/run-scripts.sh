#!/usr/bin/env bash
# Runs every packetdrill script in tests/packetdrill/scripts/ against libskiff_packetdrill.so with the real
# packetdrill (google/packetdrill, not packaged by Debian: build it from its sources and put it in PATH or
# in $PACKETDRILL). Skipped (exit 77) when there is none.
#
#   tests/packetdrill/run-scripts.sh build/tests/packetdrill/libskiff_packetdrill.so [script.pkt ...]
set -uo pipefail
so=$(realpath "${1:?usage: $0 path/to/libskiff_packetdrill.so [script.pkt ...]}")
shift
pd=${PACKETDRILL:-$(command -v packetdrill || true)}
if [ -z "$pd" ] || [ ! -x "$pd" ]; then
  echo "packetdrill not found (set PACKETDRILL or put it in PATH): skipped"
  exit 77
fi
if ldd "$so" 2>/dev/null | grep -qE 'lib(asan|tsan|ubsan)'; then
  echo "a sanitizer build of the object: packetdrill (not built with the sanitizer) cannot load it: skipped"
  exit 77
fi
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=("$(dirname "$0")"/scripts/*.pkt)
failed=0
for s in "${scripts[@]}"; do
  if timeout 120 "$pd" --so_filename="$so" --local_ip=192.168.0.1 --remote_ip=192.0.2.1 "$s"; then
    echo "ok   $(basename "$s")"
  else
    echo "FAIL $(basename "$s")"
    failed=1
  fi
done
exit $failed
