"""`python -m xlie plan`: GPU jobs and estimated GPU-hours of a preset, without running anything."""

from __future__ import annotations

import pandas as pd
import pytest
from test_workflow import job_counts, snakemake, workdir  # noqa: F401 (workdir is a fixture)

from xlie.pipeline import plan
from xlie.cli import main
from xlie.pipeline.grid import build_cells

# ACE05 is the user's licensed copy: a synthetic stand-in lets the paper preset be planned here.
ACE05_STAND_IN = "data={ace05: {synthetic: true, dir: results/data/ace05_synthetic/processed-data}}"


def test_the_paper_plan_counts_every_gpu_job_and_runs_none(workdir, monkeypatch, capsys):  # noqa: F811
    monkeypatch.chdir(workdir)
    done = workdir / "results/runs/topro/panx/mbert/vanilla/default/en/seed10/model"
    done.mkdir(parents=True)  # one finished training: its hours are spent
    assert main(["plan", "--config", "preset=paper", ACE05_STAND_IN]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(workdir / "results/plan.tsv", sep="\t")
    by_rule = table.groupby("rule")["jobs"].sum()
    # The same counts as the dry run (tests/test_workflow.py): 80 + 37 + 2 trainings, 88 + 37 + 2 evaluations.
    assert by_rule["train_run"] == 119 and by_rule["evaluate_run"] == 127
    assert "train_run: 119 jobs (1 with outputs present)" in out and "total: 246 GPU jobs" in out
    mt0 = table[(table["model"] == "mt0") & (table["task"] == "panx")].iloc[0]
    # 2 scoring modes x 48 PAN-X languages x the paper preset's 0.8 GPU-hours per language; 80 GB of host memory.
    assert (mt0["jobs"], mt0["mem_mb"], mt0["basis"]) == (2, 80000, "cost_model") and mt0["gpu_hours"] == pytest.approx(
        2 * 48 * 0.8
    )
    vanilla = table[
        (table["rule"] == "train_run")
        & (table["task"] == "panx")
        & (table["model"] == "mbert")
        & (table["method"] == "vanilla")
    ].iloc[0]
    assert vanilla["gpu_hours"] == pytest.approx(5 * 0.3) and vanilla["remaining_gpu_hours"] == pytest.approx(4 * 0.3)
    # Nothing ran: no other run directory, no data, no Snakemake metadata.
    assert [p for p in (workdir / "results/runs").rglob("*") if p.is_dir() and p.name in ("model", "eval")] == [done]
    assert not (workdir / "results/data").exists() and not (workdir / ".snakemake").exists()


def test_a_job_without_a_cost_figure_is_planned_at_its_requested_runtime(workdir, monkeypatch):  # noqa: F811
    monkeypatch.chdir(workdir)
    config = plan.load_workflow_config([], ["preset=paper", ACE05_STAND_IN])
    config["cost_model"] = {"families": {}, "models": {}}
    summary = plan.summarise(plan.plan_jobs(config, build_cells(config)))
    assert set(summary["basis"]) == {"runtime"}
    bloomz = summary[(summary["model"] == "bloomz") & (summary["task"] == "udpos")].iloc[0]
    assert bloomz["gpu_hours"] == 2 * 1440 / 60  # two jobs, each its 24 h on one GPU: an upper bound
    assert "basis runtime, an upper bound" in plan.render(summary, "paper")


def test_a_bad_config_fails_naming_the_key(workdir, monkeypatch, capsys):  # noqa: F811
    monkeypatch.chdir(workdir)
    assert main(["plan", "--config", "resources={families: {bert: {gpu: -1}}}"]) == 2
    assert "config key resources.families.bert.gpu" in capsys.readouterr().err
