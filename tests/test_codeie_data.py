"""AlignXIE's data side: the MultiCoNER-style reader, the demo sets, the three data steps, and the
plan of their rules with the demo preset."""

import json
from pathlib import Path

import pytest

from test_workflow import job_counts, snakemake, workdir  # noqa: F401 (workdir is a fixture)
from xlie.papers.alignxie import paths
from xlie.papers.alignxie.data_steps import (
    build_parallel_ner_step,
    build_tip_step,
    convert_multiconer_step,
    load_schema,
    translator_cache_path,
)
from xlie.papers.alignxie.lora_training import read_instances_jsonl
from xlie.papers.alignxie.parallel_ner import read_parallel_jsonl
from xlie.papers.alignxie.parser import Entity, parse_output
from xlie.papers.alignxie.schema import SchemaError
from xlie.papers.alignxie.multiconer import MultiConerFileError, convert, read_conll, require_conll_file

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "multiconer"
PANX_SCHEMA = REPO / "resources" / "codeie" / "schemas" / "panx.yaml"
SEED = REPO / "resources" / "demo" / "parallel_ner" / "seed.jsonl"

GOOD = """# id 0001 domain=en
Sioux _ _ B-LOC
Falls _ _ I-LOC
hosted _ _ O
the _ _ O
Jets _ _ I-ORG
. _ _ O

# id 0002 domain=en
Anna\tB-PER
Smith\tI-PER
Berlin\tB-LOC
"""


def write(tmp_path, text, name="x.conll"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reader_joins_tokens_and_reads_bio_like_conlleval(tmp_path):
    sentences = read_conll(write(tmp_path, GOOD), "en")
    assert [s.id for s in sentences] == ["0001", "0002"]
    assert sentences[0].sentence == "Sioux Falls hosted the Jets ."
    # I-ORG after O starts an entity (conlleval); B-LOC after I-PER starts another
    assert sentences[0].entities == (("LOC", "Sioux Falls"), ("ORG", "Jets"))
    assert sentences[1].entities == (("PER", "Anna Smith"), ("LOC", "Berlin"))
    # Chinese tokens (characters) join without spaces; a "#" token is a token, not a comment
    zh = read_conll(write(tmp_path, "北\tB-LOC\n京\tI-LOC\n#\tO\n大\tO\n\n#\tO\n李\tB-PER\n", "zh.tsv"), "zh")
    assert [(s.sentence, s.entities) for s in zh] == [("北京#大", (("LOC", "北京"),)), ("#李", (("PER", "李"),))]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("a _ _ B-PER\nb _ _ X-PER\n", 2, "bad tag 'X-PER'"),
        ("a _ _ O\nlonely\n", 2, "expected a token and its tag"),
        ("# id 7 domain=en\n\na _ _ O\n", 1, "sentence '7' has no tokens"),
    ],
)
def test_reader_errors_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=rf"{path}:{line}: .*{message}"):
        read_conll(path, "en")
    with pytest.raises(ValueError, match="no sentences"):
        read_conll(write(tmp_path, "\n\n", "empty.conll"), "en")


def test_conversion_maps_labels_and_fails_on_an_unmapped_one(tmp_path):
    schema = load_schema(PANX_SCHEMA)
    records = convert(DEMO / "en_test.conll", schema, "en")
    assert len(records) == 30 and {r["task"] for r in records} == {"ner"}
    first = records[0]
    assert first["id"] == "panx-en-test-0001" and first["sentence"] == "River Plate ( no rank )"
    assert parse_output(first["output"], "ner").records == [Entity("Organization", "River Plate")]
    path = write(tmp_path, "a _ _ B-CW\n")
    with pytest.raises(ValueError, match=rf"{path}: entity label\(s\) with no English class: \['CW'\]"):
        convert(path, schema, "en")


def test_demo_sets_and_schemas():
    names = sorted(p.name for p in DEMO.glob("*.conll"))
    unseen = ["bn", "de", "es", "fa", "hi", "ko", "nl", "ru", "tr"]
    seen = [f"{lang}_{split}.conll" for lang in ("en", "zh") for split in ("dev", "test", "train")]
    assert names == sorted(seen + [f"{lang}_test.conll" for lang in unseen])
    zh_train = read_conll(DEMO / "zh_train.conll", "zh")
    assert len(zh_train) == 200 and " " not in zh_train[0].sentence
    zh_all = {s.sentence for split in ("train", "dev", "test") for s in read_conll(DEMO / f"zh_{split}.conll", "zh")}
    assert len(zh_all) > 240  # the three splits are disjoint parts of PAN-X dev-zh (a few sentences repeat there)
    multiconer = load_schema(REPO / "resources" / "codeie" / "schemas" / "multiconer.yaml")
    assert [multiconer.english_class("entity", x) for x in ("PER", "LOC", "GRP", "CORP", "PROD", "CW")] == [
        "Person",
        "Location",
        "Group",
        "Corporation",
        "Product",
        "CreativeWork",
    ]
    missing = r"data.codeie.multiconer.dir = 'nowhere': nowhere/en_train.conll not found.*MultiCoNER 2022"
    with pytest.raises(MultiConerFileError, match=missing):
        require_conll_file("nowhere", "{lang}_{split}.conll", "en", "train")


def test_convert_step_writes_records_and_stats(tmp_path):
    out, stats = tmp_path / "sets" / "zh" / "test.jsonl", tmp_path / "test.stats.tsv"
    summary = convert_multiconer_step(str(DEMO / "zh_test.conll"), str(PANX_SCHEMA), "zh", str(out), str(stats))
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 30 and "sentences 30" in summary
    rows = dict(line.split("\t") for line in stats.read_text(encoding="utf-8").splitlines()[1:])
    assert rows["sentences"] == "30" and int(rows["entities"]) == sum(
        int(v) for k, v in rows.items() if k.startswith("entities:")
    )


class FakeTranslator:
    """Stage 1 keeps every span of a sentence (prefixing it); the second sample gets no usable reply."""

    def translate_with_spans(self, items, source_lang, target_lang):
        return [None if i == 1 else (f"[{target_lang}] {s}", list(spans)) for i, (s, spans) in enumerate(items)]

    def translate_spans(self, items, source_lang, target_lang):
        return [None for _ in items]

    def rewrite(self, items, language):
        return [None for _ in items]


def test_parallel_ner_step_with_a_fake_translator(tmp_path):
    out, source, stats = tmp_path / "en-zh.jsonl", tmp_path / "source_en-zh.jsonl", tmp_path / "stats.tsv"
    summary = build_parallel_ner_step(
        str(DEMO / "en_train.conll"),
        "en-zh",
        {"kind": "hf", "model": "unused"},
        5,
        str(out),
        str(source),
        str(stats),
        backend=FakeTranslator(),
    )
    assert summary.startswith("en-zh: 4 of 5 samples kept")
    pairs = read_parallel_jsonl(out)
    assert len(pairs) == 4 and all(p.stage == 1 and (a, b) == ("en", "zh") for _, p, a, b in pairs)
    assert pairs[0][1].target.sentence == "[zh] " + pairs[0][1].source.sentence
    assert len(source.read_text(encoding="utf-8").splitlines()) == 5  # read_ner_jsonl format, dataset labels
    assert "output\tsamples_kept\t4" in stats.read_text(encoding="utf-8")
    # the cache is per direction and translator settings: another model never reuses replies
    assert translator_cache_path("c", "en-zh", {"model": "a"}) != translator_cache_path("c", "en-zh", {"model": "b"})
    with pytest.raises(ValueError, match="'enzh' is not a direction"):
        build_parallel_ner_step(str(DEMO / "en_train.conll"), "enzh", {}, 1, "a", "b", "c", backend=FakeTranslator())


def test_tip_step_from_seed_and_parallel_files(tmp_path):
    parallel = tmp_path / "en-zh.jsonl"
    good = {
        "id": "p1",
        "stage": 1,
        "en": {"sentence": 'He said "Rome" .', "entities": [["LOC", "Rome"]]},
        "zh": {"sentence": "他说“罗马”。", "entities": [["地点", "罗马"]]},
    }
    broken = {**good, "id": "p2", "zh": {"sentence": "他说。", "entities": [["地点", "罗马"]]}}
    lines = [good, broken, good]  # a span missing from its sentence is dropped; a repeat written once
    parallel.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    out, stats = tmp_path / "train.jsonl", tmp_path / "stats.tsv"
    build_tip_step([str(parallel)], str(SEED), str(PANX_SCHEMA), str(out), str(stats))
    instances = read_instances_jsonl(out)
    assert len(instances) == 2 + 80  # both directions of 1 parallel pair and of the 40 seed pairs
    assert 'source_sentence = "He said \\"Rome\\" ."' in instances[0].prompt
    assert instances[0].completion == 'results = [\n\tLocation("罗马")\n]'
    rows = dict(line.split("\t") for line in stats.read_text(encoding="utf-8").splitlines()[1:])
    assert rows["instances"] == "82" and rows["dropped:span_not_in_sentence"] == "1"
    assert rows["dropped:duplicate_instance"] == "2" and rows[f"pairs:{SEED}"] == "40"
    unmapped = tmp_path / "bad.jsonl"
    unmapped.write_text(json.dumps({**good, "zh": {"sentence": "罗马", "entities": [["城市", "罗马"]]}}) + "\n")
    with pytest.raises(SchemaError, match=rf"{unmapped}:1: .*'城市' has no English class"):
        build_tip_step([str(unmapped)], None, str(PANX_SCHEMA), str(out), str(stats))


def test_demo_preset_plans_the_three_data_rules(workdir):
    targets = [paths.TIP_PATH, paths.set_path("en", "train"), paths.set_path("zh", "dev"), paths.set_path("ko", "test")]
    out = snakemake("-n", *targets, cwd=workdir).stdout
    counts = job_counts(out)
    assert (counts["convert_multiconer"], counts["build_parallel_ner"], counts["build_tip"]) == (3, 1, 1)
    assert paths.parallel_path("en-zh") in out and "results/models/tiny/causal" in out


def test_a_missing_multiconer_file_fails_the_plan_naming_the_key(workdir):
    # an unseen language has no train file: asking for one fails the plan naming the key and MultiCoNER
    failed = snakemake("-n", paths.set_path("ko", "train"), cwd=workdir, check=False)
    message = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "data.codeie.multiconer.dir = 'resources/demo/multiconer'" in message
    assert "ko_train.conll not found" in message and "MultiCoNER 2022" in message
