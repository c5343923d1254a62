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
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args(argv)


def timed_steps(twin, model, batch, a, rank, barrier):
    """Per-step seconds of a.steps steps after a.warmup untimed ones, and the last loss."""
    torch.manual_seed(a.seed + rank)  # dropout masks differ per rank, as per tower in SyncTower
    x, y = twin.synthetic_batch(batch, a.seed + rank)
    opt = twin.optimizer(model.parameters())
    model.train()
    times = []
    loss = None
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            barrier()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = twin.loss(model(x), y)
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    return times, float(loss)


def result(a, times, loss):
    median = statistics.median(times)
    return dict(processes=a.processes, threads=a.threads, batch=a.batch, warmup=a.warmup,
                steps=len(times), ms_median=median * 1e3,
                ms_p10=sorted(times)[len(times) // 10] * 1e3,
                ms_p90=sorted(times)[min(len(times) - 1, (9 * len(times)) // 10)] * 1e3,
                samples_per_s=a.batch / median, last_loss=loss)


def single(a, run):
    torch.set_num_threads(a.threads)
    twin = Twin(run)
    times, loss = timed_steps(twin, twin.model, a.batch, a, 0, lambda: None)
    return result(a, times, loss)


def ddp_worker(rank, a, run, port, queue):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(a.threads)
    dist.init_process_group("gloo", rank=rank, world_size=a.processes)
    try:
        twin = Twin(run)
        # broadcast_buffers=True (the default) as a DDP user gets it; BN stays local per process.
        model = torch.nn.parallel.DistributedDataParallel(twin.model)
        times, loss = timed_steps(twin, model, a.batch // a.processes, a, rank, dist.barrier)
        if rank == 0:
            queue.put(result(a, times, loss))
    finally:
        dist.destroy_process_group()


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
