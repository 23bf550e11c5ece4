"""Each training / evaluation job's resources follow its model and method (xlie.pipeline.resources)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_workflow import snakemake, workdir  # noqa: F401 (workdir is a fixture)

from xlie.pipeline.config import ConfigError, fill_defaults, load_schema, resolve
from xlie.pipeline.resources import job_resources, job_runtime

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
# ACE05 is the user's licensed copy: a synthetic stand-in lets the paper preset be planned here; AlignXIE's
# MultiCoNER and ParallelNER sources: the demo's files and test fixtures in their layouts.
CODEIE_STAND_IN = (
    "data={ace05: {synthetic: true, dir: results/data/ace05_synthetic/processed-data}, codeie: {schema: "
    "resources/codeie/schemas/panx.yaml, multiconer: {dir: resources/demo/multiconer}}, parallel_ner: {wikineural: "
    "{path: tests/data/parallel_sources/wikineural_en_train.conllu}, cluener2020: {path: "
    "tests/data/parallel_sources/cluener2020_train.json}}}"
)


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


ALIGNXIE = {"model": "baichuan2", "method": "alignxie", "task": "codeie", "targets": ["en", "zh", *"abcdefghi"]}


def test_a_job_estimated_longer_than_its_runtime_asks_for_the_estimate_up_to_the_cap():
    config = resolved("paper")  # AlignXIE: 60 GPU-h to train, 3 per target language (11) to evaluate
    evaluation = job_runtime(config, ALIGNXIE, "eval")
    assert (evaluation.configured, evaluation.runtime, evaluation.attempts) == (480, 2376, 1)  # 33 h x 1.2
    assert job_resources(config, ALIGNXIE, "eval")["runtime"] == evaluation.runtime  # one source for both
    training = job_runtime(config, ALIGNXIE, "train")  # 72 h wanted, capped at 48 h: resumed once
    assert (training.configured, training.runtime, training.estimate_h, training.attempts) == (720, 2880, 60, 2)
    assert training.fits and not job_runtime(resolved("paper", resources={"attempts": 1}), ALIGNXIE, "train").fits
    # Two GPUs halve the hours; the margin and the cap are config keys.
    two_gpus = resolved("paper", models={"baichuan2": {"path": "x/y", "family": "causal", "resources": {"gpu": 2}}})
    assert job_runtime(two_gpus, ALIGNXIE, "train").runtime == 2160  # 30 h x 1.2
    tight = resolved("paper", resources={"runtime_margin": 1, "max_runtime": 1440})
    assert (job_runtime(tight, ALIGNXIE, "eval").runtime, job_runtime(tight, ALIGNXIE, "train").attempts) == (1440, 3)


def test_a_job_without_an_estimate_keeps_its_configured_runtime():
    config = resolved("paper", resources={"max_runtime": 60})
    # Targets unknown: no evaluation estimate. An estimate never shortens a runtime (mt0's own 48 h stays 48 h).
    assert job_resources(config, {k: v for k, v in ALIGNXIE.items() if k != "targets"}, "eval")["runtime"] == 480
    mt0 = job_runtime(config, {**run("mt0", "llm"), "task": "panx", "targets": ["en"] * 48}, "eval")
    assert (mt0.runtime, mt0.estimate_h, mt0.attempts) == (2880, pytest.approx(48 * 0.8), 1)
    config["cost_model"] = {"families": {}, "models": {}}
    fit = job_runtime(config, ALIGNXIE, "train")
    assert (fit.runtime, fit.estimate_h, fit.attempts) == (720, None, 1)


def test_a_misspelt_resource_key_names_itself():
    with pytest.raises(ConfigError, match="config key models.mbert.resources"):
        resolved("paper", models={"mbert": {"path": "x/y", "family": "bert", "resources": {"memory": 1}}})


def test_dry_run_prints_each_jobs_resources(workdir):  # noqa: F811
    """The workflow's resource functions (common.smk) hand job_resources' values to Snakemake."""
    out = snakemake(
        "results/runs/topro/panx/mt0/llm/generate/en/seed10/eval",
        "results/runs/topro/udpos/mbert/topro/default/en/seed42/model",
        "results/runs/alignxie/codeie/baichuan2/alignxie/tip/enzh/seed42/eval",
        "-n",
        "--config",
        "preset=paper",
        CODEIE_STAND_IN,
        cwd=workdir,
    ).stdout
    evaluate = [b for b in out.split("\n\n") if "rule evaluate_run:" in b]
    train = [b for b in out.split("\n\n") if "rule train_run:" in b]
    assert any("gpu=1, cpus_per_task=4, runtime=2880, mem_mb=80000," in b for b in evaluate)
    assert any("gpu=1, cpus_per_task=4, runtime=960, attempt=1, mem_mb=16000," in b for b in train)
    # AlignXIE's evaluation and training ask for what plan prints: the estimate x 1.2, at most 48 h.
    assert any("runtime=2376, mem_mb=64000," in b and "/alignxie/" in b for b in evaluate)
    assert any("runtime=2880, attempt=1, mem_mb=64000," in b and "/alignxie/" in b for b in train)
