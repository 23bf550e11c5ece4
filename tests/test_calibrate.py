"""`python -m xlie calibrate`: measured GPU-hours of a planned path, which `python -m xlie plan` then uses."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from conftest import DEMO, REPO
from test_workflow import workdir  # noqa: F401 (a fixture)

from xlie.cli import main
from xlie.pipeline.calibrate import _rate
from xlie.pipeline.plan import load_workflow_config
from xlie.pipeline.resources import is_measured, job_cost
from xlie.papers.topro.labels import PANX
from xlie.papers.topro.xtreme import read_xtreme_tsv

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny_mbert(tiny_models) -> str:
    out_dirs, _ = tiny_models
    return f"models={{mbert: {{path: {out_dirs['bert']}, tiny: false}}}}"


def test_calibrate_writes_measured_costs_that_plan_uses(tiny_models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)  # the demo preset's data paths; everything written goes to tmp_path
    model = _tiny_mbert(tiny_models)
    cost_file = tmp_path / "cost_model.yaml"
    assert main(["calibrate", "--config", model, "--only", "mbert/vanilla/panx", "--out", str(cost_file)]) == 0
    assert "mbert/vanilla/panx: train" in capsys.readouterr().out
    written = yaml.safe_load(cost_file.read_text(encoding="utf-8"))
    entry = written["models"]["mbert"]["vanilla"]
    assert set(written["models"]) == {"mbert"} and set(entry["by_task"]) == {"panx"}
    assert written["measured"]["steps"] == 2 and written["measured"]["hardware"] and written["measured"]["date"]
    panx = entry["by_task"]["panx"]
    figures = panx["measured"]
    # Extrapolated to the full job: the demo trains vanilla mBERT for 3 epochs on every English training sentence.
    sentences = len(read_xtreme_tsv(DEMO / "panx" / "train-en.tsv", PANX))
    assert figures["train"]["examples"] == 3 * sentences
    assert panx["train"] >= 0.99 * figures["train"]["examples"] / figures["train"]["examples_per_s"] / 3600
    assert panx["eval_per_target"] > 0 and figures["predict"]["examples_per_s"] > 0 and figures["peak_memory_mb"] > 0

    plan_file = tmp_path / "plan.tsv"
    assert main(["plan", "--config", model, "--cost-model", str(cost_file), "--out", str(plan_file)]) == 0
    table = pd.read_csv(plan_file, sep="\t").set_index(["rule", "task", "model", "method"])
    trained = table.loc[("train_run", "panx", "mbert", "vanilla")]
    assert trained["basis"] == "measured"
    assert trained["gpu_hours"] == pytest.approx(trained["jobs"] * panx["train"], abs=5e-4)  # the TSV's 3 decimals
    assert table.loc[("evaluate_run", "panx", "mbert", "vanilla"), "basis"] == "measured"
    assert table.loc[("train_run", "udpos", "mbert", "vanilla"), "basis"] != "measured"  # not calibrated

    # The workflow reads the same file through the config key: its jobs ask for the measured runtimes.
    config = load_workflow_config([], [model, f"cost_model={{calibrated: {cost_file}}}"])
    run = {"model": "mbert", "method": "vanilla", "task": "panx"}
    assert is_measured(config, run) and job_cost(config, run, "train") == panx["train"]
    assert not is_measured(config, {**run, "task": "udpos"})


def test_calibrate_names_a_path_it_cannot_measure(workdir, monkeypatch, capsys):  # noqa: F811
    monkeypatch.chdir(workdir)  # a copy without results/: no data built
    out = workdir / "results" / "cost.yaml"
    assert main(["calibrate", "--only", "mbert/nothing", "--out", str(out)]) == 2
    assert "--only mbert/nothing: no planned run" in capsys.readouterr().err
    assert main(["calibrate", "--only", "mbart/prompt/ace05", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "no path could be measured" in error and "mbart/prompt/ace05: SKIPPED, its input is missing" in error
    assert "snakemake --omit-from train_run evaluate_run" in error and not out.exists()


def test_plan_refuses_a_file_that_is_not_a_cost_model(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    bad = tmp_path / "bad.yaml"
    bad.write_text("cost_model: {models: {}}\n", encoding="utf-8")  # a config file, not calibrate's
    assert main(["plan", "--cost-model", str(bad), "--out", str(tmp_path / "plan.tsv")]) == 2
    err = capsys.readouterr().err
    assert "config key cost_model.calibrated" in err and "it holds measured, families, models and tiny only" in err
    missing = tmp_path / "missing.yaml"
    assert main(["plan", "--config", f"cost_model={{calibrated: {missing}}}", "--out", str(tmp_path / "p.tsv")]) == 2
    assert f"config key cost_model.calibrated: no file '{missing}'" in capsys.readouterr().err


def test_a_rate_comes_from_the_difference_only_where_the_extra_examples_show_above_noise():
    # 5 s fixed and 10 examples/s: the two timings separate the rate from the fixed part.
    assert _rate((20, 7.0), (40, 9.0)) == (10.0, 5.0, "difference")
    # A 0.1 s difference on 10 s runs is noise: a rate from it (200 examples/s) would be made up.
    rate, fixed, how = _rate((20, 10.0), (40, 10.1))
    assert (rate, fixed, how) == (pytest.approx(40 / 10.1), 0.0, "average")
    assert _rate((20, 10.0), (40, 9.0))[2] == "average"  # the larger run faster: noise too
