"""ParallelNER from the datasets the AlignXIE paper translated: WikiNEuRal (en->zh) and CLUENER2020
(zh->en), read from the user's files (fixtures in their layouts: tests/data/parallel_sources/),
their TIP instances in each dataset's schema, the size printed beside the paper's 257,190."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xlie.papers.alignxie.data_steps import build_parallel_ner_step, build_tip_step
from xlie.papers.alignxie.lora_training import read_instances_jsonl
from xlie.papers.alignxie.parallel_sources import (
    ParallelSourceError,
    read_cluener,
    read_wikineural,
    require_source_file,
)
from xlie.papers.alignxie.scorer import InputFileError
from xlie.pipeline.config import resolve

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "data" / "parallel_sources"
WIKINEURAL = FIXTURES / "wikineural_en_train.conllu"
CLUENER = FIXTURES / "cluener2020_train.json"
SCHEMAS = REPO / "resources" / "codeie" / "schemas"


def test_wikineural_sentences_and_entities():
    samples = read_wikineural(WIKINEURAL, "en")
    assert len(samples) == 5 and samples[0].id == "wikineural_en_train-1"
    assert samples[0].sentence == "Marie Curie moved to Paris in 1891 ."
    assert samples[0].entities == (("PER", "Marie Curie"), ("LOC", "Paris"))
    assert samples[2].entities == ()
    assert samples[3].entities == (("MISC", "Apollo 12"), ("LOC", "Houston"))  # I-MISC opens an entity
    assert samples[4].entities == (("MISC", "Blue Harbour"), ("LOC", "Lake Como"), ("PER", "Anna Berg"))


def test_cluener_mentions_in_text_order_end_inclusive():
    samples = read_cluener(CLUENER)
    assert len(samples) == 5 and samples[0].id == "cluener2020_train-1"
    assert samples[0].entities == (("name", "王小明"), ("scene", "西湖"), ("organization", "浙江大学"))
    # One (label, span) per mention: the name written twice is there twice.
    assert samples[1].entities == (
        ("company", "华夏银行"),
        ("position", "行长"),
        ("name", "李强"),
        ("name", "李强"),
        ("address", "上海"),
    )
    assert samples[2].entities == ()  # no "label": no entities
    assert samples[3].entities == (("game", "《星海争霸》"), ("book", "《三国演义》"))


def test_malformed_lines_name_the_file_and_line(tmp_path):
    bad = tmp_path / "train.conllu"
    bad.write_text("0\tParis\tB-LOC\n\n0 Paris B-LOC\n", encoding="utf-8")  # spaces: MultiCoNER's layout, not theirs
    with pytest.raises(InputFileError, match=r"train.conllu:3: expected '<index>\\t<token>\\t<tag>'"):
        read_wikineural(bad, "en")
    bad.write_text("0\tParis\tLOC\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"train.conllu:1: bad tag 'LOC'"):
        read_wikineural(bad, "en")
    shifted = tmp_path / "train.json"  # exclusive ends, a common slip: the span reads one character more
    shifted.write_text(json.dumps({"text": "我在上海。", "label": {"address": {"上海": [[2, 4]]}}}) + "\n")
    with pytest.raises(InputFileError, match=r"train.json:1: address '上海' at \[2, 4\] reads '上海。'"):
        read_cluener(shifted)
    shifted.write_text(json.dumps({"text": "我在上海。", "label": {"address": {"上海": [[2, 9]]}}}) + "\n")
    with pytest.raises(InputFileError, match=r"bad offsets \[2, 9\]"):
        read_cluener(shifted)


def test_a_missing_source_file_names_the_key_and_where_to_get_it(tmp_path):
    with pytest.raises(
        ParallelSourceError, match=r"data.parallel_ner.wikineural.path is not set.*Babelscape/wikineural"
    ):
        require_source_file("wikineural", None)
    missing = str(tmp_path / "train.json")
    with pytest.raises(
        ParallelSourceError, match=rf"data.parallel_ner.cluener2020.path = '{missing}': not found.*CLUENER2020"
    ):
        require_source_file("cluener2020", missing)
    assert require_source_file("cluener2020", str(CLUENER)) == CLUENER


class CopyingTranslator:
    """Marks the sentence as translated and keeps its spans: every sample completes in stage 1."""

    def translate_with_spans(self, items, source_lang, target_lang):
        return [(f"[{target_lang}] {sentence}", list(spans)) for sentence, spans in items]

    def translate_spans(self, items, source_lang, target_lang):
        return [span for span, _ in items]

    def rewrite(self, items, language):
        return [sentence for sentence, _ in items]


def test_parallel_ner_and_tip_from_both_sources(tmp_path):
    files = {}
    for direction, path, source_format in (("en-zh", WIKINEURAL, "wikineural"), ("zh-en", CLUENER, "cluener2020")):
        out = tmp_path / f"{direction}.jsonl"
        summary = build_parallel_ner_step(
            str(path),
            direction,
            {"kind": "hf", "model": "unused"},
            None,
            str(out),
            str(tmp_path / f"source_{direction}.jsonl"),
            str(tmp_path / f"stats_{direction}.tsv"),
            backend=CopyingTranslator(),
            source_format=source_format,
        )
        assert summary.startswith(f"{direction}: 4 of 4 samples kept")  # the sentence without entities is skipped
        files[str(out)] = str(SCHEMAS / f"{source_format}.yaml")
    out, stats = tmp_path / "train.jsonl", tmp_path / "stats.tsv"
    summary = build_tip_step(
        list(files), None, str(SCHEMAS / "multiconer.yaml"), str(out), str(stats), file_schemas=files
    )
    assert "ParallelNER: 8 pairs, 16 TIP instances from them (the paper: 257,190 samples)" in summary
    instances = read_instances_jsonl(out)
    # Each dataset's pairs are written in its own schema's classes (neither maps onto MultiCoNER's six).
    english = [i for i in instances if 'source_sentence = "Marie Curie' in i.prompt]
    assert "class Miscellaneous(Entity)" in english[0].prompt and "class Company(Entity)" not in english[0].prompt
    chinese = [i for i in instances if 'source_sentence = "华夏银行' in i.prompt]
    assert chinese[0].completion.count('Person("李强")') == 2 and 'Position("行长")' in chinese[0].completion
    rows = dict(line.split("\t") for line in stats.read_text(encoding="utf-8").splitlines()[1:])
    assert (rows["parallel_ner_pairs"], rows["parallel_ner_samples_in_the_paper"]) == ("8", "257190")


def test_the_paper_preset_builds_parallel_ner_from_the_papers_sources():
    config = resolve({"preset": "paper"}, REPO / "workflow" / "presets", REPO / "workflow/schemas/config.schema.yaml")
    parallel = config["data"]["parallel_ner"]
    assert parallel["sources"] == {"en-zh": "wikineural", "zh-en": "cluener2020"}
    assert parallel["wikineural"] == {
        "path": "data/wikineural/en/train.conllu",
        "schema": "resources/codeie/schemas/wikineural.yaml",
    }
    assert parallel["cluener2020"]["path"] == "data/cluener2020/train.json"
    assert config["papers"]["alignxie"]["training"]["alignxie_lora"]["effective_batch_size"] == 128
    demo = resolve({"preset": "demo"}, REPO / "workflow" / "presets", REPO / "workflow/schemas/config.schema.yaml")
    assert demo["data"]["parallel_ner"]["wikineural"]["path"] is None  # not needed where no direction names it
