"""A job given several GPUs trains data-parallel in one torchrun worker per GPU. Without GPUs the
same path runs here on two CPU processes (gloo): the workers train, rank 0 writes the model, and
the launching job keeps the checkpoint lock and writes the provenance."""

from __future__ import annotations

import json

import pytest

from test_oom_retry import vanilla_udpos_options

from xlie.pipeline import jobs as steps


@pytest.mark.slow
def test_two_processes_train_one_run(tiny_models, tmp_path):
    out_dirs, _ = tiny_models
    options = vanilla_udpos_options(out_dirs["xlmr"], max_train_sentences=32)
    output_dir, checkpoint_dir = tmp_path / "run" / "model", tmp_path / "run" / "checkpoints"
    context = {"config_sha256": "0" * 64, "preset": "demo", "demo": True}
    steps.train_run(options, str(output_dir), str(checkpoint_dir), keep_checkpoints=False, context=context, processes=2)
    summary = json.loads((output_dir / "xlie_training.json").read_text())
    # Each optimiser step takes batch 4 from each of the 2 processes: half the steps of one process.
    windows = summary["window_chunks"]["train"]  # 32 sentences; long ones are split into windows
    assert summary["global_steps"] == -(-windows // 8), summary
    assert json.loads((output_dir / "xlie_provenance.json").read_text())["model"]["processes"] == 2
    assert (output_dir / "model.safetensors").is_file()
    assert not list((tmp_path / "run").glob(".xlie-workers-*"))  # the workers' scratch is gone
