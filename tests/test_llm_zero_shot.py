"""Zero-shot LLM study (xlie.papers.topro.methods.llm_zero_shot) on the tiny causal (Llama) and seq2seq (mT5,
standing in for mt0) models: shapes, valid labels, batched == unbatched, the label matcher,
verbalizer checks and prompt truncation."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.papers.topro.methods import llm_zero_shot as llm
from xlie.papers.topro.methods.llm_zero_shot import (
    Params,
    encode_prompts,
    load_predictor,
    match_label,
    verbalizer_token_ids,
)
from xlie.papers.topro.prompts import llm_prompt
from xlie.papers.topro.verbalizers import VERBALIZERS, llm_verbalizer, verbalizer

KINDS = {"causal": AutoModelForCausalLM, "mt5": AutoModelForSeq2SeqLM}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sharp_models(tiny_models, tmp_path_factory) -> dict[str, object]:
    """The tiny causal and mT5 models with their weight matrices scaled by 5. At initialisation
    scale the next-token logits hardly depend on the prompt (the causal model picks one label
    for every word), so a batching bug could hide behind an unchanged argmax; scaled, the
    argmax spreads over several labels."""
    out_dirs, _ = tiny_models
    root = tmp_path_factory.mktemp("sharp_llm")
    paths = {}
    for family, auto in KINDS.items():
        model = auto.from_pretrained(out_dirs[family])
        with torch.no_grad():
            for name, weight in model.named_parameters():
                if weight.dim() == 2 and not any(k in name for k in ("embed", "shared", "lm_head")):
                    weight.mul_(5)
        model.save_pretrained(root / family)
        AutoTokenizer.from_pretrained(out_dirs[family]).save_pretrained(root / family)
        paths[family] = root / family
    return paths


@pytest.fixture(scope="module")
def sentences(panx_data, udpos_data) -> dict[str, list[Sentence]]:
    """~10 sentences of different lengths per task (so batches need padding), one of them empty."""
    return {
        "panx": list(panx_data[1][:9]) + [Sentence((), ())],
        "udpos": list(udpos_data[1][:9]) + [Sentence((), ())],
    }


def _prompts(sentence: Sentence, task: str, variant: str = "a") -> list[str]:
    return [llm_prompt(task, variant, " ".join(sentence.words), w) for w in sentence.words]


# ------------------------------------------------------------------------------------ Params


def test_params_defaults_and_strict_keys():
    hp = Params.from_dict({})
    assert (
        hp.mode,
        hp.prompt_variant,
        hp.batch_size,
        hp.max_length,
        hp.max_new_tokens,
        hp.bf16,
        hp.verbalizer_policy,
    ) == ("logits", "a", 16, 512, 10, False, "first_piece")
    with pytest.raises(TypeError, match="max_new_token"):
        Params.from_dict({"mode": "generate", "max_new_token": 5})
    with pytest.raises(ValueError, match="mode"):
        Params.from_dict({"mode": "sample"})
    with pytest.raises(ValueError, match="verbalizer_policy"):
        Params.from_dict({"verbalizer_policy": "all_pieces"})
    with pytest.raises(ValueError, match="batch_size"):
        Params.from_dict({"batch_size": 0})


# ------------------------------------------------------------------------------ match_label


@pytest.mark.parametrize(
    "text, task, expected",
    [
        ("", "panx", None),
        ("nothing useful here", "panx", None),
        (" location", "panx", "B-LOC"),
        ("LOCATION.", "panx", "B-LOC"),  # case-insensitive, punctuation is a boundary
        ("It is a Person's name", "panx", "B-PER"),  # two matches: the earliest wins
        ("a name, not a person", "panx", "I-PER"),
        ("namesake", "panx", None),  # whole words only
        ("surname", "panx", None),
        ("named entity", "panx", None),
        ("other_things", "panx", None),  # "_" is a word character
        ("(body)", "panx", "I-ORG"),
        ("name", "udpos", "PROPN"),  # the same word is a different label per task
        ("other", "udpos", "X"),
        ("verbal noun", "udpos", "ADV"),
        ("verbally a verb", "udpos", "VERB"),  # "verbally" is not "verbal"
        ("punctuation", "udpos", None),
        ("Punct", "udpos", "PUNCT"),
        ("thing\nnumber", "udpos", "NOUN"),
    ],
)
def test_match_label(text, task, expected):
    assert match_label(text, task) == expected


@pytest.mark.parametrize("seq2seq", [True, False])
def test_authors_udpos_verbalizers_per_model(tiny_models, sentences, seq2seq):
    """verbalizer 'authors': the authors' per-model UDPOS words (mt0 for seq2seq, bloomz for causal)."""
    words = llm_verbalizer("udpos", "authors", seq2seq)
    assert list(words) == list(label_set("udpos")) and len(set(words.values())) == 17
    assert (words["NOUN"], words["ADJ"]) == (("no", "modifica") if seq2seq else ("noun", "adjective"))
    assert llm_verbalizer("panx", "authors", seq2seq) == verbalizer("panx")  # PAN-X: ToPro's words
    assert match_label("a noun, I think", "udpos", words) == (None if seq2seq else "NOUN")
    out_dirs, _ = tiny_models
    family = "mt5" if seq2seq else "causal"
    prediction = load_predictor(str(out_dirs[family]), "udpos", {"verbalizer": "authors", "batch_size": 8})(
        sentences["udpos"]
    )
    assert prediction.counts["verbalizer_first_piece_labels"] == 0  # whole tokens, as in the real vocabularies
    assert {t for tags in prediction.tags for t in tags} <= set(label_set("udpos"))
    with pytest.raises(ValueError, match="verbalizer"):
        Params.from_dict({"verbalizer": "mine"})


def test_match_label_every_verbalizer_word():
    for task in ("panx", "udpos"):
        for label, word in verbalizer(task).items():
            assert match_label(f"it is: {word.upper()}!", task) == label


# --------------------------------------------------------------------- prediction, all kinds


@pytest.mark.parametrize("family", ["causal", "mt5"])
@pytest.mark.parametrize(
    "mode, task", [("logits", "panx"), ("logits", "udpos"), ("generate", "panx"), ("generate", "udpos")]
)
def test_one_valid_tag_per_word(tiny_models, sentences, family, mode, task):
    out_dirs, _ = tiny_models
    predict = load_predictor(str(out_dirs[family]), task, {"mode": mode, "batch_size": 8, "max_new_tokens": 4})
    data = sentences[task]
    prediction = predict(data, desc="test")
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in data]
    assert prediction.tags[-1] == []
    allowed = set(label_set(task))
    assert {t for tags in prediction.tags for t in tags} <= allowed
    assert prediction.counts["empty_sentences"] == 1
    assert prediction.counts["truncated_prompts"] == 0
    if mode == "logits":
        assert "unmatched_generations" not in prediction.counts
        # The tiny vocabulary holds every verbalizer word whole.
        assert prediction.counts["verbalizer_first_piece_labels"] == 0
    else:
        n_words = sum(len(s.words) for s in data)
        fallback = sum(t == FALLBACK_LABEL[task] for tags in prediction.tags for t in tags)
        assert 0 <= prediction.counts["unmatched_generations"] <= fallback <= n_words


def _reference_logits(model, tokenizer, prompt: str, seq2seq: bool) -> torch.Tensor:
    """One prompt, no padding, no batching."""
    enc = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        if seq2seq:
            start = torch.tensor([[model.config.decoder_start_token_id]])
            return model(**enc, decoder_input_ids=start).logits[0, 0]
        return model(**enc).logits[0, -1]


@pytest.mark.parametrize("family", ["causal", "mt5"])
def test_logits_mode_equals_unbatched_reference(sharp_models, sentences, family):
    task = "udpos"
    data = sentences[task]
    tokenizer = AutoTokenizer.from_pretrained(sharp_models[family])
    model = KINDS[family].from_pretrained(sharp_models[family]).eval()
    ids, split = verbalizer_token_ids(tokenizer, task, "a", "strict", family)
    assert split == []
    # The scored token is "▁word", the word as it follows the prompt after a space.
    assert tokenizer.convert_ids_to_tokens(list(ids.values())) == ["\u2581" + w for w in verbalizer(task).values()]
    labels, columns = list(ids), list(ids.values())

    prompts = [p for s in data for p in _prompts(s, task)]
    lengths = {len(tokenizer(p)["input_ids"]) for p in prompts}
    assert len(lengths) > 5  # the batches really are padded
    reference = torch.stack([_reference_logits(model, tokenizer, p, family == "mt5")[columns] for p in prompts])
    expected = [labels[int(i)] for i in reference.argmax(-1)]
    assert len(set(expected)) >= 3  # the argmax depends on the prompt

    # Batched scores (unsorted, padded) equal the reference...
    loaded = llm.LLM(sharp_models[family])
    assert loaded.seq2seq == (family == "mt5")
    encoded, truncated = encode_prompts(loaded.tokenizer, prompts, 512)
    assert truncated == 0
    batched = torch.cat([loaded.next_token_logits(encoded[i : i + 7])[:, columns] for i in range(0, len(encoded), 7)])
    torch.testing.assert_close(batched, reference, atol=1e-4, rtol=1e-4)
    if family == "causal":  # ...which the wrong padding side would not give (the check has teeth)
        wrong = llm.pad_batch(encoded[:7], loaded.pad_id, left=False)
        with torch.inference_mode():
            right_padded = loaded.model(**wrong).logits[:, -1, columns]
        assert not torch.allclose(right_padded, reference[:7], atol=1e-2)

    # And the full predictor (length-sorted batches) picks the reference argmax for every word.
    predict = load_predictor(str(sharp_models[family]), task, {"mode": "logits", "batch_size": 5})
    predicted = [t for tags in predict(data).tags for t in tags]
    top2 = reference.topk(2, dim=-1).values
    clear = (top2[:, 0] - top2[:, 1]) > 1e-4  # skip exact near-ties, where rounding may decide
    assert clear.sum() > 0.9 * len(prompts)
    assert [p for p, c in zip(predicted, clear) if c] == [e for e, c in zip(expected, clear) if c]


@pytest.mark.parametrize("family", ["causal", "mt5"])
def test_generate_mode_equals_unbatched_reference(sharp_models, sentences, family):
    out_dirs = sharp_models
    task, new_tokens = "panx", 4
    data = sentences[task][:4] + [sentences[task][-1]]
    tokenizer = AutoTokenizer.from_pretrained(out_dirs[family])
    model = KINDS[family].from_pretrained(out_dirs[family]).eval()
    texts = []
    for prompt in (p for s in data for p in _prompts(s, task)):
        enc = tokenizer(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(
                **enc, max_new_tokens=new_tokens, do_sample=False, num_beams=1, pad_token_id=tokenizer.pad_token_id
            )
        if family == "causal":
            out = out[:, enc["input_ids"].shape[1] :]
        texts.append(tokenizer.decode(out[0], skip_special_tokens=True))
    assert any(texts)

    predict = load_predictor(
        str(out_dirs[family]), task, {"mode": "generate", "batch_size": 6, "max_new_tokens": new_tokens}
    )
    prediction = predict(data)
    matched = [match_label(t, task) for t in texts]
    assert [t for tags in prediction.tags for t in tags] == [m or FALLBACK_LABEL[task] for m in matched]
    assert prediction.counts["unmatched_generations"] == sum(m is None for m in matched)


def test_generate_matched_words_get_their_label(tiny_models, monkeypatch):
    """A model that always continues with a verbalizer word: every word gets that label."""
    out_dirs, _ = tiny_models
    monkeypatch.setattr(llm.LLM, "generate", lambda self, ids, n: [" Name, I think"] * len(ids))
    predict = load_predictor(str(out_dirs["causal"]), "panx", {"mode": "generate"})
    prediction = predict([Sentence(("Anna", "sings"), ("B-PER", "O"))])
    assert prediction.tags == [["I-PER", "I-PER"]]
    assert prediction.counts["unmatched_generations"] == 0


# ------------------------------------------------------------------------------ verbalizer


def test_verbalizer_collision_names_both_labels(tiny_models, monkeypatch):
    out_dirs, _ = tiny_models
    tokenizer = AutoTokenizer.from_pretrained(out_dirs["causal"])
    monkeypatch.setitem(VERBALIZERS["panx"], "I-PER", "person")  # same word as B-PER
    with pytest.raises(ValueError, match=r"B-PER.*I-PER"):
        verbalizer_token_ids(tokenizer, "panx", "a", "first_piece", "tiny-causal")
    with pytest.raises(ValueError, match="collision"):
        load_predictor(str(out_dirs["causal"]), "panx", {"mode": "logits"})


def test_split_verbalizer_word_first_piece_or_strict(tiny_models, sentences, monkeypatch):
    out_dirs, _ = tiny_models
    tokenizer = AutoTokenizer.from_pretrained(out_dirs["mt5"])
    word = "qzxvork"  # not in the vocabulary: several pieces
    monkeypatch.setitem(VERBALIZERS["panx"], "I-LOC", word)
    ids, split = verbalizer_token_ids(tokenizer, "panx", "b", "first_piece", "tiny-mt5")
    assert split == ["I-LOC"]
    pieces = tokenizer(llm_prompt("panx", "b", "x", "x") + " " + word, add_special_tokens=False)["input_ids"]
    assert ids["I-LOC"] in pieces and len(set(ids.values())) == 7
    with pytest.raises(ValueError, match=rf"{word}.*I-LOC.*tiny-mt5"):
        verbalizer_token_ids(tokenizer, "panx", "b", "strict", "tiny-mt5")

    predict = load_predictor(str(out_dirs["mt5"]), "panx", {"mode": "logits", "prompt_variant": "b"})
    counts = predict(sentences["panx"][:2]).counts
    assert counts["verbalizer_first_piece_labels"] == 1 and counts["verbalizer_first_piece_i_loc"] == 1
    with pytest.raises(ValueError, match=rf"{word}.*I-LOC.*{out_dirs['mt5'].name}"):
        load_predictor(str(out_dirs["mt5"]), "panx", {"mode": "logits", "verbalizer_policy": "strict"})


# ------------------------------------------------------------------------------ truncation


@pytest.mark.parametrize("family", ["causal", "mt5"])
def test_long_prompts_are_cut_from_the_left_and_counted(tiny_models, sentences, family):
    out_dirs, _ = tiny_models
    task, max_length = "udpos", 24
    data = sentences[task][:5]
    tokenizer = AutoTokenizer.from_pretrained(out_dirs[family])
    prompts = [p for s in data for p in _prompts(s, task)]
    full = [tokenizer(p)["input_ids"] for p in prompts]
    too_long = sum(len(ids) > max_length for ids in full)
    assert 0 < too_long < len(prompts)

    encoded, truncated = encode_prompts(tokenizer, prompts, max_length)
    assert truncated == too_long
    for ids, orig in zip(encoded, full):
        assert len(ids) == min(len(orig), max_length)
        if family == "causal":  # <s> stays first, then the END of the prompt
            assert ids[0] == tokenizer.bos_token_id and ids[1:] == orig[len(orig) - len(ids) + 1 :]
        else:  # the END of the prompt, then </s>
            assert ids == orig[len(orig) - len(ids) :] and ids[-1] == tokenizer.eos_token_id
    tokenizer.truncation_side = "left"  # the tokenizer's own left truncation agrees
    assert encoded == tokenizer(prompts, truncation=True, max_length=max_length)["input_ids"]

    predict = load_predictor(str(out_dirs[family]), task, {"mode": "logits", "max_length": max_length})
    prediction = predict(data)
    assert prediction.counts["truncated_prompts"] == too_long
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in data]


def test_unknown_task_fails_before_loading(tiny_models):
    out_dirs, _ = tiny_models
    with pytest.raises(KeyError, match="unknown task"):
        load_predictor(str(out_dirs["causal"]), "ner", {})


def test_prompt_limit_leaves_room_for_generated_tokens(tiny_models):
    out_dirs, _ = tiny_models
    causal, seq2seq = llm.LLM(out_dirs["causal"]), llm.LLM(out_dirs["mt5"])
    positions = causal.model.config.max_position_embeddings
    assert causal.prompt_limit(positions, 10) == positions - 10  # the prompt plus 10 new tokens fit
    assert causal.prompt_limit(64, 10) == 64
    assert seq2seq.prompt_limit(10_000, 10) == 10_000  # relative positions: no table to overflow
    with pytest.raises(ValueError, match="no room"):
        causal.prompt_limit(64, positions)
