"""The cell grid and config resolution: counts for both presets, and errors that name the key."""

from pathlib import Path

import pytest

from xlie.config import ConfigError, resolve
from xlie.grid import build_cells, training_runs

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "workflow" / "presets"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def resolved(**user):
    return resolve({"preset": "demo", **user}, PRESETS, SCHEMA)


# Per task: encoders table (2 models x vanilla/topro/pt), mT5 table (vanilla/topro),
# LLM table and its authors'-metric twin (2 LLMs x 2 scoring modes).
CELLS_PER_TARGET_AND_SEED = 6 + 2 + 4 + 4
RUNS_PER_TASK = 6 + 2 + 4  # the twin tables share their runs


def test_demo_grid_counts():
    cells = build_cells(resolved())
    assert len(cells) == 2 * CELLS_PER_TARGET_AND_SEED * 6  # 6 targets per task, 1 seed
    runs = training_runs(cells)
    assert len(runs) == 2 * RUNS_PER_TASK  # trained (or, zero-shot, evaluated) once per run
    assert all(len(t) == 6 for t in runs["targets"])
    assert not cells.duplicated(["paper", "table", "model", "method", "source", "target", "seed"]).any()


def test_paper_grid_counts():
    config = resolve({"preset": "paper"}, PRESETS, SCHEMA)
    cells = build_cells(config)
    # PAN-X 48 languages, UDPOS 38; 5 seeds for trained methods, one for the zero-shot LLM cells
    trained_cells, llm_cells = 6 + 2, 4 + 4
    assert len(cells) == (48 + 38) * (trained_cells * 5 + llm_cells * 1)
    assert len(training_runs(cells)) == 2 * ((6 + 2) * 5 + 4 * 1)
    assert sorted(cells["seed"].unique()) == [10, 42, 421, 520, 1218]
    llm = cells[cells["method"].str.startswith("llm_")]
    assert set(llm["seed"]) == {10} and not llm.duplicated(["table", "model", "method", "target"]).any()
    assert config["models"]["xlmr"]["path"] == "xlm-roberta-base"
    assert set(cells["method"]) == {"vanilla", "topro", "pt", "llm_logits", "llm_generate"}


def test_schema_blocks_match_method_params():
    """Every training block of the schema lists exactly its method's parameters (no drift)."""
    import dataclasses
    import importlib

    import yaml

    from xlie.methods import METHODS
    from xlie.steps import WORKFLOW_KEYS

    blocks = yaml.safe_load(SCHEMA.read_text())["properties"]["training"]["properties"]
    for spec in METHODS.values():
        module = importlib.import_module(f"xlie.methods.{spec.module}")
        params = getattr(module, "Params", None) or module.TokenClassificationParams
        fields = {f.name for f in dataclasses.fields(params)} - {"mode"}  # mode comes from the method name
        assert set(blocks[spec.params_key]["properties"]) - set(WORKFLOW_KEYS) == fields, spec.params_key


def test_user_keys_override_the_preset():
    config = resolved(papers={"topro": {"seeds": [1, 2]}})
    cells = build_cells(config)
    assert sorted(cells["seed"].unique()) == [1, 2]
    assert config["papers"]["topro"]["tables"]["panx_encoders"]["targets"][0] == "en"  # the rest of the preset is kept


@pytest.mark.parametrize(
    ("user", "key"),
    [
        ({"preset": "nope"}, "preset"),
        ({"papers": {"topro": {"seeds": [-1]}}}, "papers.topro.seeds[0]"),
        ({"papers": {"topro": {"seeds": "42"}}}, "papers.topro.seeds"),
        ({"papers": {"topro": {"tables": {"panx_encoders": {"methods": ["magic"]}}}}}, "papers.topro.tables.panx_encoders.methods[0]"),
        ({"papers": {"topro": {"tables": {"panx_encoders": {"targets": ["en", "xx"]}}}}}, "papers.topro.tables.panx_encoders.targets[1]"),
        ({"papers": {"topro": {"tables": {"panx_encoders": {"models": ["mbert", "gpt9"]}}}}}, "papers.topro.tables.panx_encoders.models[1]"),
        ({"papers": {"topro": {"tables": {"panx_encoders": {"models": ["mt5"], "methods": ["pt"]}}}}}, "papers.topro.tables.panx_encoders.methods"),
        ({"training": {"vanilla_token": {"batch_size": "big"}}}, "training.vanilla_token.batch_size"),
        ({"unknown_key": 1}, "<top level>"),
    ],
)
def test_bad_config_names_the_key(user, key):
    with pytest.raises(ConfigError) as error:
        build_cells(resolved(**user))
    assert key in str(error.value)
