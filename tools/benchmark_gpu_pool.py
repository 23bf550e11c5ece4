"""How well do local GPU jobs pack onto N devices? Makespan of a synthetic DAG vs the ideal.

Runs a generated workflow through real Snakemake with ``--resources gpu=N``: "train" jobs
(1 or 2 GPUs, a few seconds of sleep) each followed by an "eval" job (1 GPU), every job
taking its ids from xlie.pipeline.gpu_pool like the workflow's scripts do. Prints the measured
makespan (first job start to last job end), the ideal (total GPU-seconds / N), the
critical-path bound, the pool's wait at job start and the most ids ever in use.

    python tools/benchmark_gpu_pool.py [--gpus 4] [--runs 12] [--seed 0] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SNAKEFILE = """\
import json
RUNS = json.load(open("dag.json"))


rule all:
    input:
        expand("done/eval{{i}}.json", i=range(len(RUNS))),


rule train:
    output:
        "done/train{{i}}.json",
    resources:
        gpu=lambda wc: RUNS[int(wc.i)]["gpus"],
    params:
        seconds=lambda wc: RUNS[int(wc.i)]["train_s"],
    shell:
        "{python} {tool} job {{resources.gpu}} {{params.seconds}} {{output}}"


rule eval:
    input:
        "done/train{{i}}.json",
    output:
        "done/eval{{i}}.json",
    resources:
        gpu=1,
    params:
        seconds=lambda wc: RUNS[int(wc.i)]["eval_s"],
    shell:
        "{python} {tool} job {{resources.gpu}} {{params.seconds}} {{output}}"
"""


def job(count: int, seconds: float, out: str) -> None:
    """One synthetic GPU job: take ids from the pool, 'compute', record what happened."""
    from xlie.pipeline import gpu_pool

    asked = time.time()
    devices = gpu_pool.acquire(count=count, poll_s=0.1)
    start = time.time()
    time.sleep(seconds)
    Path(out).write_text(
        json.dumps({"devices": devices.split(","), "asked": asked, "start": start, "end": time.time()})
    )


def make_dag(runs: int, seed: int, scale: float) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "gpus": rng.choice([1, 1, 2]),
            "train_s": round(rng.uniform(2, 6) * scale, 2),
            "eval_s": round(rng.uniform(0.5, 1.5) * scale, 2),
        }
        for _ in range(runs)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, default=4, help="pretend device ids (XLIE_GPU_IDS) and --resources gpu=N")
    parser.add_argument("--runs", type=int, default=12, help="train -> eval chains in the DAG")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every job's duration")
    args = parser.parse_args()

    dag = make_dag(args.runs, args.seed, args.scale)
    with tempfile.TemporaryDirectory(prefix="xlie-gpu-bench-") as tmp:
        work = Path(tmp)
        (work / "dag.json").write_text(json.dumps(dag))
        (work / "Snakefile").write_text(SNAKEFILE.format(python=sys.executable, tool=Path(__file__).resolve()))
        env = {
            **os.environ,
            "XLIE_GPU_IDS": ",".join(map(str, range(args.gpus))),
            "XLIE_GPU_LOCK_DIR": str(work / "locks"),
        }
        env.pop("CUDA_VISIBLE_DEVICES", None)
        src = str(Path(__file__).resolve().parents[1] / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        # cores is only a counter here (the jobs sleep): enough that GPUs are the only limit.
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            str(4 * args.gpus),
            "--resources",
            f"gpu={args.gpus}",
            "--quiet",
            "all",
        ]
        t0 = time.time()
        subprocess.run(command, cwd=work, env=env, check=True, capture_output=True, text=True)
        wall = time.time() - t0
        records = [json.loads(p.read_text()) for p in sorted((work / "done").glob("*.json"))]

    busy = [(r["start"], r["end"], len(r["devices"])) for r in records]
    first_start, last_end = min(s for s, _, _ in busy), max(e for _, e, _ in busy)
    makespan = last_end - first_start
    gpu_seconds = sum(d["gpus"] * d["train_s"] + d["eval_s"] for d in dag)
    ideal = gpu_seconds / args.gpus
    critical = max(d["train_s"] + d["eval_s"] for d in dag)
    peak = max(sum(n for s, e, n in busy if s <= t < e) for t, _, _ in busy)
    waits = [r["start"] - r["asked"] for r in records]
    print(
        f"synthetic DAG: {args.runs} train jobs (1 or 2 GPUs) -> {args.runs} eval jobs (1 GPU), {args.gpus} pretend GPUs, seed {args.seed}"
    )
    print(f"{'total GPU-seconds':<34}{gpu_seconds:9.1f}")
    print(f"{'ideal makespan (GPU-s / N)':<34}{ideal:9.1f} s")
    print(f"{'lower bound max(ideal, longest)':<34}{max(ideal, critical):9.1f} s")
    print(f"{'measured makespan (first->last)':<34}{makespan:9.1f} s   ({makespan / ideal:.2f} x ideal)")
    print(
        f"{'snakemake wall time':<34}{wall:9.1f} s   ({first_start - t0:.1f} s before the first job, {t0 + wall - last_end:.1f} s after the last)"
    )
    print(f"{'pool wait at job start':<34}{max(waits):9.2f} s max, {sum(waits) / len(waits):.3f} s mean")
    print(f"{'most ids in use at once':<34}{peak:9d}   (of {args.gpus})")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "job":
        job(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
    else:
        main()
