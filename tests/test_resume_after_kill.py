"""A training job killed with SIGKILL mid-run and started again resumes from its last checkpoint and
ends with exactly the model and dev scores of an uninterrupted run (CPU, same seed), for each
trainer kind: an encoder (Vanilla token classification), a seq2seq model (ToPro on mT5) and the
relation classifier (Prompt-XRE's mBART). Each run is a real training job's code path
(``xlie.pipeline.jobs.train_run``: manifest-checked checkpoints) in its own process, as Snakemake runs it."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlie.pipeline import jobs as steps
from xlie.pipeline.config import resolve

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
JOB = "import json, sys; from xlie.pipeline import jobs; jobs.train_run(json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], keep_checkpoints=False, context=json.load(open(sys.argv[4])))"
# Volatile entries of a dev evaluation (timings), left out of the comparison.
VOLATILE = ("runtime", "samples_per_second", "steps_per_second")


def run_options(
    tmp_path: Path, tiny_dirs: dict, paper: str, task: str, method: str, variant: str, family: str, training: dict
) -> tuple[dict, dict]:
    user = {
        "preset": "demo",
        "models": {"m": {"path": str(tiny_dirs[family]), "family": family}},
        "data": {"xtreme": {"dir": str(REPO / "resources/demo/xtreme")}},
        "papers": {paper: {"training": training}},
    }
    config = resolve(user, REPO / "workflow/presets", REPO / "workflow/schemas/config.schema.yaml")
    seed = 222 if paper == "prompt_xre" else 42
    run = {
        "paper": paper,
        "task": task,
        "model": "m",
        "method": method,
        "variant": variant,
        "source": "en",
        "seed": seed,
    }
    return steps.train_options(config, run), {"config_sha256": "test", "preset": "demo", "demo": True}


def start(tmp_path: Path, options: dict, context: dict, name: str) -> tuple[subprocess.Popen, Path, Path]:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "options.json").write_text(json.dumps(options))
    (folder / "context.json").write_text(json.dumps(context))
    out, ckpt = folder / "model", folder / "checkpoints"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO / "src")}
    job = subprocess.Popen(
        [
            sys.executable,
            "-c",
            JOB,
            str(folder / "options.json"),
            str(out),
            str(ckpt),
            str(folder / "context.json"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return job, out, ckpt


def finish(job: subprocess.Popen) -> None:
    _, err = job.communicate(timeout=600)
    assert job.returncode == 0, err[-3000:]


def weights_digest(model_dir: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(model_dir.glob("*.safetensors")))).hexdigest()


def dev_scores(model_dir: Path) -> tuple[dict, list[dict], str | None]:
    summary = json.loads((model_dir / "xlie_training.json").read_text())
    clean = lambda entry: {k: v for k, v in (entry or {}).items() if not k.endswith(VOLATILE)}  # noqa: E731
    return clean(summary["best_dev"]), [clean(e) for e in summary["dev_history"]], summary["resumed_from"]


def killed_then_resumed(tmp_path: Path, options: dict, context: dict) -> Path:
    """Start the job, SIGKILL it once its first checkpoint is complete, start it again to the end."""
    job, out, ckpt = start(tmp_path, options, context, "killed")
    deadline = time.monotonic() + 300
    while not any(ckpt.glob("checkpoint-*/trainer_state.json")):
        assert job.poll() is None, f"the job ended before its first checkpoint: {job.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (out / "xlie_training.json").exists(), "the job finished before it was killed; give it more epochs"
    finish(start(tmp_path, options, context, "killed")[0])
    return out


CASES = {
    "encoder": (
        "topro",
        "udpos",
        "vanilla",
        "default",
        "bert",
        {
            "vanilla_token": {
                "learning_rate": 2e-3,
                "batch_size": 8,
                "grad_accum": 1,
                "epochs": 8,
                "eval_steps": 4,
                "max_train_sentences": 32,
            }
        },
    ),
    "seq2seq": (
        "topro",
        "udpos",
        "topro",
        "default",
        "mt5",
        {
            "topro_seq2seq": {
                "learning_rate": 3e-3,
                "batch_size": 16,
                "grad_accum": 1,
                "epochs": 8,
                "max_length": 48,
                "dropout": 0.1,
                "dev_max_sentences": 4,
                "max_train_sentences": 6,
            }
        },
    ),
}


def check_same_result(tmp_path: Path, options: dict, context: dict) -> None:
    # The uninterrupted reference runs beside the killed job: one process each, in their own folders.
    uninterrupted, out, _ = start(tmp_path, options, context, "uninterrupted")
    resumed = killed_then_resumed(tmp_path, options, context)
    finish(uninterrupted)
    best, history, resumed_from = dev_scores(resumed)
    assert resumed_from is not None  # it did resume, from the checkpoint the killed job left
    assert (best, history) == dev_scores(out)[:2]
    assert weights_digest(resumed) == weights_digest(out)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_killed_training_resumes_to_identical_results(kind, tiny_models, tmp_path):
    paper, task, method, variant, family, training = CASES[kind]
    options, context = run_options(tmp_path, tiny_models[0], paper, task, method, variant, family, training)
    check_same_result(tmp_path, options, context)


def test_killed_relation_training_resumes_to_identical_results(tiny_models, tmp_path):
    from xlie.papers.prompt_xre import ace05
    from xlie.papers.prompt_xre.ace05_synthetic import write_synthetic_ace05

    ace05.ingest(write_synthetic_ace05(tmp_path / "processed-data", seed=0), tmp_path / "results/data/ace05")
    training = {"mbart_relation": {"learning_rate": 3e-3, "batch_size": 16, "epochs": 8, "mixed_precision": "none"}}
    options, context = run_options(tmp_path, tiny_models[0], "prompt_xre", "ace05", "prompt", "7", "mbart", training)
    check_same_result(tmp_path, options, context)
