#!/usr/bin/env bash
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#
# A/B of two arpipe binaries on the same inputs, alternating runs so that a shared machine's drift hits
# both alike. Prints each run's wall and CPU seconds and the median of the per-round ratios NEW / OLD, and
# checks that both binaries write byte-identical output. Columns: round, binary, wall s, user s, sys s.
#
#   tools/bench/ab_cpu.sh OLD_BINARY NEW_BINARY ROUNDS -- run -j 1 FILES...
set -euo pipefail
if [ $# -lt 5 ] || [ "$4" != "--" ]; then
    echo "usage: $0 OLD_BINARY NEW_BINARY ROUNDS -- ARPIPE_ARGS..." >&2
    exit 2
fi
old=$1 new=$2 rounds=$3
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$old" "$@" -q >"$tmp/old.out"
"$new" "$@" -q >"$tmp/new.out"
if cmp -s "$tmp/old.out" "$tmp/new.out"; then echo "output: identical ($(wc -l <"$tmp/new.out") lines)"; else echo "output: DIFFERENT"; fi
for ((r = 1; r <= rounds; r++)); do
    for which in old new; do
        bin=$old
        [ "$which" = new ] && bin=$new
        /usr/bin/time -f "%e %U %S" -o "$tmp/t" "$bin" "$@" -q >/dev/null
        read -r wall user sys <"$tmp/t"
        echo "$r $which $wall $user $sys" | tee -a "$tmp/runs"
    done
done
/usr/bin/python3 - "$tmp/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r, which, wall, user, sys_ = line.split()
    runs.setdefault(int(r), {})[which] = (float(wall), float(user) + float(sys_))
wall = statistics.median(v["new"][0] / v["old"][0] for v in runs.values())
cpu = statistics.median(v["new"][1] / v["old"][1] for v in runs.values())
print(f"median of {len(runs)} rounds, new / old: wall {wall:.3f}, CPU seconds {cpu:.3f}")
PY
