"""Bad inputs, each with the exact message a user sees: config (checked before any job), data files
(named by file and line), environment (data directory, model path, no GPU). The checks are called
directly where they can be; four dry runs show that a bad workflow input stops Snakemake before any
job starts and leaves results/ as it was."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from xlie.pipeline.config import ConfigError, resolve
from xlie.papers.prompt_xre.ace05 import LABELS, problems_table, read_instances, read_split
from xlie.papers.prompt_xre.wmt_xre import read_labels, read_xre_split
from xlie.papers.topro.xtreme import DataFormatError, read_xtreme_tsv
from xlie.pipeline.grid import build_cells
from xlie.papers.topro.labels import PANX

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "workflow" / "presets"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
# The core schema's keys, then those a paper's schema.yaml adds (ToPro: reference_dir).
TOP_LEVEL_KEYS = "preset, demo, run_label, display, reporting, data, tiny_models, models, training, resources, cost_model, papers, reference_dir"
VANILLA_PARAMS = "batch_size, bf16, epochs, eval_batch_size, eval_steps, grad_accum, learning_rate, max_length, warmup_steps, weight_decay"
LANGUAGE_CODES = (
    "af ar az bg bn de el en es et eu fa fi fr gu he hi hu id it ja jv ka kk ko lt ml mr ms my nl pa pl pt "
    "qu ro ru sw ta te th tl tr uk ur vi wo yo zh"
)


def resolved(**user):
    return resolve({"preset": "demo", **user}, PRESETS, SCHEMA)


def encoders(**table):
    """A user config that changes the demo's ToPro PAN-X encoder table."""
    return {"papers": {"topro": {"tables": {"panx_encoders": table}}}}


def vanilla(**block):
    return {"papers": {"topro": {"training": {"vanilla_token": block}}}}


# ---------------------------------------------------------------------------------------------
# Config: resolve + build_cells, what the Snakefile runs before any job

INVALID = "invalid configuration:\n  "


@pytest.mark.parametrize(
    ("user", "message"),
    [
        pytest.param(
            {"unknown_key": 1},
            f"{INVALID}config key unknown_key: unknown key; allowed at the top level: {TOP_LEVEL_KEYS}",
            id="unknown-top-level-key",
        ),
        pytest.param(
            {"training": {"keep_checkpoint": True}},
            f"{INVALID}config key training.keep_checkpoint: unknown key (did you mean 'keep_checkpoints'?); "
            "allowed under training: keep_checkpoints, require_gpu",
            id="misspelt-nested-key",
        ),
        pytest.param(
            {"preset": "nope"},
            "config key preset: unknown preset 'nope'; choose one of demo, paper",
            id="unknown-preset",
        ),
        pytest.param(
            {"papers": {"topro": {"seeds": "42"}}},
            f"{INVALID}config key papers.topro.seeds: '42' is not of type 'array'",
            id="wrong-type-list",
        ),
        pytest.param(
            {"demo": "maybe"}, f"{INVALID}config key demo: 'maybe' is not of type 'boolean'", id="wrong-type-boolean"
        ),
        pytest.param(
            {"papers": {"topro": {"seeds": [-1]}}},
            f"{INVALID}config key papers.topro.seeds[0]: -1 is less than the minimum of 0",
            id="negative-seed",
        ),
        pytest.param(
            encoders(targets=["en", "xx"]),
            f"config key papers.topro.tables.panx_encoders.targets[1]: unknown language 'xx'; known: {LANGUAGE_CODES}",
            id="unknown-target-language",
        ),
        pytest.param(
            {"papers": {"topro": {"source_langs": ["english"]}}},
            f"config key papers.topro.source_langs[0]: unknown language 'english'; known: {LANGUAGE_CODES}",
            id="source-language-not-a-code",
        ),
        pytest.param(
            encoders(models=["mbert", "gpt9"]),
            "config key papers.topro.tables.panx_encoders.models[1]: unknown model 'gpt9'; "
            "defined under models: baichuan2, bloomz, mbart, mbert, mt0, mt5, xlmr",
            id="unknown-model",
        ),
        pytest.param(
            encoders(methods=["magic"]),
            "config key papers.topro.tables.panx_encoders.methods[0]: unknown method 'magic'; known: alignxie, llm, prompt, pt, topro, vanilla",
            id="unknown-method",
        ),
        pytest.param(
            encoders(models=["mt5"], methods=["pt"]),
            "config key papers.topro.tables.panx_encoders.methods: method 'pt' does not run on model 'mt5' (family mt5); "
            "it needs one of: bert, xlmr",
            id="method-on-the-wrong-model-family",
        ),
        pytest.param(
            encoders(models=["mbart"], methods=["prompt"]),
            "config key papers.topro.tables.panx_encoders.methods: method 'prompt' does not do tagging tasks "
            "(task 'panx'); it does: relation",
            id="method-on-the-wrong-task-kind",
        ),
        pytest.param(
            {"papers": {"prompt_xre": {"tables": {"wmt_xre": {"variants": {"prompt": ["10"]}}}}}},
            "config key papers.prompt_xre.tables.wmt_xre.variants.prompt: unknown variant(s) ['10']; "
            "'prompt' has: none, 1, 2, 3, 4, 5, 6, 7, 8, 9",
            id="unknown-variant",
        ),
        pytest.param(
            vanilla(batch_sise=8),
            "config key papers.topro.training.vanilla_token.batch_sise: not a parameter of vanilla_token "
            f"(did you mean 'batch_size'?); known: {VANILLA_PARAMS}",
            id="misspelt-hyper-parameter",
        ),
        pytest.param(
            vanilla(by_task={"panx": {"learnig_rate": 1e-5}}),
            "config key papers.topro.training.vanilla_token.by_task.panx.learnig_rate: not a parameter of "
            f"vanilla_token (did you mean 'learning_rate'?); known: {VANILLA_PARAMS}",
            id="misspelt-per-task-hyper-parameter",
        ),
        pytest.param(
            vanilla(batch_size="big"),
            "config key papers.topro.training.vanilla_token.batch_size: expected int, got 'big'",
            id="hyper-parameter-of-the-wrong-type",
        ),
        pytest.param(
            vanilla(learning_rate=[1e-5]),
            "config key papers.topro.training.vanilla_token.learning_rate: expected float, got [1e-05]",
            id="hyper-parameter-list-for-a-number",
        ),
        pytest.param(
            {"papers": {"topro": {"training": {"vanila_token": {}}}}},
            "config key papers.topro.training.vanila_token: no method implementation 'vanila_token' (did you mean "
            "'vanilla_token'?); known: alignxie_lora, llm, mbart_relation, prefix_tuning, topro_encoder, topro_seq2seq, "
            "vanilla_seq2seq, vanilla_token",
            id="misspelt-training-block",
        ),
        pytest.param(
            {"papers": {"prompt_xre": {"tables": {"wmt_xre": {"task": "tacred"}}}}},
            "config key papers.prompt_xre.tables.wmt_xre.task: unknown task 'tacred'; known: ace05, codeie, panx, udpos, wmt_xre",
            id="unknown-task",
        ),
        pytest.param(
            vanilla(by_task={"ner": {"epochs": 1}}),
            "config key papers.topro.training.vanilla_token.by_task.ner: unknown task; known: ace05, codeie, panx, udpos, wmt_xre",
            id="unknown-task-in-by-task",
        ),
        pytest.param(
            {"papers": {"topro": {"enabled": False}, "prompt_xre": {"enabled": False}, "alignxie": {"enabled": False}}},
            "config key papers: no enabled paper has any table cell to run; disabled: topro, prompt_xre, alignxie "
            "(papers.<paper>.enabled: false)",
            id="empty-grid",
        ),
        pytest.param(
            {"papers": {"alignxie": {"tables": {"benchmarks": {"targets": ["kc_ner", "kc_rel"]}}}}},
            "config key papers.alignxie.tables.benchmarks.targets[1]: unknown target 'kc_rel' of task codeie; known: "
            "bn de en es fa hi kc_eae kc_ed kc_ner kc_re ko nl ru tr zh",
            id="codeie-unknown-set",
        ),
        pytest.param(
            {"papers": {"alignxie": {"source_langs": ["en"]}}},
            "config key papers.alignxie.source_langs[0]: unknown source 'en' of task codeie; known: enzh",
            id="codeie-source-not-a-mixture",
        ),
    ],
)
def test_bad_config_is_named_before_any_job(user, message):
    with pytest.raises(ConfigError) as error:
        build_cells(resolved(**user))
    assert str(error.value) == message


# ---------------------------------------------------------------------------------------------
# Data files: XTREME tsv, ACE05, WMT17-EnZh XRE


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_xtreme_file_that_is_not_utf8_names_file_line_and_byte(tmp_path):
    path = tmp_path / "train-de.tsv"
    path.write_bytes("Köln\tB-LOC\n\n".encode("utf-8") + "München\tB-LOC\n".encode("latin-1"))
    offset = len("Köln\tB-LOC\n\n".encode("utf-8")) + 1  # the latin-1 'ü'
    with pytest.raises(DataFormatError) as error:
        read_xtreme_tsv(path, PANX)
    assert str(error.value) == (
        f"{path}:3: not UTF-8 at byte offset {offset} (b'\\xfcnch': invalid start byte); "
        "XTREME files are UTF-8, re-encode this one (e.g. iconv -t UTF-8)"
    )


@pytest.mark.parametrize(
    ("bad_line", "found"),
    [("Berlin B-LOC", 1), ("Berlin\tB-LOC\textra", 3)],
    ids=["space-instead-of-tab", "three-columns"],
)
def test_xtreme_wrong_column_count_names_file_and_line(tmp_path, bad_line, found):
    path = _write(tmp_path, "bad.tsv", f"Das\tO\nist\tO\n\nin\tO\n{bad_line}\nok\tO\n")  # line 5 is the bad one
    with pytest.raises(DataFormatError) as error:
        read_xtreme_tsv(path, PANX)
    assert str(error.value) == f"{path}:5: expected 2 tab-separated columns (word<TAB>tag), found {found}: {bad_line!r}"


@pytest.mark.parametrize("text", ["", "\n\n   \n"], ids=["empty", "blank-lines-only"])
def test_xtreme_empty_file_says_no_sentences(tmp_path, text):
    path = _write(tmp_path, "test-de.tsv", text)
    with pytest.raises(DataFormatError) as error:
        read_xtreme_tsv(path, PANX)
    assert str(error.value) == f"{path}:1: file holds no sentences (expected word<TAB>tag lines)"


def test_xtreme_tag_outside_the_label_set_names_file_line_and_tag(tmp_path):
    path = _write(tmp_path, "bad.tsv", "Paris\tB-LOC\n\nBob\tB-PERSON\n")
    with pytest.raises(DataFormatError) as error:
        read_xtreme_tsv(path, PANX)
    assert str(error.value) == f"{path}:3: tag 'B-PERSON' is not in the label set {sorted(PANX)}"


CONLLU = "# sent_id = 1\n# text = Terrorists attacked the hotel.\n" + "".join(
    f"{i}\t{w}\t_\t_\t_\t_\t0\t_\t_\t_\n" for i, w in enumerate(["Terrorists", "attacked", "the", "hotel."], start=1)
)
RELATION = {
    "relation-id": "R1",
    "relation-type": "PHYS:Located",
    "sent_id": "1",
    "arguments": [{"text": "Terrorists", "role": "Arg-1"}, {"text": "hotel", "role": "Arg-2"}],
}


def _ace05_split(root: Path, documents: dict[str, str]) -> Path:
    """English/train of an ACE05-Processor directory with the given <DOC>.v2.json texts."""
    directory = root / "English" / "train"
    directory.mkdir(parents=True)
    for doc, text in documents.items():
        (directory / f"{doc}.v2.json").write_text(text, encoding="utf-8")
        (directory / f"{doc}.conllu").write_text(CONLLU, encoding="utf-8")
    return directory


def test_malformed_ace05_json_is_counted_and_reported_with_file_and_line(tmp_path):
    directory = _ace05_split(
        tmp_path,
        {
            "good": json.dumps({"relations": [RELATION]}),
            "broken": '{"entities": [],\n"relations": [\n{"relation-id": oops}]}',
        },
    )
    instances, reports = read_split(tmp_path, "en", "train")  # no exception: the other documents are read
    assert len(instances) == 1
    broken = next(r for r in reports if r.path.endswith("broken.v2.json"))
    assert dict(broken.dropped) == {"unreadable_file": 1}
    assert broken.examples == [
        f"unreadable_file: {directory / 'broken.v2.json'}:3: malformed JSON (column 17: Expecting value)"
    ]


def test_ace05_relation_outside_the_18_labels_is_counted_with_file_and_label(tmp_path):
    """problems.tsv (written by the ingestion) has one row per file that dropped anything."""
    outside = {**RELATION, "relation-id": "R2", "relation-type": "PHYS:Teleported"}
    directory = _ace05_split(tmp_path, {"doc": json.dumps({"relations": [RELATION, outside]})})
    instances, reports = read_split(tmp_path, "en", "train")
    assert [i.label for i in instances] == ["PHYS:Located"]
    (problem,) = problems_table(reports).to_dict("records")
    assert problem["file"] == str(directory / "doc.v2.json") and problem["label_unknown"] == 1
    assert problem["examples"] == "label_unknown: R2 relation-type 'PHYS:Teleported'"


def _instance(**changes) -> str:
    record = {
        "sentence": "Terrorists attacked the hotel.",
        "e1": "Terrorists",
        "e2": "hotel",
        "label": "PHYS:Located",
        "doc_id": "doc",
        "sent_id": "1",
        "relation_id": "R1",
        "lang": "en",
        "split": "train",
        **changes,
    }
    return json.dumps(record) + "\n"


def test_relation_instance_file_with_a_bad_line_names_file_and_line(tmp_path):
    path = _write(
        tmp_path, "en.train.jsonl", _instance() + '{"sentence": "x" "e1": "y"}\n' + _instance()
    )  # a comma missing
    with pytest.raises(ValueError) as error:
        read_instances(path)
    assert (
        str(error.value) == f"{path}:2: not a relation instance (malformed JSON at column 18: Expecting ',' delimiter)"
    )


def test_relation_instance_with_a_label_outside_the_18_names_file_line_and_label(tmp_path):
    from xlie.pipeline.registry import task_type

    data_dir = tmp_path / "ace05"
    data_dir.mkdir()
    _write(data_dir, "en.test.jsonl", _instance() + _instance(label="PHYS:Teleported"))
    with pytest.raises(ValueError) as error:
        task_type("ace05").load({"dir": str(data_dir)}, "test", "en")  # what training and evaluation read
    assert str(error.value) == (
        f"{data_dir / 'en.test.jsonl'}:2: label 'PHYS:Teleported' is not one of the 18 relation labels "
        f"({', '.join(LABELS)})"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "{path}:1: expected the header 'label<TAB>count'", id="empty"),
        pytest.param("label\tcount\n", "{path}: no label", id="header-only"),
        pytest.param(
            "label\tcount\n?a_x_?b\t3\n?a_y_?b three\n",
            "{path}:3: expected '<label><TAB><count>', found '?a_y_?b three'",
            id="space-instead-of-tab",
        ),
        pytest.param(
            "label\tcount\n?a_x_?b\t3\n?a_x_?b\t2\n", "{path}:3: label '?a_x_?b' listed twice", id="duplicate-label"
        ),
    ],
)
def test_wmt_labels_file_with_a_bad_line_names_file_and_line(tmp_path, text, message):
    path = _write(tmp_path, "labels.tsv", text)
    with pytest.raises(ValueError) as error:
        read_labels(path)
    assert str(error.value) == message.format(path=path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '{"nope": 1}\n', "(XreInstance.__init__() got an unexpected keyword argument 'nope')", id="unknown-field"
        ),
        pytest.param(
            '{"zh": "句子" "a": 1}\n', "(malformed JSON at column 13: Expecting ',' delimiter)", id="malformed-json"
        ),
    ],
)
def test_wmt_split_file_with_a_bad_line_names_file_and_line(tmp_path, text, message):
    path = _write(tmp_path, "train.jsonl", "\n" + text)  # blank lines are skipped, but counted
    with pytest.raises(ValueError) as error:
        read_xre_split(path)
    assert str(error.value) == f"{path}:2: not a WMT17-EnZh XRE instance {message}"


# ---------------------------------------------------------------------------------------------
# Environment: data directory, no GPU for a job that requires one (a missing model path: the dry runs below)


def test_missing_ace05_directory_names_the_key_and_how_to_make_it(tmp_path):
    """What the ingestion's input function runs when the DAG is built (tests/test_data_workflow.py:
    the plan fails only when ACE05 is needed)."""
    from xlie.papers.prompt_xre.ace05 import Ace05DirError, processed_files

    with pytest.raises(Ace05DirError) as error:
        processed_files(tmp_path / "nowhere")
    assert str(error.value) == (
        f"config key data.ace05.dir = '{tmp_path / 'nowhere'}': directory not found. It must be the 'processed-data' "
        "directory that ACE05-Processor writes ({English,Chinese,Arabic}/{train,dev,test}/<DOC>.v2.json and <DOC>.conllu). "
        "Produce it from your licensed ACE 2005 (LDC2006T06): clone https://github.com/wasiahmad/ACE05-Processor, put the "
        "corpus in its ace_2005/ directory, run 'bash setup.sh', and set data.ace05.dir to the resulting processed-data directory."
    )


def test_no_gpu_when_one_is_required_stops_the_job_naming_the_key(monkeypatch):
    from xlie.pipeline.gpu_pool import NoGpuError, check_required

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(NoGpuError) as error:
        check_required(2, required=True, cuda_available=lambda: False)
    assert str(error.value) == (
        "this job asks for 2 GPU(s) and finds none (CUDA_VISIBLE_DEVICES='', torch.cuda.is_available() is False), and "
        "config key training.require_gpu is true, so it stops instead of running on the CPU; run it where a GPU is "
        "visible (--resources gpu=N locally, a GPU partition under SLURM) or set training.require_gpu: false"
    )
    check_required(2, required=False, cuda_available=lambda: False)  # the default: CPU fallback
    check_required(0, required=True, cuda_available=lambda: False)  # a CPU job needs none
    from xlie.pipeline.config import load_schema

    assert (
        load_schema(SCHEMA)["properties"]["training"]["properties"]["require_gpu"]["default"] is False
    )  # the demo runs on CPU


@pytest.mark.parametrize("script", ["train_run", "evaluate_run"])
def test_a_gpu_job_script_stops_before_any_work_when_it_requires_a_missing_gpu(tmp_path, script):
    """The rule's script, with only what it reads before the check: its log says why it stopped."""
    log = tmp_path / "job.log"
    job = types.SimpleNamespace(log=[str(log)], resources={"gpu": 1}, config={"training": {"require_gpu": True}})
    code = (
        f"import runpy, types; runpy.run_path({str(REPO / 'workflow' / 'scripts' / f'{script}.py')!r}, "
        f"init_globals={{'snakemake': types.SimpleNamespace(**{vars(job)!r})}})"
    )
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": str(REPO / "src"),
    }  # no GPU visible, even on a GPU host
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    assert "xlie.pipeline.gpu_pool.NoGpuError: this job asks for 1 GPU(s) and finds none" in log.read_text()
    assert "config key training.require_gpu is true" in log.read_text()


# ---------------------------------------------------------------------------------------------
# The workflow: a bad input stops the dry run before any job, and nothing computed is touched

TOP_LEVEL_OUTPUTS = {".git", ".snakemake", "results", "logs", "benchmarks", "report", ".pytest_cache"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of the repository with one finished cell under results/ (what a user must not lose)."""
    target = tmp_path_factory.mktemp("bad_inputs") / "xlie"
    shutil.copytree(
        REPO,
        target,
        ignore=lambda d, names: {
            n
            for n in names
            if (Path(d) == REPO and n in TOP_LEVEL_OUTPUTS) or n == "__pycache__" or n.endswith(".egg-info")
        },
    )
    cell = (
        target
        / "results"
        / "runs"
        / "topro"
        / "panx"
        / "mbert"
        / "vanilla"
        / "default"
        / "en"
        / "seed42"
        / "eval"
        / "de"
    )
    cell.mkdir(parents=True)
    (cell / "metrics.json").write_text('{"scores": {"primary": 0.5}}\n', encoding="utf-8")
    (target / "report").mkdir()
    (target / "bad_schema.yaml").write_text(
        "entities:\n  - {name: Person}\n  - {name: Person, labels: [PER]}\n", encoding="utf-8"
    )
    return target


def _tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param(
            ["seeds=3"], "config key seeds: unknown key; allowed at the top level: ", id="unknown-top-level-key"
        ),
        pytest.param(
            ["models={big: {path: ./models/xlmr-large, family: xlmr}}"],
            "config key models.big.path: local model directory './models/xlmr-large' does not exist (relative paths "
            "start at the working directory {workdir})",
            id="missing-model-path",
        ),
        pytest.param(
            ["papers={topro: {training: {vanilla_token: {learnig_rate: 0.1}}}}"],
            "config key papers.topro.training.vanilla_token.learnig_rate: not a parameter of vanilla_token "
            "(did you mean 'learning_rate'?)",
            id="misspelt-hyper-parameter",
        ),
        pytest.param(
            ["papers={topro: {enabled: false}, prompt_xre: {enabled: false}, alignxie: {enabled: false}}"],
            "config key papers: no enabled paper has any table cell to run; disabled: topro, prompt_xre, alignxie",
            id="empty-grid",
        ),
        pytest.param(
            ["data={codeie: {schema: bad_schema.yaml}}"],
            "config key data.codeie.schema: bad_schema.yaml: duplicate entity class name 'Person'",
            id="codeie-duplicate-class",
        ),
    ],
)
def test_bad_workflow_input_stops_the_dry_run_before_any_job(workdir, config, message):
    before = _tree(workdir / "results")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--config", *config],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message.format(workdir=workdir) in output, output[-3000:]
    assert not re.search(r"^rule \w+:", output, re.MULTILINE)  # no job was planned, let alone run
    assert _tree(workdir / "results") == before
