"""The string-level scorer on hand-made cases, and `python -m xlie score-ie` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xlie.cli import main
from xlie.papers.alignxie.parser import parse_output
from xlie.papers.alignxie.schema import Schema
from xlie.papers.alignxie.scorer import Scorer

SRC = Path(__file__).resolve().parents[1] / "src"


def score(task, pairs, **options):
    """pairs: (gold code, predicted text, sentence)."""
    scorer = Scorer(task, **options)
    for gold, predicted, sentence in pairs:
        scorer.add(parse_output(gold, task).records, parse_output(predicted, task), sentence)
    return scorer.result()


def counts(result):
    return result["tp"], result["fp"], result["fn"]


def test_ner_type_and_span_with_duplicates_as_multiset():
    gold = 'results = [Person("Ann"), Location("Paris")]'
    pred = 'results = [Person("Ann"), Person("Paris"), Person("Ann")]'
    result = score("ner", [(gold, pred, "")])
    assert counts(result) == (1, 2, 1)  # the second "Ann" is a false positive, not a second hit
    assert result["precision"] == pytest.approx(1 / 3) and result["recall"] == pytest.approx(1 / 2)
    assert result["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert counts(score("ner", [(gold, pred, "")], dedupe=True)) == (1, 1, 1)
    # A span the gold has twice is matched twice.
    twice = 'results = [Person("Ann"), Person("Ann")]'
    assert counts(score("ner", [(twice, twice, "")])) == (2, 0, 0)


def test_re_ignores_entity_classes_but_not_direction():
    gold = 'results = [Creator(Entity("No. 1 Croydon"), Entity("Seifert")), LocatedIn(Entity("Croydon"), Entity("London"))]'
    pred = 'results = [Creator(Building("No. 1 Croydon"), Human("Seifert")), LocatedIn(Entity("London"), Entity("Croydon"))]'
    assert counts(score("re", [(gold, pred, "")])) == (1, 1, 1)


def test_ed_trigger_and_type():
    gold = 'results = [Education("school"), Attack("bombed")]'
    pred = 'results = [Education("school"), Attack("school")]'
    assert counts(score("ed", [(gold, pred, "")])) == (1, 1, 1)


def test_eae_event_role_argument():
    gold = 'results = [Attack(trigger = "hit", target = [Entity("x"), Entity("y")], attacker = [Entity("z")])]'
    pred = 'results = [Attack(trigger = "hit", target = [Entity("x")], attacker = [Entity("y")])]'
    assert counts(score("eae", [(gold, pred, "")])) == (1, 1, 2)
    # Same argument under another event class is a miss.
    other = 'results = [Injure(trigger = "hit", target = [Entity("x")])]'
    assert counts(score("eae", [(gold, other, "")])) == (0, 1, 3)


def test_parse_failures_and_rejections_are_counted_not_fatal():
    gold = 'results = [Person("Ann")]'
    result = score(
        "ner", [(gold, "I think Ann is a person.", ""), (gold, 'results = [Person("Ann"), os.system("x")]', "")]
    )
    assert counts(result) == (1, 0, 1)
    assert result["parse_failures"] == 1 and result["rejected_items"] == 1 and result["instances"] == 2


def test_nothing_to_find_and_nothing_found():
    result = score("ner", [("results = []", "results = []", "")])
    assert counts(result) == (0, 0, 0) and result["f1"] == 0.0


def test_outlier_filter():
    sentence = "Ann met Bo in Paris."
    gold = 'results = [Person("Ann"), Location("Paris")]'
    pred = 'results = [Person("Ann"), Person("Zed"), Location("Paris"), Planet("Paris")]'
    assert counts(score("ner", [(gold, pred, sentence)])) == (2, 2, 0)
    assert counts(score("ner", [(gold, pred, sentence)], outliers=True)) == (2, 1, 0)  # Zed is not in the sentence
    schema = Schema.from_dict({"entities": [{"name": "Person"}, {"name": "Location"}]})
    assert counts(score("ner", [(gold, pred, sentence)], outliers=True, schema=schema)) == (2, 0, 0)
    # RE: head equal to tail is an outlier; EAE: a role the class lacks is dropped.
    pred_re = 'results = [Meet(Entity("Ann"), Entity("Ann")), Meet(Entity("Ann"), Entity("Bo"))]'
    assert counts(
        score("re", [('results = [Meet(Entity("Ann"), Entity("Bo"))]', pred_re, sentence)], outliers=True)
    ) == (1, 0, 0)
    events = Schema.from_dict({"events": [{"name": "Meet", "roles": ["entity", "place"]}]})
    pred_eae = 'results = [Meet(trigger = "met", entity = [Entity("Ann"), Entity("Zed")], weapon = [Entity("Bo")])]'
    gold_eae = 'results = [Meet(trigger = "met", entity = [Entity("Ann")])]'
    assert counts(score("eae", [(gold_eae, pred_eae, sentence)], outliers=True, schema=events)) == (1, 0, 0)


# ---------------------------------------------------------------- the command line


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows))
    return path


@pytest.fixture
def gold_file(tmp_path):
    return write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"id": "a", "sentence": "Ann lives in Paris.", "output": 'results = [Person("Ann"), Location("Paris")]'},
            {"id": "b", "sentence": "Bo slept.", "output": 'results = [Person("Bo")]'},
            {"id": 3, "sentence": "Nothing.", "output": "results = []"},
        ],
    )


def run_cli(*args):
    env = {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "xlie", *map(str, args)], capture_output=True, text=True, env=env)


def test_cli_scores_and_survives_hostile_predictions(tmp_path, gold_file):
    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {
                "id": "a",
                "output": 'Sure!\n```python\nresults = [Person("Ann"), __import__("os").system("touch pwned")]\n```',
            },
            {"id": 3, "output": "results = [" + "(" * 10_000},  # "b" is missing: an empty prediction
        ],
    )
    done = run_cli("score-ie", "--task", "ner", "--gold", gold_file, "--predictions", pred)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {k: result[k] for k in ("tp", "fp", "fn", "parse_failures", "missing_predictions")} == {
        "tp": 1,
        "fp": 0,
        "fn": 2,
        "parse_failures": 1,
        "missing_predictions": 1,
    }
    assert result["precision"] == 1.0 and result["recall"] == pytest.approx(1 / 3)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_cli_names_file_and_line_of_a_malformed_file(tmp_path, gold_file):
    bad_json = write_jsonl(tmp_path / "pred.jsonl", [{"id": "a", "output": "results = []"}, '{"id": "b", "output": '])
    done = run_cli("score-ie", "--task", "ner", "--gold", gold_file, "--predictions", bad_json)
    assert done.returncode == 2 and f"{bad_json}:2: bad JSON" in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    "gold_rows, pred_rows, message",
    [
        (None, [{"id": "a"}], "pred.jsonl:1: missing key(s) ['output']"),
        ([{"id": "a", "output": "results = []"}], [], "gold.jsonl:1: missing key(s) ['sentence']"),
        (None, [{"id": "zz", "output": ""}], "pred.jsonl:1: id 'zz' is not in"),
        (None, [{"id": "a", "output": ""}, {"id": "a", "output": ""}], "pred.jsonl:2: id 'a' already on line 1"),
        (None, ["[1, 2]"], "pred.jsonl:1: expected a JSON object, got list"),
        (None, [{"id": None, "output": ""}], "pred.jsonl:1: 'id' must be a string or an integer"),
        ([{"id": "a", "sentence": "s", "output": "Ann is a person"}], [], "gold.jsonl:1: gold 'output' is not clean"),
    ],
)
def test_malformed_files_exit_2(tmp_path, gold_file, capsys, gold_rows, pred_rows, message):
    gold = gold_file if gold_rows is None else write_jsonl(tmp_path / "gold.jsonl", gold_rows)
    pred = write_jsonl(tmp_path / "pred.jsonl", pred_rows)
    assert main(["score-ie", "--task", "ner", "--gold", str(gold), "--predictions", str(pred)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xlie score-ie: error: ") and message in err


def test_cli_missing_file_and_options(tmp_path, gold_file, capsys):
    assert (
        main(["score-ie", "--task", "ner", "--gold", str(gold_file), "--predictions", str(tmp_path / "no.jsonl")]) == 2
    )
    assert "no.jsonl: cannot read" in capsys.readouterr().err
    pred = write_jsonl(
        tmp_path / "pred.jsonl", [{"id": "a", "output": 'results = [Person("Ann"), Person("Zed"), Planet("Paris")]'}]
    )
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"entities": [{"name": "Person"}, {"name": "Location"}]}))
    argv = ["score-ie", "--task", "ner", "--gold", str(gold_file), "--predictions", str(pred), "--filter-outliers"]
    assert main(argv + ["--schema", str(schema)]) == 0
    assert json.loads(capsys.readouterr().out)["fp"] == 0
    schema.write_text(json.dumps({"entities": [{"name": "Person"}, {"name": "Person"}]}))
    assert main(argv + ["--schema", str(schema)]) == 2
    assert "duplicate entity class name 'Person'" in capsys.readouterr().err
