#!/usr/bin/env bash
# Opens a fit's report.html in headless Chromium (Debian's `chromium`, software WebGL through
# SwiftShader) and checks it:
#  - every file the page refers to exists;
#  - the interactive view passes its scripted check (report.html#viewer-test: draws, orbits twice,
#    toggles the heat map, jumps to test camera 0, reads the pixels back after each): no JavaScript
#    or WebGL error, and every frame has drawn pixels (a blank canvas fails);
#  - screenshots: DIR/report.png (the page) and DIR/viewer_*.png (the view turned, the heat map,
#    a test camera) — look at them.
#   scripts/check_report.sh out/demo
# Prints the viewer's load time (navigation start to first frame). Installs chromium with apt when it
# is missing (as root or through sudo).
set -euo pipefail
dir="${1:?usage: scripts/check_report.sh DIR}"
report="$dir/report.html"
[ -f "$report" ] || { echo "no $report" >&2; exit 1; }
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
fi
missing=0
for f in $(grep -o 'src="[^"]*"' "$report" | sed 's/src="//; s/"$//'); do
  [ -f "$dir/$f" ] || { echo "report refers to missing $dir/$f" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
abs="$(cd "$dir" && pwd)"
chrome=(chromium --headless --no-sandbox --use-angle=swiftshader --enable-unsafe-swiftshader --hide-scrollbars
        --enable-logging=stderr --v=0 --virtual-time-budget=60000)
"${chrome[@]}" --window-size=1280,2400 --screenshot="$abs/report.png" "file://$abs/report.html" 2>/dev/null
python3 - "$abs/report.png" <<'PY'
import sys, struct
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
print(f"screenshot {sys.argv[1]}: {w}x{h}, {len(data)} bytes")
assert len(data) > 20000, "screenshot looks blank"
PY
if grep -q 'id="tfv-canvas"' "$report"; then
  "${chrome[@]}" --dump-dom "file://$abs/report.html#viewer-test" > "$abs/viewer-check.html" 2> "$abs/viewer-check.log" || true
  python3 - "$abs/viewer-check.html" "$abs/viewer-check.log" <<'PY'
import json, re, sys, html
page = open(sys.argv[1]).read()
log = open(sys.argv[2], errors="replace").read()
m = re.search(r'<pre id="tfv-status"[^>]*>(.*?)</pre>', page, re.S)
assert m, "the viewer wrote no status (did its script run?)"
s = json.loads(html.unescape(m.group(1)))
console = [l for l in log.splitlines() if "CONSOLE" in l or "Uncaught" in l]
problems = list(s.get("errors", [])) + [l for l in console if "error" in l.lower()]
assert s.get("ready"), f"the viewer did not get ready: {s}"
assert not problems, f"errors in the viewer: {problems}"
blank = [f for f in s["nonblank"] if f < 0.02]
assert len(s["nonblank"]) >= 5 and not blank, f"blank frames: {s['nonblank']}"
print(f"viewer: {s['frames']} frames, drawn fractions {', '.join(f'{f:.2f}' for f in s['nonblank'])}, first frame {s['loadMs']} ms after navigation start ({s['scriptMs']} ms after the viewer's script started)")
PY
  for st in "az:40,el:20" "az:200,el:-15,heat" "jump:0"; do
    name=$(echo "$st" | tr ':,' '__')
    "${chrome[@]}" --window-size=1280,1000 --screenshot="$abs/viewer_$name.png" "file://$abs/report.html#viewer-state=$st" 2>/dev/null
  done
  echo "screenshots: $abs/viewer_*.png"
fi
