"""A paper is a package: the tests' example paper (tests/example_paper), plugged in by its config
block alone, runs end to end through the real rules — tiny model, training, evaluation, metrics,
table, plot, report inputs — with no file of the workflow or of another paper edited for it."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from test_workflow import REPO, snakemake, workdir  # noqa: F401  (fixture)

CONFIG = "tests/configs/example_paper.yaml"


@pytest.fixture()
def example_env(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO / "tests"), os.environ.get("PYTHONPATH")])))


def test_the_example_paper_plans_alone(workdir, example_env):
    out = snakemake("-n", "--configfile", CONFIG, cwd=workdir).stdout
    assert "train_run" in out and "evaluate_run" in out
    # Only its own runs: one model, one method, one source, one seed.
    assert "results/runs/example/toy_topic/mbert/lexicon/default/en/seed42" in out
    assert "/panx/" not in out and "ace05" not in out and "codeie" not in out


@pytest.mark.slow
def test_the_example_paper_runs_end_to_end(workdir, example_env):
    snakemake("--cores", "2", "--configfile", CONFIG, cwd=workdir)
    results = workdir / "results"
    metrics = pd.read_csv(results / "metrics.csv")
    assert set(metrics["paper"]) == {"example"} and set(metrics["target"]) == {"en", "de"}
    cell = json.loads(
        (results / "runs/example/toy_topic/mbert/lexicon/default/en/seed42/eval/en/metrics.json").read_text()
    )
    assert cell["scores"]["primary_name"] == "accuracy" and cell["provenance"]["model"]["method"] == "lexicon"
    table = (results / "tables/example_topics.tex").read_text(encoding="utf-8")
    assert "Example paper: topic classification" in table and "lexicon / mBERT" in table
    assert "Metric: accuracy over sentences" in table
    assert (results / "plots/example_topics.png").stat().st_size > 0
    assert "\\label{tab:example-topics}" in (results / "tables/tables.tex").read_text(encoding="utf-8")
