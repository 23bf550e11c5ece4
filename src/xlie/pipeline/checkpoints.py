"""Training checkpoints: resume only what this exact run left behind, never anything else.

A run's checkpoint directory (outside the job's declared output, so that Snakemake does not
delete it when it restarts a killed job) carries ``xlie_manifest.json``: the run's resolved
options, fingerprints of the data it trains on, and the code version. A job resumes only
from a complete checkpoint of an unfinished run whose manifest matches; anything else (a
changed option, data file or code; a finished run, which a forced rerun or a deleted output
restarts; checkpoints without a manifest) is wiped and the job starts fresh, saying why.
A lock beside the directory, held for the job's life, keeps two processes from ever
writing one directory; the kernel releases it however the job dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

MANIFEST = "xlie_manifest.json"
# HF Trainer writes trainer_state.json last (after weights, optimiser, scheduler and RNG
# state), so a checkpoint directory holding a readable one is complete.
TRAINER_STATE = "trainer_state.json"
# Libraries whose version changes what a resumed run would compute.
CODE_PACKAGES = ("torch", "transformers", "tokenizers", "peft")


class CheckpointBusy(RuntimeError):
    """Another live process holds the checkpoint directory of this run."""


def _complete(checkpoint: Path) -> bool:
    try:
        json.loads((checkpoint / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def resume_point(checkpoint_dir: str | Path) -> str | None:
    """The newest complete ``checkpoint-N`` in ``checkpoint_dir``, or None. Newer incomplete
    ones (a job killed while saving) are removed: resuming past them would mix two states."""
    from transformers.trainer_utils import get_last_checkpoint  # imported here: the lock needs no torch

    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        return None
    while (newest := get_last_checkpoint(str(checkpoint_dir))) is not None:
        if _complete(Path(newest)):
            return newest
        print(f"checkpoints: removing incomplete {newest} (no readable {TRAINER_STATE})")
        shutil.rmtree(newest)
    return None


def source_sha256() -> str:
    """sha256 over the xlie package's Python sources: any code edit changes it."""
    import xlie

    root = Path(xlie.__file__).resolve().parent  # the package, not this module's folder
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_version() -> dict:
    from importlib import metadata

    versions = {}
    for name in CODE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"xlie_source_sha256": source_sha256(), "packages": versions}


# The parts of a manifest a checkpoint must match to be resumed.
COMPARED = ("options", "data", "code", "effective_batch_size")


def manifest(options: dict, data: dict, effective_batch_size: int | None = None) -> dict:
    """What a checkpoint must match to be resumed: options, data fingerprints, code version, and the
    effective batch (per-device batch x accumulation). An out-of-memory retry lowers the per-device
    batch and raises the accumulation: the Trainer then resumes the same optimiser steps over the
    same data order, so such checkpoints are resumed; a method without accumulation changes its
    effective batch, so its retry starts fresh."""
    # A JSON round trip makes tuples lists, so a manifest compares equal to its reloaded self.
    payload = {"options": options, "data": data, "code": code_version(), "effective_batch_size": effective_batch_size}
    return json.loads(json.dumps(payload, sort_keys=True, default=str))


def _differences(old, new, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            d
            for key in sorted(set(old) | set(new))
            for d in _differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        ]
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def stale_reason(checkpoint_dir: str | Path, expected: dict) -> str | None:
    """Why the checkpoints in ``checkpoint_dir`` must not be resumed, or None when they may."""
    checkpoint_dir = Path(checkpoint_dir)
    if resume_point(checkpoint_dir) is None:
        return None
    return manifest_stale_reason(checkpoint_dir, expected, "checkpoints", "a new run starts from the base model")


def manifest_stale_reason(directory: str | Path, expected: dict, what: str, restart: str) -> str | None:
    """Why the ``what`` (partial work) in ``directory`` must not be resumed by a job that expects the
    manifest ``expected`` (:func:`manifest`), or None when it may: no readable manifest, a finished
    job's (``restart`` says what happens instead), or another configuration's (the differences named)."""
    directory = Path(directory)
    try:
        recorded = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{directory} holds {what} without a readable {MANIFEST}"
    if recorded.get("finished"):
        return f"the run that wrote them had finished (a forced rerun or a deleted output): {restart}"
    changed = _differences({k: recorded.get(k) for k in COMPARED}, {k: expected.get(k) for k in COMPARED})
    if changed:
        return "they belong to another configuration: " + "; ".join(changed[:8]) + (" ..." if len(changed) > 8 else "")
    return None


def write_manifest(directory: Path, expected: dict, finished: bool) -> None:
    """``expected`` as ``directory``'s manifest; ``finished``: the job that wrote it succeeded."""
    from xlie.pipeline.provenance import write_json

    write_json(directory / MANIFEST, {**expected, "finished": finished})


@contextlib.contextmanager
def locked(checkpoint_dir: str | Path) -> Iterator[None]:
    """Hold ``<checkpoint_dir>.lock`` (flock) for the block; fail at once when another process holds it."""
    lock_path = Path(checkpoint_dir).with_name(Path(checkpoint_dir).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise CheckpointBusy(
                f"{checkpoint_dir} is being written by another live process (pid {holder}, lock {lock_path}); "
                "two jobs must never train into one checkpoint directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


@contextlib.contextmanager
def training_checkpoints(checkpoint_dir: str | Path, expected: dict, keep: bool) -> Iterator[None]:
    """The checkpoint directory of one training run, for the life of the block.

    Under the lock: stale checkpoints are wiped (the reason is printed to the job's log), the
    manifest is written, the block trains (resuming with :func:`resume_point`); when it
    succeeds the manifest is marked finished and, unless ``keep``, the checkpoints are removed."""
    checkpoint_dir = Path(checkpoint_dir)
    with locked(checkpoint_dir):
        reason = stale_reason(checkpoint_dir, expected)
        if reason:
            print(f"checkpoints: starting fresh, not resuming from {checkpoint_dir}: {reason}")
            shutil.rmtree(checkpoint_dir)
        elif (point := resume_point(checkpoint_dir)) is not None:
            print(f"checkpoints: resuming from {point} (same options, data and code)")
        else:
            print(f"checkpoints: none to resume in {checkpoint_dir}; training from the base model")
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        write_manifest(checkpoint_dir, expected, finished=False)
        yield
        if keep:
            write_manifest(checkpoint_dir, expected, finished=True)
            print(f"checkpoints: kept in {checkpoint_dir} (training.keep_checkpoints)")
        else:
            shutil.rmtree(checkpoint_dir)
            print(f"checkpoints: removed {checkpoint_dir} (the run is finished; training.keep_checkpoints keeps them)")
