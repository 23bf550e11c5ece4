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


def test_command_line_strings_are_coerced_to_the_schema_types():
    """Snakemake passes nested --config values as strings: 'papers={topro: {seeds: [1, 2]}}' gives ['1', '2']."""
    config = resolved(
        papers={"topro": {"seeds": ["1", "2"], "tables": {"panx_encoders": {"caption": "42"}}}},
        training={"vanilla_token": {"learning_rate": "0.5", "epochs": "1", "bf16": "true", "max_train_sentences": "null"},
                  "keep_checkpoints": "True"},  # fmt: skip
    )
    assert config["papers"]["topro"]["seeds"] == [1, 2]
    assert config["papers"]["topro"]["tables"]["panx_encoders"]["caption"] == "42"  # a string stays a string
    vanilla = config["training"]["vanilla_token"]
    assert (vanilla["learning_rate"], vanilla["epochs"], vanilla["bf16"], vanilla["max_train_sentences"]) == (0.5, 1, True, None)
    assert config["training"]["keep_checkpoints"] is True
    with pytest.raises(ConfigError, match=r"config key papers\.topro\.seeds\[1\]"):
        resolved(papers={"topro": {"seeds": ["1", "two"]}})


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("./models/my-xlmr", "local model directory './models/my-xlmr' does not exist"),
        ("/nonexistent/checkpoints/xlmr", "local model directory '/nonexistent/checkpoints/xlmr' does not exist"),
        ("xlm roberta base", "is neither an existing local directory nor a valid hub id"),
        ("org--x/model", "is neither an existing local directory nor a valid hub id"),
    ],
)
def test_a_model_path_that_cannot_load_names_the_key(path, message):
    from xlie.config import check_model_paths

    config = resolved(models={"mymodel": {"path": path, "family": "xlmr"}})
    with pytest.raises(ConfigError, match="config key models.mymodel.path: ") as error:
        check_model_paths(config)
    assert message in str(error.value)


def test_hub_ids_and_existing_directories_pass_the_model_path_check(tmp_path):
    from xlie.config import check_model_paths

    models = {"a": {"path": "xlm-roberta-base", "family": "xlmr"}, "b": {"path": "google/mt5-base", "family": "mt5"},
              "c": {"path": str(tmp_path), "family": "bert"}, "d": {"path": "./not/built/yet", "family": "bert", "tiny": True}}  # fmt: skip
    check_model_paths(resolved(models=models))
