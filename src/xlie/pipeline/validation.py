"""Inputs checked while the DAG is built, before Snakemake schedules any job.

Snakemake deletes a job's declared outputs before the job starts, so a bad data file that a job
finds itself has already cost that job's previous outputs (trained models, predictions). Here,
while the Snakefile is parsed, every existing local data file a cell's jobs will read and every
existing local model directory they will load is checked; the first failure raises
:class:`InputError` naming ``file:line`` (and the config key that points at the file), so no job
is scheduled and nothing under ``results/`` is touched.

What a data file must hold is its task type's business: a task type may define
``validate_file(path, config)`` (registry.TASK_OPTIONAL), which reads the file with the reader
its jobs use, raises ``ValueError`` naming ``file:line`` when it is bad, and returns the other
files its verdict rested on (a schema, a label list), or None. Files under ``results/`` are
written by the workflow's own rules, which check what they write: they are skipped here. Model
directories get a cheap structural check of their weights (:func:`check_model_dir`: safetensors
headers against file lengths, torch zip directories, shard indexes, config.json), no tensor read.

Verdicts are cached in ``.snakemake/xlie/validated_inputs.json`` by (absolute path, size,
mtime_ns) of the file and of the files its verdict rested on: an unchanged input costs a stat
when the driver parses the Snakefile again (a rerun, ``-n``). Job processes that parse it again
(cluster jobs) skip the check: their driver made it.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CACHE_FILE = Path(".snakemake") / "xlie" / "validated_inputs.json"
# Bump when a check gets stricter, so that files passed by the older check are read again.
CACHE_VERSION = 1
# What the workflow's rules write: checked by the rule that writes it, not here.
OUTPUT_DIR = "results"
# safetensors refuses larger headers (its MAX_HEADER_SIZE): a bigger number is a corrupt file.
SAFETENSORS_MAX_HEADER = 100_000_000
# Where a trained run's model lives (training.smk's train_run output), below OUTPUT_DIR.
TRAINED_MODEL = "runs/{run}/model"


class InputError(ValueError):
    """An input file that would fail a job; the message names ``file:line`` and, where one points
    at the file, the config key."""


# ---- helpers for the task types' validators ----------------------------------------------------
def check_utf8(path: str | Path) -> None:
    """A ``ValueError`` naming ``file:line`` and the byte offset when ``path`` is not UTF-8."""
    raw = Path(path).read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{path}:{line}: not UTF-8 at byte offset {error.start} ({error.reason}); re-encode it (e.g. iconv -t UTF-8)"
        ) from None


# ---- model directories -------------------------------------------------------------------------
def check_safetensors(path: str | Path) -> None:
    """A safetensors file whose header parses and whose length is exactly the header's promise
    (8 bytes of header length, the JSON header, then the tensors up to the largest data offset);
    a ``ValueError`` naming the file otherwise. Reads the header only."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size < 8:
            raise ValueError(f"{path}: {size} bytes, too short for a safetensors file (truncated?)")
        (header_length,) = struct.unpack("<Q", handle.read(8))
        if header_length > SAFETENSORS_MAX_HEADER or 8 + header_length > size:
            raise ValueError(
                f"{path}: safetensors header of {header_length} bytes announced, but the file holds {size} bytes "
                "(truncated or not a safetensors file)"
            )
        try:
            header = json.loads(handle.read(header_length))
            ends = [entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"]
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
            raise ValueError(f"{path}: unreadable safetensors header ({error})") from None
    expected = 8 + header_length + max(ends, default=0)
    if expected != size:
        what = "truncated" if size < expected else "trailing bytes after the last tensor"
        raise ValueError(
            f"{path}: {what}: the safetensors header places its tensors in {expected} bytes, the file holds "
            f"{size}; the weights cannot load"
        )


def check_torch_zip(path: str | Path) -> None:
    """A ``torch.save`` file in the zip format whose central directory reads (a truncated one has
    none); older pickle files are not checked."""
    path = Path(path)
    with path.open("rb") as handle:
        if handle.read(4) != b"PK\x03\x04":
            return
    try:
        with zipfile.ZipFile(path):
            pass
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"{path}: not a complete torch checkpoint ({error}; truncated?); the weights cannot load"
        ) from None


def check_shard_index(path: str | Path) -> list[Path]:
    """A ``*.index.json`` of sharded weights whose shards all exist; returns the shards."""
    path = Path(path)
    try:
        shards = sorted(set(json.loads(path.read_text(encoding="utf-8"))["weight_map"].values()))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: unreadable shard index ({error})") from None
    missing = [s for s in shards if not (path.parent / s).is_file()]
    if missing:
        raise ValueError(f"{path}: lists weight shards that are missing: {', '.join(missing)}")
    return [path.parent / s for s in shards]


def check_json_object(path: str | Path) -> None:
    """A JSON object (a model's config.json: transformers reads it first)."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"{path}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise TypeError(f"{path}: expected a JSON object, found {type(value).__name__}")


def model_dir_checks(model_dir: str | Path) -> list[tuple[Path, Callable[[Path], object]]]:
    """(file, check) for every file of a model directory whose damage stops the model loading."""
    model_dir = Path(model_dir)
    checks: list[tuple[Path, Callable[[Path], object]]] = []
    for file in sorted(model_dir.rglob("*")):
        if not file.is_file():
            continue
        if file.name.endswith(".safetensors"):
            checks.append((file, check_safetensors))
        elif file.suffix == ".bin":
            checks.append((file, check_torch_zip))
        elif file.name.endswith(".index.json"):
            checks.append((file, check_shard_index))
        elif file.name in ("config.json", "adapter_config.json"):
            checks.append((file, check_json_object))
    return checks


def check_model_dir(model_dir: str | Path) -> None:
    """Every weights file of ``model_dir`` structurally whole (no tensor read); a ``ValueError``
    naming the first damaged file otherwise."""
    for file, check in model_dir_checks(model_dir):
        check(file)


# ---- what the jobs read ------------------------------------------------------------------------
def run_data_files(config: dict, run: dict) -> list[str]:
    """The data files one training run's jobs read: its training job's (train and dev data of its
    source, its method's train_inputs) unless its method is zero-shot, and its evaluation job's
    (the eval split of its targets, the source's train data): what workflow/rules/common.smk's
    train_data and eval_data declare."""
    from xlie.pipeline.grid import RUN_COLUMNS
    from xlie.pipeline.registry import method_spec, method_train_inputs, task_type

    task = task_type(run["task"])
    spec = method_spec(run["method"], config["models"][run["model"]]["family"])
    files = task.input_files(config, task.eval_split(config), list(run["targets"]))
    files += task.input_files(config, "train", [run["source"]])
    if not spec.zero_shot:
        files += task.input_files(config, "dev", [run["source"]])
        run_params = {k: (int(run[k]) if k == "seed" else str(run[k])) for k in RUN_COLUMNS}  # common.smk's run_dict
        files += method_train_inputs(spec, config, run_params)
    return list(dict.fromkeys(files))


def data_inputs(config: dict, runs: Iterable[dict]) -> dict[str, list[str]]:
    """Every data file some run's jobs read -> the tasks that read it (whose validators check it)."""
    readers: dict[str, list[str]] = {}
    for run in runs:
        for path in run_data_files(config, run):
            tasks = readers.setdefault(path, [])
            if run["task"] not in tasks:
                tasks.append(run["task"])
    return readers


def model_inputs(config: dict, runs: Iterable[dict], output_dir: str = OUTPUT_DIR) -> dict[str, str | None]:
    """Every local model directory some run's jobs load -> the config key that names it (None for
    a run's trained model): each used model's load path, the source of a converted one, and the
    trained model of every run whose method trains."""
    from xlie.pipeline import jobs
    from xlie.pipeline.registry import method_spec

    dirs: dict[str, str | None] = {}
    for run in runs:
        model = config["models"][run["model"]]
        key = f"models.{run['model']}.path"
        dirs.setdefault(model["path"], key)  # what convert_model reads, or the jobs themselves
        dirs.setdefault(jobs.model_load_path(config, run["model"]), None if jobs.is_converted(model) else key)
        if not method_spec(run["method"], model["family"]).zero_shot:
            dirs.setdefault(f"{output_dir}/{TRAINED_MODEL.format(run=run['run'])}", None)
    return {path: key for path, key in dirs.items() if Path(path).expanduser().is_dir()}


def config_key_for(config: dict, path: str) -> str | None:
    """The config key whose value names ``path``: the file itself, a directory above it, or a
    pattern with ``{fields}`` it fills (the most specific when several do); None when none does."""
    target = os.path.normpath(path)
    best: tuple[int, str] | None = None
    for key, value in _string_leaves(config):
        if not value or value in (".", "/"):
            continue
        candidate = os.path.normpath(value)
        pattern = "[^/]+".join(re.escape(part) for part in re.split(r"\{[^{}]*\}", candidate))
        names = target == candidate or target.startswith(candidate.rstrip("/") + "/") or re.fullmatch(pattern, target)
        if names and (best is None or len(value) > best[0]):
            best = (len(value), key)
    return best[1] if best else None


def _string_leaves(value, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, f"{prefix}[{index}]")
    elif isinstance(value, str):
        yield prefix, value


# ---- the cache ---------------------------------------------------------------------------------
def _stamp(path: str | Path) -> list[int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


@dataclass
class ValidationCache:
    """Verdicts of passed files by (absolute path, size, mtime_ns) of the file and its dependencies."""

    path: Path
    entries: dict = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def load(cls, path: str | Path) -> ValidationCache:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["entries"] if data.get("version") == CACHE_VERSION else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}  # absent or unreadable: every file is checked again
        return cls(path, entries if isinstance(entries, dict) else {})

    @staticmethod
    def _key(check: str, file: str | Path) -> str:
        return f"{check} {os.path.abspath(file)}"

    def passed(self, check: str, file: str | Path) -> bool:
        entry = self.entries.get(self._key(check, file))
        if not isinstance(entry, dict) or entry.get("stamp") != _stamp(file):
            return False
        return all(_stamp(dep) == stamp for dep, stamp in entry.get("depends", {}).items())

    def record(self, check: str, file: str | Path, depends: Iterable[str | Path] = ()) -> None:
        entry = {"stamp": _stamp(file), "depends": {os.path.abspath(d): _stamp(d) for d in depends}}
        key = self._key(check, file)
        if self.entries.get(key) != entry:
            self.entries[key] = entry
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        from xlie.pipeline.runtime import atomic_write_text

        # Files that are gone (a deleted run, a moved data directory) leave the cache with their verdicts.
        self.entries = {k: v for k, v in self.entries.items() if os.path.exists(k.split(" ", 1)[1])}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"version": CACHE_VERSION, "entries": self.entries}, indent=0))
        self.changed = False


# ---- the check ---------------------------------------------------------------------------------
def _is_output(path: str, output_dir: str) -> bool:
    """Whether ``path`` lies under the workflow's output directory (both relative to the working directory)."""
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(output_dir))


def _fail(error: Exception, key: str | None, hint: str = "") -> InputError:
    prefix = f"config key {key}: " if key else ""
    return InputError(f"{prefix}{error}{hint}")


def validate_data_files(
    config: dict, readers: dict[str, list[str]], cache: ValidationCache, output_dir: str = OUTPUT_DIR
) -> int:
    """Check every existing file of ``readers`` outside ``output_dir`` with each reading task's
    ``validate_file``; returns how many files were read (not answered by the cache)."""
    from xlie.pipeline.registry import task_type

    read = 0
    for path, tasks in readers.items():
        if _is_output(path, output_dir) or not Path(path).is_file():
            continue
        for name in tasks:
            validate = getattr(task_type(name), "validate_file", None)
            if validate is None or cache.passed(f"task:{name}", path):
                continue
            read += 1
            try:
                depends = validate(path, config) or []
            except (ValueError, OSError) as error:
                raise _fail(error, config_key_for(config, path)) from None
            cache.record(f"task:{name}", path, depends)
    return read


def validate_model_dirs(model_dirs: dict[str, str | None], cache: ValidationCache, output_dir: str = OUTPUT_DIR) -> int:
    """Check the weights of every directory of ``model_dirs`` (dir -> config key naming it, or None);
    returns how many files were read."""
    read = 0
    for model_dir, key in model_dirs.items():
        hint = ""
        if _is_output(model_dir, output_dir):
            hint = f"; the workflow wrote {model_dir}: restore it, or delete it so that the next run rebuilds it"
        for file, check in model_dir_checks(Path(model_dir).expanduser()):
            if cache.passed("model", file):
                continue
            read += 1
            try:
                depends = check(file) or []
            except (ValueError, TypeError, OSError) as error:
                raise _fail(error, key, hint) from None
            cache.record("model", file, depends)
    return read


def validate_inputs(
    config: dict, runs: Iterable[dict], cache_file: str | Path = CACHE_FILE, output_dir: str = OUTPUT_DIR
) -> int:
    """Before any job is scheduled: every existing local data file and model directory the jobs of
    ``runs`` (dicts of a training run's columns, ``run`` its path and ``targets``; grid.training_runs)
    read; an :class:`InputError` names the first bad one. Returns how many files were read (0 when
    the cache answered for all)."""
    runs = list(runs)
    cache = ValidationCache.load(cache_file)
    try:
        read = validate_data_files(config, data_inputs(config, runs), cache, output_dir)
        read += validate_model_dirs(model_inputs(config, runs, output_dir), cache, output_dir)
    finally:
        cache.save()  # what passed before the failure stays answered
    return read
