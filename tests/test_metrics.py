"""xlie.papers.topro.metrics: seqeval entity scores (default mode and strict IOB2), token accuracy, shapes, majority baseline."""

from __future__ import annotations

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from xlie.papers.topro import metrics

# Hand-written fixture: one sentence per case.
GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC"],  # 0: perfect match        gold PER[0:2] LOC[3:4]
    ["O", "B-ORG", "I-ORG", "O"],  # 1: broken tags          gold ORG[1:3]
    ["B-LOC", "I-LOC", "I-LOC", "O"],  # 2: boundary error       gold LOC[0:3]
    ["B-PER", "O"],  # 3: type error           gold PER[0:1]
]
PRED = [
    ["B-PER", "I-PER", "O", "B-LOC"],  # 0: PER[0:2] LOC[3:4]  -> 2 TP
    ["O", "I-ORG", "I-ORG", "O"],  # 1: I- without B-: strict IOB2 keeps no entity -> 1 FN
    ["B-LOC", "I-LOC", "O", "O"],  # 2: LOC[0:2] != LOC[0:3]  -> 1 FP, 1 FN
    ["B-ORG", "O"],  # 3: ORG[0:1] != PER[0:1]  -> 1 FP, 1 FN
]
# By hand (strict): gold entities 2+1+1+1 = 5, predicted 2+0+1+1 = 4, true positives 2.
#   precision = 2/4 = 0.5, recall = 2/5 = 0.4, F1 = 2*0.5*0.4/(0.5+0.4) = 0.4/0.9 = 4/9.
# (Lenient conlleval-style seqeval would read I-ORG I-ORG as ORG[1:3], a 3rd TP: P = R = F1 = 3/5.)
HAND_P, HAND_R, HAND_F1 = 0.5, 0.4, 4 / 9
# Token accuracy by hand: 14 tokens; wrong: s1 pos1, s2 pos2, s3 pos0 -> 11/14.
HAND_ACC = 11 / 14


def _seqeval(fn, gold, pred):
    return fn(gold, pred, mode="strict", scheme=IOB2, zero_division=0)


def test_entity_scores_match_seqeval_strict_and_hand_values():
    scores = metrics.entity_scores(GOLD, PRED, strict=True)
    assert scores["f1"] == pytest.approx(_seqeval(f1_score, GOLD, PRED))
    assert scores["f1"] == pytest.approx(f1_score(GOLD, PRED, mode="strict", scheme=IOB2))
    assert scores["precision"] == pytest.approx(_seqeval(precision_score, GOLD, PRED))
    assert scores["recall"] == pytest.approx(_seqeval(recall_score, GOLD, PRED))
    assert scores["precision"] == pytest.approx(HAND_P)
    assert scores["recall"] == pytest.approx(HAND_R)
    assert scores["f1"] == pytest.approx(HAND_F1)
    # the strict mode matters on this fixture: the default mode gives a different F1
    assert f1_score(GOLD, PRED) == pytest.approx(3 / 5)
    assert all(isinstance(v, float) for v in scores.values())


@pytest.mark.parametrize(
    "case, hand_f1",
    [
        (0, 1.0),  # perfect match
        (1, 0.0),  # broken: no predicted entity, 1 gold -> P 0 (zero_division), R 0
        (2, 0.0),  # boundary error
        (3, 0.0),  # type error
    ],
)
def test_each_case_alone_matches_seqeval(case, hand_f1):
    gold, pred = [GOLD[case]], [PRED[case]]
    scores = metrics.entity_scores(gold, pred, strict=True)
    assert scores["f1"] == pytest.approx(_seqeval(f1_score, gold, pred))
    assert scores["f1"] == pytest.approx(hand_f1)


def test_entity_scores_accept_tuples():
    gold = [tuple(s) for s in GOLD]
    pred = tuple(tuple(s) for s in PRED)
    assert metrics.entity_scores(gold, pred, strict=True)["f1"] == pytest.approx(HAND_F1)


def test_token_accuracy():
    assert metrics.token_accuracy(GOLD, PRED) == pytest.approx(HAND_ACC)
    assert metrics.token_accuracy(GOLD, GOLD) == 1.0
    assert metrics.token_accuracy([], []) == 0.0


def test_score_panx_has_all_metrics_and_f1_primary():
    scores = metrics.score("panx", GOLD, PRED)
    assert scores["primary_name"] == "f1"
    assert scores["primary"] == pytest.approx(3 / 5)  # the authors' default mode (see HAND_* note)
    assert scores["accuracy"] == pytest.approx(HAND_ACC)
    assert scores["f1_strict"] == pytest.approx(HAND_F1)
    assert scores["precision_strict"] == pytest.approx(HAND_P)
    assert scores["recall_strict"] == pytest.approx(HAND_R)
    assert scores["precision"] == scores["recall"] == scores["f1"] == pytest.approx(3 / 5)


def test_default_mode_is_the_authors_conlleval_reading():
    """The issue's example: I- without B- opens an entity in the authors' mode, not in strict IOB2."""
    gold, pred = [["B-PER", "I-PER", "O", "B-LOC"]], [["I-PER", "I-PER", "O", "I-LOC"]]
    scores = metrics.score("panx", gold, pred)
    assert scores["f1"] == 1.0 and scores["primary"] == 1.0 and scores["primary_name"] == "f1"
    assert scores["f1_strict"] == 0.0
    assert scores["f1"] == f1_score(gold, pred)  # seqeval's own default, as XTREME run_tag.py calls it


def test_score_udpos_primary_is_accuracy():
    gold = [["NOUN", "VERB", "PUNCT"], ["DET", "NOUN"]]
    pred = [["NOUN", "NOUN", "PUNCT"], ["DET", "NOUN"]]
    scores = metrics.score("udpos", gold, pred)
    assert scores["primary_name"] == "accuracy"
    assert scores["primary"] == pytest.approx(4 / 5)
    assert scores["accuracy"] == pytest.approx(4 / 5)
    assert "f1" not in scores


def test_shape_mismatch_names_sentence_index():
    pred = [list(s) for s in PRED]
    pred[2] = pred[2][:-1]
    for fn in (metrics.entity_scores, metrics.token_accuracy):
        with pytest.raises(ValueError, match=r"sentence 2: 4 gold tags but 3 predicted"):
            fn(GOLD, pred)
    with pytest.raises(ValueError, match=r"sentence 2"):
        metrics.score("panx", GOLD, pred)


def test_sentence_count_mismatch():
    with pytest.raises(ValueError, match=r"4 gold sentences but 3 predicted"):
        metrics.token_accuracy(GOLD, PRED[:3])


def test_majority_baseline_panx_is_all_o_with_f1_zero():
    train = [["O", "O", "B-PER", "I-PER"], ["B-LOC", "O", "O"]]
    assert metrics.majority_label(train) == "O"
    scores = metrics.majority_baseline("panx", train, GOLD)
    assert scores["label"] == "O"
    assert scores["f1"] == 0.0
    assert scores["primary"] == 0.0
    assert scores["precision"] == 0.0 and scores["recall"] == 0.0
    assert scores["f1_strict"] == 0.0
    o_tokens = sum(t == "O" for s in GOLD for t in s)
    assert scores["accuracy"] == pytest.approx(o_tokens / 14)


def test_majority_baseline_udpos():
    train = [["NOUN", "VERB", "NOUN"], ["NOUN", "PUNCT"]]
    gold = [["NOUN", "VERB"], ["NOUN", "NOUN", "PUNCT"]]
    scores = metrics.majority_baseline("udpos", train, gold)
    assert scores["label"] == "NOUN"
    assert scores["primary_name"] == "accuracy"
    assert scores["primary"] == pytest.approx(3 / 5)
