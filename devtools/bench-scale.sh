#!/usr/bin/env bash
# Scaling with shards, with a per-CPU baseline: bench_scale's "scaling" divides N shards by N times ONE
# 1-shard figure, and on a shared host one CPU can be twice as fast as another (lent 16-vCPU guests: 0.64 to
# 1.32 M RR transactions/s on CPUs 2-9 of one machine, minutes apart). This script measures 1 shard on each
# CPU it will use, then N shards on the first N of them, and divides by the SUM of those N per-CPU figures
# (what linear would be on exactly those cores). It also runs the controls: N independent one-shard stacks
# (Skiff without any sharing) and the machine alone (BM_ScaleMachine{Alu,Copy}: clock and byte traffic).
#
#   devtools/bench-scale.sh [BUILD_DIR]     env: SKIFF_BENCH_SCALE (command that runs bench_scale, e.g. a
#     bundle's "bundle/run bench_scale"; default BUILD_DIR/benchmarks/bench_scale), SKIFF_SCALE_CPUS (CPUs,
#     default "2 3 4 5 6 7 8 9", or every CPU but the first when fewer; the first N are used for N shards),
#     SKIFF_SCALE_NS (shard counts, default "2 4 8"), SKIFF_SCALE_REPS (3), SKIFF_SCALE_BUF (bulk's socket
#     buffers in bytes, default 4 MiB), SKIFF_SCALE_OUT (folder for the raw JSON, kept; default a temp dir).
# Output: one table; the raw Google Benchmark JSON of every run stays in SKIFF_SCALE_OUT (one tarball
# all.tgz there too, for machines that hand back a few files only).
#   devtools/bench-scale.sh --report DIR    prints the table again from a folder of raw results (e.g. all.tgz
#     brought back from another machine and unpacked; that machine needs no python3).
set -euo pipefail
report_only=
if [ "${1:-}" = --report ]; then
  [ -d "${2:-}" ] || { echo "usage: $0 --report DIR" >&2; exit 2; }
  report_only=$2
fi
BUILD=${1:-build}
measure() {
  read -r -a RUN <<<"${SKIFF_BENCH_SCALE:-$BUILD/benchmarks/bench_scale}"
  command -v "${RUN[0]}" >/dev/null || [ -x "${RUN[0]}" ] || { echo "bench-scale: no ${RUN[0]} (build first, or set SKIFF_BENCH_SCALE)" >&2; exit 2; }
  ncpu=$(nproc)
  if [ -n "${SKIFF_SCALE_CPUS:-}" ]; then
    read -r -a CPUS <<<"$SKIFF_SCALE_CPUS"
  elif [ "$ncpu" -ge 10 ]; then
    CPUS=(2 3 4 5 6 7 8 9)
  else
    mapfile -t CPUS < <(seq 1 $((ncpu - 1)))
    [ "$ncpu" -gt 1 ] || CPUS=(0)
  fi
  read -r -a NS <<<"${SKIFF_SCALE_NS:-2 4 8}"
  REPS=${SKIFF_SCALE_REPS:-3}
  OUT=${SKIFF_SCALE_OUT:-$(mktemp -d /tmp/skiff-scale.XXXXXX)}
  mkdir -p "$OUT"

  one() {  # one TAG CPULIST FILTER REPS
    if ! taskset -c "$2" "${RUN[@]}" --benchmark_filter="$3" --benchmark_repetitions="$4" \
      --benchmark_out="$OUT/$1.json" >"$OUT/$1.txt" 2>&1; then
      echo "bench-scale: $1 failed:" >&2
      tail -5 "$OUT/$1.txt" >&2
      exit 1
    fi
  }

  echo "bench-scale: CPUs ${CPUS[*]}, shard counts ${NS[*]}, $REPS repetitions, raw results in $OUT" >&2
  base() {  # 1 shard (and the controls' 1-thread figures) on each CPU, one process per CPU
    for c in "${CPUS[@]}"; do
      one "$1-cpu$c" "$c" 'Scale(RR|Bulk|MachineAlu|MachineCopy)/1/' 1
    done
  }
  base before
  for n in "${NS[@]}"; do
    [ "$n" -le "${#CPUS[@]}" ] || { echo "bench-scale: $n shards need $n CPUs, have ${#CPUS[@]}: skipped" >&2; continue; }
    list=$(IFS=,; echo "${CPUS[*]:0:$n}")
    one "n$n" "$list" "Scale(RR|Bulk|RRIndependent|BulkIndependent|MachineAlu|MachineCopy)/$n/" "$REPS"
  done
  base after
  (cd "$OUT" && tar czf all.tgz ./*.json)
}

report() {  # report DIR: the table, from the JSON in DIR
  command -v python3 >/dev/null || { echo "bench-scale: no python3 here: raw results in $1 (all.tgz); run $0 --report DIR elsewhere" >&2; return 0; }
python3 - "$1" <<'PY'
import json, statistics, sys
out = sys.argv[1]

def runs(path):
    """{benchmark family: [per-repetition rate]} of one JSON file (RR in M/s, the rest as reported)."""
    res = {}
    try:
        data = json.load(open(path))
    except (OSError, ValueError):
        return res
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" or "error_message" in b:
            continue
        fam = b["run_name"].split("/")[0].removeprefix("BM_Scale")
        v = b.get("tps", 0) / 1e6 if "tps" in b else b.get("Gbit/s", b.get("Msteps/s"))
        if v is not None:
            res.setdefault(fam, []).append(v)
    return res

import glob, os, re
ns = sorted(int(m.group(1)) for p in glob.glob(os.path.join(out, "n*.json"))
            if (m := re.fullmatch(r"n(\d+)\.json", os.path.basename(p))))
cpus = sorted({int(re.search(r"cpu(\d+)", p).group(1)) for p in glob.glob(os.path.join(out, "before-cpu*.json"))})
per_cpu = {}  # family -> [rate on CPU k, mean of before and after]
for c in cpus:
    got = {}
    for when in ("before", "after"):
        for fam, v in runs(os.path.join(out, f"{when}-cpu{c}.json")).items():
            got.setdefault(fam, []).extend(v)
    for fam, v in got.items():
        per_cpu.setdefault(fam, []).append(statistics.mean(v))

fams = [("RR", "RR", "M/s"), ("Bulk", "Bulk", "Gbit/s"), ("RRIndependent", "RR", "M/s"),
        ("BulkIndependent", "Bulk", "Gbit/s"), ("MachineAlu", "MachineAlu", "Msteps/s"),
        ("MachineCopy", "MachineCopy", "Gbit/s")]
print("\n1 shard on each CPU (mean of before and after): "
      + "; ".join(f"{f} {min(v):.3g}-{max(v):.3g}" for f, v in per_cpu.items()))
print(f"\n{'variant':18s} {'N':>3s} {'median':>10s} {'unit':8s} {'linear':>10s} {'scaling':>8s}  repetitions")
for fam, basefam, unit in fams:
    for n in ns:
        v = runs(os.path.join(out, f"n{n}.json")).get(fam)
        b = per_cpu.get(basefam, [])
        if not v or len(b) < n:
            continue
        med, lin = statistics.median(v), sum(b[:n])
        print(f"{fam:18s} {n:3d} {med:10.4g} {unit:8s} {lin:10.4g} {med / lin:8.2f}  "
              + " ".join(f"{x:.4g}" for x in v))
print("\nlinear = sum of the 1-shard figures of the CPUs used; scaling = median / linear (target >= 0.9).")
PY
}

if [ -n "$report_only" ]; then
  report "$report_only"
else
  measure
  report "$OUT"
fi
