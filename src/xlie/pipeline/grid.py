"""The cell grid: every (paper, table, task, model, method, variant, source, target, seed) cell, from config.

This is the ONE place that turns config into work items. Rules, aggregation and tests all
read the cell sheet it returns; training runs are the cells without table and target
(train once, evaluate on every target). A method's variants (e.g. a paper's prompt templates or
scoring modes) are rows of one method, each its own run. Zero-shot methods get one run
under the first seed.
"""

from __future__ import annotations

import pandas as pd

from xlie.pipeline.config import ConfigError, did_you_mean
from xlie.pipeline.languages import LANGUAGES
from xlie.pipeline.registry import (
    families_for,
    known_methods,
    known_metrics,
    known_tasks,
    method_spec,
    metric_spec,
    task_type,
)

CELL_COLUMNS = ["paper", "table", "task", "model", "method", "variant", "source", "target", "seed", "run"]
RUN_COLUMNS = ["paper", "task", "model", "method", "variant", "source", "seed"]


# A training run's path below results/runs/, logs/ and benchmarks/: a format string whose fields
# are RUN_COLUMNS (the workflow's rules use it as a wildcard pattern).
RUN_PATH = "{paper}/{task}/{model}/{method}/{variant}/{source}/seed{seed}"


def run_id(paper: str, task: str, model: str, method: str, variant: str, source: str, seed: int) -> str:
    """Path fragment of a training run: results/runs/<run_id>/ (:data:`RUN_PATH` filled in)."""
    return RUN_PATH.format(
        paper=paper, task=task, model=model, method=method, variant=variant, source=source, seed=seed
    )


def _check_language(code: str, key: str, task=None, config: dict | None = None, role: str = "target") -> None:
    """A source or target must be a language, unless the task type names its own (``known_names``:
    codeie's training mixtures and evaluation sets)."""
    known_names = getattr(task, "known_names", None)
    if known_names is not None:
        known = known_names(config or {}, role)
        if code not in known:
            raise ConfigError(
                f"config key {key}: unknown {role} {code!r} of task {task.name}; known: {' '.join(sorted(known))}"
            )
        return
    if code not in LANGUAGES:
        raise ConfigError(f"config key {key}: unknown language {code!r}; known: {' '.join(sorted(LANGUAGES))}")


def table_variants(table_cfg: dict, method: str, spec, key: str) -> list[str]:
    """The variants of ``method`` a table shows: its ``variants`` entry, else all the method has."""
    chosen = [str(v) for v in (table_cfg.get("variants") or {}).get(method, spec.variants)]
    unknown = [v for v in chosen if v not in spec.variants]
    if unknown:
        raise ConfigError(
            f"config key {key}.variants.{method}: unknown variant(s) {unknown}; {method!r} has: {', '.join(spec.variants)}"
        )
    return chosen


def _check_table(key: str, table_cfg: dict, models: dict, config: dict) -> None:
    if table_cfg["task"] not in known_tasks():
        raise ConfigError(
            f"config key {key}.task: unknown task {table_cfg['task']!r}; known: {', '.join(known_tasks())}"
        )
    for i, target in enumerate(table_cfg["targets"]):
        _check_language(target, f"{key}.targets[{i}]", task_type(table_cfg["task"]), config)
    for i, model in enumerate(table_cfg["models"]):
        if model not in models:
            raise ConfigError(
                f"config key {key}.models[{i}]: unknown model {model!r}; defined under models: {', '.join(sorted(models))}"
            )
    for i, method in enumerate(table_cfg["methods"]):
        if method not in known_methods():
            raise ConfigError(
                f"config key {key}.methods[{i}]: unknown method {method!r}; known: {', '.join(known_methods())}"
            )
    for method in table_cfg.get("variants") or {}:
        if method not in table_cfg["methods"]:
            raise ConfigError(f"config key {key}.variants.{method}: {method!r} is not one of the table's methods")
    known = [m.name for m in known_metrics(table_cfg["task"])]
    for option in ("metric", "companion_metric"):
        metric = table_cfg.get(option)
        if metric is not None and (metric != "authors" or option != "metric") and metric not in known:
            raise ConfigError(
                f"config key {key}.{option}: {metric!r} is not a metric of task {table_cfg['task']!r}; "
                f"known: {'authors, ' if option == 'metric' else ''}{', '.join(known)}.{did_you_mean(metric, known)}"
            )


def _check_delta_column(key: str, table_cfg: dict, table_rows: set[str]) -> None:
    """The row a Δ column subtracts is one the table trains (else its render fails after every job)."""
    over = (table_cfg.get("delta_column") or {}).get("over")
    if over is not None and str(over) not in table_rows:
        raise ConfigError(
            f"config key {key}.delta_column.over: {over!r} is not a row of the table (its rows: "
            f"{', '.join(sorted(table_rows))}); add its variant to {key}.variants or set delta_column: null"
        )


def build_cells(config: dict) -> pd.DataFrame:
    """One row per cell of every enabled paper's tables; validates cross-references by key (the
    training blocks are checked when the config is resolved: xlie.pipeline.training_blocks)."""
    rows = []
    models = config.get("models", {})
    for paper, paper_cfg in config.get("papers", {}).items():
        if not paper_cfg.get("enabled", True):
            continue
        seeds = paper_cfg.get("seeds", [42])
        for table, table_cfg in paper_cfg.get("tables", {}).items():
            if not table_cfg.get("enabled", True):
                continue
            key = f"papers.{paper}.tables.{table}"
            _check_table(key, table_cfg, models, config)
            task = task_type(table_cfg["task"])
            sources = table_cfg.get("sources") or paper_cfg.get("source_langs", ["en"])
            where = f"{key}.sources" if table_cfg.get("sources") else f"papers.{paper}.source_langs"
            for i, source in enumerate(sources):
                _check_language(source, f"{where}[{i}]", task, config, role="source")
            table_rows = set()
            for method in table_cfg["methods"]:
                for model in table_cfg["models"]:
                    family = models[model]["family"]
                    spec = method_spec(method, family)
                    if spec is None:
                        raise ConfigError(
                            f"config key {key}.methods: method {method!r} does not run on model {model!r} "
                            f"(family {family}); it needs one of: {', '.join(sorted(families_for(method)))}"
                        )
                    if spec.authors_metric and metric_spec(task.name, spec.authors_metric) is None:
                        raise ConfigError(
                            f"config key {key}.methods: method {method!r} ({spec.name}) is scored with "
                            f"{spec.authors_metric!r}, which is no registered metric of task {task.name!r}"
                        )
                    if task.kind not in spec.task_kinds:
                        raise ConfigError(
                            f"config key {key}.methods: method {method!r} does not do {task.kind} tasks "
                            f"(task {task.name!r}); it does: {', '.join(sorted(spec.task_kinds))}"
                        )
                    # Zero-shot cells (no training, greedy decoding) do not depend on the seed:
                    # evaluated once, under the first seed, instead of once per seed.
                    run_seeds = seeds[:1] if spec.zero_shot else seeds
                    for variant in table_variants(table_cfg, method, spec, key):
                        table_rows.add(f"{method}/{model}" if variant == "default" else f"{method}[{variant}]/{model}")
                        for source in sources:
                            for seed in run_seeds:
                                run = run_id(paper, task.name, model, method, variant, source, seed)
                                for target in table_cfg["targets"]:
                                    rows.append(
                                        (paper, table, task.name, model, method, variant, source, target, seed, run)
                                    )
            _check_delta_column(key, table_cfg, table_rows)
    cells = pd.DataFrame(rows, columns=CELL_COLUMNS)
    if cells.empty:
        papers = config.get("papers", {})
        disabled = [p for p, c in papers.items() if not c.get("enabled", True)]
        why = (
            f"disabled: {', '.join(disabled)} (papers.<paper>.enabled: false)"
            if disabled
            else "no paper defines a table"
        )
        raise ConfigError(f"config key papers: no enabled paper has any table cell to run; {why}")
    return cells


def training_runs(cells: pd.DataFrame) -> pd.DataFrame:
    """Unique training runs (cells without table and target), with the targets each must evaluate."""
    grouped = cells.groupby("run", sort=False)
    runs = grouped[RUN_COLUMNS].first()
    runs["targets"] = grouped["target"].agg(lambda s: list(dict.fromkeys(s)))
    return runs.reset_index()
