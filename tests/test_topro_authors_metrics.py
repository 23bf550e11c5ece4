"""The ToPro authors' metrics (xlie.papers.topro.authors_metrics) against golden figures from running
their own code (tests/data/golden/topro_authors_metrics.json), the raw outputs the methods hand them,
and the ToPro encoders' ``selection_metric`` option."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from xlie.papers.topro import metrics
from xlie.papers.topro.authors_metrics import (
    AUTHORS_ENCODER_SELECTION,
    AUTHORS_METRICS,
    render_items,
    seqeval_f1,
    span_f1,
    weighted_f1_swapped,
)
from xlie.papers.topro.labels import FALLBACK_LABEL, PANX
from xlie.papers.topro.params import ENCODER_SELECTION_METRICS
from xlie.papers.topro.xtreme import Sentence, read_xtreme_tsv
from xlie.pipeline.methods import Prediction

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden" / "topro_authors_metrics.json").read_text("utf-8"))
REPO = Path(__file__).resolve().parents[1]
CASES = [(family, case) for family, cases in GOLDEN["families"].items() for case in cases]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sentences_of(case: dict) -> list[Sentence]:
    return [Sentence(tuple(e["words"]), tuple(e["tags"])) for e in case["examples"]]


# ------------------------------------------------------------------------------- golden figures


def test_golden_file_names_their_commit_and_covers_every_metric():
    header = GOLDEN["header"]
    assert header["source"] == "https://github.com/boleima/ToPro" and len(header["commit"]) == 40
    assert set(GOLDEN["families"]) == set(AUTHORS_METRICS) == set(header["functions_run"])
    for family, cases in GOLDEN["families"].items():
        assert len(cases) >= 40, family
        assert {c["task"] for c in cases} == {"panx", "udpos"}, family


@pytest.mark.parametrize("family, case", CASES, ids=[f"{family}-{case['name']}" for family, case in CASES])
def test_reproduces_the_authors_figure(family, case):
    value = AUTHORS_METRICS[family](sentences_of(case), case["predicted"], case["outputs"])
    assert isinstance(value, float) and 0.0 <= value <= 1.0
    if case["expected"] is None:  # their call raised (scikit-learn on empty input); ours scores 0
        assert "authors_error" in case and value == 0.0
    else:
        assert value == pytest.approx(case["expected"], abs=1e-9)


def test_prediction_string_is_the_vanilla_target():
    from xlie.papers.topro.methods.vanilla_seq2seq import target_text

    for _, case in CASES:
        for example, tags in zip(case["examples"], case["predicted"]):
            assert render_items(example["words"], tags) == target_text(example["words"], tags)


def test_shape_mismatch_fails():
    sentence = Sentence(("a", "b"), ("O", "O"))
    for function in AUTHORS_METRICS.values():
        with pytest.raises(ValueError, match="predicted"):
            function([sentence], [["O"]])
    with pytest.raises(ValueError, match="outputs"):
        weighted_f1_swapped([sentence], [["O", "O"]], [[None]])


# ------------------------------------------------------------------ orientation on a shipped file


def every_fifth_corrupted(sentences: list[Sentence]) -> list[list[str]]:
    """Every 5th word of the file gets the next PAN-X label (20% noise, as the golden generator)."""
    out, k = [], 0
    for sentence in sentences:
        tags = []
        for tag in sentence.tags:
            tags.append(PANX[(PANX.index(tag) + 1) % len(PANX)] if k % 5 == 0 else tag)
            k += 1
        out.append(tags)
    return out


def test_orientation_figures_on_german_panx():
    """The issue's orientation, pinned to the authors' figures on the shipped German PAN-X file."""
    pinned = GOLDEN["orientation"]
    sentences = read_xtreme_tsv(REPO / pinned["file"], PANX)
    gold = [s.tags for s in sentences]
    noisy, all_o = every_fifth_corrupted(sentences), [["O"] * len(s.words) for s in sentences]
    ours = {
        "noisy_span_f1": span_f1(sentences, noisy),
        "noisy_seqeval_f1": seqeval_f1(sentences, noisy),
        "noisy_token_accuracy": metrics.token_accuracy(gold, noisy),
        "all_o_span_f1": span_f1(sentences, all_o),
        "all_o_seqeval_f1": seqeval_f1(sentences, all_o),
        "all_o_weighted_f1_right_order": metrics.weighted_token_f1(gold, all_o),
        "all_o_weighted_f1_swapped": weighted_f1_swapped(sentences, all_o),
        "noisy_weighted_f1_swapped": weighted_f1_swapped(sentences, noisy),
    }
    assert ours == pytest.approx(pinned["figures"], abs=1e-9)
    # span F1 is about token accuracy, far above entity F1; all-O scores high on it and swapped
    assert abs(ours["noisy_span_f1"] - ours["noisy_token_accuracy"]) < 0.01
    assert ours["noisy_span_f1"] > ours["noisy_seqeval_f1"] + 0.2
    assert ours["all_o_span_f1"] > 0.6 and ours["all_o_seqeval_f1"] == 0.0
    assert ours["all_o_weighted_f1_swapped"] > ours["all_o_weighted_f1_right_order"] + 0.2


def test_unmatched_generations_weigh_in_with_zero():
    """Their extra class: nothing matched scores 0, where our fallback (O) would score high."""
    sentences = [Sentence(("a", "b", "c"), ("O", "O", "B-PER"))]
    fallback = [["O", "O", "O"]]
    assert weighted_f1_swapped(sentences, fallback, [[None, None, None]]) == 0.0
    assert weighted_f1_swapped(sentences, fallback) == pytest.approx(0.8)  # 2*2/(2+3), O weighs all
    assert weighted_f1_swapped(sentences, fallback, [["O", "O", "O"]]) == weighted_f1_swapped(sentences, fallback)


# ------------------------------------------------------------------------ raw outputs of methods


def test_vanilla_mt5_outputs_are_generation_and_the_authors_target(tiny_models, panx_data):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from xlie.papers.topro.methods import vanilla_seq2seq as vanilla

    path = tiny_models[0]["mt5"]
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModelForSeq2SeqLM.from_pretrained(path).eval()
    dev = list(panx_data[1][:3])
    hp = vanilla.Params.from_dict({"max_target_length": 12, "num_beams": 1, "eval_batch_size": 4})
    prediction, texts = vanilla.predict_sentences(model, tokenizer, "panx", dev, hp)
    assert [o["generated"] for o in prediction.outputs] == texts
    full = vanilla.authors_target_texts(tokenizer, dev, 1000)
    assert full == [vanilla.target_text(s.words, s.tags) for s in dev]  # the tiny vocabulary knows every word
    for output, whole in zip(prediction.outputs, full):
        assert whole.startswith(output["target"]) and len(output["target"]) < len(whole)  # cut at 12 tokens
    assert 0.0 <= span_f1(dev, prediction.tags, prediction.outputs) <= 1.0


def test_llm_generate_outputs_mark_unmatched_words(tiny_models, monkeypatch):
    from xlie.papers.topro.methods import llm_zero_shot as llm

    def generate(self, ids, max_new_tokens):  # "person" for prompts about Anna, nothing usable otherwise
        prompts = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [" person" if "of Anna is" in p else " no idea" for p in prompts]

    monkeypatch.setattr(llm.LLM, "generate", generate)
    path = str(tiny_models[0]["causal"])
    data = [Sentence(("Anna", "sings", "Anna"), ("B-PER", "O", "B-PER")), Sentence((), ())]
    prediction = llm.load_predictor(path, "panx", {"mode": "generate"})(data)
    assert prediction.tags == [["B-PER", FALLBACK_LABEL["panx"], "B-PER"], []]
    assert prediction.outputs == [["B-PER", None, "B-PER"], []]
    assert prediction.counts["unmatched_generations"] == 1
    assert llm.load_predictor(path, "panx", {"mode": "logits"})(data).outputs is None


# ------------------------------------------------------------------- ToPro encoder dev selection


def test_selection_metric_option():
    from xlie.papers.topro.methods import topro_encoder as te

    assert te.Params.from_dict({}).selection_metric == "primary"
    assert AUTHORS_ENCODER_SELECTION in ENCODER_SELECTION_METRICS
    assert set(ENCODER_SELECTION_METRICS) - {"primary"} <= set(AUTHORS_METRICS)
    hp = te.Params.from_dict({"selection_metric": AUTHORS_ENCODER_SELECTION})
    assert te.selection_metric("panx", hp) == "weighted_f1_swapped"
    assert te.selection_metric("udpos", te.Params.from_dict({})) == "accuracy"
    with pytest.raises(ValueError, match="selection_metric"):
        te.Params.from_dict({"selection_metric": "seqeval"})


# Dev gold B-PER + 9 O. Epoch 1 predicts the entity and three false B-LOC: entity F1 0.4, swapped
# weighted F1 0.58. Epoch 2 predicts all O: entity F1 0, swapped weighted F1 18/19.
DEV = [Sentence(tuple("abcdefghij"), ("B-PER",) + ("O",) * 9)]
EPOCH_TAGS = [["B-PER", "B-LOC", "B-LOC", "B-LOC"] + ["O"] * 6, ["O"] * 10]


@pytest.mark.parametrize("option, best_epoch, metric", [("primary", 1.0, "f1"), ("weighted_f1_swapped", 2.0, None)])
def test_selection_follows_the_option(tiny_models, panx_data, tmp_path, monkeypatch, option, best_epoch, metric):
    from xlie.papers.topro.methods import topro_encoder as te
    from xlie.pipeline.jobs import dev_selection

    calls = []

    def scripted(model, tokenizer, task, sentences, **kwargs):  # the dev tags of each epoch end, in turn
        calls.append(len(sentences))
        return Prediction([list(EPOCH_TAGS[len(calls) - 1])], Counter())

    monkeypatch.setattr(te, "predict_fast", scripted)
    params = {"epochs": 2, "batch_size": 16, "grad_accum": 1, "verbalizer_lookup": "in_context"}
    params["selection_metric"] = option
    summary = te.train(
        str(tiny_models[0]["xlmr"]), "panx", panx_data[0][:6], DEV, tmp_path / "out", tmp_path / "ck", params, 1
    )
    assert calls == [1, 1]
    assert summary["best_epoch"] == best_epoch
    assert [h["f1"] for h in summary["dev_history"]] == pytest.approx([0.4, 0.0])
    metric = metric or option
    assert summary["selection"] == metric
    selected = dev_selection(str(tmp_path / "out"), SimpleNamespace(primary_metric="f1"))
    assert selected == {"metric": metric, "value": summary["best_dev"][metric]}
    if option == "primary":  # today's scores, nothing added
        assert "weighted_f1_swapped" not in summary["best_dev"]
    else:
        assert [h["weighted_f1_swapped"] for h in summary["dev_history"]] == pytest.approx([0.58, 18 / 19])
