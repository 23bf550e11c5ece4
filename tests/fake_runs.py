"""Synthetic cell outputs (models, predictions, metrics.json) for a workflow's whole grid.

Lets tests and table work exercise the aggregation rules without training anything: each
cell's predictions are the gold tags with a seeded share of words replaced, scored with the
real metrics. Usage: ``python tests/fake_runs.py <workdir>`` (from the repository root).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_fake_runs(workdir: Path, config_overrides: dict | None = None) -> int:
    """Write every run's outputs under ``workdir/results``; returns the number of cells."""
    import yaml

    from xlie.papers.topro import metrics
    from xlie.pipeline.config import config_hash, resolve
    from xlie.papers.topro.xtreme import load_xtreme
    from xlie.pipeline.grid import build_cells, training_runs
    from xlie.pipeline.registry import method_spec
    from xlie.pipeline.registry import task_type

    # Tagging tables only (the ToPro paper): Prompt-XRE's and AlignXIE's tables have their own fake frames.
    overrides = {"papers": {"prompt_xre": {"enabled": False}, "alignxie": {"enabled": False}}} | (
        config_overrides or {}
    )
    user = yaml.safe_load((workdir / "config.yaml").read_text()) | overrides
    config = resolve(user, workdir / "workflow/presets", workdir / "workflow/schemas/config.schema.yaml")
    cells = build_cells(config)
    runs = training_runs(cells)
    xtreme = config["data"]["xtreme"]
    for family in {m["family"] for m in config["models"].values() if m.get("tiny")}:
        (workdir / "results/models/tiny" / family).mkdir(parents=True, exist_ok=True)
        (workdir / "results/models/tiny" / family / "config.json").write_text("{}")
    for run in runs.itertuples():
        root = workdir / "results/runs" / run.run
        if not method_spec(run.method, config["models"][run.model]["family"]).zero_shot:
            (root / "model").mkdir(parents=True, exist_ok=True)
            (root / "model/config.json").write_text("{}")
        train, _ = load_xtreme(run.task, "train", run.source, xtreme["source"], workdir / xtreme["dir"])
        for target in run.targets:
            sentences, _ = load_xtreme(run.task, "test", target, xtreme["source"], workdir / xtreme["dir"])
            labels = sorted({t for s in sentences for t in s.tags})
            rng = random.Random(f"{run.run}/{target}")
            # LLM generation stand-in: every word falls back to the majority label (as in the demo).
            collapse = (run.method, run.variant) == ("llm", "generate")
            error = 0.1 + 0.5 * rng.random()
            fallback = metrics.majority_label([s.tags for s in train])
            predicted = [
                [fallback if collapse else (rng.choice(labels) if rng.random() < error else t) for t in s.tags]
                for s in sentences
            ]
            cell_dir = root / "eval" / target
            task = task_type(run.task)
            task.write_predictions(cell_dir / task.predictions_file, sentences, predicted)
            gold = [s.tags for s in sentences]
            words = sum(len(g) for g in gold)
            counts = {"sentences": len(sentences), "words": words, "truncated_prompts": 0}
            if run.method == "llm":
                counts["unmatched_generations"] = words if collapse else 0
            payload = {
                "cell": {"run": run.run, "target": target},
                "scores": metrics.score(run.task, gold, predicted),
                "floor_baseline": metrics.majority_baseline(run.task, [s.tags for s in train], gold),
                "counts": counts,
                "provenance": {"config_sha256": config_hash(config), "demo": True, "fake": True},
            }
            (cell_dir / "metrics.json").write_text(json.dumps(payload, indent=1))
    return len(cells)


if __name__ == "__main__":
    print(write_fake_runs(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO), "cells written")
