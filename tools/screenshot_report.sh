#!/usr/bin/env bash
# Screenshot the Snakemake HTML report (and any table HTML) in headless Chromium, to check
# what a reader sees without a desktop. Debian: apt-get install -y chromium.
#
#   tools/screenshot_report.sh [report/report.html] [out.png] [WIDTHxHEIGHT]
#
# The report is a single-page app: the first screenshot shows its landing page; open a
# category by passing a file such as results/tables/topro_panx_encoders.html instead.
set -euo pipefail
page=${1:-report/report.html}
out=${2:-report/report.png}
size=${3:-1400,1000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
    echo "no chromium found: apt-get install -y chromium" >&2
    exit 1
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --user-data-dir="$profile" \
    --virtual-time-budget=5000 --window-size="$size" --screenshot="$(realpath -m "$out")" \
    "file://$(realpath "$page")" 2>/dev/null
echo "wrote $out"
