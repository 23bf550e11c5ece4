"""Prompt-XRE: relation classification with mBART, the baseline and the nine templates of Table I.

Task: classify a gold entity-mention pair (``RelationInstance``: sentence, E1, E2) into one of the
18 ACE05 labels (``xlie.papers.prompt_xre.ace05.LABELS``; any label list works, e.g. WMT-XRE's 106).

Inputs (../shared/specs/prompt-xre.md, Table I). Each configuration is a pair of strings, the
encoder input and the decoder input, built from the same entry of
``xlie.papers.prompt_xre.templates.TEMPLATES`` at training and test time. ``<s>``, ``</s>`` and
``<mask>`` are the tokenizer's special tokens (``<mask>`` is a separator, never predicted); the
text between them is tokenized as one run. Language ids follow
the mBART-cc25 convention: the source language's id (``en_XX``, ``zh_CN``, ``ar_AR``, the
tokenizer's real ids) is appended to the encoder input and prepended to the decoder input::

    encoder: <s> S <mask> E1 <mask> E2 </s> en_XX        decoder: en_XX <s> S </s>     (template 1)

At zero-shot test time the TRAINING language's id is used for every test language (as the
authors do); the training language is stored with the model (``xlie_training.json``).

Baseline "mBART" (template id ``none``): encoder ``<s> S </s>``; decoder ``<s> S </s>``
(``baseline_decoder: sentence``, the paper's Section IV-b and what the authors' fairseq task builds
without ``--baseline``: ``tgt_tokens = src_tokens``, then ``RollDataset(tgt, 1)`` moves the
language id to the front) or ``<s> E1 E2 </s>`` (``baseline_decoder: entities``, the format of the
authors' baseline data, ``make_prompt_data.py --prompt baseline``, trained with ``--baseline``; the
paper preset's, see the README). The leading ``<s>`` of every Table I string is the authors'
``--init-token 0``; HF's mBART tokenizer would not add it.

Decoder language: the training language's id by default (ACE05); ``decoder_lang`` fixes it (the
paper's WMT17 runs: Chinese encoder, English decoder, Section VII-B).

Head: dense -> tanh -> dense on the decoder state at the decoder input's LAST ``</s>``
(``MBartClassificationHead``). ``MBartForSequenceClassification.forward`` (transformers 5.23)
finds the eos positions in the ENCODER ``input_ids`` and applies them to the decoder states: with
a decoder input of another length it fails (mask shape mismatch), with one of the same length it
reads wrong positions, and even in its own default (decoder = encoder shifted right, the mBART
tokenizer's ``X </s> lang`` sources) it lands one position before the decoder's ``</s>``. The
fairseq classification head has the same habit. :class:`MBartForRelationClassification` reuses the
head and weights but pools at the last ``</s>`` of ``decoder_input_ids`` per row, which is right
for every template and unaffected by right padding (pad is never ``</s>``).

Training: HF Trainer, the authors' final fairseq script (``xlie.papers.prompt_xre.params``), dynamic padding
(:func:`collate`), with ``max_tokens`` fairseq's token-capped batches of a seeded shuffle (else
length-grouped ones), fp16 (or bf16) on GPU only, resumable from
``checkpoint_dir``, best dev model (dev accuracy by default, dev loss as an option) saved to
``output_dir`` with its tokenizer and ``xlie_training.json``. No truncation, as the authors; a
``max_length`` guard cuts only what would not fit the position embeddings and counts it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
from torch.nn import CrossEntropyLoss
from transformers import MBartForSequenceClassification
from transformers.modeling_outputs import Seq2SeqSequenceClassifierOutput

from xlie.pipeline.checkpoints import resume_point
from xlie.papers.prompt_xre.ace05 import LABELS, RelationInstance
from xlie.papers.prompt_xre.params import LANG_CODES
from xlie.papers.prompt_xre.params import MBartRelationParams as Params
from xlie.papers.prompt_xre.templates import SPECIAL, pieces, render
from xlie.pipeline.methods import load_for_inference, load_tokenizer
from xlie.pipeline.training import SUMMARY_FILE, autocast, dev_history, start_training, write_training_summary
from xlie.pipeline.training import training_arguments as shared_training_arguments

if TYPE_CHECKING:  # annotations only: importing it costs an evaluation job seconds
    from transformers import TrainingArguments


def _special_id(tokenizer, token: str) -> int:
    real = {"<s>": tokenizer.bos_token, "</s>": tokenizer.eos_token, "<mask>": tokenizer.mask_token}.get(token, token)
    token_id = tokenizer.convert_tokens_to_ids(real) if real is not None else None
    if token_id is None or (token_id == tokenizer.unk_token_id and real != tokenizer.unk_token):
        raise ValueError(f"tokenizer {tokenizer.name_or_path!r} has no token {real or token!r}")
    return token_id


def lang_id(tokenizer, lang: str) -> int:
    """The tokenizer's id of ``lang``'s mBART language code (``en`` -> ``en_XX``)."""
    if lang not in LANG_CODES:
        raise KeyError(f"no mBART language code for {lang!r}; known: {LANG_CODES}")
    return _special_id(tokenizer, LANG_CODES[lang])


def template_ids(tokenizer, text: str) -> list[int]:
    """Token ids of a filled template: special markers as their ids, each text run tokenized alone."""
    ids: list[int] = []
    for piece in pieces(text):
        if piece in SPECIAL:
            ids.append(_special_id(tokenizer, piece))
        else:
            ids.extend(tokenizer(piece, add_special_tokens=False)["input_ids"])
    return ids


def encode_instance(
    tokenizer,
    template: str,
    instance: RelationInstance,
    lang: str,
    max_length: int,
    *,
    baseline_decoder: str = "sentence",
    decoder_lang: str | None = None,
) -> tuple[dict, bool]:
    """``{"input_ids", "decoder_input_ids"}`` of one instance with language ``lang``'s id (the
    training language's) on the encoder and ``decoder_lang``'s (None: ``lang``'s) on the decoder,
    and whether either side had to be cut to ``max_length``. A cut keeps the closing ``</s>`` (and
    the encoder's language id): the head reads the decoder's last ``</s>``."""
    encoder_text, decoder_text = render(template, instance, baseline_decoder)
    encoder = template_ids(tokenizer, encoder_text) + [lang_id(tokenizer, lang)]
    decoder = [lang_id(tokenizer, decoder_lang or lang)] + template_ids(tokenizer, decoder_text)
    cut = len(encoder) > max_length or len(decoder) > max_length
    if len(encoder) > max_length:
        encoder = encoder[: max_length - 2] + encoder[-2:]
    if len(decoder) > max_length:
        decoder = decoder[: max_length - 1] + decoder[-1:]
    return {"input_ids": encoder, "decoder_input_ids": decoder}, cut


def encode(
    tokenizer,
    template: str,
    instances: Sequence[RelationInstance],
    lang: str,
    max_length: int,
    label_ids: dict[str, int] | None = None,
    **input_options,
) -> tuple[list[dict], int]:
    """Features of ``instances`` (with ``labels`` when ``label_ids`` is given) and the number cut;
    ``input_options``: :func:`encode_instance`'s keywords (``Params.input_options``)."""
    features, cuts = [], 0
    for instance in instances:
        feature, cut = encode_instance(tokenizer, template, instance, lang, max_length, **input_options)
        cuts += cut
        if label_ids is not None:
            if instance.label not in label_ids:
                raise ValueError(
                    f"label {instance.label!r} of {instance.relation_id} is not among the {len(label_ids)} labels"
                )
            feature["labels"] = label_ids[instance.label]
        features.append(feature)
    return features, cuts


# --------------------------------------------------------------------------- model


def last_eos_positions(decoder_input_ids: torch.Tensor, eos_token_id: int) -> torch.Tensor:
    """Per row, the index of the last ``eos_token_id``; a row without one is an error."""
    is_eos = decoder_input_ids.eq(eos_token_id)
    if not bool(is_eos.any(dim=1).all()):
        raise ValueError("every decoder input must contain </s> (the classification head reads it)")
    index = torch.arange(decoder_input_ids.size(1), device=decoder_input_ids.device)
    return torch.where(is_eos, index, -1).max(dim=1).values


class MBartForRelationClassification(MBartForSequenceClassification):
    """``MBartForSequenceClassification`` pooling at the DECODER input's last ``</s>`` (module doc).
    Same weights and head, so it loads any mBART checkpoint; ``decoder_input_ids`` are required."""

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        decoder_input_ids=None,
        decoder_attention_mask=None,
        labels=None,
        **kwargs,
    ) -> Seq2SeqSequenceClassifierOutput:
        if decoder_input_ids is None:
            raise ValueError(
                "MBartForRelationClassification needs explicit decoder_input_ids (the template's decoder side)"
            )
        if decoder_attention_mask is None:
            decoder_attention_mask = decoder_input_ids.ne(self.config.pad_token_id).long()
        kwargs.pop("use_cache", None)
        outputs = self.model(
            input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=decoder_attention_mask,
            use_cache=False,
            **kwargs,
        )
        hidden = outputs[0]
        rows = torch.arange(hidden.size(0), device=hidden.device)
        pooled = hidden[rows, last_eos_positions(decoder_input_ids, self.config.eos_token_id).to(hidden.device)]
        logits = self.classification_head(pooled)
        loss = None
        if labels is not None:
            loss = CrossEntropyLoss()(logits.view(-1, self.config.num_labels), labels.to(logits.device).view(-1))
        # loss and logits only: Trainer's evaluation would gather every other tensor across batches
        return Seq2SeqSequenceClassifierOutput(loss=loss, logits=logits)


def collate(features: list[dict], pad_token_id: int, pad_to: int | None = None) -> dict[str, torch.Tensor]:
    """Right-pads encoder and decoder ids (and masks) to the batch's longest, or to ``pad_to``.
    By hand because no HF collator pads an explicit ``decoder_input_ids`` next to ``input_ids``."""
    batch: dict[str, torch.Tensor] = {}
    for key, mask_key in (("input_ids", "attention_mask"), ("decoder_input_ids", "decoder_attention_mask")):
        rows = [f[key] for f in features]
        width = max(pad_to or 0, max(len(r) for r in rows))
        ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        batch[key], batch[mask_key] = ids, mask
    if "labels" in features[0]:
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
    return batch


# --------------------------------------------------------------------------- parameters


# --------------------------------------------------------------------------- training


def training_arguments(hp: Params, checkpoint_dir: Path, seed: int) -> TrainingArguments:
    """The authors' fairseq optimiser: Adam (0.9, 0.98), polynomial decay to 0 after warm-up, no clipping."""
    return shared_training_arguments(
        checkpoint_dir,
        seed,
        hp,
        selection_metric=hp.selection,
        greater_is_better=hp.selection == "accuracy",
        eval_steps=hp.eval_steps,
        precision=hp.mixed_precision,
        warmup_steps=hp.warmup_ratio,  # a float < 1 is a ratio of the total steps (transformers 5)
        adam_epsilon=hp.adam_epsilon,
        adam_beta1=hp.adam_beta1,
        adam_beta2=hp.adam_beta2,
        max_grad_norm=hp.max_grad_norm,
        save_total_limit=hp.save_total_limit,
        lr_scheduler_type="polynomial",
        lr_scheduler_kwargs={"lr_end": 0.0, "power": 1.0},  # fairseq polynomial_decay
        per_device_eval_batch_size=hp.eval_batch_size,
        remove_unused_columns=False,
        # with max_tokens the batches come from a TokenBudgetBatchSampler (train), not from this
        train_sampling_strategy="group_by_length" if hp.group_by_length and not hp.max_tokens else "random",
    )


def accuracy(eval_prediction) -> dict[str, float]:
    logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    logits = logits[0] if isinstance(logits, tuple) else logits
    return {"accuracy": float((np.asarray(logits).argmax(-1) == np.asarray(labels)).mean())}


def load_for_training(model_path: str, labels: Sequence[str], hp: Params) -> MBartForRelationClassification:
    return MBartForRelationClassification.from_pretrained(
        model_path,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        dropout=hp.dropout,
        attention_dropout=hp.attention_dropout,
        classifier_dropout=hp.pooler_dropout,
    )


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed, labels=LABELS) -> dict:
    """Fine-tune ``model_path`` on ``train`` (one language), select on ``dev`` (same language) by
    ``params['selection']``; best model, tokenizer and ``xlie_training.json`` to ``output_dir``;
    checkpoints in ``checkpoint_dir``, resumed from its newest when present."""
    hp, output_dir, checkpoint_dir = start_training(Params, params, seed, output_dir, checkpoint_dir)
    if not train or not dev:
        raise ValueError(f"Prompt-XRE needs training and dev instances (got {len(train)} and {len(dev)})")
    train_langs = sorted({i.lang for i in train})
    if len(train_langs) != 1:
        raise ValueError(f"training instances must share one language (the language id), got {train_langs}")
    train_lang = train_langs[0]
    from xlie.pipeline.trainers import BatchSamplerTrainer, TokenBudgetBatchSampler

    tokenizer = load_tokenizer(model_path)
    model = load_for_training(model_path, labels, hp)
    label_ids = {label: i for i, label in enumerate(labels)}
    options = hp.input_options()
    train_features, train_cut = encode(tokenizer, hp.template, train, train_lang, hp.max_length, label_ids, **options)
    dev_features, dev_cut = encode(tokenizer, hp.template, dev, train_lang, hp.max_length, label_ids, **options)
    pad = model.config.pad_token_id
    batches = None
    if hp.max_tokens:  # fairseq counts a batch's tokens on the encoder side (src_tokens)
        lengths = [len(feature["input_ids"]) for feature in train_features]
        batches = TokenBudgetBatchSampler(lengths, hp.max_tokens, hp.batch_size, seed)
    trainer = BatchSamplerTrainer(
        model=model,
        args=training_arguments(hp, checkpoint_dir, seed),
        train_dataset=train_features,
        eval_dataset=dev_features,
        data_collator=functools.partial(collate, pad_token_id=pad),
        compute_metrics=accuracy,
        train_batch_sampler=batches,
        decay_all_parameters=hp.weight_decay_all,
    )
    resume = resume_point(checkpoint_dir)
    trainer.train(resume_from_checkpoint=resume)
    output_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(output_dir))  # the best model: load_best_model_at_end reloaded it
    tokenizer.save_pretrained(str(output_dir))
    history = dev_history(trainer)
    best_step = trainer.state.best_global_step
    summary = {
        "template": hp.template,
        "train_lang": train_lang,
        "labels": list(labels),
        "selection": hp.selection,
        "best_step": best_step,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_dev": next((e for e in history if e["step"] == best_step), None),
        "dev_history": history,
        "global_steps": trainer.state.global_step,
        "resumed_from": resume,
        "counts": {
            "train_instances": len(train),
            "train_truncated": train_cut,
            "dev_instances": len(dev),
            "dev_truncated": dev_cut,
            "train_batches_per_epoch": len(batches) if batches else math.ceil(len(train_features) / hp.batch_size),
        },
        "params": dataclasses.asdict(hp),
    }
    return write_training_summary(output_dir, summary)


# --------------------------------------------------------------------------- prediction


@dataclass
class RelationPrediction:
    """Predicted labels, one per instance, and counts of what was not clean (inputs cut)."""

    labels: list[str]
    counts: dict[str, int]


def load_predictor(model_dir: str | Path, task: str, params: dict) -> Callable[..., RelationPrediction]:
    """Load once; the returned function labels any list of instances of ANY language with the
    training language's id (zero-shot), the template the model was trained with."""
    hp = Params.from_dict(params)
    summary = json.loads((Path(model_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
    if summary["template"] != hp.template:
        raise ValueError(f"{model_dir} was trained with template {summary['template']!r}, params say {hp.template!r}")
    options = hp.input_options()
    trained = summary.get("params") or {}
    for name, value in options.items():
        if name in trained and trained[name] != value:
            raise ValueError(f"{model_dir} was trained with {name} {trained[name]!r}, params say {value!r}")
    model, tokenizer = load_for_inference(MBartForRelationClassification, model_dir)
    train_lang = summary["train_lang"]
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    device = next(model.parameters()).device

    def predict(instances: Sequence[RelationInstance], desc: str = "predict") -> RelationPrediction:
        features, cut = encode(tokenizer, hp.template, instances, train_lang, hp.max_length, **options)
        order = sorted(range(len(features)), key=lambda k: len(features[k]["input_ids"]))  # less padding
        predicted: list[str] = [""] * len(features)
        for start in range(0, len(order), hp.eval_batch_size):
            chunk = order[start : start + hp.eval_batch_size]
            batch = {
                k: v.to(device) for k, v in collate([features[k] for k in chunk], model.config.pad_token_id).items()
            }
            with torch.inference_mode(), autocast(hp.mixed_precision if device.type == "cuda" else "none"):
                logits = model(**batch).logits
            for k, label_id in zip(chunk, logits.argmax(-1).tolist()):
                predicted[k] = id2label[label_id]
        return RelationPrediction(predicted, {"instances": len(instances), "truncated_inputs": cut})

    return predict
