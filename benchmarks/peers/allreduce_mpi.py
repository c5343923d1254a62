"""Open MPI's all-reduce, measured the way `synctower bench allreduce` measures SyncTower's (run
by allreduce.sh under mpirun; one line per size from rank 0).

Sizes 4 KiB to --max-bytes in powers of 4, float32, MPI_SUM in place on one buffer. Per size the
same schedule as SyncTower's AllReduceBenchmark: about 512 MiB of warm-up calls (5 to 20,000), a
barrier, then about 256 MiB of timed calls (10 to 2,000), each timed on its own; the median is
reported with the algorithm bandwidth (bytes / time) and the bus bandwidth (algbw x 2(N-1)/N, as
nccl-tests define it).
"""
import argparse
import time

import numpy as np
from mpi4py import MPI


def iterations(nbytes):
    return int(max(10, min(2000, (256 << 20) // nbytes)))


def warmup(nbytes):
    return int(max(5, min(20_000, (512 << 20) // nbytes)))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--max-bytes", type=int, default=64 << 20)
    a = p.parse_args()
    comm = MPI.COMM_WORLD
    n = comm.Get_size()
    nbytes = 4 << 10
    while nbytes <= a.max_bytes:
        buf = np.zeros(nbytes // 4, dtype=np.float32)
        for _ in range(warmup(nbytes)):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        comm.Barrier()
        times = []
        for _ in range(iterations(nbytes)):
            start = time.perf_counter_ns()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(time.perf_counter_ns() - start)
        times.sort()
        median = times[len(times) // 2]
        if comm.Get_rank() == 0:
            algbw = nbytes / median
            print(f"{nbytes} {median / 1e3:.1f} {algbw:.3f} {algbw * 2 * (n - 1) / n:.3f}",
                  flush=True)
        nbytes *= 4


if __name__ == "__main__":
    main()
