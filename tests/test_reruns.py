"""Reruns a researcher can trust, on a small finished workflow: a changed option reruns exactly
the jobs that use it, a stale checkpoint is never resumed, a forced rerun starts fresh and gives
the same model, and a killed driver takes its jobs with it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_workflow import job_counts, snakemake

pytestmark = pytest.mark.slow

# The finished workflow (fixtures finished, copy_of_finished) is conftest.py's, built once per session.
PANX_RUN = "topro/panx/mbert/vanilla/default/en/seed42"
UDPOS_RUN = "topro/udpos/mbert/vanilla/default/en/seed42"


def planned(workdir, *config) -> dict[str, int]:
    args = ["-n", "--quiet", "rules"] + (["--config", *config] if config else [])
    return job_counts(snakemake(*args, cwd=workdir).stdout)


def test_nothing_changed_nothing_reruns(finished):
    assert planned(finished) == {}


@pytest.mark.parametrize(
    "config",
    [
        ["papers={topro: {training: {topro_encoder: {learning_rate: 0.5}}}}"],  # a method no table runs
        ["training={keep_checkpoints: false, require_gpu: true}"],  # changes no result
        ["papers={topro: {training: {prefix_tuning: {epochs: 9}, vanilla_token: {by_task: {udpos: {}}}}}}"],
        # The preset's own values on the command line (an int, a float spelt otherwise, a list, a bool).
        [
            "papers={topro: {seeds: [42], training: {vanilla_token: {learning_rate: 2e-3, batch_size: 16}}}}",
            "training={keep_checkpoints: true}",
        ],
    ],
)
def test_an_option_no_job_uses_reruns_nothing(finished, config):
    # Not even the saved copy of the resolved config: it is rewritten when the metrics are.
    assert planned(finished, *config) == {}


def test_a_training_option_reruns_that_run_its_evaluation_and_the_aggregation(finished):
    counts = planned(finished, "papers={topro: {training: {vanilla_token: {by_task: {panx: {learning_rate: 0.5}}}}}}")
    assert counts["train_run"] == 1 and counts["evaluate_run"] == 1 and counts["collect_metrics"] == 1
    assert "build_tiny_models" not in counts
    out = snakemake(
        "-n",
        "--config",
        "papers={topro: {training: {vanilla_token: {by_task: {panx: {learning_rate: 0.5}}}}}}",
        cwd=finished,
    ).stdout
    # Jobs by their output (rule all lists every run's model/ as an input).
    assert f"output: results/runs/{PANX_RUN}/model" in out and f"output: results/runs/{UDPOS_RUN}/model" not in out
    both = planned(finished, "papers={topro: {training: {vanilla_token: {learning_rate: 0.5, epochs: 2}}}}")
    assert both["train_run"] == 2 and both["evaluate_run"] == 2


def test_an_evaluation_option_reruns_only_the_evaluation(finished):
    counts = planned(finished, "data={xtreme: {eval_split: {udpos: dev}}}")
    assert "train_run" not in counts and counts["evaluate_run"] == 1 and counts["collect_metrics"] == 1


def test_a_tiny_model_option_rebuilds_the_models_and_reruns_everything_after(finished):
    counts = planned(finished, "tiny_models={hidden_size: 128}")
    assert counts["build_tiny_models"] == 1 and counts["train_run"] == 2 and counts["evaluate_run"] == 2


def test_a_forced_rerun_starts_fresh_and_gives_the_same_model(copy_of_finished):
    workdir = copy_of_finished
    model = workdir / "results" / "runs" / UDPOS_RUN / "model"
    before = (model / "model.safetensors").read_bytes()
    assert (workdir / "results" / "checkpoints" / UDPOS_RUN).is_dir()  # kept (keep_checkpoints: true)
    snakemake("--cores", "2", "-f", str(model.relative_to(workdir)), cwd=workdir)  # this job alone
    log = (workdir / "logs" / "train_run" / f"{UDPOS_RUN}.log").read_text()
    assert "starting fresh" in log and "had finished" in log
    assert json.loads((model / "xlie_training.json").read_text())["resumed_from"] is None
    assert (model / "model.safetensors").read_bytes() == before  # deterministic on CPU


def test_cut_training_data_retrains_from_the_base_model(copy_of_finished):
    workdir = copy_of_finished
    udpos_model = workdir / "results" / "runs" / UDPOS_RUN / "model" / "model.safetensors"
    udpos_mtime = udpos_model.stat().st_mtime
    # Pretend the finished run was interrupted, so that its checkpoints look resumable.
    manifest = workdir / "results" / "checkpoints" / PANX_RUN / "xlie_manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "finished": False}))
    train = workdir / "resources" / "demo" / "xtreme" / "panx" / "train-en.tsv"
    sentences = train.read_text(encoding="utf-8").split("\n\n")
    train.write_text("\n\n".join(sentences[:100]) + "\n", encoding="utf-8")

    counts = planned(workdir)
    assert counts["train_run"] == 1 and counts["evaluate_run"] == 1
    snakemake("--cores", "2", f"results/runs/{PANX_RUN}/model", cwd=workdir)
    log = (workdir / "logs" / "train_run" / f"{PANX_RUN}.log").read_text()
    assert "starting fresh" in log and "data.train.sha256" in log
    summary = json.loads((workdir / "results" / "runs" / PANX_RUN / "model" / "xlie_training.json").read_text())
    assert summary["resumed_from"] is None and summary["train_sentences"] == 100 and summary["global_steps"] == 7
    assert udpos_model.stat().st_mtime == udpos_mtime  # the other run is untouched


def _processes_in(directory: Path) -> list[str]:
    """Live processes whose working directory is ``directory`` (the driver's jobs run there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == directory:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name}: {command[:200]}")
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_a_killed_driver_leaves_no_job_running(copy_of_finished):
    workdir = copy_of_finished.resolve()
    shutil.rmtree(workdir / "logs")  # so that the log below is the new job's
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            "--config",
            "papers={topro: {training: {vanilla_token: {epochs: 500}}}}",
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = workdir / "logs" / "train_run" / f"{UDPOS_RUN}.log"
    deadline = time.monotonic() + 300
    while not (log.is_file() and "checkpoints:" in log.read_text()):  # training has begun
        assert driver.poll() is None and time.monotonic() < deadline, "the training job never started"
        time.sleep(1)
    jobs = [p for p in _processes_in(workdir) if not p.startswith(f"{driver.pid}:")]
    assert jobs, "no job process found"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 30
    while (left := _processes_in(workdir)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"job processes outlived their driver: {left}"
    from xlie.pipeline.checkpoints import CheckpointBusy, locked

    # The dead job's lock is free once the kernel has reaped it (a moment after SIGKILL under load).
    deadline = time.monotonic() + 15
    while True:
        try:
            with locked(workdir / "results" / "checkpoints" / UDPOS_RUN):
                break
        except CheckpointBusy:
            assert time.monotonic() < deadline, "the killed job's checkpoint lock was never released"
            time.sleep(0.5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_a_killed_driver_leaves_no_data_job_running(copy_of_finished):
    # A data rule (convert_ud, one UD language into the XTREME layout) whose treebank is a named pipe
    # nobody writes: the job waits inside its script, reading, until the driver is killed.
    workdir = copy_of_finished.resolve()
    treebank = workdir / "ud" / "UD_Wolof-WTB" / "wo_wtb-ud-test.conllu"
    treebank.parent.mkdir(parents=True)
    os.mkfifo(treebank)
    target = "resources/demo/xtreme/udpos/test-wo.tsv"
    driver = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", target, "--config", "data={ud: {dir: ud}}"],
        cwd=workdir,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = workdir / "logs" / "convert_ud" / "wo.log"
    deadline = time.monotonic() + 120
    while not log.is_file():  # the job's script has begun (its log opens after script_start)
        assert driver.poll() is None and time.monotonic() < deadline, "the data job never started"
        time.sleep(0.5)
    jobs = [p for p in _processes_in(workdir) if not p.startswith(f"{driver.pid}:")]
    assert any("convert_ud" in p for p in jobs), f"no convert_ud job among {jobs}"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 30
    while (left := _processes_in(workdir)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for entry in left:  # never leave a job blocked on the pipe, even when the test fails
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(entry.split(":")[0]), signal.SIGKILL)
    assert not left, f"job processes outlived their driver: {left}"
    assert not (workdir / target).exists()
