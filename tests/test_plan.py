"""`python -m xlie plan`: GPU jobs and estimated GPU-hours of a preset, without running anything."""

from __future__ import annotations

import pandas as pd
import pytest
from test_workflow import job_counts, snakemake, workdir  # noqa: F401 (workdir is a fixture)

from xlie.cli import main
from xlie.pipeline import plan
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
    # AlignXIE's jobs fit: evaluation asks for its 33 h estimate x 1.2 (under the 48 h cap), training for the cap
    # and resumes once from its checkpoints (60 h: 2 attempts of the 3 the SLURM profile gives).
    alignxie = table[table["paper"] == "alignxie"].set_index("rule")
    assert alignxie.loc["evaluate_run", ["runtime_h", "attempts"]].tolist() == [pytest.approx(33 * 1.2), 1]
    assert alignxie.loc["train_run", ["runtime_h", "attempts"]].tolist() == [48, 2]
    assert (table["runtime_h"] <= 48).all() and (table["attempts"] <= 3).all()
    assert "run over several attempts: train_run alignxie/codeie/baichuan2/alignxie (2)" in out
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
    # Without an estimate a job keeps its configured runtime (AlignXIE's 12 h training, not the 48 h cap).
    alignxie = summary[(summary["paper"] == "alignxie") & (summary["rule"] == "train_run")].iloc[0]
    assert alignxie["runtime_h"] == 12 and (summary["attempts"] == 1).all() and summary["estimate_h"].isna().all()
    assert "basis runtime, an upper bound" in plan.render(summary, "paper")


def test_a_bad_config_fails_naming_the_key(workdir, monkeypatch, capsys):  # noqa: F811
    monkeypatch.chdir(workdir)
    assert main(["plan", "--config", "resources={families: {bert: {gpu: -1}}}"]) == 2
    assert "config key resources.families.bert.gpu" in capsys.readouterr().err


def test_a_job_needing_more_attempts_than_the_scheduler_gives_fails_the_plan(workdir, monkeypatch, capsys):  # noqa: F811
    monkeypatch.chdir(workdir)
    # A 24 h partition: AlignXIE's 60 h training needs 3 attempts, its 33 h evaluation 2; the profile gives 2.
    tight = "resources={max_runtime: 1440, attempts: 2}"
    assert main(["plan", "--config", "preset=paper", ACE05_STAND_IN, tight]) == 2
    err = capsys.readouterr().err
    assert "train_run alignxie/codeie/baichuan2/alignxie: estimated 60.0 h per job on 1 GPU(s)" in err
    assert "needs 3 attempts, resources.attempts is 2" in err and "resources.max_runtime 1440 min" in err
    assert "evaluate_run alignxie" not in err and "Raise resources.max_runtime" in err
    assert (workdir / "results/plan.tsv").is_file()  # the table is still written, to see what else asks for what


def test_the_plan_prints_the_campaign_under_the_authors_recipe(workdir, monkeypatch):  # noqa: F811
    monkeypatch.chdir(workdir)
    config = plan.load_workflow_config([], ["preset=paper", ACE05_STAND_IN])
    jobs = plan.plan_jobs(config, build_cells(config))
    # A path's authors_ratio (measured by a benchmark in tools/) multiplies its hours; mt0's own entry
    # replaces its family's; a path without one counts as ours.
    mt0 = jobs[jobs["model"] == "mt0"]
    assert (mt0["authors_ratio"] == config["cost_model"]["models"]["mt0"]["llm"]["authors_ratio"]["eval"]).all()
    assert mt0["authors_gpu_hours"].tolist() == pytest.approx((mt0["gpu_hours"] * mt0["authors_ratio"]).tolist())
    trained = jobs[(jobs["rule"] == "train_run") & (jobs["method"] == "vanilla")]  # no benchmark of it
    assert (
        len(trained)
        and trained["authors_ratio"].isna().all()
        and (trained["authors_gpu_hours"] == trained["gpu_hours"]).all()
    )
    summary = plan.summarise(jobs)
    ours, theirs = summary["gpu_hours"].sum(), summary["authors_gpu_hours"].sum()
    unmeasured = summary.loc[summary["authors_ratio"].isna(), "gpu_hours"].sum()
    text = plan.render(summary, "paper")
    assert f"under the authors' recipe: {theirs:,.1f} GPU-hours; ours {ours:,.1f} = {ours / theirs:.2f}x" in text
    assert f"the other {unmeasured:,.1f} count as 1x (no benchmark)" in text
    # Without a single measured ratio there is no such line (the demo's tiny models).
    config["cost_model"] = {"families": {}, "models": {}}
    assert "authors' recipe:" not in plan.render(plan.summarise(plan.plan_jobs(config, build_cells(config))), "paper")
