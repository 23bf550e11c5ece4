"""ToPro on a seq2seq model (mT5): one prompt per word, the raw tag string as the target.

Input (a sentence pair, the tokenizer's own pair template; mT5: ``A </s> B </s>``)::

    <w1 w2 ... wn> </s> The named entity of <wi> is a kind of: . </s>

truncated with ``only_first`` to ``max_length`` (the sentence is shortened, never the prompt).
Target: the word's tag as a string (``B-LOC``, ``NOUN``), tokenized with the tokenizer's
target template (mT5: ``B-LOC </s>``). Training: standard seq2seq cross-entropy, HF Trainer,
the authors' hyper-parameters (../shared/specs/topro.md).

Prediction is *constrained scoring* instead of free generation: every prompt is encoded once,
every label's token sequence (eos included) is scored by its teacher-forced log-likelihood
(summed over its tokens), and the best label wins. An invalid label is impossible by
construction. The authors generate (max_length 5) and map strings to labels; the constrained
scorer is the clean equivalent (spec, "mT5 ToPro").

Efficiency: prompts are length-sorted and dynamically padded; each batch's encoder states are
expanded over the labels; label token sequences are padded once up front; the output
projection + log-softmax (the dominant cost with a 250k vocabulary) runs only once per
distinct label *prefix* (labels share prefixes such as ``B-`` / ``I-``), not per label position.

Words whose prompt alone does not fit in ``max_length`` (absurdly long words) cannot be
encoded: they are skipped in training and get FALLBACK_LABEL in prediction, counted as
``prompt_too_long``. Instances whose sentence was shortened are counted
(``truncated_context``) but still predicted normally (the word is in the prompt).

This module also holds the pieces shared with ``xlie.papers.topro.methods.vanilla_seq2seq``: the
training arguments, model loading with a dropout override, the Trainer that selects epochs by a
task metric computed by a callable, and the training summary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import torch
from tqdm.auto import tqdm
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
)

from xlie.papers.topro import metrics
from xlie.pipeline.checkpoints import resume_point
from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.papers.topro.params import ToProSeq2SeqParams as Params
from xlie.pipeline.training import autocast, start_training, write_training_summary
from xlie.pipeline.training import training_arguments as shared_training_arguments
from xlie.pipeline.methods import Prediction, load_for_inference
from xlie.papers.topro.prompts import topro_seq2seq_prompt

if TYPE_CHECKING:  # annotations only: importing them costs an evaluation job seconds
    from transformers import Trainer, TrainingArguments

# --------------------------------------------------------------------------- shared helpers


def training_arguments(
    params, checkpoint_dir: Path, task: str, seed: int, eval_steps: int | None = None
) -> TrainingArguments:
    """The authors' optimiser settings (AdamW eps 1e-8, clip 1.0, linear decay), epoch-end (or every
    ``eval_steps``) selection by the task's primary metric, checkpoints in ``checkpoint_dir``."""
    selection = metrics.PRIMARY_METRIC[task]
    return shared_training_arguments(
        checkpoint_dir, seed, params, selection_metric=selection, eval_steps=eval_steps, lr_scheduler_type="linear"
    )


def load_for_training(model_path: str, dropout: float | None):
    """The seq2seq model to fine-tune; ``dropout`` (when set) replaces the config's dropout rate
    (``dropout_rate`` for (m)T5, ``dropout`` for BART-style configs)."""
    model = AutoModelForSeq2SeqLM.from_pretrained(model_path)
    if dropout is not None:
        names = [name for name in ("dropout_rate", "dropout") if hasattr(model.config, name)]
        if not names:
            raise ValueError(f"{type(model.config).__name__} has no dropout setting to override")
        for name in names:
            setattr(model.config, name, float(dropout))
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = float(dropout)
    return model


def fit_selecting_on_dev(model, tokenizer, args, features, dev_eval, dev_scorer, checkpoint_dir: Path):
    """Train ``model`` on ``features``, the best epoch (or step) chosen by ``dev_scorer(model)``
    (``DevSelectionTrainer``), resuming from the newest checkpoint; returns (trainer, resumed from)."""
    from xlie.pipeline.trainers import DevSelectionTrainer

    trainer = DevSelectionTrainer(
        model=model,
        args=args,
        train_dataset=features,
        eval_dataset=dev_eval,  # only so that Trainer accepts an eval strategy; dev_scorer reads it
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100),
        processing_class=tokenizer,
        dev_scorer=dev_scorer,
    )
    resume = resume_point(checkpoint_dir)
    trainer.train(resume_from_checkpoint=resume)
    return trainer, resume


def finish_training(trainer: Trainer, task: str, output_dir: Path, resume: str | None, extra: dict) -> dict:
    """Save the (reloaded) best model to ``output_dir`` and write ``xlie_training.json``."""
    primary = metrics.PRIMARY_METRIC[task]
    dev_history = [entry for entry in trainer.state.log_history if f"eval_{primary}" in entry]
    best_entry = None
    if dev_history:
        best_step = getattr(trainer.state, "best_global_step", None)
        at_step = [e for e in dev_history if e.get("step") == best_step]
        # Trainer keeps the first strictly better value; max() also returns the first maximum.
        best_entry = at_step[0] if at_step else max(dev_history, key=lambda e: e[f"eval_{primary}"])
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(output_dir))
    summary = {
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_dev": {k.removeprefix("eval_"): v for k, v in (best_entry or {}).items()},
        "global_steps": trainer.state.global_step,
        "resumed_from": resume,
        "dev_history": dev_history,
        "train_loss_history": [
            {"step": e["step"], "loss": e["loss"]} for e in trainer.state.log_history if "loss" in e
        ],
        **extra,
    }
    return write_training_summary(output_dir, summary)


# --------------------------------------------------------------------------- ToPro instances


@dataclass
class Instances:
    """Encoded word prompts of a list of sentences; ``index[k] = (sentence, word)`` of feature k."""

    features: list[dict]
    index: list[tuple[int, int]]
    prompt_too_long: list[tuple[int, int]]
    truncated_context: int


def encode_instances(
    tokenizer, task: str, sentences: Sequence[Sentence], max_length: int, with_targets: bool
) -> Instances:
    """One (sentence, prompt) pair per word, ``only_first`` truncation to ``max_length``.

    Prompts that cannot fit with at least one sentence token are left out (``prompt_too_long``).
    With ``with_targets`` every feature gets ``labels`` = the token ids of the word's tag.
    """
    texts, prompts, index = [], [], []
    for i, sentence in enumerate(sentences):
        text = " ".join(sentence.words)
        for j, word in enumerate(sentence.words):
            texts.append(text)
            prompts.append(topro_seq2seq_prompt(task, word))
            index.append((i, j))
    if not index:
        return Instances([], [], [], 0)
    special = tokenizer.num_special_tokens_to_add(pair=True)
    prompt_lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False, verbose=False)["input_ids"]]
    fits = [n + special + 1 <= max_length for n in prompt_lengths]
    keep = [k for k, ok in enumerate(fits) if ok]
    too_long = [index[k] for k, ok in enumerate(fits) if not ok]
    features, truncated = [], 0
    if keep:
        # verbose=False: lengths above model_max_length are the point here, not a problem to warn about
        sentence_lengths = [
            len(ids)
            for ids in tokenizer([" ".join(s.words) for s in sentences], add_special_tokens=False, verbose=False)[
                "input_ids"
            ]
        ]
        batch = tokenizer(
            [texts[k] for k in keep], [prompts[k] for k in keep], truncation="only_first", max_length=max_length
        )
        targets = label_targets(tokenizer, label_set(task)) if with_targets else None
        for n, k in enumerate(keep):
            truncated += sentence_lengths[index[k][0]] + prompt_lengths[k] + special > max_length
            feature = {"input_ids": batch["input_ids"][n], "attention_mask": batch["attention_mask"][n]}
            if targets is not None:
                i, j = index[k]
                feature["labels"] = list(targets[sentences[i].tags[j]])
            features.append(feature)
    return Instances(features, [index[k] for k in keep], too_long, truncated)


def label_targets(tokenizer, labels: Sequence[str]) -> dict[str, list[int]]:
    """Token ids of each label string as a target (mT5: pieces + eos). Training and scoring use
    exactly these sequences. Fails if two labels share a token sequence (e.g. both map to unk):
    the scorer could not tell them apart."""
    ids = {label: list(tokenizer(text_target=label)["input_ids"]) for label in labels}
    seen: dict[tuple[int, ...], str] = {}
    for label, seq in ids.items():
        if not seq:
            raise ValueError(f"label {label!r} tokenizes to an empty sequence")
        other = seen.setdefault(tuple(seq), label)
        if other != label:
            raise ValueError(
                f"labels {other!r} and {label!r} tokenize to the same ids {seq}; "
                "constrained scoring needs distinct sequences"
            )
    return ids


# --------------------------------------------------------------------------- constrained scoring


class LabelScorer:
    """Scores every label string for a batch of encoded prompts (teacher-forced log-likelihood
    summed over the label's tokens, eos included)."""

    def __init__(self, model, tokenizer, labels: Sequence[str]):
        self.labels = tuple(labels)
        targets = label_targets(tokenizer, self.labels)
        seqs = [targets[label] for label in self.labels]
        start = model.config.decoder_start_token_id
        if start is None:
            raise ValueError("model.config.decoder_start_token_id is not set; cannot score label sequences")
        pad = pad_id(model, tokenizer)
        width = max(len(s) for s in seqs)
        # Padded once up front: decoder inputs are the shifted targets; padded positions are never scored.
        self.decoder_input_ids = torch.tensor([[start] + s[:-1] + [pad] * (width - len(s)) for s in seqs])
        # One output row per distinct prefix: position t of label l is predicted from prefix s[:t].
        prefix_row: dict[tuple[int, ...], int] = {}
        source_label, source_pos, pos_row, pos_target, pos_label = [], [], [], [], []
        for l, s in enumerate(seqs):
            for t in range(len(s)):
                key = tuple(s[:t])
                if key not in prefix_row:
                    prefix_row[key] = len(prefix_row)
                    source_label.append(l)
                    source_pos.append(t)
                pos_row.append(prefix_row[key])
                pos_target.append(s[t])
                pos_label.append(l)
        self.source_label = torch.tensor(source_label)
        self.source_pos = torch.tensor(source_pos)
        self.pos_row = torch.tensor(pos_row)
        self.pos_target = torch.tensor(pos_target)
        self.pos_label = torch.tensor(pos_label)

    @torch.inference_mode()
    def __call__(self, model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, n_labels) summed log-probabilities. Inputs on the model's device.

        The decoder's first step (the start token) runs once per prompt with a cache; the cache,
        whose cross-attention keys/values are the expensive part, is then repeated over the labels
        and the remaining label positions run for batch x labels sequences, reusing those
        cross-attention keys/values instead of re-projecting the encoder states per label."""
        dev = input_ids.device
        n_labels = len(self.labels)
        batch = input_ids.shape[0]
        hidden = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        decoder = model.get_decoder()
        label_ids = self.decoder_input_ids.to(dev)
        first = decoder(
            input_ids=label_ids[:1, :1].expand(batch, 1),
            encoder_hidden_states=hidden,
            encoder_attention_mask=attention_mask,
            use_cache=True,
        )
        states = first.last_hidden_state.unsqueeze(1).expand(batch, n_labels, 1, hidden.shape[-1])
        if label_ids.shape[1] > 1:
            cache = first.past_key_values
            cache.batch_repeat_interleave(n_labels)
            rest = decoder(
                input_ids=label_ids[:, 1:].repeat(batch, 1),
                encoder_hidden_states=hidden.repeat_interleave(n_labels, dim=0),
                encoder_attention_mask=attention_mask.repeat_interleave(n_labels, dim=0),
                past_key_values=cache,
                use_cache=True,
            ).last_hidden_state
            states = torch.cat([states, rest.view(batch, n_labels, rest.shape[1], rest.shape[2])], dim=2)
        rows = states[:, self.source_label.to(dev), self.source_pos.to(dev)]  # (batch, prefixes, hidden)
        logprobs = torch.log_softmax(model.get_output_embeddings()(rows).float(), dim=-1)
        token_lp = logprobs[:, self.pos_row.to(dev), self.pos_target.to(dev)]  # (batch, positions)
        scores = torch.zeros(batch, n_labels, device=dev, dtype=token_lp.dtype)
        return scores.index_add_(1, self.pos_label.to(dev), token_lp)


def check_scoring_head(model) -> None:
    """The scorer applies ``get_output_embeddings()`` to the decoder states itself; make sure that
    is what the model's forward does (true for (m)T5 in transformers 5; not e.g. for mBART's
    final_logits_bias), else fail instead of scoring with wrong logits."""
    dev = next(model.parameters()).device
    ids = torch.tensor([[5, 6, 7, model.config.eos_token_id]], device=dev)
    dec = torch.tensor([[model.config.decoder_start_token_id, 5, 6]], device=dev)
    with torch.inference_mode():
        full = model(input_ids=ids, decoder_input_ids=dec, use_cache=False).logits
        hidden = model.get_encoder()(input_ids=ids).last_hidden_state
        mine = model.get_output_embeddings()(
            model.get_decoder()(input_ids=dec, encoder_hidden_states=hidden, use_cache=False).last_hidden_state
        )
    if not torch.allclose(full.float(), mine.float(), atol=1e-3, rtol=1e-3):
        raise NotImplementedError(
            f"{type(model).__name__}: logits are not output_embeddings(decoder states); constrained scoring unsupported"
        )


def pad_id(model, tokenizer) -> int:
    return model.config.pad_token_id if model.config.pad_token_id is not None else tokenizer.pad_token_id


def pad_batch(sequences: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence of the batch: (input_ids, attention_mask)."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask


def score_instances(
    model,
    tokenizer,
    scorer: LabelScorer,
    features: list[dict],
    batch_size: int,
    bf16: bool = False,
    desc: str = "score",
) -> torch.Tensor:
    """(n_features, n_labels) label scores, length-sorted dynamically padded batches."""
    if not features:
        return torch.zeros(0, len(scorer.labels))
    dev = next(model.parameters()).device
    order = sorted(range(len(features)), key=lambda k: len(features[k]["input_ids"]))
    out = torch.empty(len(features), len(scorer.labels))
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", leave=False):
        chunk = order[start : start + batch_size]
        input_ids, attention_mask = pad_batch([features[k]["input_ids"] for k in chunk], pad_id(model, tokenizer))
        with autocast(bf16):
            scores = scorer(model, input_ids.to(dev), attention_mask.to(dev))
        out[chunk] = scores.float().cpu()
    return out


def predict_sentences(
    model,
    tokenizer,
    task: str,
    sentences: Sequence[Sentence],
    max_length: int,
    batch_size: int,
    bf16: bool = False,
    scorer: LabelScorer | None = None,
    desc: str = "predict",
) -> Prediction:
    """Word-level tags by constrained scoring. Counts: ``prompt_too_long`` (words given the
    fallback label), ``truncated_context`` (prompts whose sentence was shortened; still predicted),
    ``prompts`` (word prompts scored)."""
    scorer = scorer or LabelScorer(model, tokenizer, label_set(task))
    instances = encode_instances(tokenizer, task, sentences, max_length, with_targets=False)
    scores = score_instances(model, tokenizer, scorer, instances.features, batch_size, bf16, desc)
    fallback = FALLBACK_LABEL[task]
    tags = [[fallback] * len(s.words) for s in sentences]
    for (i, j), best in zip(instances.index, scores.argmax(-1).tolist()):
        tags[i][j] = scorer.labels[best]
    counts = {
        "prompt_too_long": len(instances.prompt_too_long),
        "truncated_context": instances.truncated_context,
        "prompts": len(instances.index),
    }
    return Prediction(tags, counts)


# --------------------------------------------------------------------------- entry points


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed) -> dict:
    """Fine-tune ToPro on ``train``, select the epoch by the primary metric on ``dev`` (constrained
    scoring), save the best model + ``xlie_training.json`` in ``output_dir``; resumable."""
    hp, output_dir, checkpoint_dir = start_training(Params, params, seed, output_dir, checkpoint_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = load_for_training(model_path, hp.dropout)
    check_scoring_head(model)
    instances = encode_instances(tokenizer, task, train, hp.max_length, with_targets=True)
    if not instances.features:
        raise ValueError(f"no trainable ToPro instances in {len(train)} training sentences")
    dev_eval = list(dev)[: hp.dev_max_sentences] if hp.dev_max_sentences is not None else list(dev)
    scorer = LabelScorer(model, tokenizer, label_set(task))
    dev_counts: dict[str, int] = {}

    def dev_scorer(current_model) -> dict:
        prediction = predict_sentences(
            current_model, tokenizer, task, dev_eval, hp.max_length, hp.eval_batch_size, hp.bf16, scorer, desc="dev"
        )
        dev_counts.update(prediction.counts)
        scores = metrics.score(task, [s.tags for s in dev_eval], prediction.tags)
        return {**scores, **prediction.counts}

    args = training_arguments(hp, checkpoint_dir, task, seed)
    trainer, resume = fit_selecting_on_dev(
        model, tokenizer, args, instances.features, dev_eval, dev_scorer, checkpoint_dir
    )
    counts = {
        "train_sentences": len(train),
        "train_instances": len(instances.features),
        "train_prompt_too_long": len(instances.prompt_too_long),
        "train_truncated_context": instances.truncated_context,
        "dev_sentences": len(dev_eval),
        **{f"dev_{k}": v for k, v in dev_counts.items()},
    }
    return finish_training(trainer, task, output_dir, resume, {"counts": counts, "params": dataclasses.asdict(hp)})


def load_model(model_dir: str | Path):
    """A trained seq2seq model (on the GPU when there is one, eval mode) and its tokenizer."""
    return load_for_inference(AutoModelForSeq2SeqLM, model_dir)


def load_predictor(model_dir: str, task: str, params: dict):
    """Load once; the returned function tags any list of sentences (see xlie.pipeline.methods)."""
    hp = Params.from_dict(params)
    model, tokenizer = load_model(model_dir)
    check_scoring_head(model)
    scorer = LabelScorer(model, tokenizer, label_set(task))

    def predict(sentences: Sequence[Sentence], desc: str = "predict") -> Prediction:
        return predict_sentences(
            model, tokenizer, task, sentences, hp.max_length, hp.eval_batch_size, hp.bf16, scorer, desc
        )

    return predict
