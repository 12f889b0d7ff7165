#!/usr/bin/env bash
# Opens a fit's report.html in headless Chromium (Debian's `chromium`) and takes a screenshot,
# then checks that every file the page refers to exists and that the screenshot is not blank.
#   scripts/check_report.sh out/demo            → out/demo/report.png
# Installs chromium with apt when it is missing (as root or through sudo).
set -euo pipefail
dir="${1:?usage: scripts/check_report.sh DIR}"
report="$dir/report.html"
[ -f "$report" ] || { echo "no $report" >&2; exit 1; }
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y chromium; else sudo apt-get install -y chromium; fi
fi
missing=0
for f in $(grep -o 'src="[^"]*"' "$report" | sed 's/src="//; s/"$//'); do
  [ -f "$dir/$f" ] || { echo "report refers to missing $dir/$f" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
abs="$(cd "$dir" && pwd)"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
  --screenshot="$abs/report.png" "file://$abs/report.html" 2>/dev/null
python3 - "$abs/report.png" <<'PY'
import sys, zlib, struct
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
print(f"screenshot {sys.argv[1]}: {w}x{h}, {len(data)} bytes")
assert len(data) > 20000, "screenshot looks blank"
PY
