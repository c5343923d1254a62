#!/usr/bin/env bash
# SyncTower vs PyTorch on the same machine: samples/s of the same model's training step in both and
# the ratio, in one run (README "Performance"). A benchmark, never part of the tests.
#
#   sudo apt-get install -y python3-torch python3-yaml     # Debian 12's PyTorch (1.13, oneDNN), once
#   benchmarks/peers/compare.sh                             # all four workloads, ~7 min on 2 cores
#   benchmarks/peers/compare.sh --quick quickstart          # one workload, shorter warm-up, fewer steps
#   benchmarks/peers/compare.sh --help
#
# Debian's torch is a package of Debian's own python3, so this runs /usr/bin/python3 (override with
# PEERS_PYTHON), not whichever python3 comes first on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PEERS_PYTHON:-/usr/bin/python3}"
if ! "$python" -c 'import torch, yaml' 2>/dev/null; then
  echo "error: $python cannot import torch and yaml; install Debian's PyTorch and PyYAML:" \
    "sudo apt-get install -y python3-torch python3-yaml (or set PEERS_PYTHON to a python with both)" >&2
  exit 2
fi
# Both sides run under the allocator settings bin/synctower exports (bin/lib/native-memory.sh): they
# spare PyTorch's step the same page faults (quick start measured 1135 -> 2137 samples/s), so the
# yardstick is PyTorch at its best on this machine, not PyTorch slowed by glibc's defaults.
. "$here/../../bin/lib/native-memory.sh"
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$python" "$here/compare.py" "$@"
