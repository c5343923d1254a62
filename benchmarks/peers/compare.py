"""SyncTower against PyTorch on the same machine, in one run: samples/s of the same model's training
step in both, and the ratio. Run it through compare.sh (it checks for Debian's python3-torch).

For each workload (a SyncTower config), in this order:
  1. `synctower bench step`: the training step of 1 tower on one batch after warm-up (median),
     timed as PyTorch's step is;
  2. `synctower scale --towers 2 --sync-bn off` (`on` for the resnet20 workload or with --sync-bn on):
     the trainer with 2 towers (threads of one JVM), the config's global batch split over them,
     as many warm-up steps left out as step 1 needed; its run directory records the resolved
     configuration and the model's parameter count, which the PyTorch twin is built from; its
     figure (the trainer loop, data pipeline included) is printed beside the others, not used in
     a ratio;
  3. `synctower bench step --towers 2`: 2 towers as threads (the batch split over them, each on
     half the cores, with the gradient all-reduce), timed as step 1;
  4. PyTorch (torch_step.py, one interpreter per configuration): 1 process with every core's thread,
     1 process with 1 thread, and DistributedDataParallel over gloo with 2 processes, each
     cores/2 threads, the global batch split over them; same warm-up rule and timed steps, medians.
     PyTorch's DDP keeps BN local even when SyncTower's towers run SyncBN: torch 1.13's
     SyncBatchNorm runs only on CUDA tensors. Local BN communicates less, so that yardstick
     favours PyTorch.
Warm-up, both sides: at least --warmup steps and --warmup-seconds (default 10 s). The JVM compiles
the step's code during its first seconds on the same cores, so SyncTower's first steps are up to
2-5x slower now and then; PyTorch needs no such time but gets the same rule. A training run is
thousands of steps: the steady state is its throughput.
Both run under the same glibc allocator settings (compare.sh exports bin/synctower's), so both
reuse freed native memory instead of faulting it in again every step.
The twin's trainable parameter count must equal SyncTower's, or the run stops: a comparison of two
different models is worse than none. The best PyTorch configuration is the yardstick; the ratio is
SyncTower's samples/s over it (above 1: SyncTower is faster).

A benchmark, never a test: the figures depend on the machine and on whatever else runs on it, so the
script prints the CPU and the load average before and after each workload, and says when the machine
was busy.
"""
import argparse
import csv
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SYNCTOWER = os.path.join(ROOT, "bin", "synctower")

WORKLOADS = {
    "captcha": "configs/seeds/000-captcha-adadelta.yaml",
    "quickstart": "configs/quickstart.yaml",
    "mnist-bn-cnn": "configs/bench/mnist-bn-cnn.yaml",
    "resnet20": "configs/resnet20-cifar.yaml",
}
# Workloads whose 2 towers run SyncBN unless --sync-bn says otherwise (issue #15 reports ResNet-20
# with SyncBN); the others, and config paths, run local BN unless --sync-bn on.
SYNC_BN_WORKLOADS = {"resnet20"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="benchmarks/peers/compare.sh",
        description="SyncTower vs PyTorch samples/s on the same model, same machine, one run.",
        epilog="Workloads: " + ", ".join(f"{k} ({v})" for k, v in WORKLOADS.items())
        + "; or the path of any SyncTower config whose layers PyTorch can twin.")
    p.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                   help="workload names or config files (default: all of them)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first, at least (default 3)")
    p.add_argument("--warmup-seconds", type=float, default=10.0,
                   help="untimed seconds first, at least (default 10): the JVM's compilation time")
    p.add_argument("--steps", type=int, default=10, help="timed steps per configuration (default 10)")
    p.add_argument("--quick", action="store_true",
                   help="--warmup 2 --warmup-seconds 5 --steps 5")
    p.add_argument("--sync-bn", choices=["on", "off"],
                   help="SyncBN for SyncTower's 2 towers (default: on for resnet20, off otherwise);"
                   " PyTorch's DDP keeps local BN either way (torch 1.13's SyncBatchNorm is CUDA-only)")
    p.add_argument("--out", help="results prefix (default benchmarks/results/peers-<time>-<host>);"
                   " writes PREFIX.csv, PREFIX.json and the runs' logs under PREFIX/")
    a = p.parse_args(argv)
    if a.quick:
        a.warmup, a.warmup_seconds, a.steps = 2, 5.0, 5
    if a.warmup < 1 or a.steps < 3:
        p.error(f"--warmup {a.warmup} --steps {a.steps}: need at least 1 warm-up and 3 timed steps")
    if not a.warmup_seconds >= 0:
        p.error(f"--warmup-seconds {a.warmup_seconds}: must be >= 0")
    a.workloads = a.workloads or list(WORKLOADS)
    return a


def die(message, code=1):
    """Stops with 'error: message' on stderr: exit 2 for bad input, 1 for a run that failed."""
    print("error: " + message, file=sys.stderr)
    sys.exit(code)


def config_path(workload):
    path = WORKLOADS.get(workload, workload)
    full = path if os.path.isabs(path) else os.path.join(ROOT, path)
    if not os.path.isfile(full):
        die(f"workload '{workload}' is neither one of {', '.join(WORKLOADS)} nor a"
                 " config file; name one of those or give a path to a SyncTower YAML config", 2)
    return full


def machine():
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = re.search(r"^Model name:\s*(.+)$", out, re.M).group(1).strip()
    except (OSError, subprocess.CalledProcessError, AttributeError):
        pass
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    simd = next((s for s in ("avx512f", "avx2", "avx", "sse4_2") if f" {s}" in flags), "none")
    return dict(cpu=model, simd=simd, cores=len(os.sched_getaffinity(0)), host=socket.gethostname())


def allocator():
    """The glibc allocator variables both sides inherit (compare.sh sets them unless set)."""
    keys = ["MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_"]
    return " ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in keys)


def load():
    """The 1, 5 and 15-minute load averages, as `uptime` prints them."""
    return [round(v, 2) for v in os.getloadavg()]


def torch_info():
    """torch's version and its default thread count, in a fresh interpreter (as a user gets it)."""
    out = subprocess.run(
        [sys.executable, "-c", "import json, torch; print(json.dumps(dict(version=torch.__version__,"
         " threads=torch.get_num_threads(), mkldnn=torch.backends.mkldnn.is_available())))"],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def run_logged(cmd, log_path, what):
    """Runs cmd with stdout and stderr into log_path; stops the comparison, with the log's tail, if it
    fails."""
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT).returncode
    text = open(log_path, errors="replace").read()
    if rc != 0:
        tail = "\n".join(text.splitlines()[-15:])
        die(f"{what} failed (exit {rc}); log {log_path}:\n{tail}")
    return text


def data_overrides(config_file):
    """A synthetic training set (captcha, shapes) only as large as the timed steps need (8 global
    batches), so that a 20,000-image config does not spend minutes generating images no step
    reads."""
    with open(config_file) as f:
        cfg = yaml.safe_load(f) or {}
    train = (cfg.get("data") or {}).get("train") or {}
    batch = (cfg.get("training") or {}).get("batchSize")
    if train.get("type") in ("captcha", "shapes") and batch:
        return ["--set", f"data.train.size={8 * int(batch)}"]
    return []


def sync_bn(workload, a):
    """Whether SyncTower's 2 towers run SyncBN for this workload."""
    if a.sync_bn:
        return a.sync_bn == "on"
    return workload in SYNC_BN_WORKLOADS


def synctower_two_towers(config_file, a, work, sync, warmup):
    """samples/s of `scale --towers 2` (strong scaling: the config's batch is the global batch),
    its first `warmup` steps untimed, and the run directory the PyTorch twin is built from."""
    scale_dir = os.path.join(work, "scale")
    shutil.rmtree(scale_dir, ignore_errors=True)
    cmd = [SYNCTOWER, "scale", "--config", config_file, "--towers", "2",
           "--sync-bn", "on" if sync else "off",
           "--steps", str(warmup + a.steps), "--warmup", str(warmup),
           "--warmup-seconds", str(a.warmup_seconds), "--no-progress",
           "--run-dir", scale_dir, "--set", "doctor=false", *data_overrides(config_file)]
    run_logged(cmd, os.path.join(work, "synctower-2-towers.log"), "synctower scale --towers 2")
    with open(os.path.join(scale_dir, "scaling.csv")) as f:
        row = next(csv.DictReader(f))
    runs = [d for d in os.listdir(scale_dir) if d.startswith("towers-2")]
    if not runs:
        die(f"{scale_dir} has no towers-2-* run directory; did `synctower scale` change"
                 " its layout?")
    return dict(samples_per_s=float(row["samples_per_s"]), ms_median=float(row["step_ms_median"]),
                global_batch=int(row["global_batch"])), os.path.join(scale_dir, runs[0])


def synctower_step(config_file, a, work, towers=1, sync=False):
    """samples/s of `bench step [--towers N]` (N towers as threads stepping together on one batch,
    as PyTorch's step is timed), read from its 'samples/s X | ms/step median Y ...' line; the other
    lines of its output (tables, a profile) are left alone."""
    cmd = [SYNCTOWER, "bench", "step", "--config", config_file, "--warmup", str(a.warmup),
           "--warmup-seconds", str(a.warmup_seconds),
           "--iterations", str(a.steps), "--report-every", str(a.steps),
           *data_overrides(config_file)]
    if towers > 1:
        cmd += ["--towers", str(towers), "--set", f"bn.sync={'true' if sync else 'false'}"]
    log = f"synctower-{towers}-tower{'s' if towers > 1 else ''}-step.log"
    text = run_logged(cmd, os.path.join(work, log), f"synctower bench step --towers {towers}")
    found = re.search(r"^samples/s\s+([\d.]+)\s*\|\s*ms/step median\s+([\d.]+)", text, re.M)
    if not found:
        die(f"no 'samples/s X | ms/step median Y' line in the output of bench step"
                 f" ({work}/{log})")
    header = re.search(r"^bench step: .*?, batch (\d+)\b.*?native (\S+?),", text, re.M)
    split = re.search(r"= forward ([\d.]+) \+ backward ([\d.]+) \+ optimizer ([\d.]+)", text)
    warmed = re.search(r"^warm-up: (\d+) steps in ([\d.]+) s", text, re.M)
    if not warmed:
        die(f"no 'warm-up: N steps in S s' line in the output of bench step ({work}/{log})")
    out = dict(samples_per_s=float(found.group(1)), ms_median=float(found.group(2)),
               warmup_steps=int(warmed.group(1)), warmup_s=float(warmed.group(2)))
    if header:
        out.update(batch=int(header.group(1)), native=header.group(2))
    if split:
        out.update(forward_ms=float(split.group(1)), backward_ms=float(split.group(2)),
                   optimizer_ms=float(split.group(3)))
    return out


def pytorch(run_dir, batch, processes, threads, a, work):
    name = f"pytorch-{processes}p-{threads}t"
    cmd = [sys.executable, os.path.join(HERE, "torch_step.py"), "--run-dir", run_dir,
           "--batch", str(batch), "--threads", str(threads), "--processes", str(processes),
           "--warmup", str(a.warmup), "--warmup-seconds", str(a.warmup_seconds),
           "--steps", str(a.steps)]
    text = run_logged(cmd, os.path.join(work, name + ".log"), f"PyTorch {name}")
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        die(f"PyTorch {name} printed no result ({work}/{name}.log)")
    return json.loads(lines[-1])


def torch_configs(cores):
    """(processes, threads) pairs: every core's thread in one process, 1 thread, and DDP over 2
    processes splitting the cores (2 x 1 on 2 cores)."""
    configs = [(1, cores)]
    if cores > 1:
        configs += [(1, 1), (2, max(1, cores // 2))]
    return configs


def compare(workload, a, prefix, cores):
    config_file = config_path(workload)
    name = os.path.splitext(os.path.basename(config_file))[0] if workload not in WORKLOADS else workload
    work = os.path.join(prefix, name)
    os.makedirs(work, exist_ok=True)
    before = load()
    started = time.time()
    sync = sync_bn(workload, a)
    bn = "SyncBN" if sync else "local BN"
    print(f"[{name}] {os.path.relpath(config_file, ROOT)}: SyncTower 1 tower ...", flush=True)
    one = synctower_step(config_file, a, work)
    print(f"[{name}] SyncTower 2 towers ({bn}), trainer loop, {one['warmup_steps']} warm-up"
          " steps ...", flush=True)
    two, run_dir = synctower_two_towers(config_file, a, work, sync, one["warmup_steps"])
    from torch_model import Twin, read_run  # after the run directory exists; imports torch
    run = read_run(run_dir)
    twin = Twin(run)
    if twin.parameter_count() != run["trainable"]:
        die(f"[{name}] the PyTorch twin has {twin.parameter_count():,} trainable"
                 f" parameters, SyncTower {run['trainable']:,} ({run_dir}/train.log): the models"
                 " differ, so their speeds cannot be compared; fix benchmarks/peers/torch_model.py")
    print(f"[{name}] parameters: SyncTower {run['trainable']:,}, PyTorch {twin.parameter_count():,}"
          f" (equal); SyncTower 2 towers ({bn}), one step ...", flush=True)
    two_step = synctower_step(config_file, a, work, towers=2, sync=sync)
    batch = two["global_batch"]
    if one.get("batch", batch) != batch:
        die(f"[{name}] bench step used batch {one['batch']}, scale {batch}")
    torch_rows = []
    for processes, threads in torch_configs(cores):
        print(f"[{name}] PyTorch {processes} process(es) x {threads} thread(s) ...", flush=True)
        torch_rows.append(pytorch(run_dir, batch, processes, threads, a, work))
    best = max(torch_rows, key=lambda r: r["samples_per_s"])
    row = dict(workload=name, config=os.path.relpath(config_file, ROOT), batch=batch,
               input=run["input_shape"], parameters=run["trainable"],
               synctower_2_towers_bn=bn, pytorch_ddp_bn="local BN",
               optimizer=run["optimizer"], synctower_1_tower=one, synctower_2_towers=two_step,
               synctower_2_towers_trainer=two,
               pytorch=torch_rows,
               pytorch_best=dict(label=label(best), samples_per_s=best["samples_per_s"]),
               ratio_1_tower=one["samples_per_s"] / best["samples_per_s"],
               ratio_2_towers=two_step["samples_per_s"] / best["samples_per_s"],
               load_before=before, load_after=load(), seconds=round(time.time() - started, 1))
    print(f"[{name}] SyncTower {one['samples_per_s']:.1f} (1 tower) / {two_step['samples_per_s']:.1f}"
          f" (2 towers, {bn}) samples/s; PyTorch best {best['samples_per_s']:.1f} ({label(best)});"
          f" ratio {row['ratio_1_tower']:.2f}x / {row['ratio_2_towers']:.2f}x", flush=True)
    return row


def label(r):
    return (f"DDP {r['processes']}x{r['threads']}t" if r["processes"] > 1
            else f"1 process x {r['threads']}t")


def table(rows, cores):
    configs = [label(dict(processes=p, threads=t)) for p, t in torch_configs(cores)]
    head = ["workload", "batch", "params", "SyncTower 1 tower", "SyncTower 2 towers",
            "SyncTower 2 towers, trainer loop",
            *[f"PyTorch {c}" for c in configs], "PyTorch best", "ratio 1 tower", "ratio 2 towers"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["workload"], str(r["batch"]), f"{r['parameters']:,}",
                 f"{r['synctower_1_tower']['samples_per_s']:.1f}",
                 f"{r['synctower_2_towers']['samples_per_s']:.1f}"
                 + (" (SyncBN)" if r["synctower_2_towers_bn"] == "SyncBN" else ""),
                 f"{r['synctower_2_towers_trainer']['samples_per_s']:.1f}",
                 *[f"{t['samples_per_s']:.1f}" for t in r["pytorch"]],
                 f"{r['pytorch_best']['samples_per_s']:.1f} ({r['pytorch_best']['label']})",
                 f"{r['ratio_1_tower']:.2f}x", f"{r['ratio_2_towers']:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(path, rows):
    fields = ["workload", "config", "batch", "parameters", "synctower_1_tower_samples_per_s",
              "synctower_1_tower_ms", "synctower_2_towers_samples_per_s", "synctower_2_towers_ms",
              "synctower_2_towers_trainer_samples_per_s",
              "pytorch_1p_all_threads_samples_per_s", "pytorch_1p_1t_samples_per_s",
              "pytorch_ddp_samples_per_s", "pytorch_best", "pytorch_best_samples_per_s",
              "ratio_1_tower", "ratio_2_towers", "load_before_1min", "load_after_1min",
              "synctower_2_towers_bn"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for r in rows:
            t = (r["pytorch"] + [{}, {}, {}])[:3]
            w.writerow([r["workload"], r["config"], r["batch"], r["parameters"],
                        r["synctower_1_tower"]["samples_per_s"], r["synctower_1_tower"]["ms_median"],
                        round(r["synctower_2_towers"]["samples_per_s"], 1),
                        round(r["synctower_2_towers"]["ms_median"], 1),
                        round(r["synctower_2_towers_trainer"]["samples_per_s"], 1),
                        *[round(x["samples_per_s"], 1) if x else "" for x in t],
                        r["pytorch_best"]["label"], round(r["pytorch_best"]["samples_per_s"], 1),
                        round(r["ratio_1_tower"], 3), round(r["ratio_2_towers"], 3),
                        r["load_before"][0], r["load_after"][0], r["synctower_2_towers_bn"]])


def main(argv=None):
    a = parse_args(argv)
    for w in a.workloads:
        config_path(w)  # refuses a bad name before anything runs
    m = machine()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    prefix = a.out or os.path.join(ROOT, "benchmarks", "results", f"peers-{stamp}-{m['host']}")
    os.makedirs(prefix, exist_ok=True)
    t = torch_info()
    start_load = load()
    print(f"peers: {m['cpu']} ({m['simd']}), {m['cores']} cores; load average {start_load}"
          f" (uptime); torch {t['version']} (default {t['threads']} thread(s), oneDNN"
          f" {'on' if t['mkldnn'] else 'off'}); warm-up of at least {a.warmup} steps and"
          f" {a.warmup_seconds:g} s, then {a.steps} timed steps each",
          flush=True)
    print(f"peers: allocator for both: {allocator()}", flush=True)
    if start_load[0] > 0.5 * m["cores"]:
        print(f"peers: warning: load average {start_load[0]} on {m['cores']} cores: other work is"
              " running, the figures will be lower and noisier than on a quiet machine", flush=True)
    rows = [compare(w, a, prefix, m["cores"]) for w in a.workloads]
    native = next((r["synctower_1_tower"].get("native") for r in rows), "?")
    busiest = max(max(r["load_before"][0], r["load_after"][0]) for r in rows)
    print()
    print(f"SyncTower vs PyTorch, samples/s (median step), {m['cpu']}, {m['cores']} cores,"
          f" SyncTower native {native}, torch {t['version']}; load average {start_load[0]} at the"
          f" start, up to {busiest}{' (busy machine)' if busiest > 0.5 * m['cores'] else ''}")
    print(table(rows, m["cores"]))
    print("ratio = SyncTower samples/s / PyTorch's best configuration's (> 1: SyncTower faster)")
    if any(r["synctower_2_towers_bn"] == "SyncBN" for r in rows):
        print("(SyncBN): SyncTower's 2 towers synchronize BN statistics; PyTorch's DDP keeps BN local"
              " (torch 1.13's SyncBatchNorm runs only on CUDA), which communicates less")
    with open(prefix + ".json", "w") as f:
        json.dump(dict(machine=m, torch=t, allocator=allocator(), warmup=a.warmup,
                       warmup_seconds=a.warmup_seconds, steps=a.steps, load_start=start_load,
                       rows=rows), f, indent=1)
    write_csv(prefix + ".csv", rows)
    print(f"results: {os.path.relpath(prefix, ROOT)}.csv, .json; logs under"
          f" {os.path.relpath(prefix, ROOT)}/")


if __name__ == "__main__":
    main()
