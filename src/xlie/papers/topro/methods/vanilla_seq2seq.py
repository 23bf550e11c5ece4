"""Vanilla sequence labelling with a seq2seq model (mT5): the whole sentence in, every word's
label out as text (the ToPro authors' mT5 baseline, ../shared/specs/topro.md).

Input:  ``tag: w1 w2 ...`` (PAN-X) / ``POS tagging: w1 w2 ...`` (UDPOS), at most
``max_source_length`` tokens (sentences cut there are counted: ``truncated_inputs``).
Target: ``LABEL: w1 $$ LABEL: w2 $$ ...``, at most ``max_target_length`` tokens (sentences whose
target was cut are counted in training: ``train_truncated_targets``).
Generation: beam search (``num_beams``, ``min_length``/``max_length`` in decoder tokens as the authors), then the pure
parser :func:`parse_tagged_output` maps the text back to one tag per gold word, with every
irregularity counted. Model output is only ever split and compared as text, never evaluated.

Model selection: the task's primary metric on the (first ``dev_max_sentences``) English dev
sentences, by generating and parsing, at each epoch end (or every ``eval_steps`` steps when set;
the authors evaluated every 1000 steps).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Sequence

import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer, GenerationConfig

from xlie.papers.topro import metrics
from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.papers.topro.params import VanillaSeq2SeqParams as Params
from xlie.pipeline.methods import Prediction
from xlie.pipeline.training import start_training
from xlie.papers.topro.methods.topro_seq2seq import (
    autocast,
    finish_training,
    fit_selecting_on_dev,
    load_for_training,
    load_model,
    pad_batch,
    pad_id,
    training_arguments,
)
from xlie.papers.topro.prompts import VANILLA_SEQ2SEQ_INPUT, VANILLA_SEQ2SEQ_ITEM, VANILLA_SEQ2SEQ_SEPARATOR

# The separator without its padding spaces: what the parser splits on (the model may drop the spaces).
SEPARATOR = VANILLA_SEQ2SEQ_SEPARATOR.strip()
PARSE_COUNT_KEYS = ("invalid_items", "missing_words", "extra_items", "word_mismatch")


def source_text(task: str, words: Sequence[str]) -> str:
    return VANILLA_SEQ2SEQ_INPUT[task].format(sentence=" ".join(words))


def target_text(words: Sequence[str], tags: Sequence[str]) -> str:
    return VANILLA_SEQ2SEQ_SEPARATOR.join(VANILLA_SEQ2SEQ_ITEM.format(label=t, word=w) for w, t in zip(words, tags))


def authors_target_texts(tokenizer, sentences: Sequence[Sentence], max_target_length: int) -> list[str]:
    """Each sentence's gold target as the authors' ``span_f1`` saw it (boleima/ToPro
    ``run_tag_t5.py:evaluate``): tokenized, cut at ``max_target_length`` tokens (eos included) and
    decoded again, so words after the cut are not scored and the text is what the tokenizer can
    reproduce."""
    if not sentences:
        return []
    texts = [target_text(s.words, s.tags) for s in sentences]
    ids = tokenizer(text_target=texts, truncation=True, max_length=max_target_length)["input_ids"]
    return tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def parse_tagged_output(text: str, words: Sequence[str], labels: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """One tag per word of ``words`` from a generated ``LABEL: word $$ LABEL: word ...`` string.

    Never fails, whatever ``text`` is. Rules:

    * The text is split on ``$$``; the i-th item belongs to the i-th word (alignment by position:
      the format has one item per word in order, and any realignment heuristic would silently
      guess). A trailing separator with nothing after it (output cut after ``$$``) adds no item;
      an empty output has no items.
    * An item is ``LABEL: word``, split at its FIRST colon, so a word that contains colons
      (``PUNCT: :``, ``X: http://a``) keeps them. The label is stripped of surrounding spaces and
      must be exactly one of ``labels`` (case-sensitive: ``b-loc`` or ``noun`` are invalid).
    * ``invalid_items``: an empty item (doubled or leading separator), an item without a colon, or
      with an unknown label -> that word gets the fallback label.
    * ``missing_words``: words after the last item (output too short / cut) -> fallback label.
    * ``extra_items``: items beyond the sentence's last word -> ignored.
    * ``word_mismatch``: a valid item whose word (stripped) differs from the gold word at that
      position. Its label IS still used: the model tags position i, and the copied word may differ
      only because the tokenizer cannot reproduce it (unknown characters decode to nothing, spacing
      normalisation) or because it was cut; discarding such labels would punish a tokenizer
      artefact, while position alignment is the format's contract. The count makes it visible.

    The fallback label is ``FALLBACK_LABEL`` of the task whose label set ``labels`` is, else
    ``labels[0]``. Limitation: a gold word that itself contains ``$$`` cannot be delimited.
    """
    allowed = set(labels)
    fallback = next((FALLBACK_LABEL[t] for t in FALLBACK_LABEL if set(label_set(t)) == allowed), labels[0])
    counts = dict.fromkeys(PARSE_COUNT_KEYS, 0)
    text = text.strip()
    items = text.split(SEPARATOR) if text else []
    if items and not items[-1].strip():
        items.pop()  # "A: x $$" -> the output stopped after a separator, nothing more was said
    tags: list[str] = []
    for position, word in enumerate(words):
        if position >= len(items):
            counts["missing_words"] += 1
            tags.append(fallback)
            continue
        label, colon, item_word = items[position].partition(":")
        label = label.strip()
        if not colon or label not in allowed:
            counts["invalid_items"] += 1
            tags.append(fallback)
            continue
        if item_word.strip() != word:
            counts["word_mismatch"] += 1
        tags.append(label)
    counts["extra_items"] = max(0, len(items) - len(words))
    return tags, counts


def encode(
    tokenizer, task: str, sentences: Sequence[Sentence], hp: Params, with_targets: bool
) -> tuple[list[dict], dict[str, int]]:
    """Tokenized sources (and targets); counts of sentences whose source / target was cut."""
    sources = [source_text(task, s.words) for s in sentences]
    full = tokenizer(sources, verbose=False)["input_ids"]  # uncut lengths, only to count cuts
    batch = tokenizer(sources, truncation=True, max_length=hp.max_source_length)
    features = [
        {"input_ids": ids, "attention_mask": mask} for ids, mask in zip(batch["input_ids"], batch["attention_mask"])
    ]
    counts = {"truncated_inputs": sum(len(a) != len(b) for a, b in zip(full, batch["input_ids"]))}
    if with_targets:
        texts = [target_text(s.words, s.tags) for s in sentences]
        full_t = tokenizer(text_target=texts, verbose=False)["input_ids"]
        cut_t = tokenizer(text_target=texts, truncation=True, max_length=hp.max_target_length)["input_ids"]
        for feature, ids in zip(features, cut_t):
            feature["labels"] = ids
        counts["truncated_targets"] = sum(len(a) != len(b) for a, b in zip(full_t, cut_t))
    return features, counts


def generate_texts(model, tokenizer, features: list[dict], hp: Params, desc: str = "generate") -> tuple[list[str], int]:
    """Beam-search outputs (decoded, special tokens dropped), length-sorted batches; the second
    value counts outputs that hit ``max_target_length`` without an end-of-sequence token."""
    if not features:
        return [], 0
    dev = next(model.parameters()).device
    eos = model.config.eos_token_id if model.config.eos_token_id is not None else tokenizer.eos_token_id
    config = GenerationConfig(
        num_beams=hp.num_beams,
        max_length=hp.max_target_length,  # decoder tokens, the start token included (as the authors)
        min_length=hp.min_length,
        early_stopping=hp.early_stopping,
        do_sample=False,
        decoder_start_token_id=model.config.decoder_start_token_id,
        eos_token_id=eos,
        pad_token_id=pad_id(model, tokenizer),
    )
    order = sorted(range(len(features)), key=lambda k: len(features[k]["input_ids"]))
    texts: list[str] = [""] * len(features)
    cut = 0
    for start in tqdm(range(0, len(order), hp.eval_batch_size), desc=desc, unit="batch", leave=False):
        chunk = order[start : start + hp.eval_batch_size]
        input_ids, attention_mask = pad_batch([features[k]["input_ids"] for k in chunk], pad_id(model, tokenizer))
        with torch.inference_mode(), autocast(hp.bf16):
            out = model.generate(
                input_ids=input_ids.to(dev), attention_mask=attention_mask.to(dev), generation_config=config
            )
        out = out.cpu()
        cut += int((~(out[:, 1:] == eos).any(dim=1)).sum())
        decoded = tokenizer.batch_decode(out, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        for k, text in zip(chunk, decoded):
            texts[k] = text
    return texts, cut


def predict_sentences(
    model, tokenizer, task: str, sentences: Sequence[Sentence], hp: Params, desc: str = "predict"
) -> tuple[Prediction, list[str]]:
    """Tags (and the raw generated texts) for ``sentences``; every parser irregularity counted.
    ``Prediction.outputs``: per sentence ``{"generated": text, "target": authors_target_texts(...)}``,
    what the authors' ``span_f1`` compares (xlie.papers.topro.authors_metrics)."""
    features, counts = encode(tokenizer, task, sentences, hp, with_targets=False)
    texts, cut = generate_texts(model, tokenizer, features, hp, desc)
    labels = label_set(task)
    total = Counter(dict.fromkeys(PARSE_COUNT_KEYS, 0))
    tags = []
    for sentence, text in zip(sentences, texts):
        sentence_tags, sentence_counts = parse_tagged_output(text, sentence.words, labels)
        tags.append(sentence_tags)
        total.update(sentence_counts)
    targets = authors_target_texts(tokenizer, sentences, hp.max_target_length)
    outputs = [{"generated": text, "target": target} for text, target in zip(texts, targets)]
    return Prediction(tags, {**dict(total), **counts, "truncated_outputs": cut}, outputs), texts


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed) -> dict:
    """Fine-tune on ``train``; select by the primary metric of generated+parsed tags on ``dev``;
    the best model and ``xlie_training.json`` go to ``output_dir``; resumable."""
    hp, output_dir, checkpoint_dir = start_training(Params, params, seed, output_dir, checkpoint_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = load_for_training(model_path, hp.dropout)
    features, train_counts = encode(tokenizer, task, train, hp, with_targets=True)
    if not features:
        raise ValueError("no training sentences")
    dev_eval = list(dev)[: hp.dev_max_sentences] if hp.dev_max_sentences is not None else list(dev)
    dev_counts: dict[str, int] = {}

    def dev_scorer(current_model) -> dict:
        prediction, _ = predict_sentences(current_model, tokenizer, task, dev_eval, hp, desc="dev")
        dev_counts.clear()
        dev_counts.update(prediction.counts)
        return {**metrics.score(task, [s.tags for s in dev_eval], prediction.tags), **prediction.counts}

    args = training_arguments(hp, checkpoint_dir, task, seed, eval_steps=hp.eval_steps)
    trainer, resume = fit_selecting_on_dev(model, tokenizer, args, features, dev_eval, dev_scorer, checkpoint_dir)
    counts = {
        "train_sentences": len(train),
        **{f"train_{k}": v for k, v in train_counts.items()},
        "dev_sentences": len(dev_eval),
        **{f"dev_{k}": v for k, v in dev_counts.items()},  # of the last dev evaluation
    }
    return finish_training(trainer, task, output_dir, resume, {"counts": counts, "params": dataclasses.asdict(hp)})


def load_predictor(model_dir: str, task: str, params: dict):
    """Load once; the returned function tags any list of sentences (see xlie.pipeline.methods)."""
    hp = Params.from_dict(params)
    model, tokenizer = load_model(model_dir)

    def predict(sentences: Sequence[Sentence], desc: str = "predict") -> Prediction:
        return predict_sentences(model, tokenizer, task, sentences, hp, desc)[0]

    return predict
