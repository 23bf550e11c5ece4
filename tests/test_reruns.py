"""Reruns a researcher can trust, on a small finished workflow: a changed option reruns exactly
the jobs that use it, a stale checkpoint is never resumed, a forced rerun starts fresh and gives
the same model, and a killed driver takes its jobs with it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_workflow import REPO, job_counts, skip_outputs, snakemake

pytestmark = pytest.mark.slow

# Two training runs (PAN-X and UDPOS, tiny mBERT, Vanilla): small enough to run in a test.
SMALL_PRESET = """\
demo: true
run_label: rerun test
data:
  xtreme: {source: local, dir: resources/demo/xtreme, eval_split: {panx: test, udpos: test}}
models:
  mbert: {path: results/models/tiny/bert, family: bert, tiny: true}
tiny_models: {vocab_size: 2000, hidden_size: 32, num_layers: 1, num_heads: 2, intermediate_size: 64, max_positions: 128}
training:
  keep_checkpoints: true
papers:
  topro:
    seeds: [42]
    training:
      vanilla_token: {learning_rate: 2.0e-3, batch_size: 16, grad_accum: 1, epochs: 1, eval_steps: 5, max_train_sentences: 200}
    tables:
      panx_encoders: {task: panx, models: [mbert], methods: [vanilla], targets: [en, de]}
      udpos_encoders: {task: udpos, models: [mbert], methods: [vanilla], targets: [en]}  # dev-en exists: eval_split test
      # ToPro's other tables (its paper.yaml, merged underneath) are left out.
      panx_mt5: {enabled: false}
      panx_llm: {enabled: false}
      udpos_mt5: {enabled: false}
      udpos_llm: {enabled: false}
"""
PANX_RUN = "topro/panx/mbert/vanilla/default/en/seed42"
UDPOS_RUN = "topro/udpos/mbert/vanilla/default/en/seed42"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A copy of the repository with the small preset, run to the end once."""
    target = tmp_path_factory.mktemp("reruns") / "xlie"
    shutil.copytree(REPO, target, ignore=skip_outputs)
    (target / "results").mkdir()
    (target / "workflow" / "presets" / "demo.yaml").write_text(SMALL_PRESET, encoding="utf-8")
    snakemake("--cores", "2", cwd=target)
    return target


@pytest.fixture()
def copy_of_finished(finished, tmp_path):
    """The finished workdir, copied, for tests that change its files."""
    target = tmp_path / "xlie"
    shutil.copytree(finished, target, symlinks=True)
    return target


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
    ],
)
def test_an_option_no_job_uses_reruns_nothing(finished, config):
    # Only the saved copy of the resolved config is rewritten: it records every key, used or not.
    counts = planned(finished, *config)
    assert counts.pop("save_resolved_config") == 1 and set(counts) <= {"all"}


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
    assert f"results/runs/{PANX_RUN}/model" in out and f"results/runs/{UDPOS_RUN}/model" not in out
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
