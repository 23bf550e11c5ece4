"""ToPro on mT5 (constrained label scoring) and Vanilla mT5 (generate + parse), on tiny models."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from xlie.papers.topro import metrics
from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, PANX, UDPOS
from xlie.pipeline.registry import method_spec
from xlie.papers.topro.methods import topro_seq2seq as topro
from xlie.papers.topro.methods import vanilla_seq2seq as vanilla
from xlie.papers.topro.prompts import topro_seq2seq_prompt


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def mt5(tiny_models):
    path = tiny_models[0]["mt5"]
    return path, AutoTokenizer.from_pretrained(path), AutoModelForSeq2SeqLM.from_pretrained(path).eval()


def test_registered_in_method_table():
    assert method_spec("topro", "mt5").name == "topro_seq2seq"
    assert method_spec("vanilla", "mt5").name == "vanilla_seq2seq"


# ----------------------------------------------------------------------------------- params


@pytest.mark.parametrize("module", [topro, vanilla])
def test_params_defaults_and_strictness(module):
    hp = module.Params.from_dict({})
    assert (hp.learning_rate, hp.batch_size, hp.grad_accum, hp.epochs, hp.bf16) == (3e-5, 24, 4, 10, False)
    assert (
        module.Params.from_dict({"learning_rate": "3e-5", "epochs": 5}).learning_rate == 3e-5
    )  # YAML reads 3e-5 as str
    with pytest.raises(TypeError, match="lerning_rate"):
        module.Params.from_dict({"lerning_rate": 1e-3})
    with pytest.raises(TypeError, match="expected float"):
        module.Params.from_dict({"learning_rate": "fast"})


def test_dropout_override_reaches_every_dropout_module(mt5):
    path, _, _ = mt5
    assert AutoModelForSeq2SeqLM.from_pretrained(path).config.dropout_rate == 0.1  # the config's own
    model = topro.load_for_training(str(path), 0.0)
    assert model.config.dropout_rate == 0.0
    assert {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)} == {0.0}


def test_vanilla_params_paper_generation_settings():
    hp = vanilla.Params()
    assert (hp.max_source_length, hp.max_target_length, hp.min_length, hp.num_beams) == (128, 150, 10, 3)
    assert hp.early_stopping is True


def test_vanilla_generates_as_the_authors_min_10_max_150_decoder_tokens(mt5, udpos_data):
    """run_tag_t5.py: generate(num_beams=3, min_length=10, max_length=150, early_stopping=True), lengths
    in decoder tokens with the start token: at most 149 generated, and no end before the 10th token.
    (early_stopping changes outputs where beams end at different steps: tools/benchmark_vanilla_seq2seq.py
    --stop rising shows it against the authors' call.)"""
    _, tokenizer, model = mt5
    hp = vanilla.Params(max_target_length=14, min_length=10, num_beams=1, eval_batch_size=4)
    features, _ = vanilla.encode(tokenizer, "udpos", udpos_data[0][:4], hp, with_targets=False)
    seen = []
    generate = model.generate
    model.generate = lambda **kw: seen.append(kw["generation_config"]) or generate(**kw)
    try:
        texts, _ = vanilla.generate_texts(model, tokenizer, features, hp)
    finally:
        model.generate = generate
    assert (seen[0].max_length, seen[0].min_length, seen[0].max_new_tokens) == (14, 10, None)
    assert seen[0].early_stopping is True
    lengths = [len(tokenizer(text_target=t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert len(texts) == 4 and max(lengths) <= 13


# ----------------------------------------------------------------------------------- ToPro inputs


def test_topro_instances_one_prompt_per_word(mt5):
    _, tokenizer, _ = mt5
    sentence = Sentence(("Paris", "is", "nice"), ("B-LOC", "O", "O"))
    inst = topro.encode_instances(tokenizer, "panx", [sentence], 128, with_targets=True)
    assert inst.index == [(0, 0), (0, 1), (0, 2)]
    assert inst.prompt_too_long == [] and inst.truncated_context == 0
    for (_, j), feature in zip(inst.index, inst.features):
        expected = tokenizer("Paris is nice", topro_seq2seq_prompt("panx", sentence.words[j]))["input_ids"]
        assert feature["input_ids"] == expected
        # mT5 pair template: sentence </s> prompt </s>; the target is the raw tag string + </s>
        assert tokenizer.decode(feature["input_ids"], skip_special_tokens=True).replace(" ", "") == (
            "Paris is nice" + f"The named entity of {sentence.words[j]} is a kind of: ."
        ).replace(" ", "")
        assert feature["labels"][-1] == tokenizer.eos_token_id
        assert tokenizer.decode(feature["labels"], skip_special_tokens=True).strip() == sentence.tags[j]


def test_topro_truncation_shortens_sentence_never_prompt(mt5):
    _, tokenizer, _ = mt5
    words = tuple(f"word{i}" for i in range(60))
    sentence = Sentence(words, ("NOUN",) * 60)
    inst = topro.encode_instances(tokenizer, "udpos", [sentence], 40, with_targets=False)
    assert len(inst.features) == 60 and inst.truncated_context == 60
    for (_, j), feature in zip(inst.index, inst.features):
        ids = feature["input_ids"]
        prompt = tokenizer(topro_seq2seq_prompt("udpos", words[j]), add_special_tokens=False)["input_ids"]
        assert len(ids) == 40
        assert ids[-len(prompt) - 1 :] == prompt + [tokenizer.eos_token_id]  # the whole prompt survives
        kept = 40 - len(prompt) - 2
        assert (
            ids[:kept] == tokenizer(" ".join(words), add_special_tokens=False)["input_ids"][:kept]
        )  # sentence head kept


def test_topro_prompt_too_long_gets_fallback_and_is_counted(mt5):
    _, tokenizer, model = mt5
    sentences = [Sentence(("ok", "x" * 300, "fine"), ("NOUN", "X", "ADJ"))]
    prediction = topro.predict_sentences(model, tokenizer, "udpos", sentences, max_length=24, batch_size=4)
    assert prediction.counts["prompt_too_long"] == 1
    assert prediction.counts["prompts"] == 2
    assert prediction.tags[0][1] == FALLBACK_LABEL["udpos"]
    assert all(tag in UDPOS for tag in prediction.tags[0])


def test_label_targets_reject_indistinguishable_labels(mt5):
    _, tokenizer, _ = mt5
    with pytest.raises(ValueError, match="same ids"):
        topro.label_targets(tokenizer, ["NOUN", "\u2603", "\u2604"])  # both snowman and comet -> <unk>


# ----------------------------------------------------------------------------------- constrained scoring


@pytest.mark.parametrize("task,labels", [("panx", PANX), ("udpos", UDPOS)])
def test_constrained_scoring_equals_brute_force_per_label_loop(mt5, udpos_data, task, labels):
    _, tokenizer, model = mt5
    sentences = [udpos_data[1][0], Sentence(("Short", "one"), ("ADJ", "NUM")), udpos_data[1][3]]
    inst = topro.encode_instances(tokenizer, task, sentences, 128, with_targets=False)
    features = inst.features[:3] + inst.features[-4:]  # mixed lengths -> padding inside a batch
    scorer = topro.LabelScorer(model, tokenizer, labels)
    scores = topro.score_instances(model, tokenizer, scorer, features, batch_size=4)
    targets = topro.label_targets(tokenizer, labels)
    with torch.inference_mode():
        for row, feature in enumerate(features):
            brute = []
            for label in labels:  # one forward per (prompt, label): -mean CE * length = summed log-likelihood
                target = torch.tensor([targets[label]])
                loss = model(input_ids=torch.tensor([feature["input_ids"]]), labels=target).loss
                brute.append(-loss.item() * target.shape[1])
            assert torch.allclose(scores[row], torch.tensor(brute), atol=1e-3), (scores[row], brute)
            assert int(scores[row].argmax()) == max(range(len(labels)), key=brute.__getitem__)


def test_constrained_prediction_is_always_a_valid_label(mt5, panx_data):
    _, tokenizer, model = mt5
    dev = panx_data[1][:8] + [Sentence((), ())]
    prediction = topro.predict_sentences(model, tokenizer, "panx", dev, max_length=128, batch_size=16)
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in dev]
    assert {tag for tags in prediction.tags for tag in tags} <= set(PANX)
    assert prediction.counts["prompts"] == sum(len(s.words) for s in dev)


# ----------------------------------------------------------------------------------- training


def _losses(summary):
    return [entry["loss"] for entry in summary["train_loss_history"]]


def test_topro_trains_selects_and_resumes(mt5, panx_data, tmp_path):
    path, _, _ = mt5
    train, dev = panx_data
    params = dict(
        learning_rate=3e-3,
        batch_size=16,
        grad_accum=1,
        epochs=2,
        logging_steps=4,
        dev_max_sentences=12,
        eval_batch_size=64,
    )
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    summary = topro.train(str(path), "panx", train, dev, out, ckpt, params, seed=1)
    losses = _losses(summary)
    assert len(losses) >= 4 and sum(losses[-2:]) / 2 < 0.5 * sum(losses[:2]) / 2
    assert summary["resumed_from"] is None
    assert [e["epoch"] for e in summary["dev_history"]] == [1.0, 2.0]
    assert summary["best_dev"]["f1"] == max(e["eval_f1"] for e in summary["dev_history"])
    assert summary["counts"]["train_instances"] == sum(len(s.words) for s in train)
    assert summary["counts"]["dev_sentences"] == 12
    assert json.loads((out / "xlie_training.json").read_text())["best_dev"] == summary["best_dev"]
    predict = topro.load_predictor(str(out), "panx", params)
    prediction = predict(dev[:12])
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in dev[:12]]
    assert {tag for tags in prediction.tags for tag in tags} <= set(PANX)
    # the saved model is the selected epoch: it reproduces that epoch's dev scores exactly
    rescored = metrics.score("panx", [s.tags for s in dev[:12]], prediction.tags)
    assert rescored["accuracy"] == pytest.approx(summary["best_dev"]["accuracy"])
    assert rescored["f1"] == pytest.approx(summary["best_dev"]["f1"])

    # one more epoch: continues from the epoch-2 checkpoint instead of starting over
    resumed = topro.train(str(path), "panx", train, dev, out, ckpt, {**params, "epochs": 3}, seed=1)
    assert resumed["resumed_from"] is not None and resumed["resumed_from"].endswith(
        f"checkpoint-{summary['global_steps']}"
    )
    assert [e["epoch"] for e in resumed["dev_history"]] == [1.0, 2.0, 3.0]
    assert resumed["dev_history"][:2] == summary["dev_history"]
    assert resumed["global_steps"] > summary["global_steps"]


def test_vanilla_trains_and_resumes(mt5, udpos_data, tmp_path):
    path, _, _ = mt5
    train, dev = udpos_data
    train = train[:40]
    params = dict(
        learning_rate=3e-3,
        batch_size=8,
        grad_accum=1,
        epochs=2,
        logging_steps=2,
        dev_max_sentences=4,
        max_target_length=48,
        num_beams=2,
    )
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    summary = vanilla.train(str(path), "udpos", train, dev, out, ckpt, params, seed=1)
    losses = _losses(summary)  # 10 steps only: a clear but smaller drop than ToPro's
    assert len(losses) >= 4 and sum(losses[-2:]) / 2 < 0.85 * sum(losses[:2]) / 2
    assert [e["epoch"] for e in summary["dev_history"]] == [1.0, 2.0]
    assert summary["best_dev"]["accuracy"] == max(e["eval_accuracy"] for e in summary["dev_history"])
    assert summary["counts"]["train_truncated_targets"] > 0  # 48 target tokens cut most sentences: counted
    assert (out / "xlie_training.json").is_file()
    prediction = vanilla.load_predictor(str(out), "udpos", params)(dev[:4])
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in dev[:4]]
    assert {tag for tags in prediction.tags for tag in tags} <= set(UDPOS)
    assert set(vanilla.PARSE_COUNT_KEYS) | {"truncated_inputs", "truncated_outputs"} <= set(prediction.counts)
    assert prediction.counts["invalid_items"] + prediction.counts["missing_words"] <= sum(len(s.words) for s in dev[:4])
    # the saved model is the selected epoch: it reproduces that epoch's dev accuracy and counts
    rescored = metrics.score("udpos", [s.tags for s in dev[:4]], prediction.tags)
    assert rescored["accuracy"] == pytest.approx(summary["best_dev"]["accuracy"])
    assert prediction.counts["invalid_items"] == summary["best_dev"]["invalid_items"]

    resumed = vanilla.train(str(path), "udpos", train, dev, out, ckpt, {**params, "epochs": 3}, seed=1)
    assert resumed["resumed_from"].endswith(f"checkpoint-{summary['global_steps']}")
    assert [e["epoch"] for e in resumed["dev_history"]] == [1.0, 2.0, 3.0]


# ----------------------------------------------------------------------------------- Vanilla I/O


def test_vanilla_source_and_target_text():
    s = Sentence(("Paris", ":", "nice"), ("PROPN", "PUNCT", "ADJ"))
    assert vanilla.source_text("udpos", s.words) == "POS tagging: Paris : nice"
    assert vanilla.source_text("panx", s.words) == "tag: Paris : nice"
    assert vanilla.target_text(s.words, s.tags) == "PROPN: Paris $$ PUNCT: : $$ ADJ: nice"


def test_vanilla_encode_counts_cut_targets_and_sources(mt5, udpos_data):
    _, tokenizer, _ = mt5
    train = udpos_data[0][:10]
    hp = vanilla.Params(max_source_length=12, max_target_length=20)
    features, counts = vanilla.encode(tokenizer, "udpos", train, hp, with_targets=True)
    assert all(len(f["input_ids"]) <= 12 and len(f["labels"]) <= 20 for f in features)
    assert all(f["labels"][-1] == tokenizer.eos_token_id for f in features)
    long_sources = sum(len(tokenizer(vanilla.source_text("udpos", s.words))["input_ids"]) > 12 for s in train)
    assert counts["truncated_inputs"] == long_sources > 0
    assert counts["truncated_targets"] == 10


def test_target_round_trips_through_tokenizer_and_parser(mt5, udpos_data):
    _, tokenizer, _ = mt5
    for s in udpos_data[1][:5] + [Sentence(("Time", ":", "10:30", "!"), ("NOUN", "PUNCT", "NUM", "PUNCT"))]:
        ids = tokenizer(text_target=vanilla.target_text(s.words, s.tags))["input_ids"]
        text = tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        tags, counts = vanilla.parse_tagged_output(text, s.words, UDPOS)
        assert tags == list(s.tags)
        assert counts["invalid_items"] == counts["missing_words"] == counts["extra_items"] == 0


# ----------------------------------------------------------------------------------- the parser

WORDS = ("Paris", "is", ":", "nice")
ZERO = dict.fromkeys(vanilla.PARSE_COUNT_KEYS, 0)


def parse(text, words=WORDS, labels=UDPOS):
    return vanilla.parse_tagged_output(text, words, labels)


def test_parse_clean_output_including_the_colon_word():
    tags, counts = parse("PROPN: Paris $$ AUX: is $$ PUNCT: : $$ ADJ: nice")
    assert tags == ["PROPN", "AUX", "PUNCT", "ADJ"] and counts == ZERO


def test_parse_colon_inside_word_splits_at_first_colon():
    tags, counts = parse("NUM: 10:30 $$ X: http://a.b", words=("10:30", "http://a.b"))
    assert tags == ["NUM", "X"] and counts == ZERO


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_parse_empty_output_means_every_word_missing(text):
    tags, counts = parse(text)
    assert tags == ["X"] * 4 and counts == {**ZERO, "missing_words": 4}


def test_parse_garbage():
    tags, counts = parse("the cat sat on the mat")
    assert tags == ["X"] * 4 and counts == {**ZERO, "invalid_items": 1, "missing_words": 3}


def test_parse_truncated_mid_item():
    tags, counts = parse("PROPN: Paris $$ AUX: is $$ PUN")  # no colon in the cut item
    assert tags == ["PROPN", "AUX", "X", "X"] and counts == {**ZERO, "invalid_items": 1, "missing_words": 1}
    tags, counts = parse("PROPN: Paris $$ AUX: i")  # cut inside the word: label kept, mismatch counted
    assert tags == ["PROPN", "AUX", "X", "X"] and counts == {**ZERO, "word_mismatch": 1, "missing_words": 2}
    tags, counts = parse("PROPN: Paris $$")  # cut right after a separator: no empty item invented
    assert tags == ["PROPN", "X", "X", "X"] and counts == {**ZERO, "missing_words": 3}


def test_parse_doubled_and_leading_separators_are_empty_items():
    tags, counts = parse("PROPN: Paris $$ $$ AUX: is $$ PUNCT: :")
    assert tags == ["PROPN", "X", "AUX", "PUNCT"]
    assert counts == {**ZERO, "invalid_items": 1, "word_mismatch": 2}  # positions shifted by the empty item
    tags, counts = parse("$$ PROPN: Paris")
    assert tags == ["X", "PROPN", "X", "X"] and counts["invalid_items"] == 1 and counts["missing_words"] == 2


def test_parse_lower_case_and_unknown_labels_are_invalid():
    tags, counts = parse("propn: Paris $$ VERBAL: is $$ PUNCT: : $$ adj: nice")
    assert tags == ["X", "X", "PUNCT", "X"] and counts == {**ZERO, "invalid_items": 3}


def test_parse_tolerates_extra_whitespace_and_missing_spaces():
    tags, counts = parse("  PROPN :   Paris$$AUX:is $$\tPUNCT:: $$ ADJ: nice  ")
    assert tags == ["PROPN", "AUX", "PUNCT", "ADJ"] and counts == ZERO


def test_parse_extra_items_are_ignored_and_counted():
    tags, counts = parse("PROPN: Paris $$ AUX: is $$ PUNCT: : $$ ADJ: nice $$ NOUN: more $$ X: again")
    assert tags == ["PROPN", "AUX", "PUNCT", "ADJ"] and counts == {**ZERO, "extra_items": 2}


def test_parse_word_mismatch_keeps_label():
    tags, counts = parse("PROPN: London $$ AUX: is $$ PUNCT: : $$ ADJ: nice")
    assert tags == ["PROPN", "AUX", "PUNCT", "ADJ"] and counts == {**ZERO, "word_mismatch": 1}


def test_parse_panx_fallback_is_O_and_labels_are_the_panx_set():
    tags, counts = parse("B-LOC: Paris $$ NOUN: is $$ O: :", labels=PANX)
    assert tags == ["B-LOC", "O", "O", "O"] and counts == {**ZERO, "invalid_items": 1, "missing_words": 1}


def test_parse_never_raises_on_hostile_strings():
    for text in ["$$", "$$$$$$", ":", "::::", "$$:$$:", "B-LOC:", "\x00\uffff", "PROPN: Paris $$ " * 50, "{word}: {0}"]:
        tags, counts = parse(text)
        assert len(tags) == 4 and set(tags) <= set(UDPOS)
        assert set(counts) == set(vanilla.PARSE_COUNT_KEYS) and min(counts.values()) >= 0
        assert counts["invalid_items"] + counts["missing_words"] + counts["word_mismatch"] <= 4


def test_parse_scores_with_metrics():
    gold = [["PROPN", "AUX", "PUNCT", "ADJ"]]
    tags, _ = parse("PROPN: Paris $$ AUX: is")
    assert metrics.score("udpos", gold, [tags])["accuracy"] == 0.5
