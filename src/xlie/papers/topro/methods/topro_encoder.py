"""ToPro on encoders (mBERT, XLM-R): token-level prompt decomposition with a masked-LM head.

One instance per WORD of a sentence (dataset words, not sub-words), built as a sentence pair:
segment A = the whole sentence (words joined by spaces), segment B =
``prompt_templates.topro_encoder_prompt(task, word, tokenizer.mask_token)``, e.g.
``The named entity of <word> is a kind of: <mask> .``; the label is the word's tag.
The class logits are the MLM logits at the mask position restricted to one verbalizer token per
label (``xlie.papers.topro.verbalizers``, label-set order); full fine-tuning with cross-entropy
(../shared/specs/topro.md).

Decisions (documented, tested):

* Truncation shortens the sentence (``truncation="only_first"``), never the template or the mask.
  A prompt whose template alone does not fit in ``max_length`` (a very long word) is not scored:
  the word gets ``FALLBACK_LABEL[task]`` and is counted (``template_too_long``). A prompt without
  exactly one mask token (the data itself holds the mask string) likewise (``mask_count_not_one``).
  Prompts whose sentence was cut are scored and counted (``truncated_prompts``).
* Verbalizer ids: ``verbalizer_lookup="vocabulary_entry"`` (default, the authors') looks each word up
  as one vocabulary entry (``convert_tokens_to_ids``: XLM-R's bare ``location``, WordPiece ``location``);
  a word with no entry fails naming word and model. ``"in_context"`` takes the ids of the word where the
  template puts it, after a space (SentencePiece ``▁location``); there ``verbalizer_policy="strict"``
  (default) fails when a word is not exactly one token and ``"first_piece"`` uses the first piece and
  records the labels concerned (summary and ``verbalizer_first_piece_labels`` count). Two labels on one
  id is always an error.
* The MLM head runs only on the mask rows (``class_logits``: encoder hidden states, gather the
  mask position, head, verbalizer columns); the same function gives the training loss and the
  evaluator's scores.
* Metrics: the task's (``xlie.papers.topro.metrics``, seqeval entity F1 / accuracy) and, in every
  metrics.json, the authors' swapped sklearn weighted F1 (``MethodSpec.authors_metric``). Dev selection:
  the primary metric (``selection_metric: primary``, the default) or the authors' (``weighted_f1_swapped``,
  boleima/ToPro run_prompt_tag.py; ``xlie.papers.topro.authors_metrics``); ``xlie_training.json`` names it.

Two evaluators with identical input ids, hence identical predictions:

* ``predict_fast`` (what ``load_predictor`` returns, and the epoch-end dev evaluation): streams
  over chunks of sentences, one batched pair-tokenizer call per chunk, length-sorted prompts,
  dynamic padding, numpy/tensor gather and scatter, ``torch.inference_mode``, bf16 autocast on GPU.
* ``predict_faithful``: the original code's evaluator (every prompt padded to ``max_length``, file
  order, fixed batches, full-vocabulary MLM logits at every position), kept as the reference.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import AutoModelForMaskedLM, AutoTokenizer

from xlie.papers.topro import metrics
from xlie.papers.topro.authors_metrics import AUTHORS_METRICS
from xlie.pipeline.checkpoints import resume_point
from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.papers.topro.params import VERBALIZER_LOOKUPS, VERBALIZER_POLICIES, ToProEncoderParams as Params
from xlie.pipeline.training import autocast, start_training, training_arguments, write_training_summary
from xlie.pipeline.methods import Prediction, load_for_inference
from xlie.papers.topro.prompts import TOPRO_ENCODER, topro_encoder_prompt
from xlie.papers.topro.verbalizers import verbalizer

# Every count a prediction reports (always present, 0 when nothing happened).
COUNT_KEYS = (
    "empty_sentences",
    "template_too_long",
    "mask_count_not_one",
    "truncated_prompts",
    "verbalizer_first_piece_labels",
)


# ---------------------------------------------------------------- verbalizer


def verbalizer_ids(
    tokenizer, task: str, policy: str, model_path: str | Path, *, lookup: str
) -> tuple[list[int], list[str]]:
    """Token id of each label's verbalizer word (label-set order) and the labels that needed the
    first-piece fallback. ``lookup="vocabulary_entry"`` (the authors'): the bare word as one vocabulary
    entry, which must exist and be no special token. ``"in_context"``: the word tokenized where the
    template puts it, after the template text before the mask and a space; ``policy`` says what a
    word of several pieces does."""
    if policy not in VERBALIZER_POLICIES:
        raise ValueError(f"verbalizer_policy must be one of {VERBALIZER_POLICIES}, got {policy!r}")
    if lookup not in VERBALIZER_LOOKUPS:
        raise ValueError(f"verbalizer_lookup must be one of {VERBALIZER_LOOKUPS}, got {lookup!r}")
    ids: list[int] = []
    first_piece: list[str] = []
    owner: dict[int, str] = {}
    for label, word in verbalizer(task).items():
        if lookup == "vocabulary_entry":
            pieces = [_vocabulary_entry(tokenizer, task, label, word, model_path)]
        else:
            pieces = _pieces_in_context(tokenizer, task, label, word, model_path)
        tokens = tokenizer.convert_ids_to_tokens(pieces)
        if len(pieces) != 1:
            if policy == "strict":
                raise ValueError(
                    f"verbalizer word {word!r} of label {label!r} ({task}) is {len(pieces)} tokens {tokens} in the "
                    f"vocabulary of {model_path}, not one; use topro_encoder verbalizer_policy='first_piece' to "
                    f"score its first piece {tokens[0]!r}"
                )
            first_piece.append(label)
        if pieces[0] in owner:
            other = owner[pieces[0]]
            raise ValueError(
                f"labels {other!r} and {label!r} ({task}) map to the same verbalizer token {tokens[0]!r} "
                f"(id {pieces[0]}) in the vocabulary of {model_path}: the classes would be indistinguishable"
            )
        owner[pieces[0]] = label
        ids.append(int(pieces[0]))
    return ids, first_piece


def _vocabulary_entry(tokenizer, task: str, label: str, word: str, model_path) -> int:
    token_id = tokenizer.convert_tokens_to_ids(word)
    if token_id is None or token_id == tokenizer.unk_token_id or token_id in tokenizer.all_special_ids:
        raise ValueError(
            f"verbalizer word {word!r} of label {label!r} ({task}) is not an entry of the vocabulary of "
            f"{model_path} (verbalizer_lookup='vocabulary_entry', the authors' convert_tokens_to_ids); use "
            f"topro_encoder verbalizer_lookup='in_context' to tokenize it after the template text"
        )
    return int(token_id)


def _pieces_in_context(tokenizer, task: str, label: str, word: str, model_path) -> list[int]:
    prefix = TOPRO_ENCODER[task].split("{mask}")[0].format(word="X").rstrip()
    prefix_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    in_context = tokenizer(f"{prefix} {word}", add_special_tokens=False)["input_ids"]
    if in_context[: len(prefix_ids)] == prefix_ids:
        pieces = in_context[len(prefix_ids) :]
    else:  # the word merged with the template text: fall back to the word on its own
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
    if not pieces or pieces[0] == tokenizer.unk_token_id:
        raise ValueError(
            f"verbalizer word {word!r} of label {label!r} ({task}) has no usable token in the vocabulary "
            f"of {model_path} (tokens {tokenizer.convert_ids_to_tokens(pieces)})"
        )
    return pieces


# ---------------------------------------------------------------- prompts


def iter_prompts(task: str, sentences: Sequence[Sentence], mask_token: str) -> Iterator[tuple[int, int, str, str]]:
    """(sentence index, word index, text_a, text_b) for every word, in file order."""
    for i, sentence in enumerate(sentences):
        text_a = " ".join(sentence.words)
        for j, word in enumerate(sentence.words):
            yield i, j, text_a, topro_encoder_prompt(task, word, mask_token)


def build_prompts(task: str, sentences: Sequence[Sentence], mask_token: str) -> list[tuple[int, int, str, str]]:
    """All prompts of ``sentences`` (one per word); the fast evaluator never builds a whole file's."""
    return list(iter_prompts(task, sentences, mask_token))


@dataclass
class EncodedPrompts:
    """Tokenizer output of the prompts that can be scored (``keep``: their indices in the input)."""

    input_ids: list[list[int]]
    attention_mask: list[list[int]]
    token_type_ids: list[list[int]] | None
    keep: np.ndarray
    counts: Counter


def encode_prompts(
    tokenizer, text_a: list[str], text_b: list[str], max_length: int, padding: bool | str = False
) -> EncodedPrompts:
    """Pair-encode prompts, truncating only the sentence (``truncation="only_first"``). Prompts whose
    template does not fit (``template_too_long``) or that do not hold exactly one mask
    (``mask_count_not_one``) are dropped and counted; prompts whose sentence was cut are kept and
    counted (``truncated_prompts``). The result does not depend on which prompts are encoded together."""
    counts: Counter = Counter()
    n = len(text_a)
    keep = np.arange(n)
    kwargs = dict(truncation="only_first", max_length=max_length, padding=padding)
    try:
        batch = tokenizer(text_a, text_b, **kwargs)
    except Exception as error:  # the Rust tokenizer refuses a pair whose template leaves no room for the sentence
        if "truncat" not in str(error).lower():
            raise
        specials = tokenizer.num_special_tokens_to_add(pair=True)
        template = np.fromiter(
            map(len, tokenizer(text_b, add_special_tokens=False, verbose=False)["input_ids"]), dtype=np.int64, count=n
        )
        unique_a = list(dict.fromkeys(text_a))
        a_length = dict(
            zip(unique_a, map(len, tokenizer(unique_a, add_special_tokens=False, verbose=False)["input_ids"]))
        )
        sentence = np.fromiter((a_length[a] for a in text_a), dtype=np.int64, count=n)
        # the tokenizer's own rule: it fits untruncated, or the cut sentence keeps at least one token
        fits = (template + specials + sentence <= max_length) | (template + specials < max_length)
        counts["template_too_long"] += int((~fits).sum())
        keep = np.flatnonzero(fits)
        if len(keep) == 0:
            return EncodedPrompts([], [], None, keep, counts)
        batch = tokenizer([text_a[i] for i in keep], [text_b[i] for i in keep], **kwargs)
    input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
    token_type_ids = batch.get("token_type_ids")
    lengths = np.fromiter(map(len, input_ids), dtype=np.int64, count=len(input_ids))
    encodings = getattr(batch, "encodings", None)  # fast tokenizers: Rust encodings know what was cut
    if encodings is not None:
        counts["truncated_prompts"] += sum(
            bool(encodings[row].overflowing) for row in np.flatnonzero(lengths >= max_length)
        )
    mask_id = tokenizer.mask_token_id
    masks = np.fromiter((row.count(mask_id) for row in input_ids), dtype=np.int64, count=len(input_ids))
    too_long = lengths > max_length  # a (slow) tokenizer that could not truncate enough and said so only in a log
    good = np.flatnonzero((masks == 1) & ~too_long)
    if len(good) < len(input_ids):
        counts["template_too_long"] += int(too_long.sum())
        counts["mask_count_not_one"] += int(((masks != 1) & ~too_long).sum())
        input_ids = [input_ids[i] for i in good]
        attention_mask = [attention_mask[i] for i in good]
        token_type_ids = None if token_type_ids is None else [token_type_ids[i] for i in good]
        keep = keep[good]
    return EncodedPrompts(input_ids, attention_mask, token_type_ids, keep, counts)


def pad_rows(rows: Sequence[Sequence[int]], pad_value: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad ragged rows into an int64 matrix without a Python loop over tokens; returns (matrix, lengths)."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max()) if len(rows) else 0
    matrix = np.full((len(rows), width), pad_value, dtype=np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
    matrix[np.arange(width)[None, :] < lengths[:, None]] = flat
    return matrix, lengths


# ---------------------------------------------------------------- scoring


def mlm_head(model) -> torch.nn.Module:
    """The masked-LM head module (``lm_head`` for XLM-R/RoBERTa, ``cls`` for BERT)."""
    for name in ("lm_head", "cls"):
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head
    raise TypeError(f"{type(model).__name__} has no masked-LM head (lm_head or cls); ToPro needs a *ForMaskedLM model")


def class_logits(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    mask_token_id: int,
    label_token_ids: torch.Tensor,
) -> torch.Tensor:
    """[batch, labels] logits: MLM scores of the verbalizer tokens at each prompt's (single) mask.
    The head runs on the mask rows only. Used by the training loss and the fast evaluator."""
    core = getattr(model, "module", model)  # DataParallel
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        inputs["token_type_ids"] = token_type_ids
    hidden = core.base_model(**inputs)[0]
    positions = (input_ids == mask_token_id).int().argmax(dim=1)
    rows = hidden[torch.arange(input_ids.shape[0], device=hidden.device), positions]
    return mlm_head(core)(rows)[:, label_token_ids]


@contextlib.contextmanager
def _eval_mode(model):
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _new_counts(first_piece_labels: int) -> Counter:
    counts = Counter({key: 0 for key in COUNT_KEYS})
    counts["verbalizer_first_piece_labels"] = first_piece_labels
    return counts


def _assemble(
    task: str,
    chunk: Sequence[Sentence],
    word_offsets: np.ndarray,
    sentence_index: np.ndarray,
    word_index: np.ndarray,
    predicted: np.ndarray,
) -> list[list[str]]:
    """Scatter per-prompt class ids into per-sentence tag lists (unscored words keep the fallback)."""
    labels = label_set(task)
    tag_ids = np.full(int(word_offsets[-1]), labels.index(FALLBACK_LABEL[task]), dtype=np.int64)
    tag_ids[word_offsets[sentence_index] + word_index] = predicted
    names = np.asarray(labels, dtype=object)[tag_ids].tolist()
    return [names[word_offsets[i] : word_offsets[i + 1]] for i in range(len(chunk))]


@torch.inference_mode()
def predict_fast(
    model,
    tokenizer,
    task: str,
    sentences: Sequence[Sentence],
    *,
    batch_size: int = 64,
    max_length: int = 128,
    chunk_sentences: int = 256,
    bf16: bool = False,
    verbalizer_policy: str = Params.verbalizer_policy,
    verbalizer_lookup: str = Params.verbalizer_lookup,
    label_token_ids: Sequence[int] | None = None,
    desc: str = "predict",
) -> Prediction:
    """Tag ``sentences`` (the fast evaluator): chunked, length-sorted, dynamically padded batches."""
    first_piece: list[str] = []
    if label_token_ids is None:
        label_token_ids, first_piece = verbalizer_ids(
            tokenizer, task, verbalizer_policy, getattr(tokenizer, "name_or_path", "?"), lookup=verbalizer_lookup
        )
    device = next(model.parameters()).device
    verbal = torch.tensor(list(label_token_ids), dtype=torch.long, device=device)
    mask_id, pad_id = tokenizer.mask_token_id, tokenizer.pad_token_id
    counts = _new_counts(len(first_piece))
    tags: list[list[str]] = []
    total = sum(len(s.words) for s in sentences)
    with (
        _eval_mode(model),
        autocast(bf16 and device.type == "cuda"),
        tqdm(total=total, desc=desc, unit="word", leave=False) as progress,
    ):
        for start in range(0, len(sentences), chunk_sentences):
            chunk = sentences[start : start + chunk_sentences]
            lengths = np.fromiter((len(s.words) for s in chunk), dtype=np.int64, count=len(chunk))
            counts["empty_sentences"] += int((lengths == 0).sum())
            word_offsets = np.concatenate([[0], np.cumsum(lengths)])
            sentence_index = np.repeat(np.arange(len(chunk)), lengths)
            word_index = np.arange(int(word_offsets[-1])) - word_offsets[sentence_index]
            text_a, text_b = [], []
            for sentence in chunk:
                joined = " ".join(sentence.words)
                text_a.extend([joined] * len(sentence.words))
                text_b.extend(topro_encoder_prompt(task, w, tokenizer.mask_token) for w in sentence.words)
            predicted = np.empty(0, dtype=np.int64)
            keep = np.empty(0, dtype=np.int64)
            if text_a:
                encoded = encode_prompts(tokenizer, text_a, text_b, max_length)
                counts.update(encoded.counts)
                keep = encoded.keep
            if len(keep):
                ids, row_lengths = pad_rows(encoded.input_ids, pad_id)
                types = pad_rows(encoded.token_type_ids, 0)[0] if encoded.token_type_ids is not None else None
                attention = pad_rows(encoded.attention_mask, 0)[0]  # the tokenizer's own mask
                order = np.argsort(-row_lengths, kind="stable")  # longest first: a memory problem shows at once
                outputs = []
                for b in range(0, len(order), batch_size):
                    rows = order[b : b + batch_size]
                    width = int(row_lengths[rows[0]])
                    batch_types = None if types is None else torch.from_numpy(types[rows, :width]).to(device)
                    logits = class_logits(
                        model,
                        torch.from_numpy(ids[rows, :width]).to(device),
                        torch.from_numpy(attention[rows, :width]).to(device),
                        batch_types,
                        mask_id,
                        verbal,
                    )
                    outputs.append(logits.argmax(-1))
                    progress.update(len(rows))
                predicted = np.empty(len(order), dtype=np.int64)
                predicted[order] = torch.cat(outputs).cpu().numpy()
            progress.update(int(word_offsets[-1]) - len(keep))
            tags.extend(_assemble(task, chunk, word_offsets, sentence_index[keep], word_index[keep], predicted))
    return Prediction(tags, dict(counts))


@torch.inference_mode()
def predict_faithful(
    model,
    tokenizer,
    task: str,
    sentences: Sequence[Sentence],
    batch_size: int,
    max_length: int = 128,
    verbalizer_policy: str = Params.verbalizer_policy,
    verbalizer_lookup: str = Params.verbalizer_lookup,
    desc: str = "predict (faithful)",
) -> Prediction:
    """The authors' evaluator, kept as the reference: prompts in file order, fixed batches of
    ``batch_size``, every prompt padded to ``max_length``, the full-vocabulary MLM logits at every
    position, then the mask position and the verbalizer ids. Same input ids as ``predict_fast``."""
    label_token_ids, first_piece = verbalizer_ids(
        tokenizer, task, verbalizer_policy, getattr(tokenizer, "name_or_path", "?"), lookup=verbalizer_lookup
    )
    device = next(model.parameters()).device
    labels = label_set(task)
    fallback = FALLBACK_LABEL[task]
    counts = _new_counts(len(first_piece))
    counts["empty_sentences"] = sum(1 for s in sentences if not s.words)
    tags = [[fallback] * len(s.words) for s in sentences]
    prompts = iter_prompts(task, sentences, tokenizer.mask_token)
    total = sum(len(s.words) for s in sentences)
    with _eval_mode(model), tqdm(total=total, desc=desc, unit="prompt", leave=False) as progress:
        while batch := list(itertools.islice(prompts, batch_size)):
            sentence_index, word_index, text_a, text_b = zip(*batch)
            encoded = encode_prompts(tokenizer, list(text_a), list(text_b), max_length, padding="max_length")
            counts.update(encoded.counts)
            progress.update(len(batch))
            if not len(encoded.keep):
                continue
            input_ids = torch.tensor(encoded.input_ids, device=device)
            inputs = {"input_ids": input_ids, "attention_mask": torch.tensor(encoded.attention_mask, device=device)}
            if encoded.token_type_ids is not None:
                inputs["token_type_ids"] = torch.tensor(encoded.token_type_ids, device=device)
            vocab_logits = model(**inputs).logits  # [batch, max_length, vocabulary]
            positions = (input_ids == tokenizer.mask_token_id).int().argmax(dim=1)
            scores = vocab_logits[torch.arange(len(positions), device=device), positions][:, label_token_ids]
            for k, p in zip(encoded.keep.tolist(), scores.argmax(-1).tolist()):
                tags[sentence_index[k]][word_index[k]] = labels[p]
    return Prediction(tags, dict(counts))


# ---------------------------------------------------------------- training


class PromptDataset(torch.utils.data.Dataset):
    """Encoded training prompts held as flat int arrays (hundreds of thousands of prompts stay small)."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, types: np.ndarray | None, labels: np.ndarray):
        self.ids, self.offsets, self.types, self.labels = ids, offsets, types, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        start, end = self.offsets[i], self.offsets[i + 1]
        item = {"input_ids": self.ids[start:end], "labels": int(self.labels[i])}
        if self.types is not None:
            item["token_type_ids"] = self.types[start:end]
        return item

    @classmethod
    def from_sentences(
        cls, tokenizer, task: str, sentences: Sequence[Sentence], max_length: int, chunk_sentences: int = 256
    ) -> tuple["PromptDataset", Counter]:
        label2id = {label: i for i, label in enumerate(label_set(task))}
        ids, types, labels, lengths = [], [], [], []
        counts = _new_counts(0)
        del counts["verbalizer_first_piece_labels"]
        for start in tqdm(
            range(0, len(sentences), chunk_sentences), desc="encode train prompts", unit="chunk", leave=False
        ):
            chunk = sentences[start : start + chunk_sentences]
            counts["empty_sentences"] += sum(1 for s in chunk if not s.words)
            prompts = build_prompts(task, chunk, tokenizer.mask_token)
            if not prompts:
                continue
            encoded = encode_prompts(tokenizer, [p[2] for p in prompts], [p[3] for p in prompts], max_length)
            counts.update(encoded.counts)
            labels.extend(label2id[chunk[prompts[k][0]].tags[prompts[k][1]]] for k in encoded.keep.tolist())
            lengths.extend(map(len, encoded.input_ids))
            ids.append(np.fromiter(itertools.chain.from_iterable(encoded.input_ids), dtype=np.int32))
            if encoded.token_type_ids is not None:
                types.append(np.fromiter(itertools.chain.from_iterable(encoded.token_type_ids), dtype=np.int8))
        offsets = np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))])
        flat_ids = np.concatenate(ids) if ids else np.empty(0, dtype=np.int32)
        flat_types = np.concatenate(types) if types else None
        return cls(flat_ids, offsets, flat_types, np.asarray(labels, dtype=np.int64)), counts


class PromptCollator:
    """Dynamic padding of training prompts into tensors."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        ids, lengths = pad_rows([item["input_ids"] for item in items], self.pad_id)
        batch = {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy((np.arange(ids.shape[1])[None, :] < lengths[:, None]).astype(np.int64)),
            "labels": torch.tensor([item["labels"] for item in items], dtype=torch.long),
        }
        if "token_type_ids" in items[0]:
            batch["token_type_ids"] = torch.from_numpy(pad_rows([item["token_type_ids"] for item in items], 0)[0])
        return batch


@functools.cache
def trainer_class():
    """ToProTrainer, defined on first use: ``transformers.Trainer`` costs seconds of imports that an
    evaluation job does not need."""
    from transformers import Trainer

    class ToProTrainer(Trainer):
        """HF Trainer whose loss is cross-entropy over the verbalizer logits at the mask and whose
        evaluation is the fast evaluator's word-level primary metric on the source dev sentences."""

        def __init__(self, *args, task: str, label_token_ids: list[int], hp: Params, first_piece_labels: int, **kwargs):
            super().__init__(*args, **kwargs)
            self.task, self.hp, self.first_piece_labels = task, hp, first_piece_labels
            self.label_token_ids = list(label_token_ids)
            # Mean loss per micro-batch, divided by grad_accum by the Trainer (the authors' scaling).
            self.model_accepts_loss_kwargs = False

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            verbal = torch.tensor(self.label_token_ids, dtype=torch.long, device=labels.device)
            logits = class_logits(
                model,
                inputs["input_ids"],
                inputs["attention_mask"],
                inputs.get("token_type_ids"),
                self.processing_class.mask_token_id,
                verbal,
            )
            loss = F.cross_entropy(logits.float(), labels)
            return (loss, {"logits": logits}) if return_outputs else loss

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
            sentences = self.eval_dataset if eval_dataset is None else eval_dataset
            prediction = predict_fast(
                self.model,
                self.processing_class,
                self.task,
                sentences,
                batch_size=self.hp.eval_batch_size,
                max_length=self.hp.max_length,
                chunk_sentences=self.hp.eval_chunk_sentences,
                bf16=self.hp.bf16,
                label_token_ids=self.label_token_ids,
                desc="dev",
            )
            prediction.counts["verbalizer_first_piece_labels"] = self.first_piece_labels
            scores = metrics.score(self.task, [s.tags for s in sentences], prediction.tags)
            if self.hp.selection_metric != "primary":  # the authors' dev metric, computed only when it selects
                scores[self.hp.selection_metric] = AUTHORS_METRICS[self.hp.selection_metric](sentences, prediction.tags)
            out = {f"{metric_key_prefix}_{k}": v for k, v in scores.items() if isinstance(v, float)}
            out.update({f"{metric_key_prefix}_count_{k}": v for k, v in prediction.counts.items()})
            self.log(out)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, out)
            return out

    return ToProTrainer


def _strip(entry: dict, prefix: str = "eval_") -> dict:
    """Metric values of a logged evaluation, without the prefix and without the counts."""
    return {
        k.removeprefix(prefix): v
        for k, v in entry.items()
        if k.startswith(prefix) and not k.startswith(f"{prefix}count_")
    }


def selection_metric(task: str, hp: Params) -> str:
    """The dev metric (a key of the evaluation's scores) that keeps the best epoch: the task's
    primary metric, or the authors' metric that ``hp.selection_metric`` names."""
    return metrics.PRIMARY_METRIC[task] if hp.selection_metric == "primary" else hp.selection_metric


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed) -> dict:
    """Fine-tune, select the best epoch on ``dev``, save it to ``output_dir``; resumable (the uniform
    method entry point, see xlie.pipeline.methods)."""
    hp, output_dir, checkpoint_dir = start_training(Params, params, seed, output_dir, checkpoint_dir)
    if not dev:
        raise ValueError("ToPro model selection needs a non-empty source dev set")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.mask_token is None:
        raise ValueError(f"tokenizer of {model_path} has no mask token; ToPro encoders need a masked-LM model")
    label_token_ids, first_piece = verbalizer_ids(
        tokenizer, task, hp.verbalizer_policy, model_path, lookup=hp.verbalizer_lookup
    )
    model = AutoModelForMaskedLM.from_pretrained(model_path)
    train_set, train_counts = PromptDataset.from_sentences(
        tokenizer, task, train, hp.max_length, hp.eval_chunk_sentences
    )
    if len(train_set) == 0:
        raise ValueError(f"no ToPro training prompt fits in max_length={hp.max_length} ({dict(train_counts)})")
    primary = metrics.PRIMARY_METRIC[task]
    selection = selection_metric(task, hp)
    args = training_arguments(
        checkpoint_dir, seed, hp, selection_metric=selection, lr_scheduler_type="linear", remove_unused_columns=False
    )
    trainer = trainer_class()(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=list(dev),
        data_collator=PromptCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        task=task,
        label_token_ids=label_token_ids,
        hp=hp,
        first_piece_labels=len(first_piece),
    )
    resume = resume_point(checkpoint_dir)
    trainer.train(resume_from_checkpoint=resume)
    history = trainer.state.log_history
    dev_entries = [e for e in history if f"eval_{primary}" in e]
    best_checkpoint = trainer.state.best_model_checkpoint
    best_step = int(best_checkpoint.rsplit("-", 1)[-1]) if best_checkpoint else None
    best_entry = next((e for e in dev_entries if e.get("step") == best_step), dev_entries[-1] if dev_entries else {})
    trainer.save_model(str(output_dir))
    tokens = tokenizer.convert_ids_to_tokens(label_token_ids)
    summary = {
        "method": "topro_encoder",
        "model_path": str(model_path),
        "best_checkpoint": best_checkpoint,
        "best_epoch": best_entry.get("epoch"),
        "best_dev": _strip(best_entry),
        "selection": selection,
        "dev_history": [{"epoch": e.get("epoch"), "step": e.get("step"), **_strip(e)} for e in dev_entries],
        "train_loss_history": [
            {"step": e["step"], "epoch": e.get("epoch"), "loss": e["loss"]} for e in history if "loss" in e
        ],
        "global_steps": trainer.state.global_step,
        "resumed_from": resume,
        "train_sentences": len(train),
        "train_prompts": len(train_set),
        "dev_sentences": len(dev),
        "counts": {
            "train": {**dict(train_counts), "verbalizer_first_piece_labels": len(first_piece)},
            "dev": {k.removeprefix("eval_count_"): v for k, v in best_entry.items() if k.startswith("eval_count_")},
        },
        "verbalizer": {
            "policy": hp.verbalizer_policy,
            "lookup": hp.verbalizer_lookup,
            "token_ids": dict(zip(label_set(task), label_token_ids)),
            "tokens": dict(zip(label_set(task), tokens)),
            "first_piece_labels": first_piece,
        },
        "params": asdict(hp),
        "seed": seed,
    }
    return write_training_summary(output_dir, summary)


def load_topro(model_dir: str | Path):
    return load_for_inference(AutoModelForMaskedLM, model_dir)


def load_predictor(model_dir: str, task: str, params: dict):
    """Load once; the returned function tags any list of sentences with the fast evaluator."""
    hp = Params.from_dict(params)
    model, tokenizer = load_topro(model_dir)
    label_token_ids, first_piece = verbalizer_ids(
        tokenizer, task, hp.verbalizer_policy, model_dir, lookup=hp.verbalizer_lookup
    )
    summary_path = Path(model_dir) / "xlie_training.json"
    if summary_path.is_file():
        trained = json.loads(summary_path.read_text(encoding="utf-8")).get("verbalizer", {}).get("token_ids")
        if trained is not None and list(trained.values()) != label_token_ids:
            raise ValueError(
                f"{model_dir} was trained with verbalizer token ids {trained} but verbalizer_policy="
                f"{hp.verbalizer_policy!r} and verbalizer_lookup={hp.verbalizer_lookup!r} give "
                f"{dict(zip(label_set(task), label_token_ids))}"
            )

    def predict(sentences: Sequence[Sentence], desc: str = "predict") -> Prediction:
        prediction = predict_fast(
            model,
            tokenizer,
            task,
            sentences,
            batch_size=hp.eval_batch_size,
            max_length=hp.max_length,
            chunk_sentences=hp.eval_chunk_sentences,
            bf16=hp.bf16,
            label_token_ids=label_token_ids,
            desc=desc,
        )
        prediction.counts["verbalizer_first_piece_labels"] = len(first_piece)
        return prediction

    return predict
