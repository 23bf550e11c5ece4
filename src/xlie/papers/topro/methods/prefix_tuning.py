"""PT baseline: prefix tuning (Tu et al. 2022, as ToPro ran it) over an encoder token classifier.

``peft`` ``PrefixTuningConfig(task_type=TOKEN_CLS, num_virtual_tokens=16)`` around
``AutoModelForTokenClassification`` (mBERT, XLM-R): the encoder is frozen; trainable are
the per-layer key/value prefixes and the classification head (peft adds ``classifier`` to
``modules_to_save`` for TOKEN_CLS, so the head is trained and saved with the adapter).
Labelling, metrics and prediction are the Vanilla ones (first sub-word of a word carries its
label; seqeval entity F1 / token accuracy), imported from
:mod:`xlie.papers.topro.methods.token_classification`. Best checkpoint by the task's metric on the
English dev set.

Position limit: the Hugging Face encoders number the input positions after the prefix
(``past_key_values_length`` = 16), so an input may hold at most
``max_position_embeddings - num_virtual_tokens`` tokens (minus RoBERTa's ``padding_idx + 1``
offset). With mBERT/XLM-R (512 positions) the paper's max length 128 is unaffected; a model
with fewer positions gets a shorter effective max length, recorded in the training summary,
and words cut off by it are counted (``truncated_words``) as always.

The saved model directory (``output_dir``) holds the adapter (``save_pretrained``:
``adapter_config.json`` + ``adapter_model.safetensors``, prefix and head), the tokenizer,
``xlie_prefix_tuning.json`` (base model path, labels, effective max length) and
``xlie_training.json`` (summary). ``load_predictor`` rebuilds the base classifier from the
recorded path and attaches the adapter with ``PeftModel.from_pretrained``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Sequence

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.papers.topro.params import PrefixTuningParams as Params
from xlie.pipeline.methods import Prediction
from xlie.papers.topro.methods.token_classification import encode, fit_tagger, predict_tags
from xlie.pipeline.runtime import atomic_write_text
from xlie.pipeline.training import start_training

RECORD_FILE = "xlie_prefix_tuning.json"
SUMMARY_FILE = "xlie_training.json"
# Encoders whose position ids start at padding_idx + 1 (create_position_ids_from_input_ids).
_PADDING_OFFSET_TYPES = {"roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"}


def effective_max_length(config, params: Params) -> int:
    """``params.max_length`` capped by the positions left after the prefix (see module doc)."""
    limit = config.max_position_embeddings - params.num_virtual_tokens
    if config.model_type in _PADDING_OFFSET_TYPES:
        limit -= config.pad_token_id + 1
    if limit < 3:
        raise ValueError(
            f"model with max_position_embeddings={config.max_position_embeddings} leaves no room for "
            f"{params.num_virtual_tokens} virtual tokens (prefix_tuning.num_virtual_tokens)"
        )
    return min(params.max_length, limit)


def _resolve(model_path: str | Path) -> str:
    """A local directory as an absolute path (the record must survive a change of cwd); hub ids as given."""
    path = Path(model_path)
    return str(path.resolve()) if path.exists() else str(model_path)


def _base_classifier(model_path: str, task: str, dropout: float | None = None):
    labels = label_set(task)
    kwargs = dict(
        num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
    )
    if dropout is not None:
        kwargs["hidden_dropout_prob"] = dropout
    return AutoModelForTokenClassification.from_pretrained(model_path, **kwargs)


def build_model(model_path: str, task: str, params: Params):
    """The base token classifier wrapped for prefix tuning (only prefix + head trainable)."""
    from peft import PrefixTuningConfig, TaskType, get_peft_model

    base = _base_classifier(model_path, task, params.dropout)
    # prefix_projection stays False (peft's default): with the MLP reparametrisation peft saves only
    # the projected prefix, so a checkpoint could neither be resumed nor reloaded as the best model
    # (Trainer's load_best_model_at_end fails with a size mismatch; peft issue #2256).
    config = PrefixTuningConfig(task_type=TaskType.TOKEN_CLS, num_virtual_tokens=params.num_virtual_tokens)
    model = get_peft_model(base, config)
    head = [n for n, p in model.named_parameters() if p.requires_grad and "classifier" in n]
    if not head:  # the head must learn; peft adds it to modules_to_save for TOKEN_CLS
        raise RuntimeError(
            f"prefix tuning of {model_path}: the classification head is not trainable ({config.modules_to_save=})"
        )
    return model


def parameter_counts(model) -> dict[str, int]:
    """Trainable vs total parameters (peft's count: the head's trainable copy is counted in both)."""
    trainable, total = model.get_nb_trainable_parameters()
    return {"trainable": int(trainable), "total": int(total)}


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed) -> dict:
    """Prefix-tune, keep the best dev checkpoint in ``output_dir``; resumable from ``checkpoint_dir``
    (the uniform method entry point, see xlie.pipeline.methods)."""
    hp, output_dir, checkpoint_dir = start_training(Params, params, seed, output_dir, checkpoint_dir)
    base_path = _resolve(model_path)
    labels = label_set(task)
    label2id = {l: i for i, l in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = build_model(base_path, task, hp)
    max_length = effective_max_length(model.config, hp)
    train_features, train_truncated = encode(tokenizer, train, label2id, max_length)
    dev_features, dev_truncated = encode(tokenizer, dev, label2id, max_length)
    trainer, resume, dev_history, best_dev = fit_tagger(
        model, tokenizer, task, train_features, dev_features, checkpoint_dir, hp, seed
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(output_dir))  # adapter (prefix + head) and tokenizer
    record = {
        "base_model": base_path,
        "task": task,
        "labels": list(labels),
        "num_virtual_tokens": hp.num_virtual_tokens,
        "max_length": hp.max_length,
        "effective_max_length": max_length,
    }
    atomic_write_text(output_dir / RECORD_FILE, json.dumps(record, indent=2) + "\n")
    summary = {
        "method": "prefix_tuning",
        "base_model": base_path,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_dev": {k.removeprefix("eval_"): v for k, v in best_dev.items()},
        "global_steps": trainer.state.global_step,
        "resumed_from": resume,
        "parameters": parameter_counts(model),
        "effective_max_length": max_length,
        "train_sentences": len(train),
        "dev_sentences": len(dev),
        "truncated_words": {"train": train_truncated, "dev": dev_truncated},
        "params": dataclasses.asdict(hp),
        "dev_history": dev_history,
    }
    atomic_write_text(output_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


def load_prefix_model(model_dir: str | Path, task: str):
    """(PeftModel in eval mode, tokenizer, record) from a directory written by ``train``."""
    from peft import PeftModel

    model_dir = Path(model_dir)
    record_path = model_dir / RECORD_FILE
    if not record_path.exists():
        raise FileNotFoundError(
            f"{record_path} is missing: {model_dir} was not written by xlie.papers.topro.methods.prefix_tuning.train"
        )
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record["task"] != task or tuple(record["labels"]) != label_set(task):
        raise ValueError(
            f"{model_dir} was trained for task {record['task']!r} with labels {record['labels']}, not {task!r}"
        )
    base_path = record["base_model"]
    try:
        base = _base_classifier(base_path, task)
    except OSError as error:
        raise OSError(f"base model {base_path!r} recorded in {record_path} cannot be loaded: {error}") from error
    model = PeftModel.from_pretrained(base, str(model_dir))
    if torch.cuda.is_available():
        model = model.cuda()
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return model, tokenizer, record


def load_predictor(model_dir: str, task: str, params: dict):
    """Load once; the returned function tags any list of sentences (see xlie.pipeline.methods)."""
    hp = Params.from_dict(params)
    model, tokenizer, record = load_prefix_model(model_dir, task)
    # The prefix length is the trained adapter's; the position limit is the base model's.
    max_length = effective_max_length(
        model.config, dataclasses.replace(hp, num_virtual_tokens=record["num_virtual_tokens"])
    )

    def predict(sentences: Sequence[Sentence], desc: str = "predict") -> Prediction:
        tags, truncated = predict_tags(
            model, tokenizer, sentences, max_length, hp.eval_batch_size, FALLBACK_LABEL[task], desc
        )
        return Prediction(tags, {"truncated_words": truncated})

    return predict
