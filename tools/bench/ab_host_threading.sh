#!/usr/bin/env bash
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#
# What Config::keep_host_threading costs, measured with the small host tests/hosts/threading_host.cpp (built
# with the tests) in three settings:
#   pinned       the default: LibTorch's intra-op count pinned to 1 on every thread of the run
#   keep         keep_host_threading, the host sets nothing: each thread has LibTorch's default count
#   keep_intra   keep_host_threading, the host called at::set_num_threads(HOST_INTRA_OP) first (a host that
#                sized LibTorch's pool for its own inference; default: the number of CPUs)
# Each round runs the three in a rotating order, so that a shared machine's drift hits them alike. Prints
# every run (process wall and CPU seconds from time(1); the run's own wall and CPU seconds from RunStats, model
# load excluded), the medians of the per-round ratios to `pinned`, and whether the records are identical.
#
#   tools/bench/ab_host_threading.sh ROUNDS INPUTS...
#   Environment: BUILD_DIR (default build), THREADS (-j, default nproc), HOST_INTRA_OP (default nproc),
#   MODEL (default data/models/tagger.pt), BENCH_PRIORITY=1 (nice -20 for this session, as full_sweep.sh).
set -euo pipefail
if [ $# -lt 2 ]; then
    sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
rounds=$1
shift
host=${BUILD_DIR:-build}/tests/arpipe_threading_host
threads=${THREADS:-$(nproc)}
intra=${HOST_INTRA_OP:-$(nproc)}
model=${MODEL:-data/models/tagger.pt}
[ -x "$host" ] || { echo "no $host: build the tests first (ninja -C ${BUILD_DIR:-build} arpipe_threading_host)" >&2; exit 2; }
if [ "${BENCH_PRIORITY:-0}" = 1 ]; then
    old_autogroup_nice=$(awk '{print $NF}' /proc/self/autogroup)
    echo -20 >/proc/self/autogroup
    trap 'echo "$old_autogroup_nice" >/proc/self/autogroup' EXIT
    renice -n -20 -p $$ >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -z "${old_autogroup_nice:-}" ] || echo "$old_autogroup_nice" >/proc/self/autogroup' EXIT

names=(pinned keep keep_intra)
flags() {
    case $1 in
        pinned) ;;
        keep) echo --keep-host-threading ;;
        keep_intra) echo --keep-host-threading --host-intra-op "$intra" ;;
    esac
}
echo "host $host, -j $threads, host intra-op $intra, model $model, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for v in "${names[@]}"; do
    # shellcheck disable=SC2046  # the flags are meant to split
    "$host" $(flags "$v") -j "$threads" -m "$model" "$@" >"$tmp/$v.out"
done
for v in keep keep_intra; do
    if cmp -s "$tmp/pinned.out" "$tmp/$v.out"; then echo "records, $v: identical to pinned ($(wc -l <"$tmp/$v.out") lines)"
    else echo "records, $v: DIFFERENT from pinned"; fi
done
echo "round variant wall_s cpu_s run_wall_s run_cpu_s"
for ((r = 0; r < rounds; r++)); do
    for ((i = 0; i < 3; i++)); do
        v=${names[$(((r + i) % 3))]}
        # shellcheck disable=SC2046
        /usr/bin/time -f "%e %U %S" -o "$tmp/t" "$host" $(flags "$v") --stats -j "$threads" -m "$model" "$@" \
            >/dev/null 2>"$tmp/err"
        read -r wall user sys <"$tmp/t"
        run=$(sed -n 's/^run_wall_seconds=\([^ ]*\) run_cpu_seconds=\(.*\)$/\1 \2/p' "$tmp/err")
        echo "$((r + 1)) $v $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') $run" |
            tee -a "$tmp/runs"
    done
done
/usr/bin/python3 - "$tmp/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r, v, *values = line.split()
    runs.setdefault(int(r), {})[v] = [float(x) for x in values]
cols = ["wall", "CPU seconds", "run wall", "run CPU seconds"]
for v in ("keep", "keep_intra"):
    ratios = [statistics.median(x[v][c] / x["pinned"][c] for x in runs.values()) for c in range(4)]
    print(f"median of {len(runs)} rounds, {v} / pinned: " + ", ".join(f"{n} {q:.3f}" for n, q in zip(cols, ratios)))
PY
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
