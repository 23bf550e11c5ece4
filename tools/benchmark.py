"""Benchmark figures of the workflow itself (printed, not asserted).

    python tools/benchmark.py            # paper-preset dry run + the full demo, in a temp copy
    python tools/benchmark.py --no-demo  # only the dry run (seconds)

Prints: wall time and planned job count of `snakemake -n --config preset=paper --resources gpu=4`,
and the wall time of the whole embedded demo (`snakemake --cores all` then `--report`) on this machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = {".git", ".snakemake", "results", "logs", "benchmarks", "report", ".pytest_cache"}


def copy_repo(target: Path) -> None:
    def ignore(directory, names):
        top = Path(directory) == REPO
        return {n for n in names if (top and n in OUTPUTS) or n == "__pycache__" or n.endswith(".egg-info")}

    shutil.copytree(REPO, target, ignore=ignore)
    (target / "results").mkdir()
    (target / "report").mkdir()


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout + result.stderr


def job_seconds(benchmarks: Path) -> dict[str, tuple[int, float]]:
    """Per paper: the number of train/evaluate jobs and their summed wall seconds (Snakemake's benchmark files)."""
    totals: dict[str, tuple[int, float]] = {}
    for path in benchmarks.glob("*_run/*/**/*.tsv"):
        paper = path.relative_to(benchmarks).parts[1]
        seconds = float(path.read_text().splitlines()[1].split("\t")[0])
        jobs, total = totals.get(paper, (0, 0.0))
        totals[paper] = (jobs + 1, total + seconds)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-demo", action="store_true", help="skip the end-to-end demo run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "xlie"
        copy_repo(work)
        # ACE05 is the user's licensed copy: plan with the synthetic stand-in.
        # The licensed / downloaded corpora (ACE05, MultiCoNER) are stood in for by demo data.
        ace05 = (
            "data={ace05: {synthetic: true, dir: results/data/ace05_synthetic/processed-data}, "
            "codeie: {schema: resources/codeie/schemas/panx.yaml, multiconer: {dir: resources/demo/multiconer}}}"
        )
        seconds, out = timed(["-n", "--config", "preset=paper", ace05, "--resources", "gpu=4"], work)
        total = re.search(r"^total\s+(\d+)", out, re.MULTILINE)
        print(f"paper preset dry run: {seconds:.2f} s wall, {total.group(1) if total else '?'} jobs planned")
        if not args.no_demo:
            seconds, _ = timed(["--cores", "all"], work)
            report_s, _ = timed(["--report", "report/report.html"], work)
            print(f"embedded demo end to end: {seconds:.1f} s wall ({os.cpu_count()} cores), report {report_s:.1f} s")
            for paper, (jobs, job_s) in sorted(job_seconds(work / "benchmarks").items()):
                print(f"  {paper}: {jobs} train/evaluate jobs, {job_s:.0f} job-seconds")


if __name__ == "__main__":
    main()
