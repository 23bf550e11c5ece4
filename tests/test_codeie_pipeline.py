"""The codeie task type and the alignxie method as the pipeline calls them: sets and mixtures read
from code-style JSONL, both training phases on the tiny causal LM, batched generation, scoring,
predictions that read back to the same score, and the lexicon floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xlie.papers.alignxie.schema import ner_code, re_code
from xlie.pipeline.registry import task_type

SCHEMA_YAML = """
entities:
  - {name: Person, description: A human being., examples: [Obama], labels: [PER, 人物]}
  - {name: Location, description: A place., examples: [Paris], labels: [LOC, 地点]}
relations:
  - {name: LivesIn, description: Someone lives somewhere.}
"""


def write_set(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"id": f"{path.parent.name}-{i}", "sentence": s, "task": t, "output": o}, ensure_ascii=False)
        for i, (s, t, o) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture()
def codeie_data(tmp_path) -> dict:
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA_YAML, encoding="utf-8")
    sets = tmp_path / "sets"
    en = [
        ("Obama visited Paris", "ner", ner_code([("Person", "Obama"), ("Location", "Paris")])),
        ("Paris is big", "ner", ner_code([("Location", "Paris")])),
    ]
    zh = [("奥巴马访问了巴黎", "ner", ner_code([("Person", "奥巴马"), ("Location", "巴黎")]))]
    for split in ("train", "dev", "test"):
        write_set(sets / "en" / f"{split}.jsonl", en)
        write_set(sets / "zh" / f"{split}.jsonl", zh)
    write_set(
        sets / "de" / "test.jsonl",
        [("Obama wohnt in Paris", "ner", ner_code([("Person", "Obama"), ("Location", "Paris")]))],
    )
    bench = tmp_path / "bench_test.jsonl"
    write_set(bench, [("Obama lives in Paris", "re", re_code([("Obama", "LivesIn", "Paris")]))])
    tip = tmp_path / "tip.jsonl"
    tip.write_text(
        json.dumps({"prompt": "Input:\nx\nOutput:\n", "completion": "results = []"}) + "\n", encoding="utf-8"
    )
    return {
        "sets_dir": str(sets),
        "schema": str(schema),
        "mixtures": {"enzh": ["en", "zh"]},
        "benchmarks": {"bench": {"path": str(tmp_path / "bench_{split}.jsonl"), "task": "re", "schema": str(schema)}},
        "alignment_data": str(tip),
    }


def test_sets_mixtures_and_benchmarks_load(codeie_data):
    task = task_type("codeie")
    train, identity = task.load(codeie_data, "train", "enzh")
    assert [e.sentence for e in train] == ["Obama visited Paris", "奥巴马访问了巴黎", "Paris is big"]  # interleaved
    assert identity["instances"] == 3 and len(identity["files"]) == 2
    assert 'sentence = "Obama visited Paris"' in train[0].query and "class Person(Entity)" in train[0].query
    bench, _ = task.load(codeie_data, "test", "bench")
    assert bench[0].task == "re" and "class LivesIn(Relation)" in bench[0].query
    with pytest.raises(ValueError, match="data.codeie.benchmarks.bench.task is 'ner'"):
        task.load(
            {**codeie_data, "benchmarks": {"bench": {**codeie_data["benchmarks"]["bench"], "task": "ner"}}},
            "test",
            "bench",
        )


def test_scores_lexicon_floor_and_predictions_roundtrip(codeie_data, tmp_path):
    task = task_type("codeie")
    test, _ = task.load(codeie_data, "test", "de")
    gold = task.gold(test)
    perfect = [e.output for e in test]
    assert task.score(gold, perfect)["f1"] == 1.0
    for hostile in ['__import__("os").system("echo pwned")', "results = [Person(open('/etc/passwd').read())]"]:
        assert task.score(gold, [hostile])["f1"] == 0.0  # parsed as data, rejected, never run
    train, _ = task.load(codeie_data, "train", "enzh")
    floor = task.floor_baseline(train, gold)  # "Obama" and "Paris" are training spans
    assert floor["f1"] == 1.0 and floor["label"] == "Training lexicon"
    assert task.predictions_file == "predictions.jsonl"  # JSON lines, not a TSV
    path = tmp_path / task.predictions_file
    task.write_predictions(path, test, ['results = [Person("Obama")]'])
    gold_back, predicted_back = task.read_predictions(path)
    assert task.score(gold_back, predicted_back)["f1"] == pytest.approx(2 / 3)
    from xlie.report.verdict import example_stats

    stats = example_stats(task.example_scorer("f1"), gold_back, predicted_back)
    assert stats.tolist() == [[1, 1, 2]]


def test_bad_gold_names_file_and_line(codeie_data, tmp_path):
    bad = Path(codeie_data["sets_dir"]) / "xx" / "test.jsonl"
    write_set(bad, [("A", "ner", ner_code([("Person", "A")])), ("B", "ner", "results = [Person(")])
    with pytest.raises(ValueError, match=r"xx/test.jsonl:2: the gold 'output' is not code-style ner"):
        task_type("codeie").load(codeie_data, "test", "xx")
    write_set(bad, [("A", "ner", ner_code([("Animal", "A")]))])
    with pytest.raises(ValueError, match=r"xx/test.jsonl:1: class\(es\) \['Animal'\] are not in the schema"):
        task_type("codeie").load(codeie_data, "test", "xx")


@pytest.mark.parametrize("alignment", ["tip", "none"])
def test_alignxie_trains_both_phases_and_predicts(codeie_data, tiny_models, tmp_path, alignment):
    from xlie.pipeline.registry import implementation, method_spec

    paths, _ = tiny_models
    task = task_type("codeie")
    train, _ = task.load(codeie_data, "train", "enzh")
    spec = method_spec("alignxie", "causal")
    train_fn, load_predictor = implementation(spec)
    params = dict(
        alignment=alignment,
        max_steps=2,
        batch_size=2,
        grad_accum=1,
        save_steps=1,
        logging_steps=1,
        max_length=512,
        lora_r=4,
        lora_alpha=8,
        warmup_ratio=0.0,
        max_new_tokens=8,
        eval_batch_size=4,
    )
    out = tmp_path / "model"
    summary = train_fn(
        str(paths["causal"]), "codeie", train, [], out, tmp_path / "ckpt", params, 42, **task.method_kwargs(codeie_data)
    )
    assert list(summary["phases"]) == (["phase1", "phase2"] if alignment == "tip" else ["phase2"])
    assert (out / "adapter_model.safetensors").is_file() and (out / "phase1").is_dir() == (alignment == "tip")
    predict = load_predictor(out, "codeie", params)
    test, _ = task.load(codeie_data, "test", "de")
    prediction = predict(test, desc="de")
    assert len(prediction.outputs) == 1 and set(prediction.counts) >= {"unparsed_outputs", "prompts_cut"}
    assert 0.0 <= task.score(task.gold(test), task.predicted(prediction))["f1"] <= 1.0


def test_only_the_tip_variant_reads_the_tip_file():
    """The ablation without alignment (variant none) neither waits for ParallelNER/TIP nor reruns
    when they change: TIP is the tip variant's training input, not the task's."""
    from xlie.papers.alignxie.paths import TIP_PATH
    from xlie.pipeline.registry import method_spec, method_train_inputs

    spec = method_spec("alignxie", "causal")
    run = {"paper": "alignxie", "task": "codeie", "model": "m", "method": "alignxie", "source": "enzh", "seed": 42}
    assert method_train_inputs(spec, {}, {**run, "variant": "tip"}) == [TIP_PATH]
    assert method_train_inputs(spec, {}, {**run, "variant": "none"}) == []
    config = {"data": {"codeie": {"schema": "s.yaml", "mixtures": {"enzh": ["en", "zh"]}}}}
    assert TIP_PATH not in task_type("codeie").input_files(config, "train", ["enzh"])
