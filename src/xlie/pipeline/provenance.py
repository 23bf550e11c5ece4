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


# Every resolved config a result names, kept under its sha256 (results/configs/<config_sha256>.yaml).
CONFIGS_DIR = "results/configs"


def config_text(config: dict) -> str:
    """The resolved config as YAML, its sha256 on the first line (a comment): reading the rest back
    gives the same sha256 (plain JSON types, as :func:`xlie.pipeline.config.config_hash` serialises)."""
    import yaml

    from xlie.pipeline.config import config_hash

    plain = json.loads(json.dumps(config, sort_keys=True, default=str))
    return f"# config_sha256: {config_hash(config)}\n" + yaml.safe_dump(plain, sort_keys=True, allow_unicode=True)


def keep_config(config: dict, configs_dir: str | Path = CONFIGS_DIR) -> str:
    """``config`` kept as ``<configs_dir>/<sha256>.yaml``; returns the sha256. Content-addressed, so
    written once and never overwritten: a name a result records stays resolvable whatever later runs
    change (two jobs writing the same name at once write the same bytes, each by an atomic rename)."""
    from xlie.pipeline.config import config_hash
    from xlie.pipeline.runtime import atomic_write_text

    sha256 = config_hash(config)
    path = Path(configs_dir) / f"{sha256}.yaml"
    if not path.is_file():
        atomic_write_text(path, config_text(config))
    return sha256


def run_context(config: dict, configs_dir: str | Path = CONFIGS_DIR) -> dict:
    """What a job records about the whole run (never computes from): the sha256 of its resolved
    config, kept in ``configs_dir`` (:func:`keep_config`) before any output names it; preset, demo flag."""
    return {"config_sha256": keep_config(config, configs_dir), "preset": config["preset"], "demo": config["demo"]}


def save_resolved_config(config: dict, out_yaml: str | Path, configs_dir: str | Path = CONFIGS_DIR) -> None:
    """``results/config.resolved.yaml``: the config of the run that last changed the metrics, also kept
    under its sha256 with the configs every result names."""
    from xlie.pipeline.runtime import atomic_write_text

    keep_config(config, configs_dir)
    atomic_write_text(out_yaml, config_text(config))


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
