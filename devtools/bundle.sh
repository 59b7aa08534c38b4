#!/usr/bin/env bash
# Packs Skiff binaries with every shared library they load, for a machine without DPDK (e.g. a larger
# box for scaling runs). Usage: devtools/bundle.sh OUTDIR BINARY...
# Then on the other machine:   OUTDIR/run BINARY [args]   (EAL loads the PMD plugins in OUTDIR/pmds)
# iproute2's `ip` goes in too when this machine has it (for devtools/bench-vs-kernel.sh on a machine without
# iproute2: SKIFF_IP="OUTDIR/run ip").
# Plugins are the PMDs the binaries do not link themselves (mempool ring ops, memif, ...), renamed to end in
# .so (EAL's -d only loads *.so); a library the binary already links must not be there twice.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUTDIR BINARY..." >&2; exit 2; }
out=$1; shift
rm -rf "$out"; mkdir -p "$out/lib" "$out/pmds"
declare -A linked
for bin in "$@"; do
  cp "$bin" "$out/"
  while read -r path; do
    [ -n "$path" ] || continue
    cp -L "$path" "$out/lib/"
    linked[$(basename "$path")]=1
  done < <(ldd "$bin" | awk '/=>/ {print $3; next} $1 ~ /ld-linux/ {print $1}')
done
if ipbin=$(command -v ip); then
  cp -L "$ipbin" "$out/ip"
  while read -r path; do
    [ -n "$path" ] && [ ! -e "$out/lib/$(basename "$path")" ] && cp -L "$path" "$out/lib/"
  done < <(ldd "$ipbin" | awk '/=>/ {print $3; next} $1 ~ /ld-linux/ {print $1}')
fi
pmd_dir=$(pkg-config --variable=pmdsdir libdpdk 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0)
for p in librte_mempool_ring librte_net_memif librte_net_ring; do
  f=$(ls "$pmd_dir/$p.so."* 2>/dev/null | head -1 || true)
  [ -n "$f" ] || f=$(ls /usr/lib/x86_64-linux-gnu/$p.so.23* 2>/dev/null | head -1 || true)
  [ -n "$f" ] || continue
  [ -n "${linked[$(basename "$f")]:-}" ] && continue
  [ -n "${linked[$p.so.23]:-}" ] && continue
  cp -L "$f" "$out/pmds/$p.so"
  # A plugin's own dependencies (not already bundled) go to lib/.
  while read -r path; do
    [ -n "$path" ] && [ ! -e "$out/lib/$(basename "$path")" ] && cp -L "$path" "$out/lib/"
  done < <(ldd "$f" | awk '/=>/ {print $3}')
done
cat > "$out/run" <<'RUN'
#!/bin/sh
# Runs a bundled binary with the bundled loader and libraries; EAL finds the plugins through SKIFF_BENCH_PMD_DIR.
here=$(cd "$(dirname "$0")" && pwd)
bin=$1; shift
export SKIFF_BENCH_PMD_DIR="$here/pmds"
exec "$here/lib/ld-linux-x86-64.so.2" --library-path "$here/lib" "$here/$bin" "$@"
RUN
chmod +x "$out/run"
du -sh "$out"
