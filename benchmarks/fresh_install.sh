#!/usr/bin/env bash
# A new user's install, timed: a fresh venv, `pip install .` without PyTorch and without pip's cache,
# then compress / decompress / info of the two sample images and `darncodec train` (which needs
# PyTorch and must say so in one line). Numbers go to docs/install.md.
#
#     bash benchmarks/fresh_install.sh [VENV_DIR]     (default /tmp/darncodec-fresh; removed first)
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-/tmp/darncodec-fresh}"
work="$(mktemp -d)"
rm -rf "$venv"
python3 -m venv "$venv"
echo "# $(uname -m), $(nproc) cores, $(python3 --version); load: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
"$venv/bin/pip" install --no-cache-dir --quiet "$repo" || exit 1
echo "pip install .: $(echo "$(date +%s.%N) - $start" | bc) s wall, venv $(du -sm "$venv" | cut -f1) MB"
"$venv/bin/python" -c "import importlib.util as u; print('torch importable:', u.find_spec('torch') is not None)"
cp "$repo"/corpora/samples/*.png "$work"
cd "$work"
run() {   # one command, its wall time and exit status
    local start; start=$(date +%s.%N)
    "$venv/bin/darncodec" "$@"
    local status=$?
    echo "  -> darncodec $*: $(echo "$(date +%s.%N) - $start" | bc) s, exit $status"
}
for pass in first again; do
    echo "## $pass run"
    run compress -f text.png
    run decompress -f text.darn -o text-back.png
    run info text.darn
    run compress -f -m mnist digit.png
    run decompress -f digit.darn -o digit-back.png
    run info digit.darn
done
cmp -s text.png text-back.png && cmp -s digit.png digit-back.png && echo "restored files identical to the samples"
run train --corpus binarized_mnist -o model.safetensors
rm -rf "$work"
