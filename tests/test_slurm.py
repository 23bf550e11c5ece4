"""profiles/slurm on a real SLURM: a training run and its evaluation go through sbatch.

tools/slurm/up.sh installs munge, slurmctld, slurmd (Debian packages) and starts a
single-node cluster with four pretend GPUs; the test then asks for one cell's evaluation
(tiny models -> train -> evaluate, the last two GPU jobs) with the SLURM profile, and
checks that every job ran as a SLURM job that got its GPU. It needs root and apt-get (or
the packages already installed) and the executor plugin; otherwise it is skipped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_workflow import snakemake, workdir  # noqa: F401 (workdir is a fixture)

REPO = Path(__file__).resolve().parents[1]
UP, DOWN = REPO / "tools" / "slurm" / "up.sh", REPO / "tools" / "slurm" / "down.sh"
RUN = "results/runs/topro/panx/xlmr/pt/default/en/seed42"  # prefix tuning: the cheapest trained method
GPU_RULES = ("train_run", "evaluate_run")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="a SLURM cluster can only be started as root"),
    pytest.mark.skipif(
        not shutil.which("apt-get") and not shutil.which("slurmctld"),
        reason="SLURM is not installed and there is no apt-get to install it",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
        reason="the SLURM executor plugin is missing: pip install -e '.[slurm]'",
    ),
]


def _cluster_answers() -> bool:
    try:
        return (
            shutil.which("scontrol") is not None
            and subprocess.run(["scontrol", "ping"], capture_output=True, timeout=10).returncode == 0
        )
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node cluster; stopped afterwards if this test started it."""
    already_up = _cluster_answers()
    try:
        up = subprocess.run(["bash", str(UP)], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        subprocess.run(["bash", str(DOWN)], capture_output=True, timeout=120)
        pytest.fail("tools/slurm/up.sh did not finish in 15 minutes")
    if up.returncode != 0:
        subprocess.run(["bash", str(DOWN)], capture_output=True, timeout=120)
        if "apt-get" in up.stderr or "E: " in up.stderr:  # no package mirror reachable: not this project's fault
            pytest.skip(f"could not install SLURM: {up.stderr.strip()[-500:]}")
        pytest.fail(f"tools/slurm/up.sh failed:\n{up.stdout[-2000:]}\n{up.stderr[-2000:]}")
    yield up.stdout
    if not already_up:
        subprocess.run(["bash", str(DOWN)], capture_output=True, timeout=120)


def test_slurm_profile_runs_a_training_and_its_evaluation_as_slurm_jobs(slurm_cluster, workdir):  # noqa: F811
    # Shrink only the training (one epoch on 64 sentences); everything else is the demo.
    shrink = workdir / "shrink.yaml"
    shrink.write_text("papers:\n  topro:\n    training:\n      prefix_tuning: {epochs: 1, max_train_sentences: 64}\n")
    result = snakemake(
        f"{RUN}/eval",
        "--profile",
        "profiles/slurm",
        "--slurm-status-command",
        "squeue",  # the test cluster has no accounting, so no sacct
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--configfile",
        str(shrink),
        cwd=workdir,
    )
    log = result.stdout + result.stderr

    # "Job 1 has been submitted with SLURM jobid 8 (log: .../slurm_logs/rule_train_run/.../8.log)."
    submitted = dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: .*?/slurm_logs/rule_(\w+?)/", log))
    by_rule = {rule: job_id for job_id, rule in submitted.items()}
    assert set(by_rule) == {"build_tiny_models", *GPU_RULES}, log[-4000:]
    for rule, job_id in by_rule.items():
        # The profile keeps every job's SLURM log; the job's own snakemake wrote into it.
        (slurm_log,) = (workdir / ".snakemake" / "slurm_logs").glob(f"rule_{rule}/**/{job_id}.log")
        assert f"rule {rule}:" in slurm_log.read_text()
    for rule in GPU_RULES:  # the job's gpu=1 reached SLURM as --gpus=1 and was granted
        job = subprocess.run(
            ["scontrol", "show", "job", by_rule[rule]], capture_output=True, text=True, timeout=30
        ).stdout
        assert "TresPerJob=gres:gpu:1" in job and "JobState=COMPLETED" in job, job

    # Inside the job, xlie saw SLURM's job id and the GPU id SLURM handed out.
    train_log = (workdir / "logs" / "train_run" / RUN.removeprefix("results/runs/")).with_suffix(".log").read_text()
    assert f"given by SLURM job {by_rule['train_run']}" in train_log, train_log[-2000:]
    if "device files" in slurm_cluster:
        assert re.search(r"GPU ids \d, given by SLURM job", train_log), train_log[-2000:]

    cells = list((workdir / RUN / "eval").iterdir())
    assert cells, "the evaluation wrote no cells"
