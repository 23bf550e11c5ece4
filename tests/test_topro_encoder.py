"""ToPro on encoders: decomposition, truncation, verbalizer checks, training/resume, fast == faithful."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, BertTokenizerFast

from xlie.papers.topro import metrics
from xlie.papers.topro.xtreme import Sentence, read_xtreme_tsv
from xlie.papers.topro.labels import FALLBACK_LABEL, PANX, UDPOS
from xlie.papers.topro.methods import topro_encoder as te
from xlie.papers.topro.prompts import topro_encoder_prompt
from xlie.papers.topro.verbalizers import VERBALIZERS

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "xtreme"
MULTI_PIECE = "zzqxlocationqq"  # not in any vocabulary: many pieces


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def load(tiny_models, family: str):
    path = tiny_models[0][family]
    return AutoModelForMaskedLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path), path


def test_params_are_strict():
    assert te.Params.from_dict({}).learning_rate == 1e-5
    assert te.Params.from_dict({"epochs": 2, "verbalizer_policy": "first_piece"}).epochs == 2
    with pytest.raises(TypeError, match="lr"):
        te.Params.from_dict({"lr": 1e-3})
    with pytest.raises(ValueError, match="verbalizer_policy"):
        te.Params.from_dict({"verbalizer_policy": "longest"})


def test_one_prompt_per_word(panx_data):
    sentences = panx_data[1]
    prompts = te.build_prompts("panx", sentences, "<mask>")
    assert len(prompts) == sum(len(s.words) for s in sentences)
    i, j, text_a, text_b = prompts[3]
    assert text_a == " ".join(sentences[i].words)
    assert text_b == topro_encoder_prompt("panx", sentences[i].words[j], "<mask>")
    assert [(p[0], p[1]) for p in prompts] == [(i, j) for i, s in enumerate(sentences) for j in range(len(s.words))]


@pytest.mark.parametrize("family", ["bert", "xlmr"])
def test_verbalizer_ids_are_the_words_after_a_space(tiny_models, family):
    _, tokenizer, path = load(tiny_models, family)
    for task in ("panx", "udpos"):
        ids, first_piece = te.verbalizer_ids(tokenizer, task, "strict", path, lookup="in_context")
        assert first_piece == []
        words = [VERBALIZERS[task][label] for label in (PANX if task == "panx" else UDPOS)]
        assert tokenizer.convert_ids_to_tokens(ids) == [f"\u2581{w}" for w in words]


def test_strict_verbalizer_names_word_label_and_model(tiny_models, monkeypatch):
    _, tokenizer, path = load(tiny_models, "xlmr")
    monkeypatch.setitem(VERBALIZERS["panx"], "B-LOC", MULTI_PIECE)
    with pytest.raises(ValueError) as error:
        te.verbalizer_ids(tokenizer, "panx", "strict", path, lookup="in_context")
    message = str(error.value)
    assert MULTI_PIECE in message and "'B-LOC'" in message and str(path) in message


def test_vocabulary_entry_lookup_is_the_authors_convert_tokens_to_ids():
    """The authors' lookup: the bare word's vocabulary entry (WordPiece ``location``, XLM-R's piece
    ``location``, not ``▁location``); a word with no entry fails naming word and model."""
    words = sorted({w for task in VERBALIZERS for w in VERBALIZERS[task].values()})
    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, "##s"])}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=False)
    for task in ("panx", "udpos"):
        ids, first_piece = te.verbalizer_ids(tokenizer, task, "strict", "tiny-bert", lookup="vocabulary_entry")
        labels = PANX if task == "panx" else UDPOS
        assert ids == [vocab[VERBALIZERS[task][label]] for label in labels] and first_piece == []
    del vocab["person"]
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=False)
    with pytest.raises(ValueError, match="'person' of label 'B-PER'.*tiny-bert.*in_context"):
        te.verbalizer_ids(tokenizer, "panx", "strict", "tiny-bert", lookup="vocabulary_entry")


def test_vocabulary_entry_is_not_the_piece_after_a_space(tiny_models):
    """The demo's SentencePiece vocabulary holds ``▁person`` but not the bare ``person``."""
    _, tokenizer, path = load(tiny_models, "xlmr")
    assert tokenizer.convert_tokens_to_ids("\u2581person") != tokenizer.unk_token_id
    with pytest.raises(ValueError, match=f"'person' of label 'B-PER'.*not an entry of the vocabulary of {path}"):
        te.verbalizer_ids(tokenizer, "panx", "strict", path, lookup="vocabulary_entry")
    with pytest.raises(ValueError, match="verbalizer_lookup"):
        te.Params.from_dict({"verbalizer_lookup": "bare"})


def test_first_piece_fallback_is_recorded(tiny_models, monkeypatch, panx_data):
    _, tokenizer, path = load(tiny_models, "xlmr")
    monkeypatch.setitem(VERBALIZERS["panx"], "B-LOC", MULTI_PIECE)
    ids, first_piece = te.verbalizer_ids(tokenizer, "panx", "first_piece", path, lookup="in_context")
    assert first_piece == ["B-LOC"]
    pieces = tokenizer(f"of: {MULTI_PIECE}", add_special_tokens=False)["input_ids"][2:]  # after "▁of", ":"
    assert len(pieces) > 1 and ids[PANX.index("B-LOC")] == pieces[0]
    predict = te.load_predictor(
        str(path), "panx", {"verbalizer_policy": "first_piece", "verbalizer_lookup": "in_context"}
    )
    prediction = predict(panx_data[1][:3])
    assert prediction.counts["verbalizer_first_piece_labels"] == 1


def test_two_labels_on_one_token_is_an_error(tiny_models, monkeypatch):
    _, tokenizer, path = load(tiny_models, "bert")
    monkeypatch.setitem(VERBALIZERS["panx"], "B-LOC", VERBALIZERS["panx"]["B-PER"])
    for policy in te.VERBALIZER_POLICIES:
        with pytest.raises(ValueError, match="'B-LOC'") as error:
            te.verbalizer_ids(tokenizer, "panx", policy, path, lookup="in_context")
        assert "'B-PER'" in str(error.value)


@pytest.mark.parametrize("family", ["bert", "xlmr"])
def test_truncation_cuts_the_sentence_never_the_template(tiny_models, family):
    model, tokenizer, _ = load(tiny_models, family)
    words = tuple(f"w{i}" for i in range(300))
    sentence = Sentence(words, ("O",) * 300)
    prompts = te.build_prompts("panx", [sentence], tokenizer.mask_token)
    encoded = te.encode_prompts(tokenizer, [p[2] for p in prompts], [p[3] for p in prompts], max_length=128)
    assert len(encoded.input_ids) == 300 and encoded.counts["truncated_prompts"] == 300
    for (_, j, _, text_b), ids in zip(prompts, encoded.input_ids):
        assert len(ids) == 128 and ids.count(tokenizer.mask_token_id) == 1
        template = tokenizer(text_b, add_special_tokens=False)["input_ids"]
        assert ids[-1 - len(template) : -1] == template  # the whole template, then the closing special token
    # the fast evaluator: a 300-word sentence, a word whose template cannot fit, an empty sentence
    long_word = Sentence(("Berlin", "x" * 600, "."), ("B-LOC", "O", "O"))
    two_masks = Sentence(("I", tokenizer.mask_token, "you"), ("O", "O", "O"))  # the data holds the mask string
    sentences = [sentence, long_word, Sentence((), ()), two_masks]
    prediction = te.predict_fast(model, tokenizer, "panx", sentences, batch_size=32, verbalizer_lookup="in_context")
    assert [len(t) for t in prediction.tags] == [300, 3, 0, 3]
    assert prediction.tags[1][1] == FALLBACK_LABEL["panx"] and prediction.tags[3] == [FALLBACK_LABEL["panx"]] * 3
    assert prediction.counts["template_too_long"] == 1
    assert prediction.counts["mask_count_not_one"] == 3
    assert prediction.counts["empty_sentences"] == 1
    assert prediction.counts["truncated_prompts"] == 300 + 2  # the long word also cuts its neighbours' sentence


@pytest.mark.parametrize("family", ["bert", "xlmr"])
def test_head_on_mask_rows_equals_full_mlm_logits(tiny_models, family, udpos_data):
    model, tokenizer, path = load(tiny_models, family)
    ids, _ = te.verbalizer_ids(tokenizer, "udpos", "strict", path, lookup="in_context")
    prompts = te.build_prompts("udpos", udpos_data[1][:2], tokenizer.mask_token)
    batch = tokenizer([p[2] for p in prompts], [p[3] for p in prompts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        fast = te.class_logits(
            model,
            batch["input_ids"],
            batch["attention_mask"],
            batch.get("token_type_ids"),
            tokenizer.mask_token_id,
            torch.tensor(ids),
        )
        full = model(**batch).logits
    rows = (batch["input_ids"] == tokenizer.mask_token_id).nonzero()
    assert rows[:, 0].tolist() == list(range(len(prompts)))  # one mask per prompt
    expected = full[rows[:, 0], rows[:, 1]][:, ids]
    assert fast.shape == (len(prompts), len(UDPOS))
    torch.testing.assert_close(fast, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", ["bert", "xlmr"])
def test_fast_and_faithful_evaluators_agree(tiny_models, family):
    model, tokenizer, _ = load(tiny_models, family)
    sentences = read_xtreme_tsv(DEMO / "panx" / "dev-en.tsv", PANX)[:30]
    sentences.append(Sentence(("Paris", "y" * 600, "!"), ("B-LOC", "O", "O")))
    fast = te.predict_fast(
        model, tokenizer, "panx", sentences, batch_size=16, chunk_sentences=7, verbalizer_lookup="in_context"
    )
    faithful = te.predict_faithful(model, tokenizer, "panx", sentences, batch_size=8, verbalizer_lookup="in_context")
    assert fast.tags == faithful.tags
    assert fast.counts == faithful.counts and fast.counts["template_too_long"] == 1
    assert len({tag for tags in fast.tags for tag in tags}) > 1  # a real comparison, not one constant label


def test_training_learns_and_resumes(tiny_models, panx_data, tmp_path):
    path = tiny_models[0]["xlmr"]
    train, dev = panx_data
    params = {
        "learning_rate": 3e-3,
        "epochs": 1,
        "batch_size": 16,
        "grad_accum": 1,
        "logging_steps": 4,
        "verbalizer_lookup": "in_context",
    }
    first = te.train(str(path), "panx", train, dev, tmp_path / "out1", tmp_path / "ckpt", params, seed=1)
    steps = first["global_steps"]
    assert first["resumed_from"] is None and steps > 0
    assert first["train_prompts"] == sum(len(s.words) for s in train)
    assert (tmp_path / "ckpt" / f"checkpoint-{steps}").is_dir()
    # a second call (two epochs now) resumes from the last checkpoint instead of starting over
    second = te.train(
        str(path), "panx", train, dev, tmp_path / "out2", tmp_path / "ckpt", {**params, "epochs": 2}, seed=1
    )
    assert second["resumed_from"] == str(tmp_path / "ckpt" / f"checkpoint-{steps}")
    assert second["global_steps"] == 2 * steps
    assert [h["epoch"] for h in second["dev_history"]] == [1.0, 2.0]
    losses = [entry["loss"] for entry in second["train_loss_history"]]
    assert len(losses) >= 4 and sum(losses[-2:]) / 2 < sum(losses[:2]) / 2  # the loss went down
    summary = json.loads((tmp_path / "out2" / "xlie_training.json").read_text())
    assert set(summary) >= {"best_dev", "dev_history", "resumed_from", "counts"}
    assert "f1" in summary["best_dev"] and summary["counts"]["dev"]["template_too_long"] == 0
    assert summary["best_dev"]["f1"] == max(h["f1"] for h in summary["dev_history"])
    assert summary["verbalizer"]["tokens"]["B-LOC"] == "\u2581location"
    predict = te.load_predictor(str(tmp_path / "out2"), "panx", params)
    prediction = predict(dev)
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in dev]
    assert prediction.counts["template_too_long"] == 0
    # the saved model is the selected epoch's: it reproduces that epoch's dev scores
    scores = metrics.score("panx", [s.tags for s in dev], prediction.tags)
    assert scores["accuracy"] == pytest.approx(summary["best_dev"]["accuracy"])
