"""Resolve the workflow config: each paper's paper.yaml, the preset on it, user keys on top, then validate.

A paper is a package (``papers.<name>.package``, default ``xlie.papers.<name>``). Its folder may
hold ``paper.yaml``, a fragment of the config (its tables, their defaults) merged under the preset
as lm-evaluation-harness's ``include:`` merges a task YAML, and ``schema.yaml``, a fragment of the
config schema (its data keys, display names, table keys, metrics) merged into the core schema
(workflow/schemas/config.schema.yaml). Both are found without importing the package.

Errors name the offending key as a dotted path (``papers.<paper>.seeds[0]``) so that a bad
config fails before any job starts.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import importlib.util
import json
import os
import pkgutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import jsonschema
import yaml

# The package of the built-in papers: a paper named <name> in the config is xlie.papers.<name>
# unless its block names another package.
BUILTIN_PAPERS = "xlie.papers"
PAPER_CONFIG = "paper.yaml"
PAPER_SCHEMA = "schema.yaml"


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


# libyaml's safe loader when PyYAML has it (the same result, several times faster: the Snakefile
# resolves the config in every job).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(path: Path):
    """What the YAML file ``path`` holds; a file that does not parse fails naming file:line:column
    and the problem (PyYAML's own message names neither when it is given the text)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError(f"{path}:{line}:{column}: not UTF-8 (byte {data[error.start]:#04x})") from None
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_problem(path, text, error)) from None


def _yaml_problem(path: Path, text: str, error: yaml.YAMLError) -> str:
    """``file:line:column: not valid YAML: <what>`` for a YAML error (marks are 0-based)."""
    mark, context_mark = getattr(error, "problem_mark", None), getattr(error, "context_mark", None)
    mark = mark or context_mark
    if mark is None:
        return f"{path}: not valid YAML: {error}"
    problem = " ".join(str(part) for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
    if context_mark is not None and (context_mark.line, context_mark.column) != (mark.line, mark.column):
        problem += f" (what it was reading began at {context_mark.line + 1}:{context_mark.column + 1})"
    lines = text.splitlines()
    if mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
        problem += ": a tab (YAML indents with spaces, never tabs)"
    return f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {problem or error}"


def _read_yaml(path: Path) -> dict:
    """The mapping a YAML file holds ({} when the file is absent or empty)."""
    return (_parse_yaml(path) or {}) if path.is_file() else {}


def check_config_file(path: str | Path) -> None:
    """A config file that does not parse fails here naming file:line:column and the YAML problem,
    before Snakemake's ``configfile:`` reads it (its own message names neither). An absent file is
    left to Snakemake (it is optional when ``--configfile`` is given)."""
    path = Path(path)
    if not path.is_file():
        return
    content = _parse_yaml(path)
    if content is not None and not isinstance(content, dict):
        raise ConfigError(f"{path}:1:1: expected keys at the top level (key: value), got a {type(content).__name__}")


def _package_dir(package: str) -> Path | None:
    """The folder of ``package``, found without importing it (its parent packages are imported)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # a parent package that does not exist
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


def builtin_papers() -> list[str]:
    """Names of the papers under xlie.papers."""
    folder = _package_dir(BUILTIN_PAPERS)
    return sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if m.ispkg) if folder else []


def paper_dirs(config: dict) -> dict[str, Path]:
    """Paper name -> its package's folder, for every paper the config names (``papers.<name>``)."""
    papers = config.get("papers")
    dirs = {}
    for name, block in papers.items() if isinstance(papers, dict) else ():
        given = block.get("package") if isinstance(block, dict) else None
        package = given if isinstance(given, str) and given else f"{BUILTIN_PAPERS}.{name}"
        folder = _package_dir(package)
        if folder is None:
            key = f"papers.{name}.package" if given else f"papers.{name}"
            hint = "" if given else did_you_mean(name, builtin_papers())
            raise ConfigError(
                f"config key {key}: no paper package {package!r}{hint}; known papers: {', '.join(builtin_papers())} "
                f"(a paper of your own names its package, importable from PYTHONPATH, with papers.{name}.package)"
            )
        dirs[name] = folder
    return dirs


def merge_schema(schema: dict, fragment: dict, source: str = "schema fragment") -> dict:
    """``fragment`` merged into a copy of ``schema``: objects key by key, lists (``enum``, ``required``)
    extended by the items they lack; a value both give must be the same (a ConfigError names it)."""

    def merge(into: dict, part: dict, where: str) -> None:
        for key, value in part.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in into:
                into[key] = copy.deepcopy(value)
            elif isinstance(value, dict) and isinstance(into[key], dict):
                merge(into[key], value, path)
            elif isinstance(value, list) and isinstance(into[key], list):
                into[key] += [copy.deepcopy(v) for v in value if v not in into[key]]
            elif value != into[key]:
                raise ConfigError(f"{source}: {path} is {value!r}, but the schema it extends has {into[key]!r}")

    merged = copy.deepcopy(schema)
    merge(merged, fragment, "")
    return merged


def load_schema(schema_path: str | Path, paper_folders: Iterable[Path] = ()) -> dict:
    """The core schema with the schema.yaml of every built-in paper and of ``paper_folders`` merged in."""
    schema = _parse_yaml(Path(schema_path))
    builtin = _package_dir(BUILTIN_PAPERS)
    folders = [builtin / name for name in builtin_papers()] if builtin else []
    for folder in dict.fromkeys(Path(f).resolve() for f in [*folders, *paper_folders]):
        fragment = _read_yaml(folder / PAPER_SCHEMA)
        if fragment:
            schema = merge_schema(schema, fragment, str(folder / PAPER_SCHEMA))
    return schema


def config_schema(config: dict, schema_path: str | Path) -> dict:
    """The schema ``config`` is validated against: the core with its papers' fragments merged in."""
    return load_schema(schema_path, paper_dirs(config).values())


@contextlib.contextmanager
def schema_file(schema: dict) -> Iterator[str]:
    """``schema`` written to a temporary file, for an API that reads a schema from a path (as JSON, which
    YAML readers read too: several times faster to write than YAML)."""
    handle, path = tempfile.mkstemp(prefix="xlie-config-schema-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(schema, out, ensure_ascii=False)
        yield path
    finally:
        os.unlink(path)


def did_you_mean(name: str, known) -> str:
    """`` (did you mean 'x'?)`` for a near miss among ``known``, else ''."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _error_lines(error) -> list[str]:
    """One line per problem; an unknown key is named as its own dotted path, with the keys allowed there."""
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(error.instance, dict)
    ):
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


# The words YAML reads as null (as in a config file): --config hands them over as strings.
_YAML_NULLS = ("null", "Null", "NULL", "~")


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
    (e.g. ``papers={<paper>: {seeds: [1, 2]}}`` gives ``['1', '2']``), which would fail validation."""
    root = schema if root is None else root
    schema = _subschema(schema, root)
    if isinstance(value, str):
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else list(types)
        if "string" in types:  # a string stays one, unless it is YAML's null where null is allowed
            return None if "null" in types and value.strip() in _YAML_NULLS else value
        return _from_string(value, types)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        coerced = {}
        for key, item in value.items():
            item_schema = properties.get(key, extra if isinstance(extra, dict) else None)
            coerced[key] = item if item_schema is None else coerce_to_schema(item, item_schema, root)
        return coerced
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce_to_schema(item, schema["items"], root) for item in value]
    return value


def _looks_like_a_path(text: str) -> bool:
    """A hub id is ``name`` or ``namespace/name``; anything else with a slash is a filesystem path."""
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..") or text.count("/") > 1 or "\\" in text


def check_model_paths(config: dict) -> None:
    """Every model's ``path`` is an existing local directory or a valid hub id, whatever its ``tiny``
    says, checked before any job runs; the error names the config key. ``tiny: true`` builds the
    model at results/models/tiny/<family>, and the jobs load it from ``path``: any other path is an
    error (a path given on top of the demo preset's ``tiny: true`` would be loaded by the jobs but
    never built), whose fix is ``tiny: false`` to load that path."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    for name, model in config.get("models", {}).items():
        path, key = model["path"], f"config key models.{name}.path"
        tiny, tiny_dir = model.get("tiny", False), f"results/models/tiny/{model['family']}"
        if tiny and Path(path).expanduser().resolve() == Path(tiny_dir).resolve():
            continue  # built by the build_tiny_models rule
        problem = ""
        if Path(path).expanduser().is_dir():
            pass
        elif Path(path).expanduser().exists():
            problem = f"{path!r} is a file; expected a model directory (save_pretrained) or a hub id"
        elif _looks_like_a_path(path):
            problem = (
                f"local model directory {path!r} does not exist "
                f"(relative paths start at the working directory {Path.cwd()})"
            )
        else:
            try:
                validate_repo_id(path)
            except HFValidationError as error:
                problem = f"{path!r} is neither an existing local directory nor a valid hub id ({error})"
        if tiny:
            problem = (f"{problem}; also, " if problem else f"{path!r}: ") + (
                f"models.{name}.tiny is true (a preset's value stays when only path is given), which builds a tiny random-init model at "
                f"{tiny_dir} that the jobs load from path: set models.{name}.tiny: false to load {path!r}, "
                f"or leave path at {tiny_dir}"
            )
        if problem:
            raise ConfigError(f"{key}: {problem}")


def resolve(user_config: dict, presets_dir: str | Path, schema_path: str | Path) -> dict:
    """The config a run uses: the paper.yaml of each paper it names underneath, the preset named by
    ``user_config['preset']`` on them, ``user_config`` on top; ``--config`` strings read as the
    schema's types and training blocks as their methods' Params field types; validated against the
    core schema with the papers' parts merged in, and every default of that schema filled in."""
    from xlie.pipeline.training_blocks import type_training_blocks

    preset = user_config.get("preset", "demo")
    preset_file = Path(presets_dir) / f"{preset}.yaml"
    if not isinstance(preset, str) or not preset_file.is_file():
        known = sorted(p.stem for p in Path(presets_dir).glob("*.yaml"))
        raise ConfigError(f"config key preset: unknown preset {preset!r}; choose one of {', '.join(known)}")
    chosen = with_calibrated_costs(deep_merge(_read_yaml(preset_file), user_config))
    folders = paper_dirs(chosen)
    merged: dict = {}
    for folder in folders.values():
        merged = deep_merge(merged, _read_yaml(folder / PAPER_CONFIG))
    schema = load_schema(schema_path, folders.values())
    resolved = coerce_to_schema(deep_merge(merged, chosen), schema)
    resolved["preset"] = preset
    validate(resolved, schema)
    type_training_blocks(resolved)
    return fill_defaults(resolved, schema)


def with_calibrated_costs(config: dict) -> dict:
    """``config`` with the file named by ``cost_model.calibrated`` (what ``python -m xlie calibrate``
    writes: measured figures under ``models``) merged over its ``cost_model``, a measured figure winning."""
    path = (config.get("cost_model") or {}).get("calibrated")
    if path is None:
        return config
    key = "config key cost_model.calibrated"
    if not isinstance(path, str) or not Path(path).is_file():
        raise ConfigError(f"{key}: no file {path!r} (python -m xlie calibrate writes one)")
    loaded = _read_yaml(Path(path))
    if not isinstance(loaded, dict) or not set(loaded) <= {"measured", "families", "models", "tiny"}:
        raise ConfigError(f"{key}: {path} is not a cost_model file: it holds measured, families, models and tiny only")
    costs = {name: value for name, value in loaded.items() if name != "measured"}  # the file's own header
    return deep_merge(config, {"cost_model": costs})


def fill_defaults(config: dict, schema: dict) -> dict:
    """``config`` (changed in place) with every schema default filled in, nested ones included, as
    ``snakemake.utils.validate`` fills them. The jsonschema FAQ's recipe: a default is set before its
    object's properties are validated, so a default ``{}`` gets its own keys' defaults."""

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
