"""The workflow as a user runs it: dry runs of both presets, the whole demo, bad data (config errors: test_bad_inputs.py)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
# The demo preset shrunk in size only: what the end-to-end test runs (the whole demo: tools/benchmark.py).
DEMO_SHRUNK = "tests/configs/demo_shrunk.yaml"
TOP_LEVEL_OUTPUTS = {".git", ".snakemake", "results", "logs", "benchmarks", "report", ".pytest_cache"}


def skip_outputs(directory, names):
    """Leave out the user's outputs (top level only) and Python caches when copying the repo."""
    top = Path(directory) == REPO
    return {n for n in names if (top and n in TOP_LEVEL_OUTPUTS) or n == "__pycache__" or n.endswith(".egg-info")}


def snakemake(*args, cwd=REPO, check=True):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def job_counts(output: str) -> dict[str, int]:
    counts, in_stats = {}, False
    for line in output.splitlines():
        if line.startswith("job ") and "count" in line:
            in_stats = True
        elif in_stats and line.strip() and not line.startswith("-"):
            name, *rest = line.split()
            if name == "total":
                break
            counts[name] = int(rest[0])
    return counts


@pytest.fixture()
def workdir(tmp_path):
    """A copy of the repository without outputs, so tests never touch the user's results/."""
    target = tmp_path / "xlie"
    shutil.copytree(REPO, target, ignore=skip_outputs)
    for folder in ("results", "report"):  # tracked (with a README) in a clone, so present for a user
        (target / folder).mkdir()
    return target


def test_dry_run_demo(workdir):
    out = snakemake("-n", cwd=workdir).stdout
    counts = job_counts(out)
    # ToPro 16 + 24 (LLM study: no training); Prompt-XRE 9 ACE05 + 2 WMT runs, trained and evaluated.
    # AlignXIE: one run (TIP alignment) on the en+zh mixture, evaluated on 11 languages and 4 benchmarks.
    assert counts["train_run"] == 16 + 11 + 1 and counts["evaluate_run"] == 24 + 11 + 1
    assert counts["convert_multiconer"] == 15 and counts["build_parallel_ner"] == 1 and counts["build_tip"] == 1
    assert counts["build_tiny_models"] == 1 and counts["plot_extra"] == 4 and counts["plot_variant_heatmap"] == 1
    assert counts["make_synthetic_ace05"] == 1 and counts["ingest_ace05"] == 1 and counts["build_wmt_xre"] == 1
    assert "results/models/tiny/bert" in out and "results/models/tiny/mbart" in out


def test_dry_run_paper_plans_every_gpu_job(workdir):
    # ACE05 is the user's licensed copy: a synthetic stand-in lets the plan be built here.
    # AlignXIE's ParallelNER sources (WikiNEuRal, CLUENER2020): fixtures in their layouts.
    ace05 = "data={ace05: {synthetic: true, dir: results/data/ace05_synthetic/processed-data}, codeie: {schema: resources/codeie/schemas/panx.yaml, multiconer: {dir: resources/demo/multiconer}}, parallel_ner: {wikineural: {path: tests/data/parallel_sources/wikineural_en_train.conllu}, cluener2020: {path: tests/data/parallel_sources/cluener2020_train.json}}}"
    out = snakemake("-n", "--config", "preset=paper", ace05, "--resources", "gpu=4", cwd=workdir).stdout
    counts = job_counts(out)
    # ToPro: 80 trained runs; the 8 zero-shot LLM runs (2 tasks x 2 models x 2 modes) are evaluated
    # once, not once per seed: 80 + 8 evaluations. Prompt-XRE: 10 x 3 ACE05 runs + 7 WMT runs.
    # AlignXIE: with and without alignment (MultiCoNER stands in via the demo's files here).
    assert counts["train_run"] == 80 + 37 + 2 and counts["evaluate_run"] == 88 + 37 + 2
    assert "build_tiny_models" not in counts  # hub models: nothing is built locally
    assert counts["convert_ud"] == 5  # UDPOS lt pl uk ro wo: from a local UD 2.7 release, not the hub
    gpu_jobs = [b for b in out.split("\n\n") if "rule train_run:" in b or "rule evaluate_run:" in b]
    assert len(gpu_jobs) == 168 + 74 + 4 and all("gpu=1" in block for block in gpu_jobs)
    assert "results/runs/topro/udpos/mt0/llm/generate/en/seed10/eval" in out
    assert "results/runs/topro/panx/xlmr/vanilla/default/en/seed1218/model" in out
    assert "results/runs/prompt_xre/ace05/mbart/prompt/7/zh/seed222/model" in out


def test_nested_command_line_values_take_the_schema_types(workdir):
    """Snakemake passes nested --config values as strings; the workflow reads them as the schema's types."""
    out = snakemake(
        "-n",
        "--config",
        "papers={topro: {seeds: [1, 2], training: {vanilla_token: {learning_rate: 0.5}}}}",
        cwd=workdir,
    ).stdout
    assert job_counts(out)["train_run"] == 32 + 11 + 1  # and '0.5' as a string would have failed validation
    assert "results/runs/topro/panx/xlmr/vanilla/default/en/seed2/model" in out


@pytest.mark.slow
def test_demo_end_to_end(workdir):
    """The demo preset shrunk in size only (tests/configs/demo_shrunk.yaml): every table of every paper
    through its rules, tiny models and data; tools/benchmark.py times the whole demo."""
    snakemake("--cores", "2", "--configfile", DEMO_SHRUNK, cwd=workdir)
    results = workdir / "results"
    cells = pd.read_csv(results / "cells.tsv", sep="\t")
    metrics = pd.read_csv(results / "metrics.csv")
    primary = metrics[metrics["primary"]]
    # One row per (cell, metric): the Prompt-XRE cells that Tables III, IV and V share appear once
    # (4 runs x 2 targets, + 2 WMT cells: the baseline its Δ column needs and template 7).
    keys = ["paper", "task", "model", "method", "variant", "source", "target", "seed"]
    distinct = cells.drop_duplicates(keys)
    # AlignXIE: 3 MultiCoNER-style languages and 4 benchmarks from one run.
    # ToPro: 28 cells (every table on 2 languages, one model a family).
    assert len(cells) == 28 + 3 * 8 + 2 + 7 and len(primary) == len(distinct) == 28 + 8 + 2 + 7
    assert not metrics.duplicated([*keys, "metric"]).any()
    assert (results / "config.resolved.yaml").is_file()
    # The demo must show learning: Vanilla's English beats the task's floor baseline clearly.
    english = primary[(primary["target"] == "en") & (primary["method"] == "vanilla") & (primary["model"] != "mt5")]
    assert len(english) == 2 and (english["value"] > english["floor_baseline"] + 0.1).all(), english
    for cell in cells.itertuples():
        payload = json.loads((results / "runs" / cell.run / "eval" / cell.target / "metrics.json").read_text())
        assert {"config_sha256", "packages", "data", "model", "seed", "wall_time_s", "device"} <= set(
            payload["provenance"]
        )
        assert payload["provenance"]["demo"] is True
    for task in ("panx", "udpos"):
        for table in ("encoders", "mt5", "llm"):
            tex = (results / "tables" / f"topro_{task}_{table}.tex").read_text()
            assert "DEMO" in tex and "\\toprule" in tex and "\\VAR" not in tex
            assert (results / "plots" / f"topro_{task}_{table}.png").stat().st_size > 0
            # Each row in its authors' metric, and the companion float in ours.
            companion = {"panx": "f1", "udpos": "accuracy"}[task]
            assert f"tab:topro-{task}_{table}-{companion}" in tex and "no paper numbers, no verdict" in tex
        mt5 = (results / "tables" / f"topro_{task}_mt5.tex").read_text()
        assert "the metric its authors scored it with" in mt5 and "span F1 over (tag, word) items" in mt5
        assert (results / "plots" / f"topro_{task}_encoders_gain.png").stat().st_size > 0
    for table in ("ace05_monolingual", "ace05_crosslingual", "ace05_templates", "wmt_xre"):
        tex = (results / "tables" / f"prompt_xre_{table}.tex").read_text()
        assert (
            "DEMO" in tex
            and "SYNTHETIC" in tex + (results / "tables" / f"prompt_xre_{table}.html").read_text()
            or table == "wmt_xre"
        )
    assert (results / "plots" / "prompt_xre_ace05_templates_heatmap.png").stat().st_size > 0
    assert "oracle" in (results / "tables" / "prompt_xre_ace05_crosslingual.tex").read_text()
    multiconer = (results / "tables" / "alignxie_multiconer.tex").read_text()
    assert "DEMO" in multiconer and "Avg unseen" in multiconer and "Relative improvement" in multiconer
    assert (results / "plots" / "alignxie_benchmarks.png").stat().st_size > 0
    if shutil.which("pdflatex"):
        compiled = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
            cwd=results / "tables",
            capture_output=True,
            text=True,
        )
        assert compiled.returncode == 0, compiled.stdout[-3000:]
    snakemake("--report", "report/report.html", "--configfile", DEMO_SHRUNK, cwd=workdir)
    report = (workdir / "report" / "report.html").read_text(errors="replace")
    assert "topro_panx_encoders" in report and "DEMO" in report

    # Bad data after a complete run: the run stops before any job, naming file:line; nothing is lost.
    model = results / "runs/topro/udpos/xlmr/vanilla/default/en/seed42/model"
    panx_metrics = results / "runs/topro/panx/mbert/vanilla/default/en/seed42/eval/hi/metrics.json"
    before = (model.stat().st_mtime, panx_metrics.stat().st_mtime)
    bad = workdir / "resources/demo/xtreme/udpos/test-fr.tsv"
    lines = bad.read_text(encoding="utf-8").splitlines()
    lines[4] = "mot\tNOT_A_TAG"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    evaluation = "results/runs/topro/udpos/xlmr/vanilla/default/en/seed42/eval"  # one of the jobs that read it
    result = snakemake(evaluation, "--cores", "2", "--configfile", DEMO_SHRUNK, cwd=workdir, check=False)
    assert result.returncode != 0
    assert "test-fr.tsv:5: tag 'NOT_A_TAG' is not in the label set" in result.stderr
    assert not re.search(r"^(local)?rule \w+:", result.stdout + result.stderr, re.MULTILINE)  # no job started
    assert (model.stat().st_mtime, panx_metrics.stat().st_mtime) == before
