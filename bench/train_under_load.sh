#!/usr/bin/env bash
# The training step with and without one competing busy process on the machine, in one run:
#   bench/train_under_load.sh [TEXFIELD_BINARY] [STEPS]
# Prints the samples/s of `texfield bench train` alone and beside `yes > /dev/null`, and the
# ratio. On 2 cores one competitor leaves our two threads 4/3 of a core's time: the ideal ratio
# is about 0.67. Measured 2026-11-30 (2 vCPU, 3 rounds of 40 steps): 8 blocks handed out
# dynamically 0.70 / 0.60 / 0.64; the former one-block-per-core split 0.60 / 0.60 / 0.64.
set -euo pipefail
bin="${1:-.build/release/texfield}"
steps="${2:-30}"
[ -x "$bin" ] || { echo "no $bin; run swift build -c release first" >&2; exit 1; }
rate() { "$bin" bench train --steps "$steps" 2>&1 | awk '/samples\/s/ {print $1}'; }
alone=$(rate)
yes > /dev/null &
competitor=$!
trap 'kill $competitor 2>/dev/null || true' EXIT
sleep 1
loaded=$(rate)
kill $competitor; trap - EXIT
python3 - "$alone" "$loaded" <<'PY'
import sys
a, l = float(sys.argv[1]), float(sys.argv[2])
print(f"training step alone:            {a:9.0f} samples/s")
print(f"beside one busy process:        {l:9.0f} samples/s")
print(f"ratio: {l / a:.2f} (ideal on 2 cores ≈ 0.67)")
PY
