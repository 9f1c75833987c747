#!/usr/bin/env bash
# Criterion in rounds: the whole selection of benches runs ROUNDS times in a row (A B C, A B C, ...), and the table
# gives each bench's median over the rounds with [min–max], so a noisy minute on a shared machine shows as a range
# instead of moving one contender alone.
#
#   bash benches/rounds.sh                       # ROUNDS=3, every bench of benches/validation.rs
#   ROUNDS=5 bash benches/rounds.sh 'signature/|token/'
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
FILTER="${1:-}"
OUT="${OUT:-target/bench}"
mkdir -p "$OUT"
: > "$OUT/criterion-rounds.tsv"

for round in $(seq 1 "$ROUNDS"); do
  cargo bench --quiet --bench validation -- --warm-up-time 1 --measurement-time 3 $FILTER >/dev/null 2>&1
  # Each bench's median estimate of this round, in nanoseconds.
  for estimates in target/criterion/*/new/estimates.json; do
    name=$(dirname "$(dirname "$estimates")"); name=${name#target/criterion/}
    ns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$estimates")
    printf '%s\t%s\t%s\n' "$round" "$name" "$ns" >> "$OUT/criterion-rounds.tsv"
  done
  echo "round $round done" >&2
done

python3 - "$OUT/criterion-rounds.tsv" "$FILTER" <<'PY'
import re, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
pattern = re.compile(sys.argv[2].replace("/", "_")) if sys.argv[2] else None
by = {}
for _, name, ns in rows:
    if pattern is None or pattern.search(name):
        by.setdefault(name, []).append(float(ns))
def show(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
print(f"\n| bench | median of {max(len(v) for v in by.values())} rounds [min–max] |\n|---|---|")
for name, values in sorted(by.items()):
    values.sort()
    print(f"| {name} | {show(statistics.median(values))} [{show(values[0])}–{show(values[-1])}] |")
PY
