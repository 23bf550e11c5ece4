"""Resolve the workflow config: preset underneath, user keys on top, then validate.

Errors name the offending key as a dotted path (``papers.topro.seeds[0]``) so that a bad
config fails before any job starts.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import jsonschema
import yaml


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` on top of ``base``; nested dicts merge, everything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def key_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def load_schema(schema_path: str | Path) -> dict:
    return yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))


def validate(config: dict, schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), key_path(e.absolute_path)))
    if errors:
        lines = [f"config key {key_path(e.absolute_path)}: {e.message}" for e in errors[:10]]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def resolve(user_config: dict, presets_dir: str | Path, schema_path: str | Path) -> dict:
    """The preset named by ``user_config['preset']`` with ``user_config`` merged on top, validated."""
    preset = user_config.get("preset", "demo")
    preset_file = Path(presets_dir) / f"{preset}.yaml"
    if not isinstance(preset, str) or not preset_file.is_file():
        known = sorted(p.stem for p in Path(presets_dir).glob("*.yaml"))
        raise ConfigError(f"config key preset: unknown preset {preset!r}; choose one of {', '.join(known)}")
    base = yaml.safe_load(preset_file.read_text(encoding="utf-8")) or {}
    resolved = deep_merge(base, user_config)
    resolved["preset"] = preset
    validate(resolved, load_schema(schema_path))
    return resolved


def config_hash(config: dict) -> str:
    """sha256 of the resolved config (sorted JSON): the provenance key of a run."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()
