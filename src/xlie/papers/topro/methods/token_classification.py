"""Vanilla zero-shot cross-lingual token classification (XTREME ``run_tag.py`` semantics).

*ForTokenClassification head, the first sub-word of each word carries the word's label
(the others are ignored with -100), HF Trainer, best checkpoint by the task's metric on the
source-language dev set. Sentences longer than the window are split into chunks of whole words
(``window_chunks``), as XTREME's preprocessing does, so no word is lost.
"""

from __future__ import annotations

import dataclasses

import functools
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
)

from xlie.papers.topro import metrics
from xlie.pipeline.checkpoints import resume_point
from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.papers.topro.params import TokenClassificationParams as Params
from xlie.pipeline.training import start_training, training_arguments, write_training_summary
from xlie.pipeline.methods import Prediction, load_for_inference

IGNORE = -100


def encode(
    tokenizer, sentences: Sequence[Sentence], label2id: dict[str, int] | None, max_length: int
) -> tuple[list[dict], int]:
    """Sub-word encode sentences; label the first sub-word of each word. Returns (features, truncated words)."""
    batch = tokenizer(
        [list(s.words) for s in sentences],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
    )
    features, truncated = [], 0
    for i, sentence in enumerate(sentences):
        word_ids = batch.word_ids(i)
        first_positions = {}
        for position, word in enumerate(word_ids):
            if word is not None and word not in first_positions:
                first_positions[word] = position
        truncated += len(sentence.words) - len(first_positions)
        feature = {"input_ids": batch["input_ids"][i], "attention_mask": batch["attention_mask"][i]}
        if "token_type_ids" in batch:
            feature["token_type_ids"] = batch["token_type_ids"][i]
        labels = [IGNORE] * len(word_ids)
        for word, position in first_positions.items():
            labels[position] = label2id[sentence.tags[word]] if label2id is not None else word
        feature["labels"] = labels
        features.append(feature)
    return features, truncated


def window_chunks(tokenizer, sentences: Sequence[Sentence], max_length: int) -> tuple[list[Sentence], list[int]]:
    """XTREME's preprocessing for Vanilla (utils_preprocess.py ``panx_tokenize``/``udpos_tokenize``):
    a sentence longer than the window becomes consecutive chunks of whole words, each fitting
    ``max_length`` with its special tokens, so no word is cut. Returns (chunks, the index of the
    sentence each chunk comes from); short sentences pass unchanged."""
    room = max_length - tokenizer.num_special_tokens_to_add()
    pieces = tokenizer([list(s.words) for s in sentences], is_split_into_words=True, add_special_tokens=False)
    chunks: list[Sentence] = []
    owners: list[int] = []
    for i, sentence in enumerate(sentences):
        lengths = [0] * len(sentence.words)
        for word in pieces.word_ids(i):
            if word is not None:
                lengths[word] += 1
        start, used = 0, 0
        for j, n in enumerate(lengths):
            n = min(max(n, 1), room)  # XTREME: a word with no piece or too many counts as one <unk>
            if used + n > room and j > start:
                chunks.append(Sentence(sentence.words[start:j], sentence.tags[start:j]))
                owners.append(i)
                start, used = j, 0
            used += n
        chunks.append(Sentence(sentence.words[start:], sentence.tags[start:]))
        owners.append(i)
    return chunks, owners


def _word_predictions(logits: np.ndarray, labels: np.ndarray, id2label: dict[int, str]) -> list[list[str]]:
    best = logits.argmax(-1)
    return [[id2label[int(p)] for p, l in zip(row_p, row_l) if l != IGNORE] for row_p, row_l in zip(best, labels)]


def make_compute_metrics(task: str, id2label: dict[int, str]):
    def compute_metrics(eval_pred) -> dict[str, float]:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        pred = _word_predictions(logits, labels, id2label)
        gold = [[id2label[int(l)] for l in row if l != IGNORE] for row in labels]
        scores = metrics.score(task, gold, pred)
        return {k: v for k, v in scores.items() if isinstance(v, float)}

    return compute_metrics


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed) -> dict:
    """Fine-tune, keep the best dev checkpoint in ``output_dir``; resumable from ``checkpoint_dir``
    (the uniform method entry point, see xlie.pipeline.methods)."""
    hp, output_dir, checkpoint_dir = start_training(Params, params, seed, output_dir, checkpoint_dir)
    labels = label_set(task)
    label2id = {label: i for i, label in enumerate(labels)}
    id2label = dict(enumerate(labels))
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForTokenClassification.from_pretrained(
        model_path, num_labels=len(labels), id2label=id2label, label2id=label2id
    )
    train_chunks, _ = window_chunks(tokenizer, train, hp.max_length)
    dev_chunks, _ = window_chunks(tokenizer, dev, hp.max_length)
    train_features, train_truncated = encode(tokenizer, train_chunks, label2id, hp.max_length)
    dev_features, dev_truncated = encode(tokenizer, dev_chunks, label2id, hp.max_length)
    trainer, resume, dev_history, best_dev = fit_tagger(
        model, tokenizer, task, train_features, dev_features, checkpoint_dir, hp, seed
    )
    trainer.save_model(str(output_dir))
    summary = {
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_dev": {k.removeprefix("eval_"): v for k, v in best_dev.items()},
        "global_steps": trainer.state.global_step,
        "resumed_from": resume,
        "train_sentences": len(train),
        "dev_sentences": len(dev),
        "window_chunks": {"train": len(train_chunks), "dev": len(dev_chunks)},
        "truncated_words": {"train": train_truncated, "dev": dev_truncated},
        "dev_history": dev_history,
        "params": dataclasses.asdict(hp),  # every option, defaults included: what this run trained with
    }
    return write_training_summary(output_dir, summary)


def fit_tagger(model, tokenizer, task: str, train_features, dev_features, checkpoint_dir: Path, params, seed: int):
    """Train a token-classification head (Vanilla, PT) with HF Trainer, resuming from the newest
    checkpoint: dev-evaluated and checkpointed every ``params.eval_steps`` (None: every epoch) and
    after the last step, the best checkpoint by the task's primary metric kept. A
    ``params.lr_gamma`` (PT) replaces the linear decay by MPT's ExponentialLR stepped once per
    epoch. Returns (the trainer, holding the best checkpoint; resumed_from; dev history; dev scores
    of the best checkpoint)."""
    from transformers import Trainer

    from xlie.pipeline.trainers import EpochExponentialTrainer

    primary = metrics.PRIMARY_METRIC[task]
    strategy = "steps" if params.eval_steps else "epoch"
    args = training_arguments(
        checkpoint_dir,
        seed,
        params,
        selection_metric=primary,
        eval_steps=params.eval_steps,
        per_device_eval_batch_size=params.eval_batch_size,
        logging_strategy=strategy,
        logging_steps=max(1, (params.eval_steps or 4) // 4),
    )
    gamma = getattr(params, "lr_gamma", None)
    trainer_class = functools.partial(EpochExponentialTrainer, gamma=gamma) if gamma else Trainer
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=train_features,
        eval_dataset=dev_features,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(task, dict(enumerate(label_set(task)))),
    )
    resume = resume_point(checkpoint_dir)
    trainer.train(resume_from_checkpoint=resume)
    dev_history = [entry for entry in trainer.state.log_history if f"eval_{primary}" in entry]
    best_dev = trainer.evaluate()  # the best checkpoint, reloaded by load_best_model_at_end
    return trainer, resume, dev_history, best_dev


@torch.inference_mode()
def predict_tags(
    model,
    tokenizer,
    sentences: Sequence[Sentence],
    max_length: int,
    batch_size: int,
    fill_label: str,
    desc: str = "predict",
) -> tuple[list[list[str]], int]:
    """Word-level tags for ``sentences``; words cut off by ``max_length`` get ``fill_label`` and are counted."""
    id2label = model.config.id2label
    features, _ = encode(tokenizer, sentences, None, max_length)  # labels = word index of each first sub-word
    collator = DataCollatorForTokenClassification(tokenizer)
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))  # length-sorted: less padding
    predictions: list[list[str] | None] = [None] * len(features)
    truncated = 0
    device = next(model.parameters()).device
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", leave=False):
        indices = order[start : start + batch_size]
        batch = collator([features[i] for i in indices])
        word_index = batch.pop("labels")
        logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
        best = logits.argmax(-1).cpu()
        for row, i in enumerate(indices):
            n_words = len(sentences[i].words)
            tags = [fill_label] * n_words
            seen = 0
            for position in (word_index[row] != IGNORE).nonzero().flatten().tolist():
                tags[int(word_index[row, position])] = id2label[int(best[row, position])]
                seen += 1
            truncated += n_words - seen
            predictions[i] = tags
    return predictions, truncated


def load_token_classifier(model_dir: str | Path):
    return load_for_inference(AutoModelForTokenClassification, model_dir)


def load_predictor(model_dir: str, task: str, params: dict):
    """Load once; the returned function tags any list of sentences (see xlie.pipeline.methods)."""
    hp = Params.from_dict(params)
    model, tokenizer = load_token_classifier(model_dir)

    def predict(sentences: Sequence[Sentence], desc: str = "predict") -> Prediction:
        chunks, owners = window_chunks(tokenizer, sentences, hp.max_length)
        chunk_tags, truncated = predict_tags(
            model, tokenizer, chunks, hp.max_length, hp.eval_batch_size, FALLBACK_LABEL[task], desc
        )
        tags: list[list[str]] = [[] for _ in sentences]
        for owner, chunk in zip(owners, chunk_tags):
            tags[owner].extend(chunk)
        return Prediction(tags, {"truncated_words": truncated, "window_chunks": len(chunks) - len(sentences)})

    return predict
