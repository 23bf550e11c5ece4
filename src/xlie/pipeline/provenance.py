"""Where an output came from: config hash, package versions, data and model identity, device, time."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("xlie", "torch", "transformers", "tokenizers", "datasets", "peft", "seqeval", "snakemake")


def package_versions() -> dict[str, str | None]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_description() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.current_device()} {torch.cuda.get_device_name()}"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def git_commit(path: str | Path = ".") -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def hub_revision(repo_id: str) -> str | None:
    """The commit of ``repo_id`` that from_pretrained resolved into the local HF cache (None if not cached).

    Read from the cache only (never the network): the snapshot folder is named by the commit hash."""
    snapshot = _cached_snapshot(repo_id)
    return snapshot.name if snapshot is not None and snapshot.parent.name == "snapshots" else None


def model_identity(path: str) -> dict:
    """A hub id (with the commit it resolved to) or a local directory, with the local build record
    when the demo built it."""
    local = Path(path)
    identity: dict = {"path": path, "kind": "local" if local.exists() else "hub"}
    if identity["kind"] == "hub":
        identity["revision"] = hub_revision(path)
        local = _cached_snapshot(path) or local  # a stand-in's build record lies in its snapshot
    # The demo's or a stand-in's build, a fine-tuned model's training, a converted model's source.
    for record in ("xlie_build.json", "xlie_training.json", "xlie_conversion.json"):
        if (local / record).is_file():
            identity[record.removesuffix(".json").removeprefix("xlie_")] = json.loads((local / record).read_text())
    return identity


def _cached_snapshot(repo_id: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # not a valid repo name, or no huggingface_hub
        return None
    return Path(cached).parent if isinstance(cached, str) else None


def _hash_file(digest, path: Path) -> None:
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes: the identity of a data file a run reads (its ``sha256``)."""
    import hashlib

    digest = hashlib.sha256()
    _hash_file(digest, Path(path))
    return digest.hexdigest()


def model_fingerprint(path: str) -> dict:
    """What a run trains from: a local directory's content hash, or a hub id."""
    import hashlib

    local = Path(path)
    if not local.is_dir():
        return {"hub_id": path}
    digest = hashlib.sha256()
    for file in sorted(p for p in local.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(local)).encode() + b"\0")
        _hash_file(digest, file)
    return {"local_sha256": digest.hexdigest()}


def run_context(config: dict) -> dict:
    """What a job records about the whole run (never computes from): config hash, preset, demo flag."""
    from xlie.pipeline.config import config_hash

    return {"config_sha256": config_hash(config), "preset": config["preset"], "demo": config["demo"]}


def record(
    *,
    config_sha256: str,
    preset: str,
    demo: bool,
    seed: int,
    wall_time_s: float,
    data: dict,
    model: dict,
    options: dict | None = None,
) -> dict:
    """``options``: the job's resolved options (its Snakemake params), when it has them."""
    return {
        "config_sha256": config_sha256,
        "preset": preset,
        "demo": demo,
        "seed": seed,
        "wall_time_s": round(wall_time_s, 3),
        "device": device_description(),
        "packages": package_versions(),
        "git_commit": git_commit(),
        "host": platform.node(),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data": data,
        "model": model,
        **({"options": options} if options is not None else {}),
    }


def write_json(path: str | Path, payload: dict) -> None:
    """Write via a temp file and rename: a killed job never leaves half a JSON behind."""
    from xlie.pipeline.runtime import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
