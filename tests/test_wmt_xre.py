"""WMT17-EnZh XRE construction: the whole chain after parsing on the shipped sample, and its parts."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from xlie.papers.prompt_xre.conllu import ConlluSentence, Word, parse_conllu, read_conllu
from xlie.papers.prompt_xre.wmt_xre import (
    ConlluParses,
    ParallelFormatError,
    ParallelPair,
    WmtXreConfig,
    build_dataset,
    build_files,
    extract_patterns,
    make_parser,
    read_parallel_file,
    read_xre_split,
    write_dataset,
)

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "wmt17_xre"
# the paper's sizes scaled down: per label test 2, valid 2, train at most 6
SMALL = WmtXreConfig(max_en_tokens=50, top_labels=8, test_per_label=2, valid_per_label=2, train_cap_per_label=6)


def _sentence(rows: str, text: str = "x") -> object:
    """A parse from 'form lemma upos head deprel' rows separated by ';'."""
    lines = [f"# text = {text}"]
    for i, row in enumerate(rows.split(";"), start=1):
        form, lemma, upos, head, deprel = row.split()
        lines.append(f"{i}\t{form}\t{lemma}\t{upos}\t_\t_\t{head}\t{deprel}\t_\t_")
    return parse_conllu("\n".join(lines) + "\n")[0]


@pytest.mark.parametrize(
    "rows, expected",
    [
        (
            "He he PRON 2 nsubj;lives live VERB 0 root;in in ADP 4 case;Beijing Beijing PROPN 2 obl",
            [("He", "Beijing", "?a_live_in_?b")],
        ),
        (
            "The the DET 2 det;firm firm NOUN 3 nsubj;has have VERB 0 root;staff staff NOUN 3 obj",
            [("The firm", "staff", "?a_have_?b")],
        ),
        (
            "She she PRON 2 nsubj;set set VERB 0 root;up up ADP 2 compound:prt;firms firm NOUN 2 obj",
            [("She", "firms", "?a_set_up_?b")],
        ),
        (
            "It it PRON 3 nsubj:pass;was be AUX 3 aux:pass;founded found VERB 0 root;by by ADP 5 case;Li Li PROPN 3 obl:agent",
            [("It", "Li", "?a_be_found_by_?b")],
        ),
        (
            "She she PRON 4 nsubj;is be AUX 4 cop;a a DET 4 det;member member NOUN 0 root;of of ADP 7 case;the the DET 7 det;club club NOUN 4 nmod",
            [("She", "the club", "?a_be_member_of_?b")],
        ),
        (
            "He he PRON 4 nsubj;will will AUX 4 aux;not not PART 4 advmod;visit visit VERB 0 root;Rome Rome PROPN 4 obj",
            [("He", "Rome", "?a_not_visit_?b")],
        ),
        (
            "He he PRON 2 nsubj;visited visit VERB 0 root;Paris Paris PROPN 2 obj;and and CCONJ 5 cc;Rome Rome PROPN 3 conj",
            [("He", "Paris", "?a_visit_?b"), ("He", "Rome", "?a_visit_?b")],
        ),
        ("He he PRON 2 nsubj;gave give VERB 0 root;it it PRON 2 obj;to to ADP 5 case;Li Li PROPN 2 obl", []),
        ("He he PRON 3 nsubj;is be AUX 3 cop;doctor doctor NOUN 0 root", []),
        ("He he PRON 2 nsubj;left leave VERB 0 root;yesterday yesterday NOUN 2 obl:tmod", []),
        ("He he PRON 2 nsubj;wants want VERB 0 root;to to PART 4 mark;go go VERB 2 xcomp;home home ADV 4 advmod", []),
    ],
)
def test_patterns(rows, expected):
    assert [(p.a, p.b, p.label) for p in extract_patterns(_sentence(rows))] == expected


def test_conjoined_predicate_shares_the_subject_and_relative_clauses_are_skipped():
    shared = "He he PRON 2 nsubj;lives live VERB 0 root;in in ADP 4 case;Rome Rome PROPN 2 obl;and and CCONJ 6 cc;works work VERB 2 conj;for for ADP 8 case;Acme Acme PROPN 6 obl"
    assert [(p.a, p.label) for p in extract_patterns(_sentence(shared))] == [
        ("He", "?a_live_in_?b"),
        ("He", "?a_work_for_?b"),
    ]
    relcl = (
        "Li Li PROPN 5 nsubj;who who PRON 3 nsubj;owns own VERB 1 acl:relcl;cars car NOUN 3 obj;left leave VERB 0 root"
    )
    assert extract_patterns(_sentence(relcl)) == []


def test_demo_parses_are_well_formed_trees_aligned_with_the_pairs():
    pairs = read_parallel_file(DEMO / "pairs.tsv")
    sentences = read_conllu(DEMO / "en.conllu")
    assert 60 <= len(pairs) <= 150 and len(sentences) == len(pairs)
    assert [s.text for s in sentences] == [p.en for p in pairs]
    for sentence in sentences:
        heads = {w.id: w.head for w in sentence.words}
        assert [w.deprel for w in sentence.words].count("root") == 1 and list(heads.values()).count(0) == 1
        for word_id in heads:  # every word reaches the root: no cycle
            seen, current = set(), word_id
            while current:
                assert current not in seen, (sentence.sent_id, word_id)
                seen.add(current)
                current = heads[current]
    assert "CC0" in (DEMO / "README.md").read_text(encoding="utf-8")


def test_whole_chain_after_parsing_on_the_demo_sample(tmp_path):
    pairs = read_parallel_file(DEMO / "pairs.tsv")
    dataset = build_dataset(pairs, make_parser("conllu", conllu=DEMO / "en.conllu"), SMALL)
    stats = dataset.stats
    assert stats["pairs"] == len(pairs) and stats["dropped_longer_than_max_en_tokens"] == 1
    assert stats["parsed"] == len(pairs) - 1 and stats["pairs_without_pattern"] >= 6
    assert stats["distinct_labels"] == 10 and len(dataset.labels) == SMALL.top_labels == stats["labels_kept"]
    counts = [count for _, count in dataset.labels]
    assert counts == sorted(counts, reverse=True) and dataset.labels[0] == ("?a_visit_?b", 18)
    for label, count in dataset.labels:
        per_split = {name: sum(i.label == label for i in split) for name, split in dataset.splits.items()}
        assert per_split == {"train": min(count - 4, 6), "valid": 2, "test": 2}, label
    # the per-label test split is the last instances of the label in corpus order
    visits = [
        i
        for i in (dataset.splits["train"] + dataset.splits["valid"] + dataset.splits["test"])
        if i.label == "?a_visit_?b"
    ]
    by_index = sorted(visits, key=lambda i: (i.pair_index, i.b))
    assert {(i.pair_index, i.b) for i in dataset.splits["test"] if i.label == "?a_visit_?b"} == {
        (i.pair_index, i.b) for i in by_index[-2:]
    }
    instance = dataset.splits["train"][0]
    assert instance.zh == pairs[instance.pair_index].zh and instance.a in instance.en and instance.b in instance.en
    write_dataset(dataset, tmp_path)
    assert read_xre_split(tmp_path / "train.jsonl") == dataset.splits["train"]
    assert json.loads((tmp_path / "stats.json").read_text(encoding="utf-8")) == stats
    assert (tmp_path / "labels.tsv").read_text(encoding="utf-8").splitlines()[1] == "?a_visit_?b\t18"
    again = build_dataset(pairs, ConlluParses(DEMO / "en.conllu"), SMALL)
    assert again.splits == dataset.splits  # deterministic


def test_rare_labels_and_the_top_k_cut(tmp_path):
    pairs = read_parallel_file(DEMO / "pairs.tsv")
    everything = build_dataset(
        pairs, ConlluParses(DEMO / "en.conllu"), WmtXreConfig(test_per_label=2, valid_per_label=2)
    )
    assert everything.stats["labels_too_small_to_split"] == 1  # ?a_not_have_?b, 2 instances
    assert "?a_not_have_?b" not in dict(everything.labels) and len(everything.labels) == 9
    capped = build_dataset(
        pairs,
        ConlluParses(DEMO / "en.conllu"),
        WmtXreConfig(test_per_label=1, valid_per_label=1, train_cap_per_label=3),
    )
    assert max(Counter(i.label for i in capped.splits["train"]).values()) == 3


def test_parallel_files(tmp_path):
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('{"translation": {"en": "Hi.", "zh": "你好。"}}\n{"en": "Yes.", "zh": "是。"}\n', encoding="utf-8")
    assert read_parallel_file(jsonl) == [ParallelPair(0, "Hi.", "你好。"), ParallelPair(1, "Yes.", "是。")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("en\tzh\nHi.\t你好。\nno tab here\n", encoding="utf-8")
    with pytest.raises(ParallelFormatError, match=r"bad\.tsv:3: expected 2"):
        read_parallel_file(bad)
    bad.write_text("english\tchinese\n", encoding="utf-8")
    with pytest.raises(ParallelFormatError, match=r"bad\.tsv:1: header"):
        read_parallel_file(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"en": "a", "zh": "b"}\n{"en": \n', encoding="utf-8")
    with pytest.raises(ParallelFormatError, match=r"broken\.jsonl:2"):
        read_parallel_file(broken)


def test_parsers_name_what_is_missing(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_parsers(name, *args, **kwargs):
        if name in ("spacy", "stanza"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_parsers)
    with pytest.raises(ImportError, match="'spacy'"):
        make_parser("spacy", "en_udv25_englishewt_trf")
    with pytest.raises(ImportError, match="'stanza'"):
        make_parser("stanza")
    with pytest.raises(ValueError, match="unknown English UD parser 'udpipe'"):
        make_parser("udpipe")
    with pytest.raises(KeyError, match="no parse whose"):
        ConlluParses(DEMO / "en.conllu").parse(["A sentence nobody parsed."])


def test_batches_give_the_same_dataset_as_one_pass():
    pairs = read_parallel_file(DEMO / "pairs.tsv")
    parser = ConlluParses(DEMO / "en.conllu")
    one = build_dataset(iter(pairs), parser, SMALL, batch_size=1000)
    assert build_dataset(iter(pairs), parser, SMALL, batch_size=7) == one


def test_hub_rows_become_pairs_without_touching_the_hub(monkeypatch):
    import datasets

    from xlie.papers.prompt_xre.wmt_xre import HUB_CONFIG, HUB_DATASET, load_wmt17_zh_en

    calls = []

    def fake_load_dataset(name, config, split, streaming):
        calls.append((name, config, split, streaming))
        return iter([{"translation": {"en": f"Sentence {i}.", "zh": f"句子{i}。"}} for i in range(5)])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    pairs = list(load_wmt17_zh_en("train", max_pairs=3))
    assert calls == [(HUB_DATASET, HUB_CONFIG, "train", True)] and HUB_DATASET == "wmt/wmt17" and HUB_CONFIG == "zh-en"
    assert pairs == [ParallelPair(i, f"Sentence {i}.", f"句子{i}。") for i in range(3)]


DEMO_OPTIONS = {
    "source": "local",
    "pairs": str(DEMO / "pairs.tsv"),
    "hub_split": "train",
    "max_pairs": None,
    "parser": "conllu",
    "conllu": str(DEMO / "en.conllu"),
    "parser_model": None,
    # the demo preset's values: 9 labels, train/valid/test 53/18/27 from the shipped sample
    "max_en_tokens": 50,
    "top_labels": 106,
    "test_per_label": 3,
    "valid_per_label": 2,
    "train_cap_per_label": 10500,
}


def test_the_step_with_the_demo_values_and_the_readers_for_training(tmp_path):
    from xlie.papers.prompt_xre.ace05 import RelationInstance
    from xlie.papers.prompt_xre.wmt_xre import build_step, read_labels, read_relation_split

    summary = build_step(DEMO_OPTIONS, tmp_path)
    assert "labels_kept" in summary and "?a_visit_?b 18" in summary
    stats = json.loads((tmp_path / "stats.json").read_text(encoding="utf-8"))
    assert (stats["labels_kept"], stats["train_instances"], stats["valid_instances"], stats["test_instances"]) == (
        9,
        53,
        18,
        27,
    )
    labels = read_labels(tmp_path / "labels.tsv")
    assert len(labels) == 9 and labels[0] == "?a_visit_?b"
    splits = {name: read_relation_split(tmp_path / f"{name}.jsonl") for name in ("train", "valid", "test")}
    assert {name: len(split) for name, split in splits.items()} == {"train": 53, "valid": 18, "test": 27}
    first = splits["test"][0]
    raw = read_xre_split(tmp_path / "test.jsonl")[0]
    assert first == RelationInstance(
        sentence=raw.zh,
        e1=raw.a,
        e2=raw.b,
        label=raw.label,
        doc_id=str(raw.pair_index),
        sent_id="0",
        relation_id=f"{raw.pair_index}-0",
        lang="zh",
        split="test",
    )
    for split in splits.values():
        assert {i.label for i in split} <= set(labels)
        ids = [i.relation_id for i in split]
        assert len(ids) == len(set(ids))  # conjoined arguments of one pair get their own ids


def test_config_errors_name_the_key(tmp_path, monkeypatch):
    from xlie.papers.prompt_xre.wmt_xre import WmtXreConfigError, build_step, input_files

    assert input_files(DEMO_OPTIONS) == [DEMO_OPTIONS["pairs"], DEMO_OPTIONS["conllu"]]
    assert input_files({**DEMO_OPTIONS, "source": "hub", "parser": "stanza"}) == []
    with pytest.raises(WmtXreConfigError, match=r"data\.wmt_xre\.parser: 'conllu'.*source 'hub'"):
        input_files({**DEMO_OPTIONS, "source": "hub"})
    with pytest.raises(WmtXreConfigError, match=r"data\.wmt_xre\.pairs: .*nowhere\.tsv' not found"):
        input_files({**DEMO_OPTIONS, "pairs": str(tmp_path / "nowhere.tsv")})
    with pytest.raises(WmtXreConfigError, match=r"data\.wmt_xre\.conllu: "):
        input_files({**DEMO_OPTIONS, "conllu": str(tmp_path / "nowhere.conllu")})

    import builtins

    real_import = builtins.__import__

    def no_parsers(name, *args, **kwargs):
        if name in ("spacy", "stanza"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_parsers)
    for parser, install in (("spacy", "pip install spacy"), ("stanza", "pip install stanza")):
        options = {**DEMO_OPTIONS, "parser": parser, "parser_model": "en_udv25_englishewt_trf"}
        with pytest.raises(WmtXreConfigError, match=rf"data\.wmt_xre\.parser = '{parser}'.*{install}"):
            build_step(options, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # failed before any work


def test_the_step_reads_the_first_max_pairs_of_a_local_file(tmp_path):
    from xlie.papers.prompt_xre.wmt_xre import AUTHORS_MAX_PAIRS, build_step

    assert AUTHORS_MAX_PAIRS == 1_000_000  # the authors' extract_data.py --sent_num default
    summary = build_step({**DEMO_OPTIONS, "max_pairs": 40}, tmp_path)
    assert json.loads((tmp_path / "stats.json").read_text(encoding="utf-8"))["pairs"] == 40
    assert "the first 40 pairs" in summary and "1,000,000 lines" in summary
    # the split sizes beside the paper's
    lines = summary.splitlines()
    assert any(line.split()[0] == "train" and line.split()[-1] == "888k" for line in lines)
    assert any(line.split()[0] == "valid" and line.split()[-1] == "21.2k" for line in lines)
    assert any(line.split()[0] == "test" and line.split()[-1] == "31.8k" for line in lines)
    assert not list(tmp_path.glob(".*"))  # the spool file is gone


# --- bounded memory: 100k generated pairs, one ?a-?b instance each, over 150 labels ---------------


class _GeneratedParses:
    """Parses of "<a> <verb> <b> ..." as nsubj-root-obj (the length filter drops every 97th pair)."""

    def count_tokens(self, text: str) -> int:
        return text.count(" ") + 1

    def parse(self, texts):
        parsed = []
        for text in texts:
            a, verb, b = text.split(" ")[:3]
            rows = ((a, "PROPN", 2, "nsubj"), (verb, "VERB", 0, "root"), (b, "NOUN", 2, "obj"))
            words = tuple(Word(i, f, f, u, "_", "_", h, d, "_", "_") for i, (f, u, h, d) in enumerate(rows, 1))
            parsed.append(ConlluSentence(0, {}, words))
        return parsed


def _generated_pairs(count: int):
    for i in range(count):
        long = " and so on" * 20 if i % 97 == 0 else ""
        yield ParallelPair(i, f"Agent{i} verb{i % 150} item{i}{long}", f"第{i}句：代理人处理了物品。")


def _build_generated(count: int, out_dir: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, stats = build_files(_generated_pairs(count), _GeneratedParses(), out_dir, WmtXreConfig())
    return {"stats": stats, "peak_growth_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}


def test_the_build_streams_100k_pairs_in_bounded_memory(tmp_path):
    """In a fresh process (its peak RSS is the build's): holding the 100k instances took ~58 MB more."""
    run = subprocess.run(
        [sys.executable, __file__, "100000", str(tmp_path)], capture_output=True, text=True, timeout=600, check=True
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    stats = result["stats"]
    assert stats["pairs"] == 100_000 and stats["dropped_longer_than_max_en_tokens"] == 1031
    assert stats["labels_kept"] == 106 and stats["instances"] == 100_000 - 1031
    assert (stats["valid_instances"], stats["test_instances"]) == (106 * 200, 106 * 300)  # the paper's 21.2k, 31.8k
    assert stats["train_instances"] == sum(1 for _ in (tmp_path / "train.jsonl").open(encoding="utf-8"))
    assert result["peak_growth_kib"] < 16 * 1024, result


if __name__ == "__main__":  # the subprocess of test_the_build_streams_100k_pairs_in_bounded_memory
    print(json.dumps(_build_generated(int(sys.argv[1]), sys.argv[2])))
