"""One registry for what a paper plugs into the pipeline: task types, methods, metrics and report hooks.

A paper is a package whose ``__init__`` registers its parts by dotted path (``"module:attr"``);
nothing behind a path is imported until it is used (a method module imports torch), and each
entry is checked against its interface when it is first loaded. The papers under ``xlie.papers``
are found by themselves; any other package (a paper of your own, the tests' example paper) is
named by the config key ``papers.<name>.package`` and loaded with :func:`load_papers`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, fields

# Model families by kind: a method is implemented per kind (encoder, seq2seq, causal).
FAMILY_KIND = {"bert": "encoder", "xlmr": "encoder", "mt5": "seq2seq", "mbart": "seq2seq", "causal": "causal"}

TASK_INTERFACE = (
    "name",
    "kind",
    "description",
    "baseline_name",
    "baseline_how",
    "predictions_file",
    "data_options",
    "input_files",
    "eval_split",
    "load",
    "gold",
    "predicted",
    "score",
    "floor_baseline",
    "counts",
    "write_predictions",
    "read_predictions",
    "example_scorer",
    "method_kwargs",
)
# Optional task attributes, looked up with getattr where they are used:
# known_names(config, role) -> set[str]: the sources/targets it accepts besides languages (xlie.pipeline.grid);
# validate_file(path, config) -> list of files or None: read one of its existing local input files
# (input_files) as its jobs will, raising a ValueError naming file:line when they would fail, and return
# the other files the verdict rested on (a schema); called before any job is scheduled, its verdict
# cached by the files' size and mtime (xlie.pipeline.validation).
TASK_OPTIONAL = ("known_names", "validate_file")
METHOD_INTERFACE = ("train", "load_predictor")
HOOK_KINDS = {
    # (config, paper, table config) -> [{"function": "module:attr", "options": {config values it reads}}]:
    # italic rows from other sources under a table's own, each made by function(options, metrics frame)
    # -> (rows[row, target, value, source_note] or None, a caption sentence or "")
    "reference_rows",
    # (paper, table config) -> [{"suffix", "function": "module:attr", "caption"}]: plots a table adds,
    # results/plots/<paper>_<table>_<suffix>.{png,pdf,csv}, each made by
    # function(table options, metrics_csv, paper=, table=, out_png=, out_pdf=, out_csv=)
    "table_plots",
    # () -> list[str]: texts the tiny demo tokenizer must cover (prompt templates, verbalizer words)
    "tokenizer_texts",
    # (tokenizer, model config, xlie.pipeline.preflight.PreflightRun) -> [(check, ok, detail)]: what the
    # paper's own methods need from a model's tokenizer and config (verbalizer words, template pieces,
    # language codes, stop strings), checked by `python -m xlie preflight` before any job runs; a
    # failing detail names the word or config key and the fix; [] for runs of other methods
    "preflight_checks",
}


@dataclass(frozen=True)
class MethodSpec:
    """One implementation of a method on a kind of model.

    ``name``: its registry name (what job params and provenance record); ``module``: the dotted
    module with ``train`` / ``load_predictor``; ``params``: ``"module:Class"`` of its ``Params``
    dataclass in a torch-free module (every option, its default and meaning); ``params_key``: the
    block of a paper's ``training:`` config that sets them; ``families``: the model families it
    runs on; ``task_kinds``: the task kinds it serves; ``variants``: named settings of one
    ``Params`` field (``variant_param``) shown as rows of one method, the first the default;
    ``train_inputs``: ``"module:function"`` of ``(config, run) -> list of files`` a training run
    reads besides its task's data (declared as the job's inputs; a variant may need data others
    do not), or None."""

    name: str
    module: str
    params: str
    params_key: str
    families: frozenset[str]
    task_kinds: frozenset[str] = frozenset({"tagging"})
    zero_shot: bool = False
    variant_param: str | None = None
    variants: tuple[str, ...] = ("default",)
    train_inputs: str | None = None
    # The metric its paper's authors scored it with (a metric registered for the run's task; None:
    # the task's primary metric). A table with ``metric: authors`` shows it.
    authors_metric: str | None = None


@dataclass(frozen=True)
class MetricSpec:
    """One metric a table can show: its key in a cell's ``metrics.json`` scores, what captions and
    axes call it (exactly: which counts, which items, whose convention), and, when the task's own
    ``score`` does not compute it, ``function``: ``"module:attr"`` of ``(examples, predicted,
    outputs) -> float`` (outputs: the method's raw per-example outputs, or None)."""

    task: str
    name: str
    caption: str
    function: str | None = None


_TASKS: dict[str, str] = {}
_LOADED_TASKS: dict[str, object] = {}
_METHODS: dict[tuple[str, str], MethodSpec] = {}
_METRICS: dict[tuple[str, str], MetricSpec] = {}
_HOOKS: dict[str, list[str]] = {kind: [] for kind in HOOK_KINDS}
_PACKAGES: set[str] = set()


def resolve(path: str):
    """The object a ``"module:attr"`` path names."""
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


# ---- registration (called by a paper's __init__) -------------------------------------------
def _check_path(path: str, what: str) -> None:
    """A registered path names a module that exists (found without importing it, so registration
    stays cheap) and, after the colon, an attribute; the interface is checked when it is loaded."""
    module, colon, attr = path.partition(":")
    if not colon or not attr or not module:
        raise ValueError(f"{what}: {path!r} is not a 'module:attribute' path")
    if importlib.util.find_spec(module) is None:
        raise ValueError(f"{what}: module {module!r} of {path!r} does not exist")


def register_task(name: str, path: str) -> None:
    _check_path(path, f"task {name!r}")
    if _TASKS.get(name, path) != path:
        raise ValueError(f"task {name!r} registered twice ({_TASKS[name]} and {path})")
    _TASKS[name] = path


def register_method(method: str, kind: str, spec: MethodSpec) -> None:
    if kind not in set(FAMILY_KIND.values()):
        raise ValueError(f"method {method!r}: unknown family kind {kind!r}")
    unknown = sorted(f for f in spec.families if FAMILY_KIND.get(f) != kind)
    if unknown:
        raise ValueError(f"method {method!r} on {kind} models: families {unknown} are not {kind} families")
    if spec.variants and spec.variant_param is None and spec.variants != ("default",):
        raise ValueError(f"method {method!r}: variants need a variant_param")
    _check_path(spec.params, f"method {method!r} params")
    if spec.train_inputs is not None:
        _check_path(spec.train_inputs, f"method {method!r} train_inputs")
    if importlib.util.find_spec(spec.module) is None:
        raise ValueError(f"method {method!r}: module {spec.module!r} does not exist")
    if _METHODS.get((method, kind), spec) != spec:
        raise ValueError(f"method {method!r} on {kind} models registered twice")
    _METHODS[(method, kind)] = spec


def register_metric(task: str, name: str, caption: str, function: str | None = None) -> None:
    """A metric of ``task`` (see :class:`MetricSpec`); one name, one caption, one implementation."""
    if function is not None:
        _check_path(function, f"metric {task}/{name}")
    spec = MetricSpec(task, name, caption, function)
    if _METRICS.get((task, name), spec) != spec:
        raise ValueError(f"metric {name!r} of task {task!r} registered twice")
    _METRICS[(task, name)] = spec


def register_hook(kind: str, path: str) -> None:
    if kind not in HOOK_KINDS:
        raise ValueError(f"unknown hook kind {kind!r}; known: {', '.join(sorted(HOOK_KINDS))}")
    _check_path(path, f"{kind} hook")
    if path not in _HOOKS[kind]:
        _HOOKS[kind].append(path)


# ---- discovery ------------------------------------------------------------------------------
@functools.cache
def _load_builtin() -> None:
    """Import the papers under xlie.papers once (every look-up calls this; the DAG makes hundreds)."""
    import xlie.papers

    for module in pkgutil.iter_modules(xlie.papers.__path__):
        load_package(f"xlie.papers.{module.name}")


def load_package(package: str) -> None:
    if package not in _PACKAGES:
        importlib.import_module(package)
        _PACKAGES.add(package)


def load_papers(config: dict) -> None:
    """Register the built-in papers and every package named by ``papers.<name>.package``."""
    _load_builtin()
    for paper in (config.get("papers") or {}).values():
        if isinstance(paper, dict) and paper.get("package"):
            load_package(paper["package"])


def loaded_packages() -> list[str]:
    """The paper packages registered in this process (a worker process loads the same ones)."""
    return sorted(_PACKAGES)


# ---- look-ups ------------------------------------------------------------------------------
def _check_interface(obj, names, what: str) -> None:
    missing = [n for n in names if not hasattr(obj, n)]
    if missing:
        raise TypeError(f"{what} lacks {', '.join(missing)} (the interface of xlie.pipeline.registry)")


def task_type(name: str):
    """The registered task ``name``; a KeyError names the known ones."""
    _load_builtin()
    if name not in _LOADED_TASKS:
        if name not in _TASKS:
            raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_TASKS))}")
        task = resolve(_TASKS[name])
        _check_interface(task, TASK_INTERFACE, f"task {name!r} ({_TASKS[name]})")
        _LOADED_TASKS[name] = task
    return _LOADED_TASKS[name]


def known_tasks() -> list[str]:
    _load_builtin()
    return sorted(_TASKS)


def all_methods() -> dict[tuple[str, str], MethodSpec]:
    _load_builtin()
    return dict(_METHODS)


def method_spec(method: str, family: str) -> MethodSpec | None:
    spec = all_methods().get((method, FAMILY_KIND.get(family, "")))
    return spec if spec is not None and family in spec.families else None


def known_methods() -> list[str]:
    return sorted({m for m, _ in all_methods()})


def families_for(method: str) -> set[str]:
    return {f for (m, _), spec in all_methods().items() if m == method for f in spec.families}


def params_class(spec: MethodSpec):
    """The method's ``Params`` dataclass (from a torch-free module)."""
    return resolve(spec.params)


def param_fields(spec: MethodSpec) -> dict[str, str]:
    """Field name -> annotation of the method's ``Params``."""
    return {f.name: str(f.type) for f in fields(params_class(spec))}


def method_train_inputs(spec: MethodSpec, config: dict, run: dict) -> list[str]:
    """The files a training run of ``spec`` reads besides its task's data (``spec.train_inputs``)."""
    return list(resolve(spec.train_inputs)(config, run)) if spec.train_inputs else []


def implementation(spec: MethodSpec):
    """(train, load_predictor) of a method; imported lazily (torch-heavy modules)."""
    module = importlib.import_module(spec.module)
    _check_interface(
        module, ("load_predictor",) if spec.zero_shot else METHOD_INTERFACE, f"method module {spec.module}"
    )
    return (None if spec.zero_shot else module.train), module.load_predictor


def metric_spec(task: str, name: str) -> MetricSpec | None:
    _load_builtin()
    return _METRICS.get((task, name))


def known_metrics(task: str | None = None) -> list[MetricSpec]:
    _load_builtin()
    return [spec for (t, _), spec in _METRICS.items() if task is None or t == task]


def hooks(kind: str) -> list:
    """Every registered hook of ``kind``, loaded."""
    _load_builtin()
    return [resolve(path) for path in _HOOKS[kind]]
