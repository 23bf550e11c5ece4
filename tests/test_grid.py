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


def test_demo_grid_counts():
    cells = build_cells(resolved())
    # 2 tables x 2 models x 1 method x 6 targets x 1 seed
    assert len(cells) == 24
    runs = training_runs(cells)
    assert len(runs) == 4  # trained once per (task, model, method, source, seed)
    assert all(len(t) == 6 for t in runs["targets"])
    assert not cells.duplicated(["paper", "table", "model", "method", "source", "target", "seed"]).any()


def test_paper_grid_counts():
    config = resolve({"preset": "paper"}, PRESETS, SCHEMA)
    cells = build_cells(config)
    # PAN-X 48 languages, UDPOS 38; 2 encoders; 5 seeds; Vanilla
    assert len(cells) == (48 + 38) * 2 * 5
    assert len(training_runs(cells)) == 2 * 2 * 5
    assert sorted(cells["seed"].unique()) == [10, 42, 421, 520, 1218]
    assert config["models"]["xlmr"]["path"] == "xlm-roberta-base"


def test_user_keys_override_the_preset():
    config = resolved(papers={"topro": {"seeds": [1, 2]}})
    cells = build_cells(config)
    assert sorted(cells["seed"].unique()) == [1, 2]
    assert config["papers"]["topro"]["tables"]["panx"]["targets"][0] == "en"  # the rest of the preset is kept


@pytest.mark.parametrize(
    ("user", "key"),
    [
        ({"preset": "nope"}, "preset"),
        ({"papers": {"topro": {"seeds": [-1]}}}, "papers.topro.seeds[0]"),
        ({"papers": {"topro": {"seeds": "42"}}}, "papers.topro.seeds"),
        ({"papers": {"topro": {"tables": {"panx": {"methods": ["magic"]}}}}}, "papers.topro.tables.panx.methods[0]"),
        ({"papers": {"topro": {"tables": {"panx": {"targets": ["en", "xx"]}}}}}, "papers.topro.tables.panx.targets[1]"),
        ({"papers": {"topro": {"tables": {"panx": {"models": ["mbert", "gpt9"]}}}}}, "papers.topro.tables.panx.models[1]"),
        ({"papers": {"topro": {"tables": {"panx": {"models": ["mt5"]}}}}}, "papers.topro.tables.panx.methods"),
        ({"training": {"vanilla_token": {"batch_size": "big"}}}, "training.vanilla_token.batch_size"),
        ({"unknown_key": 1}, "<top level>"),
    ],
)
def test_bad_config_names_the_key(user, key):
    with pytest.raises(ConfigError) as error:
        build_cells(resolved(**user))
    assert key in str(error.value)
