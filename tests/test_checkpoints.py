"""xlie.pipeline.checkpoints: resume only a complete checkpoint of the same unfinished run, one writer per directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xlie.pipeline import checkpoints
from xlie.pipeline.checkpoints import CheckpointBusy, locked, manifest, resume_point, training_checkpoints

OPTIONS = {"params": {"learning_rate": 0.002, "epochs": 4}, "run": {"seed": 42}}
DATA = {"train": {"sha256": "a" * 64, "used_sentences": 1500}}


def fake_checkpoint(directory: Path, step: int, complete: bool = True) -> Path:
    path = directory / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"weights")
    if complete:
        (path / checkpoints.TRAINER_STATE).write_text(json.dumps({"global_step": step}))
    return path


def interrupted_run(directory: Path, expected: dict, steps=(2, 4)) -> None:
    """What a job killed during training leaves: checkpoints and an unfinished manifest.
    (The stale cases below then overwrite the manifest with an older run's.)"""
    for step in steps:
        fake_checkpoint(directory, step)
    (directory / checkpoints.MANIFEST).write_text(json.dumps({**expected, "finished": False}))


def test_resume_point_skips_and_removes_an_incomplete_newest_checkpoint(tmp_path, capsys):
    fake_checkpoint(tmp_path, 2)
    fake_checkpoint(tmp_path, 10)
    half_written = fake_checkpoint(tmp_path, 12, complete=False)  # killed while saving
    assert resume_point(tmp_path) == str(tmp_path / "checkpoint-10")  # numeric, not lexical, order
    assert not half_written.exists() and "removing incomplete" in capsys.readouterr().out
    assert resume_point(tmp_path / "absent") is None


def test_a_matching_interrupted_run_is_resumed(tmp_path, capsys):
    expected = manifest(OPTIONS, DATA, effective_batch_size=32)
    interrupted_run(tmp_path, expected)
    with training_checkpoints(tmp_path, expected, keep=True):
        assert resume_point(tmp_path) == str(tmp_path / "checkpoint-4")
    assert "resuming from" in capsys.readouterr().out
    assert json.loads((tmp_path / checkpoints.MANIFEST).read_text())["finished"] is True


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda m: m["options"]["params"].update(learning_rate=0.5), "options.params.learning_rate: 0.5 -> 0.002"),
        (lambda m: m["data"]["train"].update(used_sentences=200), "data.train.used_sentences: 200 -> 1500"),
        (lambda m: m["code"].update(xlie_source_sha256="0" * 64), "code.xlie_source_sha256"),
        # An out-of-memory retry of a method without accumulation trains with another effective batch.
        (lambda m: m.update(effective_batch_size=16), "effective_batch_size: 16 -> 32"),
        (lambda m: m.update(finished=True), "had finished"),
        (lambda m: m.clear(), "without a readable"),
    ],
)
def test_a_stale_checkpoint_is_never_resumed(tmp_path, capsys, change, reason):
    expected = manifest(OPTIONS, DATA, effective_batch_size=32)
    recorded = json.loads(json.dumps({**expected, "finished": False}))
    change(recorded)
    interrupted_run(tmp_path, expected)
    if recorded:
        (tmp_path / checkpoints.MANIFEST).write_text(json.dumps(recorded))
    else:
        (tmp_path / checkpoints.MANIFEST).unlink()
    with training_checkpoints(tmp_path, expected, keep=True):
        assert resume_point(tmp_path) is None  # the job trains from the base model
    out = capsys.readouterr().out
    assert "starting fresh" in out and reason in out


def test_a_finished_run_drops_its_checkpoints_unless_kept(tmp_path):
    expected = manifest(OPTIONS, DATA)
    with training_checkpoints(tmp_path / "run", expected, keep=False):
        fake_checkpoint(tmp_path / "run", 2)
    assert not (tmp_path / "run").exists()
    with training_checkpoints(tmp_path / "kept", expected, keep=True):
        fake_checkpoint(tmp_path / "kept", 2)
    assert resume_point(tmp_path / "kept") is not None
    # A failed job keeps them, unfinished: the rerun resumes.
    with pytest.raises(RuntimeError), training_checkpoints(tmp_path / "failed", expected, keep=False):
        fake_checkpoint(tmp_path / "failed", 2)
        raise RuntimeError("killed")
    assert json.loads((tmp_path / "failed" / checkpoints.MANIFEST).read_text())["finished"] is False
    assert checkpoints.stale_reason(tmp_path / "failed", expected) is None


def test_two_processes_never_write_one_checkpoint_directory(tmp_path):
    directory = tmp_path / "seed42"
    other = [
        sys.executable,
        "-c",
        f"from xlie.pipeline.checkpoints import locked\nwith locked({str(directory)!r}): pass",
    ]
    with locked(directory):
        with pytest.raises(CheckpointBusy, match="another live process"):
            with locked(directory):
                pass
        result = subprocess.run(other, capture_output=True, text=True)
        assert result.returncode != 0 and "CheckpointBusy" in result.stderr
    assert subprocess.run(other).returncode == 0  # released with the holder
