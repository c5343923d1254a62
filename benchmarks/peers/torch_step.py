"""Times PyTorch training steps of a SyncTower model's twin; one configuration per invocation.

    /usr/bin/python3 torch_step.py --run-dir DIR --batch 64 --threads 2
    /usr/bin/python3 torch_step.py --run-dir DIR --batch 64 --threads 1 --processes 2   # DDP, gloo

Each configuration runs in its own interpreter (compare.py starts one per line of its table), so a
thread count set here cannot leak into the next. Like `synctower bench step`, every step trains on
the same synthetic batch, after untimed warm-up steps; the figure is the median step time. With
--processes N, DistributedDataParallel splits the global batch over N processes (batch / N each),
as SyncTower's towers split it, and rank 0's median is reported. Prints one JSON object.
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from torch_model import Twin, read_run


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--run-dir", required=True, help="a SyncTower run directory (config.yaml, train.log)")
    p.add_argument("--batch", type=int, required=True, help="global batch size")
    p.add_argument("--threads", type=int, required=True, help="torch threads per process")
    p.add_argument("--processes", type=int, default=1, help="1: plain; >1: DDP over gloo")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first, at least")
    p.add_argument("--warmup-seconds", type=float, default=0.0,
                   help="untimed seconds first, at least (as `synctower bench step`'s)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args(argv)


def warming(i, started, a, agree):
    """Whether step i is still a warm-up step: at least a.warmup steps and a.warmup_seconds, the
    rule of SyncTower's bench step. agree(flag) makes every DDP rank take rank 0's decision (their
    collectives must pair up); identity for one process."""
    if i < a.warmup:
        return True
    return agree(time.perf_counter() - started < a.warmup_seconds)


def timed_steps(twin, model, batch, a, rank, barrier, agree=lambda flag: flag):
    """Per-step seconds of a.steps steps after the untimed warm-up steps, the last loss and the
    number of warm-up steps."""
    torch.manual_seed(a.seed + rank)  # dropout masks differ per rank, as per tower in SyncTower
    x, y = twin.synthetic_batch(batch, a.seed + rank)
    opt = twin.optimizer(model.parameters())
    model.train()
    times = []
    loss = None
    started = time.perf_counter()
    warmed = None
    i = 0
    while len(times) < a.steps:
        if warmed is None and not warming(i, started, a, agree):
            warmed = i
            barrier()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = twin.loss(model(x), y)
        loss.backward()
        opt.step()
        if warmed is not None:
            times.append(time.perf_counter() - t0)
        i += 1
    return times, float(loss), warmed


def result(a, times, loss, warmed):
    median = statistics.median(times)
    return dict(processes=a.processes, threads=a.threads, batch=a.batch, warmup=warmed,
                steps=len(times), ms_median=median * 1e3,
                ms_p10=sorted(times)[len(times) // 10] * 1e3,
                ms_p90=sorted(times)[min(len(times) - 1, (9 * len(times)) // 10)] * 1e3,
                samples_per_s=a.batch / median, last_loss=loss)


def single(a, run):
    torch.set_num_threads(a.threads)
    twin = Twin(run)
    times, loss, warmed = timed_steps(twin, twin.model, a.batch, a, 0, lambda: None)
    return result(a, times, loss, warmed)


def ddp_worker(rank, a, run, port, queue):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(a.threads)
    dist.init_process_group("gloo", rank=rank, world_size=a.processes)
    try:
        twin = Twin(run)
        # broadcast_buffers=True (the default) as a DDP user gets it; BN stays local per process.
        model = torch.nn.parallel.DistributedDataParallel(twin.model)
        times, loss, warmed = timed_steps(twin, model, a.batch // a.processes, a, rank,
                                          dist.barrier, agree=rank0_decides)
        if rank == 0:
            queue.put(result(a, times, loss, warmed))
    finally:
        dist.destroy_process_group()


def rank0_decides(flag):
    """Rank 0's flag on every rank (one tiny broadcast per warm-up step, untimed)."""
    t = torch.tensor([1 if flag else 0])
    dist.broadcast(t, 0)
    return bool(t.item())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    a = parse_args(argv)
    run = read_run(a.run_dir)
    if a.processes == 1:
        out = single(a, run)
    else:
        if a.batch % a.processes:
            sys.exit(f"error: --batch {a.batch} does not split over {a.processes} processes")
        ctx = mp.get_context("spawn")
        queue = ctx.SimpleQueue()
        mp.start_processes(ddp_worker, args=(a, run, free_port(), queue), nprocs=a.processes,
                           start_method="spawn")
        out = queue.get()
    out["torch"] = torch.__version__
    out["parameters"] = Twin(run).parameter_count()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
