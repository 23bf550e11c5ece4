"""Each training / evaluation job's resources follow its model and method (xlie.pipeline.resources)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_workflow import snakemake, workdir  # noqa: F401 (workdir is a fixture)

from xlie.pipeline.config import ConfigError, fill_defaults, load_schema, resolve
from xlie.pipeline.resources import job_resources

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
# ACE05 is the user's licensed copy: a synthetic stand-in lets the paper preset be planned here.
ACE05_STAND_IN = "data={ace05: {synthetic: true, dir: results/data/ace05_synthetic/processed-data}}"


def resolved(preset: str, **user) -> dict:
    config = resolve({"preset": preset, **user}, REPO / "workflow" / "presets", SCHEMA)
    return fill_defaults(config, load_schema(SCHEMA))


def run(model: str, method: str) -> dict:
    return {"model": model, "method": method}


def test_paper_jobs_ask_for_what_their_model_and_method_need():
    config = resolved("paper")
    mbert = job_resources(config, run("mbert", "vanilla"), "train")
    assert mbert == {"gpu": 1, "mem_mb": 16000, "cpus_per_task": 4, "runtime": 240}
    # ToPro: one prompt per word, so four times vanilla's minutes on the same model.
    assert job_resources(config, run("mbert", "topro"), "train")["runtime"] == 4 * 240
    assert job_resources(config, run("mt5", "vanilla"), "eval")["runtime"] == 720
    # WMT17-EnZh XRE: ~100 times ACE05's data, four times mBART's hours (the paper preset's tasks factor).
    assert job_resources(config, {**run("mbart", "prompt"), "task": "wmt_xre"}, "train")["runtime"] == 4 * 720
    assert job_resources(config, {**run("mbart", "prompt"), "task": "ace05"}, "train")["runtime"] == 720
    # The 7B / 13B zero-shot models: the paper preset's per-model overrides.
    assert job_resources(config, run("bloomz", "llm"), "eval") == {
        "gpu": 1,
        "mem_mb": 48000,
        "cpus_per_task": 4,
        "runtime": 1440,
    }
    mt0 = job_resources(config, run("mt0", "llm"), "eval")
    assert mt0["mem_mb"] == 80000 and mt0["runtime"] == 2880
    assert job_resources(config, run("mt5", "llm"), "eval")["mem_mb"] == 24000  # mt0's override stays mt0's


def test_demo_jobs_stay_small_and_keep_their_gpu_tag():
    config = resolved("demo")
    for model, method in [("mbert", "vanilla"), ("mt0", "llm"), ("mbart", "prompt")]:
        resources = job_resources(config, run(model, method), "train")
        assert resources["gpu"] == 1 and resources["mem_mb"] == 2000 and resources["cpus_per_task"] == 1


def test_memory_grows_with_the_attempt_and_nothing_else_does():
    config = resolved("paper")
    first, third = (job_resources(config, run("xlmr", "pt"), "train", attempt) for attempt in (1, 3))
    assert third["mem_mb"] == 16000 * 1.5**2 and {k: v for k, v in third.items() if k != "mem_mb"} == {
        k: v for k, v in first.items() if k != "mem_mb"
    }


def test_user_keys_override_one_value_and_keep_the_rest():
    config = resolved(
        "paper",
        resources={"families": {"bert": {"mem_mb": 8000}}, "methods": {"topro": {"runtime_factor": 2}}},
        models={"mbert": {"path": "bert-base-multilingual-cased", "family": "bert", "resources": {"gpu": 2}}},
    )
    assert job_resources(config, run("mbert", "topro"), "eval") == {
        "gpu": 2,
        "mem_mb": 8000,
        "cpus_per_task": 4,
        "runtime": 240,
    }
    assert job_resources(config, run("xlmr", "vanilla"), "train")["mem_mb"] == 16000


def test_a_misspelt_resource_key_names_itself():
    with pytest.raises(ConfigError, match="config key models.mbert.resources"):
        resolved("paper", models={"mbert": {"path": "x/y", "family": "bert", "resources": {"memory": 1}}})


def test_dry_run_prints_each_jobs_resources(workdir):  # noqa: F811
    """The workflow's resource functions (common.smk) hand job_resources' values to Snakemake."""
    out = snakemake(
        "results/runs/topro/panx/mt0/llm/generate/en/seed10/eval",
        "results/runs/topro/udpos/mbert/topro/default/en/seed42/model",
        "-n",
        "--config",
        "preset=paper",
        ACE05_STAND_IN,
        cwd=workdir,
    ).stdout
    (evaluate,) = [b for b in out.split("\n\n") if "rule evaluate_run:" in b]
    (train,) = [b for b in out.split("\n\n") if "rule train_run:" in b]
    assert "gpu=1, cpus_per_task=4, runtime=2880, mem_mb=80000," in evaluate
    assert "gpu=1, cpus_per_task=4, runtime=960, attempt=1, mem_mb=16000," in train
