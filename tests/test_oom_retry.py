"""Out-of-memory retries: Snakemake's next attempt trains with half the per-device batch and twice
the gradient accumulation (same effective batch), recorded, without touching the run's options."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from xlie.pipeline import jobs
from xlie.papers.topro.methods import prefix_tuning
from xlie.papers.topro.methods import token_classification
from xlie.pipeline.training import INJECT_OOM_ENV, TrainingOutOfMemory, batch_for_attempt, is_out_of_memory

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("params", "attempt", "batch", "accum"),
    [
        ({}, 1, 8, 4),  # the Params defaults: batch 8, accumulation 4
        ({}, 2, 4, 8),
        ({}, 3, 2, 16),
        ({"batch_size": 12, "grad_accum": 1}, 3, 3, 4),  # 12 / 4 = 3
        ({"batch_size": 12, "grad_accum": 1}, 4, 1, 12),  # 12 / 8 rounds down to a divisor of 12
        ({"batch_size": 1, "grad_accum": 2}, 2, 1, 2),  # nothing left to halve
    ],
)
def test_each_attempt_halves_the_batch_and_keeps_the_effective_batch(params, attempt, batch, accum):
    configured = token_classification.Params(**params)
    adjusted, record = batch_for_attempt(params, token_classification.Params, attempt)
    assert (record["per_device_batch_size"], record["grad_accum"]) == (batch, accum)
    assert record["effective_batch_size"] == configured.batch_size * configured.grad_accum
    assert token_classification.Params.from_dict(adjusted).batch_size == batch
    assert adjusted == params if attempt == 1 else adjusted["grad_accum"] == accum


def test_a_method_without_accumulation_only_halves_its_batch():
    adjusted, record = batch_for_attempt({"batch_size": 16}, prefix_tuning.Params, 2)
    assert adjusted == {"batch_size": 8, "eval_batch_size": 32} and "grad_accum" not in adjusted
    assert record["effective_batch_size"] == 8 and record["configured"] == {"batch_size": 16, "grad_accum": 1}


def test_out_of_memory_errors_are_recognised():
    import torch

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch")) and not is_out_of_memory(ValueError("out of memory"))


def vanilla_udpos_options(model_dir, max_train_sentences: int) -> dict:
    """A train_run job's options: Vanilla XLM-R on the demo's English UDPOS, batch 4, one epoch."""
    return {
        "run": {
            "paper": "topro",
            "task": "udpos",
            "model": "xlmr",
            "method": "vanilla",
            "variant": "default",
            "source": "en",
            "seed": 42,
        },
        "method": "token_classification",
        "params": {
            "batch_size": 4,
            "grad_accum": 1,
            "epochs": 1,
            "eval_steps": 100,
            "learning_rate": 2e-3,
            "max_length": 64,
        },
        "model": {"path": str(model_dir), "family": "xlmr"},
        "data": {"dir": str(REPO / "resources" / "demo" / "xtreme"), "source": "local"},
        "max_train_sentences": max_train_sentences,
    }


def test_an_injected_oom_fails_attempt_one_and_attempt_two_trains_with_half_the_batch(
    tiny_models, tmp_path, monkeypatch, capsys
):
    out_dirs, _ = tiny_models
    options = vanilla_udpos_options(out_dirs["xlmr"], max_train_sentences=16)
    configured = copy.deepcopy(options)
    output_dir, checkpoint_dir = tmp_path / "model", tmp_path / "checkpoints"
    context = {"config_sha256": "0" * 64, "preset": "demo", "demo": True}
    monkeypatch.setenv(INJECT_OOM_ENV, "1")

    with pytest.raises(TrainingOutOfMemory):
        jobs.train_run(
            options, str(output_dir), str(checkpoint_dir), keep_checkpoints=False, context=context, attempt=1
        )
    log = capsys.readouterr().out
    assert (
        "OUT OF MEMORY: out of GPU memory on attempt 1 with per-device batch 4, grad_accum 1 (effective batch 4); "
        "Snakemake's next attempt (profiles set retries) trains with per-device batch 2, grad_accum 2 (effective batch 4)"
    ) in log

    jobs.train_run(options, str(output_dir), str(checkpoint_dir), keep_checkpoints=False, context=context, attempt=2)
    assert (
        "attempt 2 (after running out of memory): per-device batch 2, grad_accum 2 (effective batch 4)"
        in capsys.readouterr().out
    )
    assert options == configured  # the run's options (Snakemake params) are untouched: no rerun trigger
    summary = json.loads((output_dir / "xlie_training.json").read_text())
    expected = {
        "attempt": 2,
        "per_device_batch_size": 2,
        "grad_accum": 2,
        "effective_batch_size": 4,
        "configured": {"batch_size": 4, "grad_accum": 1},
        "eval_batch_size": 32,
    }
    assert summary["batch"] == expected
    # The optimiser's steps are those of the configured batch: one per 4 training chunks (long sentences split).
    assert summary["global_steps"] == math.ceil(summary["window_chunks"]["train"] / 4)
    provenance = json.loads((output_dir / "xlie_provenance.json").read_text())
    assert provenance["model"]["batch"] == expected and provenance["model"]["params"] == configured["params"]


def test_a_retry_resumes_checkpoints_of_the_larger_per_device_batch(tiny_models, tmp_path, capsys):
    """Same effective batch: the Trainer resumes the same optimiser steps over the same data order."""
    import shutil

    from xlie.pipeline import checkpoints

    out_dirs, _ = tiny_models
    options = {
        "run": {
            "paper": "topro",
            "task": "panx",
            "model": "mbert",
            "method": "vanilla",
            "variant": "default",
            "source": "en",
            "seed": 42,
        },
        "method": "token_classification",
        "params": {
            "batch_size": 4,
            "grad_accum": 1,
            "epochs": 1,
            "eval_steps": 2,
            "learning_rate": 2e-3,
            "max_length": 64,
        },
        "model": {"path": str(out_dirs["bert"]), "family": "bert"},
        "data": {"dir": str(REPO / "resources" / "demo" / "xtreme"), "source": "local"},
        "max_train_sentences": 24,
    }
    output_dir, checkpoint_dir = tmp_path / "model", tmp_path / "checkpoints"
    context = {"config_sha256": "0" * 64, "preset": "demo", "demo": True}
    jobs.train_run(options, str(output_dir), str(checkpoint_dir), keep_checkpoints=True, context=context, attempt=1)
    # What attempt 1 leaves when it runs out of memory after its first checkpoint: that checkpoint, an unfinished manifest.
    saved = sorted(checkpoint_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    for later in saved[1:]:
        shutil.rmtree(later)
    manifest = json.loads((checkpoint_dir / checkpoints.MANIFEST).read_text())
    (checkpoint_dir / checkpoints.MANIFEST).write_text(json.dumps({**manifest, "finished": False}))
    shutil.rmtree(output_dir)
    capsys.readouterr()

    jobs.train_run(options, str(output_dir), str(checkpoint_dir), keep_checkpoints=False, context=context, attempt=2)
    log = capsys.readouterr().out
    assert f"checkpoints: resuming from {saved[0]}" in log
    summary = json.loads((output_dir / "xlie_training.json").read_text())
    assert summary["batch"]["per_device_batch_size"] == 2 and summary["global_steps"] == int(
        saved[-1].name.split("-")[1]
    )
