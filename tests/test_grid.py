"""The cell grid and config resolution: counts for both presets (bad configs: tests/test_bad_inputs.py)."""

from pathlib import Path

import pytest

from xlie.pipeline.config import ConfigError, resolve
from xlie.pipeline.grid import build_cells, training_runs

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "workflow" / "presets"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def resolved(**user):
    return resolve({"preset": "demo", **user}, PRESETS, SCHEMA)


# Per task: encoders table (2 models x vanilla/topro/pt), mT5 table (vanilla/topro),
# LLM table and its authors'-metric twin (2 LLMs x 2 scoring modes).
RUNS_PER_TASK = 6 + 2 + 4  # the twin tables share their runs


def topro(cells):
    return cells[cells["paper"] == "topro"]


def test_demo_grid_counts():
    cells = build_cells(resolved())
    # 6 targets per task, 1 seed; the LLM study on 3 of them in the demo
    assert len(topro(cells)) == 2 * ((6 + 2) * 6 + 4 * 3)
    runs = training_runs(cells)
    assert len(topro(runs)) == 2 * RUNS_PER_TASK  # trained (or, zero-shot, evaluated) once per run
    assert sorted(len(t) for t in topro(runs)["targets"]) == [3] * 8 + [6] * 16
    assert not cells.duplicated(["paper", "table", "model", "method", "variant", "source", "target", "seed"]).any()
    # Prompt-XRE demo: 3 configurations x 3 sources on ACE05 (Tables III-V share them), 2 on WMT
    xre = runs[runs["paper"] == "prompt_xre"]
    assert len(xre) == 3 * 3 + 2 and set(xre["variant"]) == {"none", "1", "7"}
    # AlignXIE demo: one run (TIP alignment) on the en+zh mixture, 11 languages and 4 benchmarks
    align = runs[runs["paper"] == "alignxie"]
    assert len(align) == 1 and len(align["targets"].iloc[0]) == 15


def test_paper_grid_counts():
    config = resolve({"preset": "paper"}, PRESETS, SCHEMA)
    cells = build_cells(config)
    # PAN-X 48 languages, UDPOS 38; 5 seeds for trained methods, one for the zero-shot LLM cells
    trained_cells, llm_cells = 6 + 2, 4
    assert len(topro(cells)) == (48 + 38) * (trained_cells * 5 + llm_cells * 1)
    runs = training_runs(cells)
    assert len(topro(runs)) == 2 * ((6 + 2) * 5 + 4 * 1)
    assert sorted(topro(cells)["seed"].unique()) == [10, 42, 421, 520, 1218]
    llm = cells[cells["method"] == "llm"]
    assert set(llm["seed"]) == {10} and not llm.duplicated(["table", "model", "method", "variant", "target"]).any()
    assert set(llm["variant"]) == {"logits", "generate"}
    assert config["models"]["xlmr"]["path"] == "xlm-roberta-base"
    assert set(cells["method"]) == {"vanilla", "topro", "pt", "llm", "prompt", "alignxie"}
    # Prompt-XRE: 10 configurations x 3 training languages, each evaluated on the 3 languages
    # (seed 222), plus Table VI's 7 configurations on WMT17-EnZh XRE.
    xre = runs[runs["paper"] == "prompt_xre"]
    ace05 = xre[xre["task"] == "ace05"]
    assert len(ace05) == 10 * 3 and all(t == ["en", "zh", "ar"] for t in ace05["targets"])
    assert len(xre[xre["task"] == "wmt_xre"]) == 7 and set(xre["seed"]) == {222}
    # AlignXIE: with and without TIP alignment, trained once on the en+zh mixture, each evaluated
    # on the 11 MultiCoNER languages.
    align = runs[runs["paper"] == "alignxie"]
    assert sorted(align["variant"]) == ["none", "tip"] and set(align["source"]) == {"enzh"}
    assert all(len(t) == 11 for t in align["targets"])


def test_every_preset_training_block_is_accepted_by_its_method():
    """Params dataclasses are the single source of truth: every shipped block builds its Params."""
    from xlie.pipeline.registry import all_methods, params_class
    from xlie.pipeline.jobs import WORKFLOW_KEYS

    specs = {spec.params_key: spec for spec in all_methods().values()}
    for preset in ("demo", "paper"):
        config = resolve({"preset": preset}, PRESETS, SCHEMA)
        for paper in config["papers"].values():
            for block, values in paper.get("training", {}).items():
                cls = params_class(specs[block])
                cls.from_dict({k: v for k, v in values.items() if k not in WORKFLOW_KEYS})


def test_param_fields_read_without_import_match_the_dataclasses():
    import dataclasses

    from xlie.pipeline.registry import all_methods, param_fields, params_class

    for spec in all_methods().values():
        assert set(param_fields(spec)) == {f.name for f in dataclasses.fields(params_class(spec))}, spec.module


def test_user_keys_override_the_preset():
    config = resolved(papers={"topro": {"seeds": [1, 2]}})
    cells = build_cells(config)
    assert sorted(topro(cells)["seed"].unique()) == [1, 2]
    assert config["papers"]["topro"]["tables"]["panx_encoders"]["targets"][0] == "en"  # the rest of the preset is kept


def test_command_line_strings_are_coerced_to_the_schema_types():
    """Snakemake passes nested --config values as strings: 'papers={topro: {seeds: [1, 2]}}' gives ['1', '2']."""
    config = resolved(
        papers={"topro": {"seeds": ["1", "2"], "tables": {"panx_encoders": {"caption": "42"}}}},
        training={"keep_checkpoints": "True"},
    )
    assert config["papers"]["topro"]["seeds"] == [1, 2]
    assert config["papers"]["topro"]["tables"]["panx_encoders"]["caption"] == "42"  # a string stays a string
    # A method's values arrive as strings too; its Params dataclass reads them as its field types.
    from xlie.papers.topro.methods.token_classification import Params

    vanilla = Params.from_dict({"learning_rate": "0.5", "epochs": "1", "bf16": "true", "max_length": "64"})
    assert (vanilla.learning_rate, vanilla.epochs, vanilla.bf16, vanilla.max_length) == (0.5, 1, True, 64)
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
    from xlie.pipeline.config import check_model_paths

    config = resolved(models={"mymodel": {"path": path, "family": "xlmr"}})
    with pytest.raises(ConfigError, match="config key models.mymodel.path: ") as error:
        check_model_paths(config)
    assert message in str(error.value)


def test_hub_ids_and_existing_directories_pass_the_model_path_check(tmp_path):
    from xlie.pipeline.config import check_model_paths

    models = {
        "a": {"path": "xlm-roberta-base", "family": "xlmr"},
        "b": {"path": "google/mt5-base", "family": "mt5"},
        "c": {"path": str(tmp_path), "family": "bert"},
        "d": {"path": "results/models/tiny/bert", "family": "bert", "tiny": True},  # built by the workflow
    }
    check_model_paths(resolved(models=models))


# ---------------------------------------------------------------------------------------------
# --config values are typed once, when the config is resolved: a job's params do not depend on
# how a value was spelt (Snakemake hands nested --config values over as strings).


def _training_block(config: dict, paper: str, block: str) -> dict:
    return config["papers"][paper]["training"][block]


VANILLA_RUN = {"paper": "topro", "task": "panx", "model": "mbert", "method": "vanilla", "variant": "default"}


@pytest.mark.parametrize(
    ("on_the_command_line", "in_yaml"),
    [
        pytest.param("{epochs: 7}", "{epochs: 7}", id="int"),
        pytest.param("{learning_rate: 0.002}", "{learning_rate: 2.0e-3}", id="float-0.002"),
        pytest.param("{learning_rate: 2e-3}", "{learning_rate: 2.0e-3}", id="float-2e-3"),
        pytest.param("{learning_rate: 2.0e-3}", "{learning_rate: 2e-3}", id="float-2.0e-3"),
        pytest.param("{bf16: true}", "{bf16: true}", id="bool"),
        pytest.param("{max_train_sentences: null}", "{max_train_sentences: null}", id="null"),
        pytest.param(
            "{by_task: {panx: {epochs: 2, learning_rate: 2e-3}}}",
            "{by_task: {panx: {epochs: 2, learning_rate: 2.0e-3}}}",
            id="by-task",
        ),
    ],
)
def test_a_command_line_value_resolves_as_its_yaml_spelling(on_the_command_line, in_yaml):
    """'0.002', '2e-3' and '2.0e-3' are the float 0.002 whether typed on the command line or in YAML
    (PyYAML reads 2e-3 as a string); the training job's params are the same."""
    import yaml
    from snakemake.cli import parse_config

    from xlie.pipeline.jobs import train_options

    typed = resolved(**parse_config([f"papers={{topro: {{training: {{vanilla_token: {on_the_command_line}}}}}}}"]))
    written = resolved(papers={"topro": {"training": {"vanilla_token": yaml.safe_load(in_yaml)}}})
    assert typed == written
    assert type(_training_block(typed, "topro", "vanilla_token")["learning_rate"]) is float
    run = {**VANILLA_RUN, "source": "en", "seed": 42}
    assert train_options(typed, run) == train_options(written, run)


def test_command_line_lists_resolve_as_their_yaml_spelling():
    from snakemake.cli import parse_config

    command_line = "papers={alignxie: {training: {alignxie_lora: {modules_to_save: [embed_tokens, lm_head]}}}, topro: {seeds: [1, 2]}}"
    typed = resolved(**parse_config([command_line]))
    written = resolved(
        papers={
            "alignxie": {"training": {"alignxie_lora": {"modules_to_save": ["embed_tokens", "lm_head"]}}},
            "topro": {"seeds": [1, 2]},
        }
    )
    assert typed == written and typed["papers"]["topro"]["seeds"] == [1, 2]
    assert _training_block(typed, "alignxie", "alignxie_lora")["modules_to_save"] == ["embed_tokens", "lm_head"]


def test_an_int_stays_an_int_where_a_float_is_expected():
    """epochs is a float field; 3 (YAML or command line) stays 3, as the presets' job params have it."""
    from snakemake.cli import parse_config

    config = resolved(**parse_config(["papers={topro: {training: {vanilla_token: {epochs: 3, learning_rate: 1}}}}"]))
    block = _training_block(config, "topro", "vanilla_token")
    assert block["epochs"] == 3 and type(block["epochs"]) is int and type(block["learning_rate"]) is int


# ---------------------------------------------------------------------------------------------
# Each paper's tables are defined once, in its paper.yaml, merged under the preset.


def test_the_paper_preset_keeps_each_papers_own_tables():
    import yaml

    preset = yaml.safe_load((PRESETS / "paper.yaml").read_text())
    assert all("tables" not in block for block in preset["papers"].values())
    config = resolve({"preset": "paper"}, PRESETS, SCHEMA)
    for paper in ("topro", "prompt_xre", "alignxie"):
        own = yaml.safe_load((REPO / "src/xlie/papers" / paper / "paper.yaml").read_text())["papers"][paper]["tables"]
        tables = config["papers"][paper]["tables"]
        assert set(tables) == set(own) and _within(own, tables), paper


def _within(part, whole) -> bool:
    """``part`` is ``whole`` but for the schema defaults ``whole`` has besides."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _within(v, whole[k]) for k, v in part.items())
    return part == whole


def test_the_demo_scales_the_papers_tables_down_and_notes_it():
    config = resolved()
    table = config["papers"]["prompt_xre"]["tables"]["ace05_monolingual"]
    assert table["variants"] == {"prompt": ["none", "1", "7"]} and table["layout"]["order"] == ["en", "ar", "zh"]
    assert table["caption"].startswith("Prompt-XRE Table III:") and "SYNTHETIC" in table["caption_note"]


def test_a_disabled_table_has_no_cells():
    cells = build_cells(resolved(papers={"topro": {"tables": {"panx_mt5": {"enabled": False}}}}))
    assert "panx_mt5" not in set(cells["table"]) and "panx_encoders" in set(cells["table"])


def test_an_unknown_paper_is_named_with_the_known_ones():
    message = r"config key papers\.toppro: no paper package 'xlie\.papers\.toppro' \(did you mean 'topro'\?\)"
    with pytest.raises(ConfigError, match=message):
        resolved(papers={"toppro": {"enabled": False}})


def test_a_paper_package_of_your_own_brings_its_config_and_schema(tmp_path, monkeypatch):
    """A package named by papers.<name>.package: its paper.yaml merged under the preset, its
    schema.yaml's keys validated (an unknown one named), without the package being imported first."""
    package = tmp_path / "my_paper"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "paper.yaml").write_text("data: {my_data: {dir: from/paper.yaml}}\n")
    (package / "schema.yaml").write_text(
        "properties:\n  data:\n    properties:\n      my_data:\n        type: object\n        default: {}\n"
        "        additionalProperties: false\n        properties:\n          dir: {type: string, default: x}\n"
        "          split: {type: string, default: test}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    config = resolved(papers={"mine": {"package": "my_paper", "enabled": False}})
    assert config["data"]["my_data"] == {"dir": "from/paper.yaml", "split": "test"}
    with pytest.raises(ConfigError, match=r"config key data\.my_data\.dri: unknown key \(did you mean 'dir'\?\)"):
        resolved(papers={"mine": {"package": "my_paper", "enabled": False}}, data={"my_data": {"dri": "y"}})
    with pytest.raises(ConfigError, match=r"config key papers\.mine\.package: no paper package 'not_my_paper'"):
        resolved(papers={"mine": {"package": "not_my_paper"}})
