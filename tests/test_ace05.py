"""ACE05 ingestion (ACE05-Processor output) on SYNTHETIC data in the same format, and its bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from xlie.papers.prompt_xre.ace05 import (
    CONFIG_KEY,
    DROP_REASONS,
    KEPT_CASES,
    LABELS,
    PAPER_KEPT,
    Ace05DirError,
    check_processed_dir,
    compare_with_paper,
    describe_comparison,
    describe_ingestion,
    ingest,
    ingest_step,
    instances_path,
    is_synthetic,
    normalise_mention_text,
    processed_files,
    read_document,
    read_instances,
)
from xlie.papers.prompt_xre.ace05_synthetic import BAD_MENTIONS, write_synthetic_ace05
from xlie.papers.prompt_xre.conllu import ConlluFormatError, parse_conllu


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return write_synthetic_ace05(tmp_path_factory.mktemp("ace05") / "processed-data", seed=0)


@pytest.fixture(scope="module")
def ingested(synthetic, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("ace05_out")
    return out, ingest(synthetic, out)


def test_generator_writes_the_processor_layout_labelled_synthetic(synthetic):
    assert "SYNTHETIC" in (synthetic / "README.SYNTHETIC.md").read_text(encoding="utf-8")
    for language in ("English", "Chinese", "Arabic"):
        for split in ("train", "dev", "test"):
            stems = {p.name.split(".")[0] for p in (synthetic / language / split).iterdir()}
            assert stems and all(stem.startswith("SYNTHETIC_") for stem in stems)
            for stem in stems:
                for suffix in (".conllu", ".v1.json", ".v2.json"):
                    assert (synthetic / language / split / f"{stem}{suffix}").is_file()
    v2 = json.loads((synthetic / "English" / "train" / "SYNTHETIC_EN_train_002.v2.json").read_text(encoding="utf-8"))
    assert set(v2) == {"entities", "events", "relations"}
    relation = v2["relations"][0]
    assert {"relation-id", "relation-type", "text", "sent_id", "position", "arguments"} <= relation.keys()
    assert {"text", "sent_id", "position", "role", "entity-id"} <= relation["arguments"][0].keys()
    # the relation's word span points at the words of its sentence in the .conllu
    sentences = parse_conllu(
        (synthetic / "English" / "train" / "SYNTHETIC_EN_train_002.conllu").read_text(encoding="utf-8")
    )
    words = [w.form for w in sentences[int(relation["sent_id"]) - 1].words]
    first, last = relation["arguments"][0]["position"]
    assert " ".join(words[first : last + 1]) == relation["arguments"][0]["text"].replace("\n", " ")


def test_generator_is_deterministic(tmp_path):
    a, b = write_synthetic_ace05(tmp_path / "a", seed=3), write_synthetic_ace05(tmp_path / "b", seed=3)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_ingestion_keeps_every_good_mention_and_counts_each_bad_one(ingested):
    out, stats = ingested
    assert list(stats.columns) == ["data", "lang", "split", "kept", *DROP_REASONS, *KEPT_CASES]
    assert (stats["data"] == "SYNTHETIC (not ACE 2005)").all()
    assert pd.read_csv(out / "stats.tsv", sep="\t").equals(stats)
    per_cell = stats.set_index(["lang", "split"])
    for lang in ("en", "zh", "ar"):
        assert per_cell.loc[(lang, "train"), "kept"] == 72
        assert per_cell.loc[(lang, "dev"), "kept"] == per_cell.loc[(lang, "test"), "kept"] == 18
        for reason in DROP_REASONS:
            expected = 1 if reason in BAD_MENTIONS else 0
            assert per_cell.loc[(lang, "train"), reason] == expected, (lang, reason)
        train = read_instances(instances_path(out, lang, "train"))
        assert len(train) == 72 and Counter(i.label for i in train).keys() == set(LABELS)
        for instance in train:
            assert instance.e1.replace(" ", "") in instance.sentence.replace(" ", "")
            assert "\n" not in instance.e1 + instance.e2 and instance.doc_id.startswith("SYNTHETIC_")
    # the strict rule keeps no mention of the kinds it drops; the second sentence of every synthetic
    # document breaks its Arg-1 text across lines (a space in en/ar, deleted in zh)
    never = ["kept_time_argument", "kept_argument_other_sentence", "kept_entity_not_in_sentence"]
    assert not stats[never].to_numpy().any()
    assert (per_cell["kept_newline_in_argument"] > 0).all()
    problems = pd.read_csv(out / "problems.tsv", sep="\t")
    dropped = problems[problems[list(DROP_REASONS)].sum(axis=1) > 0]
    assert len(dropped) == 3 and dropped["examples"].str.contains("BAD-time_argument").all()


def test_newlines_in_mentions_become_a_space_except_in_chinese(ingested):
    out, _ = ingested
    second = {
        lang: next(i for i in read_instances(instances_path(out, lang, "train")) if i.sent_id == "2")
        for lang in ("en", "zh", "ar")
    }
    for lang, instance in second.items():
        assert instance.e1 in instance.sentence, lang
    assert normalise_mention_text("southern\nPhilippines", "en") == "southern Philippines"
    assert normalise_mention_text("southern \n Philippines", "ar") == "southern Philippines"
    assert normalise_mention_text("华信\n公司", "zh") == "华信公司"


def test_comparison_with_the_paper_names_the_counts_that_differ(ingested):
    _, stats = ingested
    comparison = compare_with_paper(stats)
    assert (
        len(comparison) == 9
        and (comparison["paper"] == [PAPER_KEPT[(r.lang, r.split)] for r in comparison.itertuples()]).all()
    )
    text = describe_comparison(comparison)
    assert "9 of 9" in text and "ar/train 72 vs 2607" in text
    same = comparison.assign(kept=comparison["paper"], difference=0)
    assert "equal the paper's" in describe_comparison(same)
    one_off = same.copy()
    one_off.loc[0, ["kept", "difference"]] = [6652, -1]
    assert describe_comparison(one_off).endswith("en/train 6652 vs 6653 (-1)")


def test_incomplete_directory_names_the_split(tmp_path, synthetic):
    # a missing directory: tests/test_bad_inputs.py
    (tmp_path / "partial" / "English" / "train").mkdir(parents=True)
    (tmp_path / "partial" / "English" / "train" / "DOC.conllu").write_text("", encoding="utf-8")
    with pytest.raises(Ace05DirError, match=r"English/train.*|no <DOC>\.v2\.json"):
        check_processed_dir(tmp_path / "partial", ["en"], ["train"])
    with pytest.raises(Ace05DirError, match="Chinese"):
        ingest(tmp_path / "partial", tmp_path / "out", ["en", "zh"], ["train"])
    assert not (tmp_path / "out" / "en.train.jsonl").exists()  # checked before any work


def _document(tmp_path: Path, relations: list, sentences: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "DOC.conllu").write_text(sentences, encoding="utf-8")
    path = tmp_path / "DOC.v2.json"
    path.write_text(json.dumps({"entities": [], "events": [], "relations": relations}), encoding="utf-8")
    return path


CONLLU = "# sent_id = 1\n# text = Terrorists started firing at the hotel.\n1\tTerrorists\t_\tNOUN\t_\t_\t2\tnsubj\t_\t_\n2\tstarted\t_\tVERB\t_\t_\t0\troot\t_\t_\n\n"


def _relation(label="PHYS:Located", sent_id="1", e1="Terrorists", e2="hotel", **arg_sent):
    return {
        "relation-id": "R1",
        "relation-type": label,
        "text": "x",
        "sent_id": sent_id,
        "position": [0, 5],
        "arguments": [
            {
                "text": e1,
                "sent_id": arg_sent.get("a1", sent_id),
                "position": [0, 0],
                "role": "Arg-1",
                "entity-id": "E1",
            },
            {
                "text": e2,
                "sent_id": arg_sent.get("a2", sent_id),
                "position": [5, 5],
                "role": "Arg-2",
                "entity-id": "E2",
            },
        ],
    }


def test_each_kind_of_bad_mention_is_counted_with_an_example(tmp_path):
    swapped = _relation()
    swapped["arguments"][1]["role"] = "Arg-1"
    relations = [
        _relation(),
        _relation(label="PHYS:Teleported"),
        _relation(sent_id="7"),
        _relation(a2="2"),
        _relation(e2="embassy"),
        swapped,
        "not an object",
    ]
    timed = _relation()
    timed["arguments"].append({"text": "yesterday", "sent_id": "1", "position": [6, 6], "role": "Time-Within"})
    three = _relation()
    three["arguments"].append(dict(three["arguments"][1]))
    one = _relation()
    one["arguments"].pop()
    relations += [timed, three, one]
    instances, report = read_document(_document(tmp_path, relations, CONLLU), "en", "train")
    assert [(i.sentence, i.e1, i.e2, i.label) for i in instances] == [
        ("Terrorists started firing at the hotel.", "Terrorists", "hotel", "PHYS:Located")
    ]
    assert report.kept == 1
    assert dict(report.dropped) == {
        "label_unknown": 1,
        "sent_id_missing": 1,
        "argument_other_sentence": 1,
        "entity_not_in_sentence": 1,
        "roles_not_arg1_arg2": 1,
        "malformed_relation": 1,
        "time_argument": 1,
        "not_two_arguments": 2,
    }
    assert len(report.examples) == 3 and "PHYS:Teleported" in report.examples[0]


def test_malformed_json_names_file_and_line_and_the_run_goes_on(tmp_path, synthetic):
    root = tmp_path / "processed-data"
    for path in synthetic.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(synthetic)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    broken = root / "English" / "dev" / "SYNTHETIC_EN_dev_001.v2.json"
    broken.write_text('{"entities": [],\n"relations": [\n{"relation-id": oops}]}', encoding="utf-8")
    (root / "Arabic" / "test" / "SYNTHETIC_AR_test_002.conllu").unlink()
    stats = ingest(root, tmp_path / "out").set_index(["lang", "split"])
    assert stats.loc[("en", "dev"), "unreadable_file"] == 1 and stats.loc[("en", "dev"), "kept"] == 9
    assert stats.loc[("ar", "test"), "unreadable_file"] == 1 and stats.loc[("ar", "test"), "kept"] == 9
    assert stats.loc[("en", "train"), "kept"] == 72  # the other files were read
    problems = pd.read_csv(tmp_path / "out" / "problems.tsv", sep="\t")
    examples = " ".join(problems["examples"])
    assert f"{broken}:3: malformed JSON" in examples and "SYNTHETIC_AR_test_002.conllu: missing" in examples


def test_malformed_conllu_line_is_named(tmp_path):
    with pytest.raises(ConlluFormatError, match=r"x\.conllu:3: expected 10"):
        parse_conllu("# sent_id = 1\n# text = a b\n1\ta\n", tmp_path / "x.conllu")
    path = _document(tmp_path, [_relation()], CONLLU.replace("\t2\tnsubj", "\tX\tnsubj"))
    instances, report = read_document(path, "en", "train")
    assert not instances and report.dropped["unreadable_file"] == 1 and "DOC.conllu:3" in report.examples[0]


def test_synthetic_labels_are_learnable_by_a_bag_of_words(ingested):
    """A word-count classifier trained on train beats the majority class on test, in each language."""
    out, _ = ingested

    def words(instance):
        text = instance.sentence.replace(instance.e1, " ").replace(instance.e2, " ")
        return list(text.replace(" ", "")) if instance.lang == "zh" else text.split()

    for lang in ("en", "zh", "ar"):
        train, test = (read_instances(instances_path(out, lang, split)) for split in ("train", "test"))
        counts: dict[str, Counter] = {}
        for instance in train:
            counts.setdefault(instance.label, Counter()).update(words(instance))

        def predict(instance):
            return max(
                counts, key=lambda label: sum(counts[label][w] / sum(counts[label].values()) for w in words(instance))
            )

        accuracy = sum(predict(i) == i.label for i in test) / len(test)
        majority = Counter(i.label for i in train).most_common(1)[0][0]
        assert accuracy > sum(i.label == majority for i in test) / len(test) + 0.5, lang


def test_the_step_summary_sets_kept_counts_beside_the_paper_and_says_synthetic(synthetic, tmp_path):
    summary = ingest_step(synthetic, tmp_path / "out")
    assert summary.startswith("*** SYNTHETIC DATA, NOT ACE 2005 ***")
    assert "en   train      72   6653   -6581  time_argument 1, not_two_arguments 1" in summary
    assert "9 of 9" in summary and "ar/test 18 vs 305 (-287)" in summary
    comparison = pd.read_csv(tmp_path / "out" / "paper_comparison.tsv", sep="\t")
    assert list(comparison.columns) == ["data", "lang", "split", "kept", "paper", "difference"]
    assert (comparison["data"] == "SYNTHETIC (not ACE 2005)").all()


def test_real_data_is_not_called_synthetic(tmp_path):
    path = _document(tmp_path / "English" / "train", [_relation()], CONLLU)
    assert not is_synthetic(tmp_path)
    from xlie.papers.prompt_xre.ace05 import read_split, stats_table

    _, reports = read_split(tmp_path, "en", "train")
    stats = stats_table(reports, synthetic=is_synthetic(tmp_path))
    assert stats["data"].tolist() == ["ACE 2005 (ACE05-Processor)"]
    summary = describe_ingestion(stats, tmp_path)
    assert "SYNTHETIC" not in summary and "en/train 1 vs 6653 (-6652)" in summary
    assert path.is_file()


def test_processed_files_are_every_document_and_parse(synthetic, tmp_path):
    files = processed_files(synthetic)
    assert len(files) == 3 * (8 + 2 + 2) * 2  # languages x documents x (.v2.json, .conllu)
    assert {f.name.split(".", 1)[1] for f in files} == {"v2.json", "conllu"}
    with pytest.raises(Ace05DirError, match=CONFIG_KEY.replace(".", r"\.")):
        processed_files(tmp_path / "missing")


def test_synthetic_data_is_never_written_over_other_data(tmp_path, synthetic):
    from xlie.papers.prompt_xre.ace05 import check_synthetic_target

    check_synthetic_target(tmp_path / "new")  # absent: fine
    check_synthetic_target(synthetic)  # SYNTHETIC already: may be rewritten
    (tmp_path / "real" / "English").mkdir(parents=True)
    with pytest.raises(Ace05DirError, match=r"data\.ace05\.dir = .*real' holds data that is not SYNTHETIC"):
        check_synthetic_target(tmp_path / "real")


def test_the_authors_rule_takes_arguments_by_position_and_keeps_what_the_strict_rule_drops(tmp_path):
    """my_scripts/extract_ace05.py: any two arguments, arguments[0] and [1], newlines deleted in every
    language, no check of the argument's sentence or of the text's presence; each case counted."""
    reversed_roles = _relation()
    reversed_roles["arguments"].reverse()
    with_time = _relation()
    with_time["arguments"][1] = {"text": "yesterday", "sent_id": "1", "position": [6, 6], "role": "Time-Within"}
    swapped = _relation()
    swapped["arguments"][1]["role"] = "Arg-1"
    three = _relation()
    three["arguments"].append(dict(three["arguments"][1]))
    relations = [
        _relation(),
        _relation(e1="Terror\nists", e2="the\nhotel"),
        reversed_roles,
        with_time,
        swapped,
        _relation(a2="2"),
        _relation(e2="embassy"),
        _relation(label="PHYS:Teleported"),  # dropped: their 18-class head could not learn it
        _relation(sent_id="7"),  # dropped: their code stops with a KeyError
        three,
        "not an object",
    ]
    path = _document(tmp_path, relations, CONLLU)
    instances, report = read_document(path, "en", "train", protocol="authors")
    sentence = "Terrorists started firing at the hotel."
    assert [(i.sentence, i.e1, i.e2) for i in instances] == [
        (sentence, "Terrorists", "hotel"),
        (sentence, "Terrorists", "thehotel"),  # deleted, not made a space
        (sentence, "hotel", "Terrorists"),  # by position: E1 is the Arg-2 listed first
        (sentence, "Terrorists", "yesterday"),  # a Time argument is E2
        (sentence, "Terrorists", "hotel"),
        (sentence, "Terrorists", "hotel"),  # Arg-2 in sentence 2: the relation's sentence all the same
        (sentence, "Terrorists", "embassy"),
    ]
    assert dict(report.dropped) == {
        "label_unknown": 1,
        "sent_id_missing": 1,
        "not_two_arguments": 1,
        "malformed_relation": 1,
    }
    assert dict(report.cases) == {
        "kept_newline_in_argument": 1,
        "kept_arguments_reversed": 1,
        "kept_time_argument": 1,
        "kept_roles_not_arg1_arg2": 2,
        "kept_argument_other_sentence": 1,
        "kept_entity_not_in_sentence": 2,  # "embassy", and the time word not in the sentence
    }
    # the strict rule on the same document: the same cases are drops, the newline a space
    strict, strict_report = read_document(path, "en", "train")
    assert [(i.e1, i.e2) for i in strict] == [
        ("Terrorists", "hotel"),
        ("Terror ists", "the hotel"),
        ("Terrorists", "hotel"),
    ]
    assert dict(strict_report.cases) == {"kept_newline_in_argument": 1, "kept_arguments_reversed": 1}
    with pytest.raises(ValueError, match=r"data\.ace05\.protocol: 'loose'"):
        read_document(path, "en", "train", protocol="loose")


def test_the_step_under_the_authors_rule_counts_each_case(synthetic, tmp_path):
    summary = ingest_step(synthetic, tmp_path / "out", protocol="authors")
    assert "kept by the authors' rule: exactly two arguments, by position" in summary
    stats = pd.read_csv(tmp_path / "out" / "stats.tsv", sep="\t").set_index(["lang", "split"])
    # the synthetic bad mentions: Time as a third argument and a single argument are both not two
    assert stats.loc[("en", "train"), "not_two_arguments"] == 2 and stats.loc[("en", "train"), "time_argument"] == 0
    assert stats.loc[("en", "train"), "kept"] == 72 and (stats["kept_newline_in_argument"] > 0).all()
    english = read_instances(instances_path(tmp_path / "out", "en", "train"))
    assert not any("\n" in i.e1 for i in english) and any(" " not in i.e1 and i.sent_id == "2" for i in english)
