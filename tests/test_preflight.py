"""`python -m xlie preflight` (xlie.pipeline.preflight and the papers' preflight_checks hooks): each planned
model's tokenizer and config against what its jobs need, on the demo's tiny models and, where they can be
built, on the real-class stand-ins of the paper preset under its hub ids."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from test_workflow import snakemake, workdir  # noqa: F401 (workdir is a fixture)

from xlie.cli import main
from xlie.pipeline.grid import build_cells
from xlie.pipeline.plan import load_workflow_config
from xlie.pipeline.preflight import run_preflight
from xlie.pipeline.tiny_models import FAMILIES, build_tiny_models

REPO = Path(__file__).resolve().parents[1]
# The demo's models by family (workflow/presets/demo.yaml): the LLMs share the causal and mT5 builds.
DEMO_MODELS = {
    "mbert": "bert",
    "xlmr": "xlmr",
    "mt5": "mt5",
    "mbart": "mbart",
    "bloomz": "causal",
    "mt0": "mt5",
    "baichuan2": "causal",
}
# ACE05 is the user's licensed copy: a synthetic stand-in lets the paper preset resolve here.
ACE05_STAND_IN = "data={ace05: {synthetic: true, dir: results/data/ace05_synthetic/processed-data}}"


@pytest.fixture(scope="module")
def demo_models(tmp_path_factory) -> dict[str, Path]:
    """The demo's tiny models, built with the demo's own sizes (its max lengths must fit them)."""
    config = load_workflow_config([], [], root=REPO)
    size = {key: config["tiny_models"][key] for key in ("vocab_size", "hidden_size", "num_layers", "num_heads")}
    size.update({key: config["tiny_models"][key] for key in ("intermediate_size", "max_positions")})
    root = tmp_path_factory.mktemp("demo_models")
    dirs = {family: root / family for family in FAMILIES}
    build_tiny_models(sorted((REPO / "resources/demo/xtreme").rglob("*.tsv")), dirs, size, seed=0)
    return dirs


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)  # the config's relative paths (schemas, data) start at the repository


def _configfile(
    tmp_path: Path, models: dict[str, Path], families: dict[str, str] | None = None, built_by_the_workflow=()
) -> str:
    """A --configfile pointing the demo's models at ``models`` (family -> directory), with other ``families``;
    the models named in ``built_by_the_workflow`` stay the demo's tiny ones."""
    block = {
        name: {"path": str(models[family]), "tiny": False}
        for name, family in DEMO_MODELS.items()
        if name not in built_by_the_workflow
    }
    for name, family in (families or {}).items():
        block[name]["family"] = family
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": block}), encoding="utf-8")
    return str(path)


def _preflight(configfiles: list[str], overrides: list[str] = ()):
    config = load_workflow_config(configfiles, list(overrides), root=REPO)
    return run_preflight(config, build_cells(config))


def _failures(report) -> list[tuple[str, str, str]]:
    return [(row.model, row.check, row.detail) for row in report.table.itertuples() if row.ok is False]


def test_the_demo_passes_on_its_tiny_models(demo_models, in_repo, tmp_path):
    report = _preflight([_configfile(tmp_path, demo_models)])
    assert report.passed, report.render()
    table = report.table
    assert set(table["model"]) == set(DEMO_MODELS) and not table["ok"].isna().any()
    checks = set(zip(table["model"], table["check"]))
    # Each paper's hook ran on its models: ToPro's verbalizers, Prompt-XRE's codes, AlignXIE's stop string.
    assert ("xlmr", "panx topro_encoder verbalizer (in_context, strict)") in checks
    assert ("mt0", "udpos llm[logits] verbalizer (topro, first_piece)") in checks
    assert ("mbart", "language code zh_CN") in checks and ("mbart", "template 7") in checks
    assert ("baichuan2", 'stop string """') in checks
    assert ("mbert", "positions: papers.topro.training.topro_encoder.max_length") in checks
    assert report.verdict().startswith("preflight passed") and report.render().endswith(report.verdict())


def test_a_tiny_model_not_built_yet_is_skipped(in_repo):
    """The workflow builds the demo's models before its first job: nothing to check before that."""
    config = load_workflow_config([], [], root=REPO)
    config["models"]["mbert"]["path"] = "results/models/tiny/not-built-here"  # where a clean clone has nothing yet
    report = run_preflight(config, build_cells(config))
    mbert = report.table[report.table["model"] == "mbert"]
    assert list(mbert["ok"]) == [None] and "built by the workflow" in mbert["detail"].iloc[0]
    assert report.passed


def _without_word(source: Path, target: Path, word: str) -> Path:
    """A copy of a tiny model whose unigram vocabulary lacks ``▁word`` and ``word``: it splits the word."""
    shutil.copytree(source, target)
    state = json.loads((target / "tokenizer.json").read_text(encoding="utf-8"))
    state["model"]["vocab"] = [entry for entry in state["model"]["vocab"] if entry[0] not in (f"\u2581{word}", word)]
    (target / "tokenizer.json").write_text(json.dumps(state), encoding="utf-8")
    return target


def test_a_vocabulary_that_splits_a_verbalizer_word_fails_naming_model_and_word(demo_models, in_repo, tmp_path):
    broken = _without_word(demo_models["xlmr"], tmp_path / "xlmr-without-location", "location")
    report = _preflight([_configfile(tmp_path, {**demo_models, "xlmr": broken})])
    assert not report.passed
    failures = _failures(report)
    assert [(model, check) for model, check, _ in failures] == [
        ("xlmr", "panx topro_encoder verbalizer (in_context, strict)")
    ]
    detail = failures[0][2]
    assert "'location'" in detail and str(broken) in detail and "verbalizer_policy" in detail
    # The CLI: the table, then each failure again with its fix; exit status 1.
    code = main(["preflight", "--configfile", _configfile(tmp_path, {**demo_models, "xlmr": broken})])
    assert code == 1


def test_the_authors_lookup_fails_where_the_word_is_no_vocabulary_entry(demo_models, in_repo, tmp_path):
    """The demo's vocabulary holds '▁location', not the bare 'location' that convert_tokens_to_ids finds."""
    override = "papers={topro: {training: {topro_encoder: {verbalizer_lookup: vocabulary_entry}}}}"
    failures = _failures(_preflight([_configfile(tmp_path, demo_models)], [override]))
    assert {model for model, _, _ in failures} == {"mbert", "xlmr"}
    assert all(
        "vocabulary_entry" in check and "not an entry of the vocabulary" in detail for _, check, detail in failures
    )


def test_a_max_length_above_the_positions_fails_naming_the_key(demo_models, in_repo, tmp_path):
    override = "papers={topro: {training: {topro_encoder: {by_task: {udpos: {max_length: 300}}}}}}"
    failures = _failures(_preflight([_configfile(tmp_path, demo_models)], [override]))
    key = "papers.topro.training.topro_encoder.by_task.udpos.max_length"
    assert {(model, check) for model, check, _ in failures} == {
        ("mbert", f"positions: {key}"),
        ("xlmr", f"positions: {key}"),
    }
    assert all("300 > the 256 positions" in d and f"fix: set {key} to at most 256" in d for _, _, d in failures)


def test_a_family_that_does_not_match_the_architecture_fails_naming_the_key(demo_models, in_repo, tmp_path):
    failures = _failures(_preflight([_configfile(tmp_path, demo_models, {"mbert": "xlmr"})]))
    assert [(model, check) for model, check, _ in failures] == [("mbert", "architecture")]
    assert "models.mbert.family 'xlmr'" in failures[0][2] and "set models.mbert.family to 'bert'" in failures[0][2]


def test_the_cli_prints_one_table_and_exits_by_its_verdict(demo_models, in_repo, tmp_path, capsys):
    assert main(["preflight", "--configfile", _configfile(tmp_path, demo_models)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Preflight of preset 'demo'") and out[1].split() == ["model", "check", "result"]
    assert out[-1].startswith("preflight passed")
    assert main(["preflight", "--config", "preset=nonexistent"]) == 2
    assert "unknown preset" in capsys.readouterr().err


def test_a_workflow_run_stops_before_its_first_job_and_a_dry_run_checks_nothing(
    demo_models,
    workdir,  # noqa: F811 (the fixture)
    tmp_path,
):
    """The Snakefile's onstart: once per run, before any job; Snakemake runs no onstart in a dry run."""
    broken = _without_word(demo_models["xlmr"], tmp_path / "xlmr-without-location", "location")
    # The demo's tiny causal model stays: the demo's ParallelNER translator is that model.
    configfile = _configfile(tmp_path, {**demo_models, "xlmr": broken}, built_by_the_workflow=["baichuan2"])
    dry = snakemake("-n", "--configfile", configfile, cwd=workdir)
    assert "preflight" not in dry.stdout + dry.stderr
    run = snakemake("-c1", "--configfile", configfile, cwd=workdir, check=False)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "xlie preflight FAILED" in run.stderr and "verbalizer word 'location'" in run.stderr
    assert "xlie preflight failed before any job started" in run.stderr
    assert list((workdir / "results").iterdir()) == []  # no job ran, not even a CPU one


# ---------------------------------------------------------------- the paper preset on real-class stand-ins


def test_the_paper_preset_passes_on_the_stand_ins(standin_hub, in_repo, capsys):
    assert main(["preflight", "--config", "preset=paper", ACE05_STAND_IN]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    rows = {tuple(re.split(r"\s{2,}", line, maxsplit=2)[:2]): line for line in out.splitlines()[2:-1]}
    # The authors' lookup finds the bare pieces; Baichuan2 is checked as its conversion will write it.
    assert (
        "ok: 7 words, one token each: other, person"
        in rows["xlmr", "panx topro_encoder verbalizer (vocabulary_entry, strict)"]
    )
    assert "ok: LlamaTokenizer" in rows["baichuan2", "load tokenizer"] and ("baichuan2", "convert baichuan") in rows


def test_a_stand_in_without_a_verbalizer_word_fails_naming_model_and_word(
    standin_hub, in_repo, tmp_path, monkeypatch, capsys
):
    from huggingface_hub import constants

    from xlie.pipeline.standins import build_hub_cache
    from xlie.pipeline.tiny_models import prompt_words

    cache = tmp_path / "hub"
    shutil.copytree(standin_hub[0], cache)
    # 'punct' (UDPOS's PUNCT) is in no demo sentence: without it in the prompt words, no entry holds it.
    build_hub_cache(cache, ["xlm-roberta-base"], words=[w for w in prompt_words() if w != "punct"])
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    assert main(["preflight", "--config", "preset=paper", ACE05_STAND_IN]) == 1
    failed = capsys.readouterr().out.split("preflight FAILED")[1].splitlines()[1:]
    assert len(failed) == 1 and failed[0].startswith(
        "  xlmr: udpos topro_encoder verbalizer (vocabulary_entry, strict)"
    )
    assert "'punct'" in failed[0] and "xlm-roberta-base" in failed[0] and "verbalizer_lookup" in failed[0]
