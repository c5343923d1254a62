#!/usr/bin/env bash
# SyncTower's all-reduce between worker processes of one host against Open MPI's, same sizes, same
# schedule, one run (README "Performance"). A benchmark, never part of the tests.
#
#   sudo apt-get install -y openmpi-bin python3-mpi4py   # Debian 12's Open MPI 4.1 and mpi4py, once
#   benchmarks/peers/allreduce.sh                        # 2 processes, 4 KiB to 64 MiB (~2 min)
#   benchmarks/peers/allreduce.sh --towers 4 --max-bytes 16777216 --transport udp
#   SYNCTOWER_IPC_SHM=off benchmarks/peers/allreduce.sh  # IPC without the shared-memory path
#
# Prints, per size, the median time and bus bandwidth (nccl-tests' busbw) of each, and
# SyncTower's bus bandwidth over Open MPI's (> 1: SyncTower faster).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PEERS_PYTHON:-/usr/bin/python3}"
towers=2
max_bytes=$((64 << 20))
transport=ipc
while [ $# -gt 0 ]; do
  case "$1" in
    --towers) towers="$2"; shift 2 ;;
    --max-bytes) max_bytes="$2"; shift 2 ;;
    --transport) transport="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
if ! command -v mpirun >/dev/null || ! "$python" -c 'import mpi4py, numpy' 2>/dev/null; then
  echo "error: needs Open MPI's mpirun and $python with mpi4py and numpy:" \
    "sudo apt-get install -y openmpi-bin python3-mpi4py (or set PEERS_PYTHON)" >&2
  exit 2
fi
# Both sides under the allocator settings bin/synctower exports, as in compare.sh.
. "$here/../../bin/lib/native-memory.sh"
export PYTHONDONTWRITEBYTECODE=1
work="$(mktemp -d "${TMPDIR:-/tmp}/synctower-allreduce.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "allreduce: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); $towers processes"
echo "allreduce: SyncTower (bin/synctower bench allreduce --transport $transport) ..."
"$root/bin/synctower" bench allreduce --transport "$transport" --towers "$towers" \
  --max-bytes "$max_bytes" >"$work/synctower.log" 2>&1 ||
  { cat "$work/synctower.log" >&2; exit 1; }
awk '$1 ~ /^[0-9]+$/ && NF == 4' "$work/synctower.log" >"$work/synctower.txt"
echo "allreduce: Open MPI $(mpirun --version 2>/dev/null | head -1 | awk '{print $NF}') (mpi4py, shared memory) ..."
# --allow-run-as-root: containers often run as root; Open MPI refuses root without it.
mpirun --allow-run-as-root --oversubscribe -np "$towers" --bind-to none \
  "$python" "$here/allreduce_mpi.py" --max-bytes "$max_bytes" >"$work/mpi.txt" 2>"$work/mpi.err" ||
  { cat "$work/mpi.err" >&2; exit 1; }
echo "allreduce: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| bytes | SyncTower median us | SyncTower busbw GB/s | Open MPI median us | Open MPI busbw GB/s | ratio busbw |"
echo "|---|---|---|---|---|---|"
join "$work/synctower.txt" "$work/mpi.txt" |
  awk '{ printf "| %d | %.1f | %.3f | %.1f | %.3f | %.2fx |\n", $1, $2, $4, $5, $7, ($7 > 0 ? $4 / $7 : 0) }'
