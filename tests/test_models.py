"""Tiny demo models (xlie.pipeline.tiny_models) and Vanilla token classification on them.

Everything runs on CPU on the shipped demo corpus; the models are a few thousand parameters.
"""

from __future__ import annotations

import json

import pytest
from transformers import (
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
)

from xlie.pipeline.checkpoints import resume_point
from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import UDPOS
from xlie.papers.topro.methods.token_classification import (
    IGNORE,
    encode,
    load_predictor,
    load_token_classifier,
    predict_tags,
    window_chunks,
)
from xlie.papers.topro.methods.token_classification import train as train_vanilla
from xlie.pipeline.tiny_models import FAMILIES, prompt_words

from conftest import SIZE

AUTO_CLASS = {
    "bert": AutoModelForMaskedLM,
    "xlmr": AutoModelForMaskedLM,
    "mt5": AutoModelForSeq2SeqLM,
    "mbart": AutoModelForSeq2SeqLM,
    "causal": AutoModelForCausalLM,
}
ARCHITECTURE = {
    "bert": "BertForMaskedLM",
    "xlmr": "XLMRobertaForMaskedLM",
    "mt5": "MT5ForConditionalGeneration",
    "mbart": "MBartForConditionalGeneration",
    "causal": "LlamaForCausalLM",
}
PARAMS = dict(learning_rate=2e-3, batch_size=16, grad_accum=1, epochs=2, eval_steps=4, max_length=64)
FILL = "<FILL>"  # not a UDPOS tag, so filled words are unmistakable


@pytest.fixture(scope="session")
def vanilla(tiny_models, udpos_data, tmp_path_factory):
    out_dirs, _ = tiny_models
    train, dev = udpos_data
    root = tmp_path_factory.mktemp("vanilla")
    output_dir, checkpoint_dir = root / "model", root / "checkpoints"
    summary = train_vanilla(str(out_dirs["xlmr"]), "udpos", train, dev, output_dir, checkpoint_dir, PARAMS, seed=0)
    return summary, output_dir, checkpoint_dir


# --- tiny models -------------------------------------------------------------------------


def test_build_records(tiny_models):
    out_dirs, records = tiny_models
    assert set(records) == set(FAMILIES)
    for family, record in records.items():
        assert record["family"] == family
        assert record["architecture"] == ARCHITECTURE[family]
        assert record["seed"] == 0 and record["parameters"] > 0
        # the trained vocabulary plus the whole-word prompt pieces (models.tiny.prompt_words)
        assert record["vocab_size"] <= SIZE["vocab_size"] + len(prompt_words())
        assert json.loads((out_dirs[family] / "xlie_build.json").read_text()) == record


@pytest.mark.parametrize("family", FAMILIES)
def test_family_loads_back_offline(tiny_models, family, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out_dirs, records = tiny_models
    tokenizer = AutoTokenizer.from_pretrained(out_dirs[family])
    model = AUTO_CLASS[family].from_pretrained(out_dirs[family])
    assert type(model).__name__ == ARCHITECTURE[family]
    assert model.config.vocab_size == len(tokenizer) == records[family]["vocab_size"]
    assert sum(p.numel() for p in model.parameters()) == records[family]["parameters"]
    assert tokenizer.pad_token_id == model.config.pad_token_id
    assert tokenizer.eos_token_id == model.config.eos_token_id
    # XLM-R's special-token ids
    assert tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"]) == [0, 1, 2, 3]
    assert tokenizer.model_max_length == SIZE["max_positions"]
    assert tokenizer.padding_side == ("left" if family == "causal" else "right")
    for code in ("ar_AR", "en_XX", "zh_CN"):  # mBART language codes stay one token
        assert tokenizer.tokenize(code) == [code]


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_xlmr_pair_encoding(tiny_models):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models[0]["xlmr"])
    a, b = "the cat", "a dog"
    encoded = tokenizer(a, b)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert encoded == [bos] + _ids(tokenizer, a) + [eos, eos] + _ids(tokenizer, b) + [eos]
    tokens = tokenizer.convert_ids_to_tokens(encoded)
    assert tokens[0] == "<s>" and tokens[-1] == "</s>"
    assert tokens.count("</s>") == 3
    assert tokens[len(_ids(tokenizer, a)) + 1 : len(_ids(tokenizer, a)) + 3] == ["</s>", "</s>"]


@pytest.mark.parametrize(
    "family, prefix, infix, suffix",
    [
        ("bert", ["<s>"], ["</s>"], ["</s>"]),
        ("mt5", [], ["</s>"], ["</s>"]),
        ("mbart", [], ["</s>"], ["</s>"]),
        ("causal", ["<s>"], [], []),
    ],
)
def test_other_pair_templates(tiny_models, family, prefix, infix, suffix):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models[0][family])
    a, b = "the cat", "a dog"
    expected = (
        tokenizer.convert_tokens_to_ids(prefix)
        + _ids(tokenizer, a)
        + tokenizer.convert_tokens_to_ids(infix)
        + _ids(tokenizer, b)
        + tokenizer.convert_tokens_to_ids(suffix)
    )
    assert tokenizer(a, b)["input_ids"] == expected


def test_bert_pair_segment_ids(tiny_models):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models[0]["bert"])
    encoded = tokenizer("the cat", "a dog")  # segment ids by default, as the real mBERT tokenizer
    n_a = len(_ids(tokenizer, "the cat")) + 2  # <s> A </s>
    assert encoded["token_type_ids"] == [0] * n_a + [1] * (len(encoded["input_ids"]) - n_a)


@pytest.mark.parametrize("family", FAMILIES)
def test_word_ids_split_into_words(tiny_models, family):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models[0][family])
    words = ["Berlin", "ist", "schön", "北京", "."]
    encoded = tokenizer(words, is_split_into_words=True)
    word_ids = encoded.word_ids()
    assert len(word_ids) == len(encoded["input_ids"])
    real = [w for w in word_ids if w is not None]
    assert sorted(set(real)) == list(range(len(words)))  # every word has a sub-word
    assert real == sorted(real)  # in order
    specials = [tokenizer.convert_ids_to_tokens(i) for i, w in zip(encoded["input_ids"], word_ids) if w is None]
    assert all(token in tokenizer.all_special_tokens for token in specials)
    if family == "xlmr":
        assert word_ids[0] is None and word_ids[-1] is None


# --- Vanilla token classification ---------------------------------------------------------


def test_encode_labels_first_subword_only(tiny_models):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models[0]["xlmr"])
    sentence = Sentence(("Berlin", "ist", "schön"), ("PROPN", "AUX", "ADJ"))
    label2id = {label: i for i, label in enumerate(UDPOS)}
    (feature,), truncated = encode(tokenizer, [sentence], label2id, max_length=64)
    word_ids = tokenizer(list(sentence.words), is_split_into_words=True).word_ids()
    assert truncated == 0
    expected, seen = [], set()
    for w in word_ids:
        if w is None or w in seen:
            expected.append(IGNORE)
        else:
            seen.add(w)
            expected.append(label2id[sentence.tags[w]])
    assert feature["labels"] == expected


def test_vanilla_training_summary(vanilla, udpos_data):
    summary, output_dir, checkpoint_dir = vanilla
    train, dev = udpos_data
    assert summary["resumed_from"] is None
    assert summary["train_sentences"] == len(train) == 60
    assert summary["dev_sentences"] == len(dev) == 20
    # Sentences longer than the 64-sub-word window train as several chunks (XTREME's preprocessing):
    # with the tiny tokenizer 60 sentences make 81..96 chunks, ceil(n / 16) = 6 steps per epoch, 2 epochs.
    _, tokenizer = load_token_classifier(output_dir)
    chunks = len(window_chunks(tokenizer, train, PARAMS["max_length"])[0])
    assert summary["window_chunks"]["train"] == chunks and 80 < chunks <= 96
    assert summary["truncated_words"]["train"] == 0
    assert summary["global_steps"] == 12
    history = summary["dev_history"]
    # evaluations every 4 steps during training (the final re-evaluation is not history)
    assert [entry["step"] for entry in history] == [4, 8, 12]
    during_training = history
    # the model kept is the best dev checkpoint, and its re-evaluation reproduces its score
    best = max(during_training, key=lambda e: e["eval_accuracy"])
    assert summary["best_dev"]["accuracy"] == pytest.approx(best["eval_accuracy"])
    assert history[-1]["eval_accuracy"] == pytest.approx(best["eval_accuracy"])
    assert summary["best_checkpoint"] == str(checkpoint_dir / f"checkpoint-{best['step']}")
    assert set(summary["truncated_words"]) == {"train", "dev"}
    assert json.loads((output_dir / "xlie_training.json").read_text()) == summary
    assert resume_point(checkpoint_dir) == str(checkpoint_dir / "checkpoint-12")


def test_predict_tags_one_per_word_and_truncation(vanilla, udpos_data):
    _, output_dir, _ = vanilla
    _, dev = udpos_data
    model, tokenizer = load_token_classifier(output_dir)
    assert model.config.num_labels == len(UDPOS)
    assert [model.config.id2label[i] for i in range(len(UDPOS))] == list(UDPOS)

    long_words = tuple(f"w{i}" for i in range(200))
    long = Sentence(long_words, ("NOUN",) * 200)
    sentences = list(dev) + [long]
    max_length = PARAMS["max_length"]
    predictions, truncated = predict_tags(
        model, tokenizer, sentences, max_length=max_length, batch_size=8, fill_label=FILL
    )

    assert len(predictions) == len(sentences)
    expected_truncated = 0
    for sentence, tags in zip(sentences, predictions):
        assert len(tags) == len(sentence.words)
        kept = {
            w
            for w in tokenizer(
                list(sentence.words), is_split_into_words=True, truncation=True, max_length=max_length
            ).word_ids()
            if w is not None
        }
        assert all(tag in UDPOS for i, tag in enumerate(tags) if i in kept)
        assert all(tag == FILL for i, tag in enumerate(tags) if i not in kept)
        expected_truncated += len(sentence.words) - len(kept)
    assert truncated == expected_truncated
    assert truncated == sum(tag == FILL for tags in predictions for tag in tags)

    # the 200-word sentence keeps a prefix of its words and fills the rest
    tags = predictions[-1]
    n_kept = sum(tag != FILL for tag in tags)
    assert 0 < n_kept <= max_length - 2
    assert tags[n_kept:] == [FILL] * (200 - n_kept)
    assert truncated >= 200 - n_kept

    # batching and length-sorting do not change the predictions
    alone = [
        predict_tags(model, tokenizer, [s], max_length=max_length, batch_size=1, fill_label=FILL) for s in sentences[:5]
    ]
    assert [p[0][0] for p in alone] == predictions[:5]


def test_vanilla_splits_long_sentences_into_window_chunks_and_loses_no_word(vanilla, udpos_data):
    """XTREME's Vanilla preprocessing: a sentence longer than the window is tagged chunk by chunk."""
    _, output_dir, _ = vanilla
    _, dev = udpos_data
    _, tokenizer = load_token_classifier(output_dir)
    long = Sentence(tuple(f"w{i}" for i in range(200)), ("NOUN",) * 200)
    sentences = [dev[0], long, dev[1]]
    chunks, owners = window_chunks(tokenizer, sentences, max_length=32)
    assert owners == sorted(owners) and set(owners) == {0, 1, 2} and owners.count(1) >= 200 // 30
    for i, sentence in enumerate(sentences):  # chunks are consecutive runs of whole words
        assert [w for c, o in zip(chunks, owners) if o == i for w in c.words] == list(sentence.words)
    for chunk in chunks:  # each chunk fits the window with its special tokens: nothing is cut
        assert len(tokenizer(list(chunk.words), is_split_into_words=True)["input_ids"]) <= 32

    params = {"max_length": 32, "eval_batch_size": 4}
    prediction = load_predictor(str(output_dir), "udpos", params)(sentences)
    assert prediction.counts["truncated_words"] == 0 and prediction.counts["window_chunks"] == len(chunks) - 3
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in sentences]
    assert all(tag in UDPOS for tags in prediction.tags for tag in tags)
    model, _ = load_token_classifier(output_dir)
    per_chunk, _ = predict_tags(model, tokenizer, chunks, max_length=32, batch_size=4, fill_label=FILL)
    assert prediction.tags[1] == [t for c, o in zip(per_chunk, owners) if o == 1 for t in c]


def test_resume_from_last_checkpoint(tiny_models, udpos_data, tmp_path):
    out_dirs, _ = tiny_models
    train, dev = udpos_data
    checkpoint_dir = tmp_path / "checkpoints"
    one_epoch = {**PARAMS, "epochs": 1}
    first = train_vanilla(
        str(out_dirs["xlmr"]), "udpos", train, dev, tmp_path / "first", checkpoint_dir, one_epoch, seed=0
    )
    assert first["resumed_from"] is None
    assert first["global_steps"] == 6  # the window chunks of 60 sentences (see test_vanilla_training_summary)
    last = resume_point(checkpoint_dir)
    assert last == str(checkpoint_dir / "checkpoint-6")

    second = train_vanilla(
        str(out_dirs["xlmr"]), "udpos", train, dev, tmp_path / "second", checkpoint_dir, PARAMS, seed=0
    )
    assert second["resumed_from"] == last
    assert second["global_steps"] == 12
    assert resume_point(checkpoint_dir) == str(checkpoint_dir / "checkpoint-12")
    assert (tmp_path / "second" / "xlie_training.json").is_file()


def test_too_small_vocabulary_names_the_config_key():
    from xlie.pipeline.tiny_models import train_tokenizer

    with pytest.raises(ValueError, match="config key tiny_models.vocab_size: 100 is too small"):
        train_tokenizer(["".join(chr(0x4E00 + i) for i in range(200))], 100)  # 200 distinct characters


def test_building_twice_gives_identical_files(tiny_models, tmp_path):
    """Bit for bit: the tokenizer trainer's hash-map order must not reach ids or weights."""
    from conftest import DEMO
    from xlie.pipeline.tiny_models import build_tiny_models

    out_dirs, _ = tiny_models
    again = {family: tmp_path / family for family in FAMILIES}
    build_tiny_models(sorted(DEMO.glob("*/*.tsv")), again, SIZE, seed=0)
    for family, first in out_dirs.items():
        files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(again[family]) for p in again[family].rglob("*") if p.is_file())
        for name in files:
            assert (first / name).read_bytes() == (again[family] / name).read_bytes(), f"{family}/{name} differs"


def test_training_twice_gives_identical_results(vanilla, tiny_models, udpos_data, tmp_path):
    summary, output_dir, _ = vanilla
    out_dirs, _ = tiny_models
    train, dev = udpos_data
    again = train_vanilla(
        str(out_dirs["xlmr"]), "udpos", train, dev, tmp_path / "model", tmp_path / "ckpt", PARAMS, seed=0
    )

    def scores(entries):  # without timings
        return [{k: v for k, v in e.items() if not k.endswith(("runtime", "per_second"))} for e in entries]

    assert scores(again["dev_history"]) == scores(summary["dev_history"])
    assert scores([again["best_dev"]]) == scores([summary["best_dev"]])
    assert (tmp_path / "model" / "model.safetensors").read_bytes() == (output_dir / "model.safetensors").read_bytes()
