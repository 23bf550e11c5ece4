"""Resolve the workflow config: preset underneath, user keys on top, then validate.

Errors name the offending key as a dotted path (``papers.topro.seeds[0]``) so that a bad
config fails before any job starts.
"""

from __future__ import annotations

import copy
import difflib
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


def did_you_mean(name: str, known) -> str:
    """`` (did you mean 'x'?)`` for a near miss among ``known``, else ''."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _error_lines(error) -> list[str]:
    """One line per problem; an unknown key is named as its own dotted path, with the keys allowed there."""
    if error.validator == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        where = key_path(error.absolute_path)
        return [
            f"config key {key_path([*error.absolute_path, extra])}: unknown key{did_you_mean(extra, allowed)}; "
            f"allowed {'at the top level' if where == '<top level>' else f'under {where}'}: {', '.join(allowed)}"
            for extra in error.instance
            if extra not in allowed
        ]
    return [f"config key {key_path(error.absolute_path)}: {error.message}"]


def validate(config: dict, schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), key_path(e.absolute_path)))
    if errors:
        lines = [line for e in errors[:10] for line in _error_lines(e)]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def _subschema(schema: dict, root: dict) -> dict:
    while "$ref" in schema:  # only local refs ("#/$defs/paper") occur in our schema
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
    return schema


def _from_string(text: str, types: list[str]):
    """``text`` as the first schema type it reads as, else unchanged (validation then names the key)."""
    word = text.strip()
    for kind in types:
        if kind == "null" and word.lower() in ("null", "none", "~"):
            return None
        if kind == "boolean" and word.lower() in ("true", "false"):
            return word.lower() == "true"
        if kind in ("integer", "number"):
            try:
                return int(word)
            except ValueError:
                pass
        if kind == "number":
            try:
                return float(word)
            except ValueError:
                pass
    return text


def coerce_to_schema(value, schema: dict, root: dict | None = None):
    """``value`` with strings turned into the integers, numbers, booleans or nulls the schema
    expects there. Snakemake hands nested ``--config`` values over as strings
    (``papers={topro: {seeds: [1, 2]}}`` gives ``['1', '2']``), which would fail validation."""
    root = schema if root is None else root
    schema = _subschema(schema, root)
    if isinstance(value, str):
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else list(types)
        return value if "string" in types else _from_string(value, types)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {
            key: coerce_to_schema(item, properties[key], root) if key in properties
            else coerce_to_schema(item, extra, root) if isinstance(extra, dict) else item
            for key, item in value.items()
        }  # fmt: skip
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce_to_schema(item, schema["items"], root) for item in value]
    return value


def _looks_like_a_path(text: str) -> bool:
    """A hub id is ``name`` or ``namespace/name``; anything else with a slash is a filesystem path."""
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..") or text.count("/") > 1 or "\\" in text


def check_model_paths(config: dict) -> None:
    """Every model that is loaded (not built) is an existing local directory or a valid hub id,
    checked before any job runs; the error names the config key."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    for name, model in config.get("models", {}).items():
        path, key = model["path"], f"config key models.{name}.path"
        if model.get("tiny", False) or Path(path).expanduser().is_dir():
            continue
        if Path(path).expanduser().exists():
            raise ConfigError(f"{key}: {path!r} is a file; expected a model directory (save_pretrained) or a hub id")
        if _looks_like_a_path(path):
            raise ConfigError(f"{key}: local model directory {path!r} does not exist (relative paths start at the working directory {Path.cwd()})")
        try:
            validate_repo_id(path)
        except HFValidationError as error:
            raise ConfigError(f"{key}: {path!r} is neither an existing local directory nor a valid hub id ({error})") from None


def resolve(user_config: dict, presets_dir: str | Path, schema_path: str | Path) -> dict:
    """The preset named by ``user_config['preset']`` with ``user_config`` merged on top, validated."""
    preset = user_config.get("preset", "demo")
    preset_file = Path(presets_dir) / f"{preset}.yaml"
    if not isinstance(preset, str) or not preset_file.is_file():
        known = sorted(p.stem for p in Path(presets_dir).glob("*.yaml"))
        raise ConfigError(f"config key preset: unknown preset {preset!r}; choose one of {', '.join(known)}")
    base = yaml.safe_load(preset_file.read_text(encoding="utf-8")) or {}
    schema = load_schema(schema_path)
    resolved = coerce_to_schema(deep_merge(base, user_config), schema)
    resolved["preset"] = preset
    validate(resolved, schema)
    return resolved


def fill_defaults(config: dict, schema: dict) -> dict:
    """``config`` (changed in place) with every schema default filled in, nested ones included: what
    ``snakemake.utils.validate`` does in the workflow, for code that runs outside it (``python -m xlie
    plan``, tests). The jsonschema FAQ's recipe: a default is set before its object's properties are
    validated, so a default ``{}`` gets its own keys' defaults."""

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, prop in properties.items():
                if "default" in prop:
                    instance.setdefault(name, copy.deepcopy(prop["default"]))
        yield from jsonschema.Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, subschema)

    filler = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": set_defaults})
    filler(schema).validate(config)
    return config


def config_hash(config: dict) -> str:
    """sha256 of the resolved config (sorted JSON): the provenance key of a run."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()
