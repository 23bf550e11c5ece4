"""`python -m xlie preflight`: what the planned jobs need from each model's tokenizer and config, checked
before any GPU-hour is spent.

For every model of the planned cells it loads the tokenizer and the config only (``AutoTokenizer``,
``AutoConfig``: small files, no weights, no code from the checkpoint) and checks

* that both load: a hub id, a local directory, or a model the workflow builds (a tiny model not
  built yet is skipped: the workflow builds it before its first job);
* the architecture against ``models.<m>.family``: the Auto class the family's methods load
  (masked LM for bert/xlmr, seq2seq LM for mt5/mbart, causal LM) and the family's model types;
* the special tokens the family's code needs (pad; mask and separator of masked LMs; eos; the
  decoder start of mT5) and that every token id has a row in the embedding;
* each length option of the methods that run on the model (their Params fields ``max_length``,
  ``max_source_length``, ...) against its position table (none for relative or ALiBi positions);
* what each paper's methods need (registry hook ``preflight_checks``: verbalizer words, template
  pieces, language codes, stop strings).

It prints one table (model, check, result); a failing result names the model, the word or config
key and the fix. A workflow run performs it once before its first job (the Snakefile's ``onstart``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from xlie.pipeline.registry import FAMILY_KIND, MethodSpec, hooks, method_spec, params_class

# The model types whose tokenizer conventions each family's code follows; causal: any decoder-only
# LM that AutoModelForCausalLM loads.
FAMILY_MODEL_TYPES = {
    "bert": ("bert",),
    "xlmr": ("xlm-roberta", "xlm-roberta-xl", "roberta", "camembert"),
    "mt5": ("mt5", "t5", "umt5"),
    "mbart": ("mbart",),
}
# The Auto class the methods of each family kind load (xlie.pipeline.registry.FAMILY_KIND).
KIND_AUTO_CLASS = {
    "encoder": "AutoModelForMaskedLM",
    "seq2seq": "AutoModelForSeq2SeqLM",
    "causal": "AutoModelForCausalLM",
}
# A method's Params fields that bound a sequence in tokens.
LENGTH_FIELDS = ("max_length", "max_seq_length", "max_source_length", "max_target_length", "cutoff_len")
# Encoders that number positions from padding_idx + 1 (RoBERTa's create_position_ids_from_input_ids).
PADDING_OFFSET_TYPES = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert")
STATUS = {True: "ok", False: "FAIL", None: "skip"}
# What loading a tokenizer or config, or a paper's check on it, raises for a model that will not do
# (missing files, an unknown model type, a tokenizer class that breaks): findings, not crashes.
FINDINGS = (OSError, ValueError, KeyError, ImportError, TypeError, AttributeError, RuntimeError, IndexError)


class Check(NamedTuple):
    """One check's outcome: ``ok`` True, False (the detail names the word or key and the fix) or
    None (not checked, the detail says why)."""

    check: str
    ok: bool | None
    detail: str


@dataclass(frozen=True)
class PreflightRun:
    """What a paper's ``preflight_checks`` hook knows of one group of runs: a model, a method (its
    implementation ``spec`` and filled-in ``params``) on a task, one variant, with the sources it
    trains on and the targets it evaluates. ``params``: the method's Params instance, every default
    filled in (the config's values, a dict, until then)."""

    paper: str
    task: str
    model: str
    model_path: str
    family: str
    method: str
    spec: MethodSpec
    variant: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    params: object
    config: dict

    def option_key(self, field: str) -> str:
        """The config key that sets ``field`` of this run's Params (its task's ``by_task`` entry where it has one)."""
        block = self.config["papers"][self.paper].get("training", {}).get(self.spec.params_key, {})
        base = f"papers.{self.paper}.training.{self.spec.params_key}"
        if field in (block.get("by_task") or {}).get(self.task, {}):
            return f"{base}.by_task.{self.task}.{field}"
        return f"{base}.{field}"


@dataclass
class LoadedModel:
    """A model's tokenizer and config (None when they did not load) and what loading them showed."""

    tokenizer: object | None
    config: object | None
    checks: list[Check]


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _load_fix(name: str, path: str, error: BaseException) -> str:
    if isinstance(error, ValueError) and ("trust_remote_code" in str(error) or "model type" in str(error)):
        return (
            "fix: xlie runs no code from a checkpoint: choose a model transformers supports natively, or one the "
            f"workflow converts (models.{name}.convert: baichuan for Baichuan2-7B)"
        )
    if Path(path).expanduser().is_dir():
        return f"fix: models.{name}.path must be a directory written by save_pretrained"
    return (
        "fix: with network access a hub id downloads; offline, put the model in the hub cache (HF_HUB_CACHE, "
        f"HF_HUB_OFFLINE=1) or set models.{name}.path to a local directory"
    )


def _small_files(path: str) -> Path:
    """A checkpoint's folder with its config and tokenizer files: ``path`` itself, or a hub id's snapshot
    (fetched unless HF_HUB_OFFLINE is set; its weights are never fetched)."""
    if Path(path).expanduser().is_dir():
        return Path(path).expanduser()
    from huggingface_hub import constants, snapshot_download

    patterns = ["*.json", "tokenizer.model"]
    return Path(snapshot_download(path, allow_patterns=patterns, local_files_only=constants.HF_HUB_OFFLINE))


def _preview_conversion(kind: str, source: str) -> tuple[object, object]:
    """(tokenizer, config) of a model as ``models.<m>.convert`` will write it, from the source's small
    files: what the jobs will load, before the workflow converts it."""
    import torch

    from xlie.pipeline import baichuan

    if kind != "baichuan":
        raise ValueError(f"no preview of the conversion {kind!r}")
    folder = _small_files(source)
    config = baichuan.llama_config(baichuan.read_baichuan_config(folder), torch.float32)
    return baichuan.converted_tokenizer(folder), config


def load_model(name: str, model: dict, config: dict) -> LoadedModel:
    """The tokenizer and config the jobs of ``models.<name>`` will load (no weights), or why they are not
    checked: a tiny model is checked once built; a converted one (``models.<name>.convert``) in its
    converted copy, or before the workflow writes that, as the conversion will write it."""
    from xlie.pipeline.jobs import is_converted, model_load_path

    path = model_load_path(config, name)
    if model.get("tiny", False) and not Path(path).is_dir():
        reason = f"{path}: built by the workflow (rule build_tiny_models) before its first job; not checked yet"
        return LoadedModel(None, None, [Check("tokenizer and config", None, reason)])
    from transformers import AutoConfig, AutoTokenizer

    loaded = LoadedModel(None, None, [])
    if is_converted(model) and not Path(path).is_dir():
        source, kind = str(model["path"]), model["convert"]
        try:
            loaded.tokenizer, loaded.config = _preview_conversion(kind, source)
        except FINDINGS as error:
            fix = (
                f"fix: models.{name}.path must hold the checkpoint models.{name}.convert: {kind} reads"
                if isinstance(error, ValueError)
                else _load_fix(name, source, error)
            )
            detail = f"{source}: {type(error).__name__}: {_first_line(error)}; {fix}"
            return LoadedModel(None, None, [Check(f"convert {kind}", False, detail)])
        note = f"{source}: checked as rule convert_model will write it into {path} (models.{name}.convert: {kind})"
        loaded.checks.append(Check(f"convert {kind}", True, note))
    else:
        for what, loader in (("config", AutoConfig), ("tokenizer", AutoTokenizer)):
            try:
                setattr(loaded, what, loader.from_pretrained(path))
            except FINDINGS as error:
                detail = f"{path}: {type(error).__name__}: {_first_line(error)}; {_load_fix(name, path, error)}"
                loaded.checks.append(Check(f"load {what}", False, detail))
    if loaded.config is not None:
        architectures = ", ".join(getattr(loaded.config, "architectures", None) or []) or "none listed"
        detail = f"{path}: model_type {loaded.config.model_type!r}, architectures {architectures}"
        loaded.checks.append(Check("load config", True, detail))
    if loaded.tokenizer is not None:
        detail = f"{type(loaded.tokenizer).__name__}, {len(loaded.tokenizer)} tokens"
        loaded.checks.append(Check("load tokenizer", True, detail))
    return loaded


def unknown_words(tokenizer, text: str) -> list[str]:
    """The words of ``text`` (split at spaces) that the tokenizer maps to its unknown token: a template
    piece the model would read as unk. For the papers' checks."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None or unk not in tokenizer(text, add_special_tokens=False)["input_ids"]:
        return []
    return [word for word in text.split() if unk in tokenizer(word, add_special_tokens=False)["input_ids"]]


# ---------------------------------------------------------------- what a family needs


def _auto_model_types(kind: str) -> set[str]:
    from transformers.models.auto import modeling_auto

    mapping = {
        "encoder": modeling_auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        "seq2seq": modeling_auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
        "causal": modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    }[kind]
    return set(mapping)


def family_of(config) -> str | None:
    """The family a model config belongs to, or None when no family's methods load it."""
    for family, types in FAMILY_MODEL_TYPES.items():
        if config.model_type in types:
            return family
    if not config.is_encoder_decoder and config.model_type in _auto_model_types("causal"):
        return "causal"
    return None


def architecture_check(name: str, model: dict, config) -> Check:
    """The checkpoint's model type against ``models.<name>.family``: what the family's methods load."""
    family = model["family"]
    kind = FAMILY_KIND[family]
    architectures = ", ".join(getattr(config, "architectures", None) or []) or "none listed"
    seen = f"model_type {config.model_type!r} (architectures {architectures})"
    guess = family_of(config)
    fix = (
        f"fix: set models.{name}.family to {guess!r}"
        if guess and guess != family
        else f"fix: set models.{name}.path to a {family} model"
    )
    loads = config.model_type in _auto_model_types(kind) and bool(config.is_encoder_decoder) == (kind == "seq2seq")
    if not loads or (kind == "causal" and guess != "causal"):
        need = f"a {kind} model that {KIND_AUTO_CLASS[kind]} loads"
        return Check("architecture", False, f"{seen} is not {need}, as models.{name}.family {family!r} needs; {fix}")
    types = FAMILY_MODEL_TYPES.get(family)
    if types and config.model_type not in types:
        expected = " or ".join(repr(t) for t in types)
        return Check(
            "architecture", False, f"{seen}: models.{name}.family {family!r} expects model_type {expected}; {fix}"
        )
    return Check("architecture", True, f"{seen}: {KIND_AUTO_CLASS[kind]} loads it, as family {family!r} needs")


def _token(tokenizer, role: str) -> str:
    token = getattr(tokenizer, f"{role}_token", None)
    return f"{role} {token} ({getattr(tokenizer, f'{role}_token_id', None)})"


def special_token_checks(name: str, model: dict, tokenizer, config) -> list[Check]:
    """The special tokens the family's code needs, and every token id within the embedding."""
    family = model["family"]
    kind = FAMILY_KIND[family]
    checks = []
    rows = getattr(config, "vocab_size", None)
    if isinstance(rows, int) and len(tokenizer) > rows:
        detail = (
            f"the tokenizer has {len(tokenizer)} tokens but the embedding {rows} rows: ids from {rows} on index out "
            f"of range (a device-side assert on a GPU); fix: models.{name}.path must hold the tokenizer of its model"
        )
        checks.append(Check("vocabulary size", False, detail))
    elif isinstance(rows, int):
        checks.append(Check("vocabulary size", True, f"{len(tokenizer)} tokens, {rows} embedding rows"))
    needed = {"encoder": ["pad", "mask", "sep"], "seq2seq": ["pad", "eos"], "causal": ["eos"]}[kind]
    missing = [role for role in needed if getattr(tokenizer, f"{role}_token_id", None) is None]
    if missing:
        why = {"pad": "batches", "mask": "a masked LM's prompts", "sep": "sentence pairs", "eos": "sequence ends"}
        need = ", ".join(f"a {role} token ({why[role]})" for role in missing)
        detail = f"the tokenizer of family {family!r} lacks {need}; fix: set models.{name}.path to a {family} model"
        checks.append(Check("special tokens", False, detail))
    else:
        shown = [_token(tokenizer, role) for role in needed]
        if kind == "causal":
            pad = tokenizer.pad_token
            shown.append(_token(tokenizer, "pad") if pad is not None else "pad: none, batches pad with eos")
        checks.append(Check("special tokens", True, ", ".join(shown)))
    if kind == "seq2seq":
        start = getattr(config, "decoder_start_token_id", None)
        if start is not None:
            checks.append(Check("decoder start", True, f"decoder_start_token_id {start}"))
        elif family == "mbart":  # mBART's methods build decoder inputs whole (a language code first)
            checks.append(Check("decoder start", True, "decoder_start_token_id unset: decoder inputs are built whole"))
        else:
            detail = f"config has no decoder_start_token_id (the first decoder input); fix: use a {family} checkpoint"
            checks.append(Check("decoder start", False, detail))
    return checks


class Positions(NamedTuple):
    """How long a sequence a model's position table holds: ``limit`` tokens (None: no table, relative or
    ALiBi positions); ``rotary`` positions run past it (as trained length, not an index: Hugging Face
    computes them, vLLM refuses longer prompts), learned ones fail there; ``how`` in words."""

    limit: int | None
    rotary: bool
    how: str


def positions(config) -> Positions:
    """The position limit of a model config (RoBERTa-type encoders lose padding_idx + 1 positions)."""
    limit = getattr(config, "max_position_embeddings", None)
    if not isinstance(limit, int):
        limit = getattr(config, "n_positions", None)
    if not isinstance(limit, int):
        return Positions(None, False, "no position table (relative or ALiBi positions): no limit")
    if config.model_type in PADDING_OFFSET_TYPES and isinstance(getattr(config, "pad_token_id", None), int):
        limit -= config.pad_token_id + 1
    rotary = any(getattr(config, name, None) for name in ("rope_parameters", "rope_scaling", "rope_theta"))
    return Positions(limit, rotary, f"{limit} {'rotary (trained) ' if rotary else ''}positions")


def position_checks(run: PreflightRun, config) -> list[Check]:
    """Each length option of the run's Params against the model's positions."""
    limit, _, how = positions(config)
    checks = []
    for field in LENGTH_FIELDS:
        value = getattr(run.params, field, None)
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        key = run.option_key(field)
        if limit is not None and value > limit:
            detail = f"{value} > the {limit} positions of {run.model_path}; fix: set {key} to at most {limit}"
            checks.append(Check(f"positions: {key}", False, detail))
        else:
            checks.append(Check(f"positions: {key}", True, f"{value}; {how}"))
    return checks


# ---------------------------------------------------------------- the runs and their checks


def preflight_runs(config: dict, cells: pd.DataFrame, runs: set[str] | None = None) -> list[PreflightRun]:
    """One PreflightRun per (model, paper, task, method, variant, params) of the planned runs (all of
    them, or those in ``runs``): seeds and sources of one setting are checked once."""
    from xlie.pipeline.grid import training_runs
    from xlie.pipeline.jobs import method_params, model_load_path

    planned = training_runs(cells)
    if runs is not None:
        planned = planned[planned["run"].isin(runs)]
    groups: dict[tuple, dict] = {}
    for run in planned.to_dict("records"):
        params, _ = method_params(config, run)
        key = (
            run["model"],
            run["paper"],
            run["task"],
            run["method"],
            run["variant"],
            json.dumps(params, sort_keys=True),
        )
        group = groups.setdefault(key, {"run": run, "params": params, "sources": {}, "targets": {}})
        group["sources"][run["source"]] = None
        group["targets"].update(dict.fromkeys(run["targets"]))
    found = []
    for group in groups.values():
        run = group["run"]
        model = config["models"][run["model"]]
        spec = method_spec(run["method"], model["family"])
        found.append(
            PreflightRun(
                paper=run["paper"],
                task=run["task"],
                model=run["model"],
                model_path=model_load_path(config, run["model"]),
                family=model["family"],
                method=run["method"],
                spec=spec,
                variant=run["variant"],
                sources=tuple(group["sources"]),
                targets=tuple(group["targets"]),
                params=group["params"],
                config=config,
            )
        )
    return found


def _method_checks(run: PreflightRun, loaded: LoadedModel) -> list[Check]:
    """The run's Params filled in, its lengths against the positions, then every paper's hook."""
    try:
        params = params_class(run.spec).from_dict(run.params)
    except (TypeError, ValueError) as error:
        key = f"papers.{run.paper}.training.{run.spec.params_key}"
        return [Check(f"{run.task} {run.spec.name} options", False, f"{_first_line(error)}; fix: {key}")]
    run = dataclasses.replace(run, params=params)
    checks = position_checks(run, loaded.config)
    for hook in hooks("preflight_checks"):
        try:
            checks += [Check(*found) for found in hook(loaded.tokenizer, loaded.config, run)]
        except FINDINGS as error:  # a broken check must not hide the others
            name = f"{run.task} {run.spec.name} ({hook.__module__})"
            checks.append(Check(name, False, f"the check itself failed: {type(error).__name__}: {_first_line(error)}"))
    return checks


def preflight_rows(config: dict, cells: pd.DataFrame, runs: set[str] | None = None) -> pd.DataFrame:
    """The table: one row per (model, check), models in the order of their first run, identical rows once."""
    from xlie.pipeline.jobs import model_load_path

    planned = preflight_runs(config, cells, runs)
    rows: dict[tuple, None] = {}
    loaded: dict[str, LoadedModel] = {}  # by path: the demo's models share directories
    for name in dict.fromkeys(run.model for run in planned):
        model, path = config["models"][name], model_load_path(config, name)
        if path not in loaded:
            loaded[path] = load_model(name, model, config)
        found = loaded[path]
        checks = list(found.checks)
        if found.config is not None and found.tokenizer is not None:
            checks.append(architecture_check(name, model, found.config))
            checks += special_token_checks(name, model, found.tokenizer, found.config)
            for run in (run for run in planned if run.model == name):
                checks += _method_checks(run, found)
        rows.update(dict.fromkeys((name, *check) for check in checks))
    table = pd.DataFrame(list(rows), columns=["model", "check", "ok", "detail"])
    table["result"] = [f"{STATUS[ok]}: {detail}" for ok, detail in zip(table["ok"], table["detail"])]
    return table


@dataclass
class PreflightReport:
    """The table (model, check, ok, detail, result) of one preflight, how long it took, the preset."""

    table: pd.DataFrame
    seconds: float
    preset: str

    @property
    def passed(self) -> bool:
        return not self.table["ok"].eq(False).any()

    def verdict(self) -> str:
        """One line, then each failure again with its fix."""
        table = self.table
        counts = f"{int(table['ok'].eq(True).sum())} ok, {int(table['ok'].isna().sum())} skipped"
        if self.passed:
            return f"preflight passed in {self.seconds:.1f} s: {counts}"
        failed = table[table["ok"].eq(False)]
        lines = [f"preflight FAILED in {self.seconds:.1f} s: {len(failed)} failed, {counts}"]
        return "\n".join(lines + [f"  {row.model}: {row.check}: {row.detail}" for row in failed.itertuples()])

    def render(self) -> str:
        """The table a user reads, then the verdict."""
        lines = [f"Preflight of preset {self.preset!r}: tokenizers and configs of the planned models (no weights)"]
        if self.table.empty:
            return "\n".join([*lines, "no GPU job is planned: nothing to check"])
        widths = [max(len(str(v)) for v in [column, *self.table[column]]) for column in ("model", "check")]
        lines.append(f"{'model':<{widths[0]}}  {'check':<{widths[1]}}  result")
        for row in self.table.itertuples():
            lines.append(f"{row.model:<{widths[0]}}  {row.check:<{widths[1]}}  {row.result}")
        return "\n".join([*lines, self.verdict()])


def run_preflight(config: dict, cells: pd.DataFrame, runs: set[str] | None = None) -> PreflightReport:
    """The preflight of the planned runs of a resolved config (all, or those in ``runs``)."""
    start = time.perf_counter()
    table = preflight_rows(config, cells, runs)
    return PreflightReport(table, time.perf_counter() - start, config.get("preset", "?"))


def preflight(configfiles: list[str], overrides: list[str]) -> PreflightReport:
    """Resolve the config as ``snakemake`` would (see xlie.pipeline.plan) and check every model of its
    planned cells."""
    from xlie.pipeline.grid import build_cells
    from xlie.pipeline.plan import load_workflow_config
    from xlie.pipeline.registry import load_papers

    config = load_workflow_config(configfiles, overrides)
    load_papers(config)
    return run_preflight(config, build_cells(config))
