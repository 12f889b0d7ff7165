#!/usr/bin/env bash
# The eigensolver with and without one competing busy process on the machine, in one run:
#   bench/eigs_under_load.sh [TEXFIELD_BINARY] [K] [SUBDIVISIONS | MESH.obj]
# Times `texfield eigs` on a jittered geodesic sphere (10 f² + 2 vertices, f = 64: 40,962), or on
# the mesh given, alone
# and beside `yes > /dev/null`, twice each (ROUNDS=N in the environment: N times), interleaved, and prints the split and the ratio. On 2
# cores one competitor leaves our two threads 4/3 of a core's time: a solver that only loses the
# competitor's share takes at most 1.5x as long (2x if it were perfectly parallel and got one core).
set -euo pipefail
bin="${1:-.build/release/texfield}"
k="${2:-64}"
f="${3:-64}"
[ -x "$bin" ] || { echo "no $bin; run swift build -c release first" >&2; exit 1; }
work=$(mktemp -d /tmp/tf-eigs-load.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -f "$f" ]; then
  cp "$f" "$work/sphere.obj"
else
  "$bin" mesh icosphere -s "$f" --jitter 0.3 --seed 1 --out "$work/sphere.obj" > /dev/null
fi
once() {
  local s e
  s=$(date +%s.%N)
  "$bin" eigs "$work/sphere.obj" -k "$k" --out "$work/out" --no-cache --quiet
  e=$(date +%s.%N)
  python3 - "$work/out/summary.json" "$s" "$e" "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); st = s.get("stats", s)
wall = float(sys.argv[3]) - float(sys.argv[2])
open(sys.argv[5], "a").write(f"{wall}\n")
split = ", ".join(f"{n} {st[key]:.2f}" for n, key in [("factor", "secondsFactor"), ("solve", "secondsSolve"),
                  ("orthogonalise", "secondsOrthogonalize"), ("Ritz", "secondsRitz"), ("check", "secondsCheck")])
print(f"{sys.argv[4]:<24} {wall:6.2f} s  ({split})")
PY
}
yes > /dev/null &
competitor=$!
kill -STOP $competitor
trap 'kill -9 $competitor 2>/dev/null || true; rm -rf "$work"' EXIT
for round in $(seq "${ROUNDS:-2}"); do
  once "alone" "$work/alone.txt"
  kill -CONT $competitor; sleep 0.5
  once "beside one busy process" "$work/loaded.txt"
  kill -STOP $competitor
done
python3 - "$work/alone.txt" "$work/loaded.txt" <<'PY'
import sys
a = [float(x) for x in open(sys.argv[1])]
l = [float(x) for x in open(sys.argv[2])]
print(f"alone {min(a):.2f}-{max(a):.2f} s, beside one busy process {min(l):.2f}-{max(l):.2f} s: "
      f"ratio of the best {min(l) / min(a):.2f}, of the worst {max(l) / max(a):.2f} (at most 1.5 if only the competitor's share is lost)")
PY
