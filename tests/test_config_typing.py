"""``--config`` values are typed once, by the schema and the methods' Params, before they become job
params: the preset's own value given on the command line, however it is spelt, changes no job's
params (Snakemake hands nested values over as strings: ``learning_rate: 0.002`` arrives as ``'0.002'``).
The same on a finished workflow, planned with Snakemake: tests/test_reruns.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config

from xlie.pipeline import jobs
from xlie.pipeline.config import ConfigError, check_config_file, resolve
from xlie.pipeline.grid import build_cells, training_runs

REPO = Path(__file__).resolve().parents[1]


def resolved(*entries: str) -> dict:
    """The config a run with ``--config <entries>`` resolves to, from config.yaml as Snakemake merges them."""
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    update_config(config, parse_config(list(entries)))
    return resolve(config, REPO / "workflow" / "presets", REPO / "workflow" / "schemas" / "config.schema.yaml")


def job_params(config: dict) -> dict[str, str]:
    """Every training and evaluation job's params, by run, as Snakemake compares them: by repr
    (3 and 3.0 are equal in Python, not to Snakemake)."""
    cells = build_cells(config)
    params = {}
    for run in training_runs(cells).to_dict("records"):
        targets = sorted(cells.loc[cells["run"] == run["run"], "target"])
        params[run["run"]] = repr((jobs.train_options(config, run), jobs.eval_options(config, run, targets)))
    return params


def as_text(config: dict) -> str:
    return json.dumps(config, sort_keys=True)


@pytest.fixture(scope="module")
def preset():
    config = resolved()
    return config, job_params(config)


def given(*entries: str, preset) -> None:
    config = resolved(*entries)
    assert as_text(config) == as_text(preset[0])
    assert job_params(config) == preset[1]


def test_the_demo_has_runs_to_compare(preset):
    config, params = preset
    assert config["papers"]["topro"]["training"]["vanilla_token"]["learning_rate"] == 2.0e-3  # what is given below
    assert any(run.startswith("topro/panx/mbert/vanilla/") for run in params)


def test_an_int(preset):
    given("papers={topro: {training: {vanilla_token: {batch_size: 16}}}}", preset=preset)
    given(f"tiny_models={{hidden_size: {preset[0]['tiny_models']['hidden_size']}}}", preset=preset)


@pytest.mark.parametrize("spelling", ["0.002", "2e-3", "2.0e-3"])
def test_a_float_in_any_spelling(preset, spelling):
    given(f"papers={{topro: {{training: {{vanilla_token: {{learning_rate: {spelling}}}}}}}}}", preset=preset)


def test_a_float_spelt_without_a_dot_in_a_config_file(preset, tmp_path):
    # YAML 1.1 (PyYAML, Snakemake's --configfile) reads 2e-3 as a string.
    configfile = tmp_path / "mine.yaml"
    configfile.write_text("papers: {topro: {training: {vanilla_token: {learning_rate: 2e-3}}}}\n", encoding="utf-8")
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    update_config(config, yaml.safe_load(configfile.read_text(encoding="utf-8")))
    assert config["papers"]["topro"]["training"]["vanilla_token"]["learning_rate"] == "2e-3"
    config = resolve(config, REPO / "workflow" / "presets", REPO / "workflow" / "schemas" / "config.schema.yaml")
    assert as_text(config) == as_text(preset[0]) and job_params(config) == preset[1]


def test_a_whole_number_with_or_without_its_point(preset):
    """``epochs: 1.0`` where the preset says ``1`` (or ``0`` for ``0.0``): the config keeps the
    spelling, no job's params change."""
    epochs = preset[0]["papers"]["topro"]["training"]["vanilla_token"]["epochs"]
    other = float(epochs) if isinstance(epochs, int) else int(epochs)
    config = resolved(f"papers={{topro: {{training: {{vanilla_token: {{epochs: {other!r}}}}}}}}}")
    assert job_params(config) == preset[1]


@pytest.mark.parametrize("spelling", ["true", "True"])
def test_a_bool(preset, spelling):
    keep = str(preset[0]["training"]["keep_checkpoints"]).lower()
    given(f"training={{keep_checkpoints: {keep}}}", f"demo={spelling}", preset=preset)


def test_a_list(preset):
    given("papers={topro: {seeds: [42]}}", preset=preset)
    targets = ", ".join(preset[0]["papers"]["topro"]["tables"]["panx_encoders"]["targets"])
    given(f"papers={{topro: {{tables: {{panx_encoders: {{targets: [{targets}]}}}}}}}}", preset=preset)


def test_null_where_a_string_or_null_is_allowed():
    # YAML's null, as in a config file, not the string 'null' (a path or a converter named "null").
    assert as_text(resolved("models={mbert: {convert: null}}")) == as_text(resolved())


def test_a_config_file_that_does_not_parse_names_file_line_and_column(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("preset: demo\ntraining:\n\tkeep_checkpoints: true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{config}:3:1: not valid YAML: .*a tab"):
        check_config_file(config)
    config.write_text("preset: demo\ndemo: [true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{config}:3:1: not valid YAML: .*began at 2:7"):
        check_config_file(config)
    config.write_bytes(b"preset: demo\nrun_label: caf\xe9\n")
    with pytest.raises(ConfigError, match=rf"^{config}:2:15: not UTF-8"):
        check_config_file(config)
    config.write_text("- demo\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected keys at the top level"):
        check_config_file(config)
    config.write_text("# only a comment\n", encoding="utf-8")
    check_config_file(config)  # empty is fine (Snakemake's defaults)
    check_config_file(tmp_path / "absent.yaml")  # left to Snakemake (optional with --configfile)


def test_snakemake_names_the_line_of_a_config_yaml_that_does_not_parse(tmp_path):
    from test_workflow import snakemake

    (tmp_path / "config.yaml").write_text("preset: demo\ntraining:\n\tkeep_checkpoints: true\n", encoding="utf-8")
    result = snakemake("-n", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert "config.yaml:3:1: not valid YAML: " in result.stdout + result.stderr
    assert "not valid JSON or YAML" not in result.stdout + result.stderr  # Snakemake's own, naming no file
