"""The cell grid: every (paper, table, task, model, method, source, target, seed) cell, from config.

This is the ONE place that turns config into work items. Rules, aggregation and tests all
read the cell sheet it returns; training runs are the cells without table and target
(train once, evaluate on every target). Zero-shot methods get one run under the first seed.
"""

from __future__ import annotations

import pandas as pd

from xlie.config import ConfigError
from xlie.languages import LANGUAGES
from xlie.methods import families_for, method_spec

CELL_COLUMNS = ["paper", "table", "task", "model", "method", "source", "target", "seed", "run"]
RUN_COLUMNS = ["paper", "task", "model", "method", "source", "seed"]

def run_id(paper: str, task: str, model: str, method: str, source: str, seed: int) -> str:
    """Path fragment of a training run: results/runs/<run_id>/."""
    return f"{paper}/{task}/{model}/{method}/{source}/seed{seed}"


def _check_language(code: str, key: str) -> None:
    if code not in LANGUAGES:
        raise ConfigError(f"config key {key}: unknown language {code!r}; known: {' '.join(sorted(LANGUAGES))}")


def build_cells(config: dict) -> pd.DataFrame:
    """One row per cell of every enabled paper's tables; validates cross-references by key."""
    rows = []
    models = config.get("models", {})
    for paper, paper_cfg in config.get("papers", {}).items():
        if not paper_cfg.get("enabled", True):
            continue
        seeds = paper_cfg.get("seeds", [42])
        sources = paper_cfg.get("source_langs", ["en"])
        for i, source in enumerate(sources):
            _check_language(source, f"papers.{paper}.source_langs[{i}]")
        for table, table_cfg in paper_cfg.get("tables", {}).items():
            key = f"papers.{paper}.tables.{table}"
            for i, target in enumerate(table_cfg["targets"]):
                _check_language(target, f"{key}.targets[{i}]")
            for i, model in enumerate(table_cfg["models"]):
                if model not in models:
                    raise ConfigError(f"config key {key}.models[{i}]: unknown model {model!r}; defined under models: {', '.join(sorted(models))}")
            for method in table_cfg["methods"]:
                for model in table_cfg["models"]:
                    family = models[model]["family"]
                    allowed = families_for(method)
                    if method_spec(method, family) is None:
                        raise ConfigError(
                            f"config key {key}.methods: method {method!r} does not run on model {model!r} "
                            f"(family {family}); it needs one of: {', '.join(sorted(allowed))}"
                        )
                    # Zero-shot cells (no training, greedy decoding) do not depend on the seed:
                    # evaluated once, under the first seed, instead of once per seed.
                    run_seeds = seeds[:1] if method_spec(method, family).zero_shot else seeds
                    for source in sources:
                        for seed in run_seeds:
                            run = run_id(paper, table_cfg["task"], model, method, source, seed)
                            for target in table_cfg["targets"]:
                                rows.append((paper, table, table_cfg["task"], model, method, source, target, seed, run))
    cells = pd.DataFrame(rows, columns=CELL_COLUMNS)
    if cells.empty:
        raise ConfigError("config key papers: no enabled paper has any table cell to run")
    return cells


def training_runs(cells: pd.DataFrame) -> pd.DataFrame:
    """Unique training runs (cells without table and target), with the targets each must evaluate."""
    grouped = cells.groupby("run", sort=False)
    runs = grouped[RUN_COLUMNS].first()
    runs["targets"] = grouped["target"].agg(lambda s: list(dict.fromkeys(s)))
    return runs.reset_index()
