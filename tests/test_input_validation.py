"""Inputs validated before Snakemake schedules any job (xlie.pipeline.validation): each check on its
own, the cache that spares a rerun reading unchanged files, the model-path check whatever ``tiny``
says, and real runs on a copy of a small finished workflow showing that a bad data file or model stops
the run naming file:line or key, with no job planned and every file under results/ intact."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from test_bad_inputs import _instance as instance_line

from xlie.papers.prompt_xre.ace05 import LABELS
from xlie.pipeline import validation
from xlie.pipeline.config import ConfigError, resolve
from xlie.pipeline.grid import build_cells, training_runs
from xlie.pipeline.registry import known_tasks, task_type
from xlie.pipeline.validation import InputError, ValidationCache, check_model_dir, check_safetensors

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "workflow" / "presets"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEMO_XTREME = REPO / "resources" / "demo" / "xtreme"
CODEIE_BENCHMARKS = REPO / "resources" / "demo" / "codeie_benchmarks"


def resolved(**user):
    return resolve({"preset": "demo", **user}, PRESETS, SCHEMA)


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def _safetensors(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"a": np.zeros(10, dtype=np.float32), "b": np.ones((3, 4), dtype=np.float32)}, str(path))
    return path


# ---------------------------------------------------------------------------------------------
# Model directories: the weights' structure, no tensor read


def test_whole_safetensors_pass_and_truncated_ones_name_the_file(tmp_path):
    path = _safetensors(tmp_path / "model.safetensors")
    check_safetensors(path)
    whole = path.read_bytes()
    path.write_bytes(whole[:-5])
    with pytest.raises(ValueError) as error:
        check_safetensors(path)
    assert str(error.value) == (
        f"{path}: truncated: the safetensors header places its tensors in {len(whole)} bytes, the file holds "
        f"{len(whole) - 5}; the weights cannot load"
    )
    path.write_bytes(whole + b"xx")
    with pytest.raises(ValueError, match="trailing bytes after the last tensor"):
        check_safetensors(path)
    path.write_bytes(whole[:100])  # cut inside the header
    with pytest.raises(ValueError, match=r"safetensors header of \d+ bytes announced, but the file holds 100 bytes"):
        check_safetensors(path)
    path.write_bytes(b"{}")
    with pytest.raises(ValueError, match="2 bytes, too short for a safetensors file"):
        check_safetensors(path)


def test_a_model_directory_names_its_first_damaged_file(tmp_path):
    model = tmp_path / "model"
    _safetensors(model / "model-00001-of-00002.safetensors")
    _write(model / "config.json", "{}")
    _write(
        model / "model.safetensors.index.json", json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}})
    )
    check_model_dir(model)
    _write(
        model / "model.safetensors.index.json", json.dumps({"weight_map": {"b": "model-00002-of-00002.safetensors"}})
    )
    with pytest.raises(ValueError, match="lists weight shards that are missing: model-00002-of-00002.safetensors"):
        check_model_dir(model)
    (model / "model.safetensors.index.json").unlink()
    _write(model / "config.json", '{"model_type": ')
    with pytest.raises(ValueError, match=f"^{re.escape(str(model / 'config.json'))}: not JSON"):
        check_model_dir(model)
    _write(model / "config.json", "{}")
    with zipfile.ZipFile(model / "pytorch_model.bin", "w") as archive:  # torch.save's format
        archive.writestr("archive/data.pkl", b"x" * 1000)
    check_model_dir(model)
    (model / "pytorch_model.bin").write_bytes((model / "pytorch_model.bin").read_bytes()[:-30])
    with pytest.raises(ValueError, match=r"pytorch_model.bin: not a complete torch checkpoint .*truncated"):
        check_model_dir(model)


# ---------------------------------------------------------------------------------------------
# The papers' data validators: what their jobs' readers would say, before any job


def test_every_registered_task_type_validates_its_files():
    assert {name for name in known_tasks() if callable(getattr(task_type(name), "validate_file", None))} == set(
        known_tasks()
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            b"EU\tB-ORG\nrejects\tO\n\nGerman O\n", "{path}:4: expected 2 tab-separated columns", id="columns"
        ),
        pytest.param(b"EU\tB-ORG\nrejects\tO\n", "{path}:2: not UTF-8", id="utf8"),
        pytest.param(b"\n\n", "{path}:1: file holds no sentences", id="empty"),
        pytest.param(b"EU\tB-ORG\nBrussels\tB-MISC\n", "{path}:2: tag 'B-MISC' is not in the label set", id="tag"),
    ],
)
def test_topro_validator_names_file_and_line(tmp_path, text, message):
    if message.endswith("UTF-8"):
        text = text.replace(b"rejects", b"rej\xe9cts")  # Latin-1
    path = _write(tmp_path / "panx" / "test-de.tsv", text)
    with pytest.raises(ValueError) as error:
        task_type("panx").validate_file(str(path), resolved())
    assert str(error.value).startswith(message.format(path=path))


def _instance(**changes) -> str:
    """One relation instance line of the test split (test_bad_inputs' record)."""
    return instance_line(**{"split": "test", **changes})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(_instance() + '{"sentence": "x" "e1": "y"}\n', "{path}:2: not a relation instance", id="json"),
        pytest.param(_instance(label="PHYS:Teleported"), "{path}:1: label 'PHYS:Teleported' is not one of", id="label"),
        pytest.param("", "{path}:1: holds no relation instances", id="empty"),
        pytest.param(_instance().encode() + b"\xff\n", "{path}:2: not UTF-8 at byte offset", id="utf8"),
    ],
)
def test_prompt_xre_validator_names_file_and_line(tmp_path, text, message):
    path = _write(tmp_path / "en.test.jsonl", text)
    with pytest.raises(ValueError) as error:
        task_type("ace05").validate_file(str(path), resolved())
    assert str(error.value).startswith(message.format(path=path))
    assert len(LABELS) == 18


def test_prompt_xre_labels_file_is_validated(tmp_path):
    path = _write(tmp_path / "labels.tsv", "label\tcount\n?a_x_?b\t3\n?a_x_?b\t2\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:3: label '?a_x_?b' listed twice")):
        task_type("wmt_xre").validate_file(str(path), resolved())


def _codeie_config(tmp_path: Path, task: str = "ner"):
    """The demo config with one benchmark whose files are in tmp_path."""
    schema = str(CODEIE_BENCHMARKS / "schema.yaml")
    benchmark = {"path": str(tmp_path / "bench" / "{split}.jsonl"), "task": task, "schema": schema}
    return resolved(data={"codeie": {"benchmarks": {"mine": benchmark}}}), schema


def test_alignxie_validator_checks_sets_against_their_schema_and_task(tmp_path):
    config, schema = _codeie_config(tmp_path)
    good = (CODEIE_BENCHMARKS / "ner" / "test.jsonl").read_text(encoding="utf-8")
    path = _write(tmp_path / "bench" / "test.jsonl", good)
    assert task_type("codeie").validate_file(str(path), config) == [schema]  # the verdict rests on the schema
    _write(path, good + '{"id": "x", "sentence": "s", "task": "ner", "output": "results = [Alien(\\"s\\")]"}\n')
    with pytest.raises(ValueError, match=re.escape(f"{path}:2: class(es) ['Alien'] are not in the schema {schema}")):
        task_type("codeie").validate_file(str(path), config)
    _write(path, '{"id": "x", "sentence": "s", "task": "ner"}\n')
    with pytest.raises(ValueError, match=re.escape(f"{path}:1: missing key(s) ['output']")):
        task_type("codeie").validate_file(str(path), config)
    ed = (CODEIE_BENCHMARKS / "ed" / "test.jsonl").read_text(encoding="utf-8")
    _write(path, good + ed)
    with pytest.raises(ValueError, match=re.escape(f"{path}:2: a 'ed' example, but data.codeie.benchmarks.mine.task")):
        task_type("codeie").validate_file(str(path), config)


# ---------------------------------------------------------------------------------------------
# validate_inputs: what the Snakefile calls once the grid is built


@pytest.fixture
def demo_copy(tmp_path, monkeypatch):
    """The demo config with its XTREME files copied to tmp_path, run from tmp_path (its own results/)."""
    xtreme = tmp_path / "xtreme"
    shutil.copytree(DEMO_XTREME, xtreme)
    monkeypatch.chdir(tmp_path)
    config = resolved(data={"xtreme": {"dir": str(xtreme)}})
    runs = training_runs(build_cells(config)).to_dict("records")
    return config, runs, xtreme, tmp_path / "cache.json"


def test_a_bad_line_names_file_line_and_key_and_a_rerun_reads_only_changed_files(demo_copy):
    config, runs, xtreme, cache = demo_copy
    first = validation.validate_inputs(config, runs, cache_file=cache)
    assert first >= 15  # the demo's PAN-X and UDPOS files (the codeie files are not in this directory)
    assert validation.validate_inputs(config, runs, cache_file=cache) == 0
    train = xtreme / "panx" / "train-en.tsv"
    lines = train.read_text(encoding="utf-8").split("\n")
    lines[4] = lines[4].replace("\t", " ")
    train.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as error:
        validation.validate_inputs(config, runs, cache_file=cache)
    assert str(error.value).startswith(
        f"config key data.xtreme.dir: {train}:5: expected 2 tab-separated columns (word<TAB>tag), found 1: "
    )
    lines[4] = lines[4].replace(" ", "\t", 1)
    train.write_text("\n".join(lines), encoding="utf-8")
    assert validation.validate_inputs(config, runs, cache_file=cache) == 1  # only the changed file is read again


def test_trained_model_dirs_are_checked_and_named_with_how_to_rebuild(demo_copy):
    config, runs, _, cache = demo_copy
    run = next(r for r in runs if r["method"] == "vanilla" and r["model"] == "mbert")
    weights = _safetensors(Path("results/runs") / run["run"] / "model" / "model.safetensors")
    assert validation.model_inputs(config, runs) == {f"results/runs/{run['run']}/model": None}
    validation.validate_inputs(config, runs, cache_file=cache)
    weights.write_bytes(weights.read_bytes()[:-1])
    with pytest.raises(InputError) as error:
        validation.validate_inputs(config, runs, cache_file=cache)
    message = str(error.value)
    assert message.startswith(f"{weights}: truncated: ")
    assert message.endswith(
        f"the workflow wrote results/runs/{run['run']}/model: restore it, or delete it so that the next run rebuilds it"
    )


def test_a_local_model_directory_is_named_by_its_key(demo_copy, tmp_path):
    config, _, _, cache = demo_copy
    weights = _safetensors(tmp_path / "my-bert" / "model.safetensors")
    weights.write_bytes(weights.read_bytes()[:-1])
    config["models"]["mbert"] = {"path": str(weights.parent), "family": "bert", "tiny": False}
    runs = training_runs(build_cells(config)).to_dict("records")
    with pytest.raises(InputError, match=f"^config key models.mbert.path: {re.escape(str(weights))}: truncated"):
        validation.validate_inputs(config, runs, cache_file=cache)


def test_the_cache_answers_for_unchanged_files_and_their_dependencies_only(tmp_path):
    data, schema = _write(tmp_path / "a.jsonl", "x"), _write(tmp_path / "schema.yaml", "y")
    cache = ValidationCache.load(tmp_path / "cache.json")
    cache.record("task:t", data, [schema])
    cache.save()
    cache = ValidationCache.load(tmp_path / "cache.json")
    assert cache.passed("task:t", data) and not cache.passed("task:other", data)
    _write(schema, "z")
    os.utime(schema, ns=(1, 1))
    assert not cache.passed("task:t", data)  # the schema it rested on changed
    _write(tmp_path / "cache.json", "{not json")
    assert ValidationCache.load(tmp_path / "cache.json").entries == {}


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("resources/demo/xtreme/panx/test-de.tsv", "data.xtreme.dir"),
        ("resources/demo/codeie_benchmarks/ner/test.jsonl", "data.codeie.benchmarks.kc_ner.path"),
        ("resources/demo/codeie_benchmarks/schema.yaml", "data.codeie.benchmarks.kc_ner.schema"),
        ("elsewhere/file.tsv", None),
    ],
)
def test_the_config_key_naming_a_file_is_found(path, key):
    assert validation.config_key_for(resolved(), path) == key


# ---------------------------------------------------------------------------------------------
# Model paths: checked whatever tiny says


def test_a_model_path_with_tiny_true_must_be_where_the_tiny_model_is_built(tmp_path):
    from xlie.pipeline.config import check_model_paths

    check_model_paths(resolved())  # the demo's own tiny models
    with pytest.raises(ConfigError) as error:
        check_model_paths(resolved(models={"mbert": {"path": str(REPO / "README.md")}}))
    assert str(error.value).startswith(
        f"config key models.mbert.path: {str(REPO / 'README.md')!r} is a file; expected a model directory "
        "(save_pretrained) or a hub id; also, models.mbert.tiny is true"
    )
    with pytest.raises(ConfigError, match="'bert-base-multilingual-cased': models.mbert.tiny is true"):
        check_model_paths(resolved(models={"mbert": {"path": "bert-base-multilingual-cased"}}))
    with pytest.raises(ConfigError, match="is a file; expected a model directory") as error:
        check_model_paths(resolved(models={"mbert": {"path": str(REPO / "README.md"), "tiny": False}}))
    assert "tiny" not in str(error.value)
    check_model_paths(resolved(models={"mbert": {"path": "bert-base-multilingual-cased", "tiny": False}}))


# ---------------------------------------------------------------------------------------------
# On a finished workflow, a real run: a bad input stops it before any job, naming file:line or key;
# results/ untouched

TRAINED = "results/runs/topro/panx/mbert/vanilla/default/en/seed42"


@pytest.fixture(scope="module")
def workdir(finished, tmp_path_factory):
    """A copy of the small finished workflow (tests/conftest.py: PAN-X en, de and UDPOS en, trained)."""
    target = tmp_path_factory.mktemp("input_validation") / "xlie"
    shutil.copytree(finished, target, symlinks=True)
    return target


def _sha256s(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def _cut_line_5(text: bytes) -> bytes:
    lines = text.split(b"\n")
    lines[4] = lines[4].replace(b"\t", b" ")
    return b"\n".join(lines)


def _latin1_line_3(text: bytes) -> bytes:
    lines = text.split(b"\n")
    lines[2] = b"Z\xfcrich\t" + lines[2].split(b"\t")[1]
    return b"\n".join(lines)


def _tag_line_2(text: bytes) -> bytes:
    lines = text.split(b"\n")
    lines[1] = lines[1].split(b"\t")[0] + b"\tB-MISC"
    return b"\n".join(lines)


PANX = "resources/demo/xtreme/panx"
WEIGHTS = f"{TRAINED}/model/model.safetensors"


@pytest.mark.parametrize(
    ("file", "damage", "config", "message"),
    [
        pytest.param(
            f"{PANX}/train-en.tsv",
            _cut_line_5,
            [],
            f"config key data.xtreme.dir: {PANX}/train-en.tsv:5: expected 2 tab-separated columns (word<TAB>tag), found 1",
            id="bad-tsv-line",
        ),
        pytest.param(
            f"{PANX}/test-de.tsv",
            _latin1_line_3,
            [],
            f"config key data.xtreme.dir: {PANX}/test-de.tsv:3: not UTF-8 at byte offset",
            id="non-utf8-byte",
        ),
        pytest.param(
            f"{PANX}/test-de.tsv",
            lambda text: b"",
            [],
            f"config key data.xtreme.dir: {PANX}/test-de.tsv:1: file holds no sentences",
            id="empty-test-file",
        ),
        pytest.param(
            f"{PANX}/test-en.tsv",
            _tag_line_2,
            [],
            f"config key data.xtreme.dir: {PANX}/test-en.tsv:2: tag 'B-MISC' is not in the label set",
            id="unknown-tag",
        ),
        pytest.param(
            None,
            None,
            ["models={mbert: {path: README.md}}"],
            "config key models.mbert.path: 'README.md' is a file; expected a model directory (save_pretrained) or a "
            "hub id; also, models.mbert.tiny is true",
            id="model-path-a-file-tiny",
        ),
        pytest.param(
            None,
            None,
            ["models={mbert: {path: README.md, tiny: false}}"],
            "config key models.mbert.path: 'README.md' is a file; expected a model directory (save_pretrained) or a "
            "hub id\n",
            id="model-path-a-file",
        ),
        pytest.param(
            WEIGHTS,
            lambda data: data[:-7],
            [],
            f"{WEIGHTS}: truncated: the safetensors header places its tensors in ",
            id="truncated-safetensors",
        ),
    ],
)
@pytest.mark.slow
def test_bad_input_stops_the_run_before_any_job_and_keeps_results(workdir, file, damage, config, message):
    original = (workdir / file).read_bytes() if file else None
    if file:
        (workdir / file).write_bytes(damage(original))
    try:
        before = _sha256s(workdir / "results")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "2", *(["--config", *config] if config else [])],
            cwd=workdir,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        after = _sha256s(workdir / "results")
    finally:
        if file:
            (workdir / file).write_bytes(original)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output[-3000:]
    assert not re.search(r"^(local)?rule \w+:", output, re.MULTILINE)  # no job was planned, let alone run
    assert after == before
