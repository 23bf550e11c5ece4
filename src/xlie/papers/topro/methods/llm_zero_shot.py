"""Zero-shot LLM study of ToPro (bloomz, mt0): one prompt per word, no training.

Every word of a sentence becomes one prompt, ``llm_prompt(task, variant, sentence, word)``
(xlie.papers.topro.prompts.LLM), scored by a causal LM (AutoModelForCausalLM, left padding) or a
seq2seq LM (AutoModelForSeq2SeqLM, the prompt goes to the encoder); ``config.is_encoder_decoder``
tells which. Two modes (../shared/specs/topro.md, "LLM study"):

- ``logits``: the next-token logits (causal: the last position, which left padding makes the
  same position for every row; seq2seq: the first decoder step) restricted to the first token
  of each label's verbalizer word as it follows the prompt (``" word"``); argmax -> label.
  It cannot produce an invalid label.
- ``generate``: greedy decoding of ``max_new_tokens``; the label whose verbalizer word occurs
  in the decoded text as a whole word (case-insensitive) wins, the earliest occurrence if
  several do; none -> FALLBACK_LABEL, counted as ``unmatched_generations``. ``Prediction.outputs``
  holds per sentence, per word the matched label or None where the generation matched none (the
  authors score those as a class of their own: xlie.papers.topro.authors_metrics).

Verbalizer words that the vocabulary splits into several tokens (several are split by the real
bloomz/mt0 vocabularies): policy ``first_piece`` (default) scores the first piece and records
each such label in the counts (``verbalizer_first_piece_<label>``); ``strict`` fails naming the
word, the label and the model. Two labels whose scored tokens coincide always fail.

Inference streams sentences in chunks, length-sorts each chunk's prompts, pads each batch to
its longest prompt, and truncates over-long prompts from the LEFT (the question at the end is
kept), counting them as ``truncated_prompts``. The module has no ``train`` (zero-shot).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Iterator, Sequence

import torch
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.papers.topro.params import VERBALIZER_POLICIES, LLMParams as Params
from xlie.pipeline.training import autocast
from xlie.pipeline.methods import Prediction
from xlie.papers.topro.prompts import llm_prompt
from xlie.papers.topro.verbalizers import llm_verbalizer, verbalizer

# Prompts per streamed chunk, in batches: enough for length sorting to pay off, little memory.
CHUNK_BATCHES = 32


def _snake(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


# ----------------------------------------------------------------------------- generate mode


def match_label(text: str, task: str, words: dict[str, str] | None = None) -> str | None:
    """The label whose verbalizer word (``words``, default ToPro's) occurs in ``text`` as a whole
    word (case-insensitive); the earliest occurrence wins when several do; None when none does."""
    by_word = {word.lower(): label for label, word in (words or verbalizer(task)).items()}
    alternatives = "|".join(re.escape(word) for word in sorted(by_word, key=len, reverse=True))
    found = re.search(rf"(?<!\w)(?:{alternatives})(?!\w)", text, re.IGNORECASE)  # re caches the pattern
    return None if found is None else by_word[found.group(0).lower()]


# ----------------------------------------------------------------------------- logits mode


def verbalizer_token_ids(
    tokenizer,
    task: str,
    variant: str,
    policy: str = "first_piece",
    model_name: str = "model",
    words: dict[str, str] | None = None,
) -> tuple[dict[str, int], list[str]]:
    """label -> the token id scored for it, and the labels whose word was not a single token.

    The id is that of the first token of ``" " + word`` as it follows the prompt (the prompt is
    tokenized with and without the word; the tokens that differ are the word's), so byte-BPE
    (``Ġword``) and SentencePiece (``▁word``) vocabularies are treated alike.
    """
    if policy not in VERBALIZER_POLICIES:
        raise ValueError(f"verbalizer_policy={policy!r} is not one of {list(VERBALIZER_POLICIES)}")
    prompt = llm_prompt(task, variant, "x", "x")
    base = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids: dict[str, int] = {}
    split: list[str] = []
    owner: dict[int, str] = {}
    words = words or verbalizer(task)
    for label, word in words.items():
        full = tokenizer(prompt + " " + word, add_special_tokens=False)["input_ids"]
        common = 0
        while common < min(len(base), len(full)) and base[common] == full[common]:
            common += 1
        pieces = full[common:]
        if not pieces:
            raise ValueError(f"verbalizer word {word!r} (label {label}) adds no token after the prompt in {model_name}")
        # Clean: the prompt's tokens are untouched and the word is one token.
        if len(pieces) > 1 or common != len(base):
            if policy == "strict":
                shown = tokenizer.convert_ids_to_tokens(pieces)
                raise ValueError(
                    f"verbalizer word {word!r} (label {label}, task {task}) is not a single token in "
                    f"{model_name}: {shown}; use verbalizer_policy 'first_piece' to score its first piece"
                )
            split.append(label)
        token = pieces[0]
        if token in owner:
            raise ValueError(
                f"verbalizer collision in {model_name}: labels {owner[token]} ({words[owner[token]]!r}) "
                f"and {label} ({word!r}) are both scored by token "
                f"{tokenizer.convert_ids_to_tokens([token])[0]!r} (id {token})"
            )
        owner[token] = label
        ids[label] = token
    return ids, split


# ----------------------------------------------------------------------------- encoding


def _special_layout(tokenizer) -> tuple[int, int] | None:
    """(tokens the tokenizer puts before, after a single text), e.g. (1, 0) for ``<s> text``
    or (0, 1) for ``text </s>``; None when the text's tokens are not kept as one run."""
    probe = "a b c"
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for before in range(len(full) - len(bare) + 1):
        if full[before : before + len(bare)] == bare:
            return before, len(full) - len(bare) - before
    return None


def encode_prompts(tokenizer, prompts: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
    """Token ids of each prompt (with the model's special tokens); a prompt longer than
    ``max_length`` is truncated from the LEFT so that the question at its end survives (the
    special tokens stay). Returns (ids, number of truncated prompts)."""
    encoded = tokenizer(list(prompts), add_special_tokens=True)["input_ids"]
    too_long = [i for i, ids in enumerate(encoded) if len(ids) > max_length]
    if not too_long:
        return encoded, 0
    layout = _special_layout(tokenizer)
    if layout is not None and sum(layout) < max_length:
        before, after = layout
        keep = max_length - before - after
        for i in too_long:  # what the tokenizer's left truncation does, without tokenizing twice
            ids = encoded[i]
            encoded[i] = ids[:before] + ids[len(ids) - after - keep : len(ids) - after] + ids[len(ids) - after :]
        return encoded, len(too_long)
    side = tokenizer.truncation_side
    tokenizer.truncation_side = "left"
    try:
        cut = tokenizer(
            [prompts[i] for i in too_long], add_special_tokens=True, truncation=True, max_length=max_length
        )["input_ids"]
    finally:
        tokenizer.truncation_side = side
    for i, ids in zip(too_long, cut):
        encoded[i] = ids
    return encoded, len(too_long)


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int, left: bool) -> dict[str, torch.Tensor]:
    """Pad to the batch's longest row (dynamic padding); left padding for causal LMs."""
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        input_ids[i, span] = torch.tensor(row, dtype=torch.long)
        mask[i, span] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


# ----------------------------------------------------------------------------- the model


class LLM:
    """A loaded causal or seq2seq LM with its tokenizer and the two scoring functions."""

    def __init__(self, model_dir: str | Path, bf16: bool = False, device: str | None = None):
        self.name = str(model_dir)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.bf16 = bool(bf16) and self.device.type == "cuda"
        config = AutoConfig.from_pretrained(model_dir)
        self.seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        loader = AutoModelForSeq2SeqLM if self.seq2seq else AutoModelForCausalLM
        dtype = torch.bfloat16 if self.bf16 else torch.float32
        self.model = loader.from_pretrained(model_dir, dtype=dtype).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        # Prompts are truncated by encode_prompts (from the left, counted), not by the tokenizer:
        # silence its "longer than the maximum sequence length" warning about untruncated text.
        self.tokenizer.model_max_length = int(1e30)
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        if pad is None:
            raise ValueError(f"{self.name}: the tokenizer has neither a pad nor an eos token to pad batches with")
        self.pad_id = pad
        forward = inspect.signature(self.model.forward).parameters
        self._position_ids = not self.seq2seq and "position_ids" in forward
        self._logits_to_keep = not self.seq2seq and "logits_to_keep" in forward

    def prompt_limit(self, max_length: int, new_tokens: int) -> int:
        """``max_length``, lowered where a causal LM's position table cannot hold the prompt plus
        ``new_tokens`` generated tokens (prompts cut by it are counted like any truncation)."""
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if self.seq2seq or not isinstance(limit, int):
            return max_length
        if limit - new_tokens < 8:
            raise ValueError(
                f"llm params: {new_tokens} new tokens leave no room for a prompt in the {limit} positions "
                f"of {self.name}"
            )
        return min(max_length, limit - new_tokens)

    def _autocast(self):
        return autocast(self.bf16)

    def _batch(self, ids: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        batch = pad_batch(ids, self.pad_id, left=not self.seq2seq)
        return {k: v.to(self.device) for k, v in batch.items()}

    @torch.inference_mode()
    def next_token_logits(self, ids: Sequence[Sequence[int]], columns: Sequence[int] | None = None) -> torch.Tensor:
        """[batch, vocab] logits of the token that would follow each prompt (float32, CPU);
        only the vocabulary ``columns`` when given (picked on the device: 250k-word vocabularies)."""
        batch = self._batch(ids)
        with self._autocast():
            if self.seq2seq:
                start = self.model.config.decoder_start_token_id
                if start is None:
                    start = getattr(self.model.generation_config, "decoder_start_token_id", None)
                if start is None:
                    raise ValueError(f"{self.name}: config has no decoder_start_token_id")
                decoder = torch.full((len(ids), 1), start, dtype=torch.long, device=self.device)
                logits = self.model(**batch, decoder_input_ids=decoder).logits[:, 0]
            else:
                extra = {}
                if self._position_ids:  # absolute-position models need positions that skip the padding
                    extra["position_ids"] = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
                if self._logits_to_keep:
                    extra["logits_to_keep"] = 1
                logits = self.model(**batch, **extra).logits[:, -1]  # left padding: the last real token
        if columns is not None:
            logits = logits[:, torch.as_tensor(list(columns), device=logits.device)]
        return logits.float().cpu()

    @torch.inference_mode()
    def generate(self, ids: Sequence[Sequence[int]], max_new_tokens: int) -> list[str]:
        """Greedy continuations of each prompt, decoded without special tokens."""
        batch = self._batch(ids)
        with self._autocast():
            out = self.model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=self.pad_id,
            )
        if not self.seq2seq:  # a causal LM returns prompt + continuation
            out = out[:, batch["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(out.cpu(), skip_special_tokens=True)


# ----------------------------------------------------------------------------- prediction


def word_prompts(sentence: Sentence, task: str, variant: str) -> list[str]:
    """One prompt per word of the sentence."""
    text = " ".join(sentence.words)
    return [llm_prompt(task, variant, text, word) for word in sentence.words]


def _chunks(sentences: Sequence[Sentence], prompts_per_chunk: int) -> Iterator[list[int]]:
    chunk, size = [], 0
    for i, sentence in enumerate(sentences):
        chunk.append(i)
        size += len(sentence.words)
        if size >= prompts_per_chunk:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def predict_sentences(
    llm: LLM,
    task: str,
    sentences: Sequence[Sentence],
    hp: Params,
    label_ids: dict[str, int] | None = None,
    desc: str = "predict",
) -> Prediction:
    """Tag ``sentences`` (see the module docstring); ``label_ids`` is required in logits mode.
    ``outputs``: generate mode, per word the matched label or None (unmatched); logits mode None."""
    words = llm_verbalizer(task, hp.verbalizer, llm.seq2seq)
    fallback = FALLBACK_LABEL[task]
    counts = {"truncated_prompts": 0, "empty_sentences": 0}
    if hp.mode == "generate":
        counts["unmatched_generations"] = 0
    else:
        if label_ids is None:
            raise ValueError("logits mode needs the verbalizer token ids (label_ids)")
        labels = list(label_ids)
        columns = [label_ids[label] for label in labels]
    tags: list[list[str]] = [[fallback] * len(s.words) for s in sentences]
    matched: list[list[str | None]] | None = (
        [[None] * len(s.words) for s in sentences] if hp.mode == "generate" else None
    )
    counts["empty_sentences"] = sum(1 for s in sentences if not s.words)
    progress = tqdm(total=len(sentences), desc=desc, unit="sentence", leave=False)
    for chunk in _chunks(sentences, hp.batch_size * CHUNK_BATCHES):
        slots = [(i, j) for i in chunk for j in range(len(sentences[i].words))]
        prompts = [p for i in chunk for p in word_prompts(sentences[i], task, hp.prompt_variant)]
        if prompts:
            encoded, truncated = encode_prompts(llm.tokenizer, prompts, hp.max_length)
            counts["truncated_prompts"] += truncated
            order = sorted(range(len(encoded)), key=lambda k: len(encoded[k]))
            for start in range(0, len(order), hp.batch_size):
                rows = order[start : start + hp.batch_size]
                ids = [encoded[k] for k in rows]
                if hp.mode == "logits":
                    best = llm.next_token_logits(ids, columns).argmax(-1).tolist()
                    predicted = [labels[b] for b in best]
                else:
                    predicted = []
                    for k, text in zip(rows, llm.generate(ids, hp.max_new_tokens)):
                        label = match_label(text, task, words)
                        i, j = slots[k]
                        matched[i][j] = label
                        if label is None:
                            counts["unmatched_generations"] += 1
                            label = fallback
                        predicted.append(label)
                for k, label in zip(rows, predicted):
                    i, j = slots[k]
                    tags[i][j] = label
        progress.update(len(chunk))
    progress.close()
    return Prediction(tags, counts, matched)


def load_predictor(model_dir: str, task: str, params: dict):
    """Load once; the returned ``predict(sentences, desc)`` tags any list of sentences (see xlie.pipeline.methods)."""
    hp = Params.from_dict(params)
    label_set(task)  # a clear KeyError for an unknown task, before loading anything
    llm = LLM(model_dir, bf16=hp.bf16)
    max_length = llm.prompt_limit(hp.max_length, hp.max_new_tokens if hp.mode == "generate" else 0)
    if max_length != hp.max_length:
        hp = dataclasses.replace(hp, max_length=max_length)
    label_ids, first_piece = None, []
    if hp.mode == "logits":
        words = llm_verbalizer(task, hp.verbalizer, llm.seq2seq)
        label_ids, first_piece = verbalizer_token_ids(
            llm.tokenizer, task, hp.prompt_variant, hp.verbalizer_policy, llm.name, words
        )
    # Constant per model: which labels were scored by the first piece of a split word.
    verbalizer_counts = {"verbalizer_first_piece_labels": len(first_piece)} if hp.mode == "logits" else {}
    verbalizer_counts.update({f"verbalizer_first_piece_{_snake(label)}": 1 for label in first_piece})

    def predict(sentences: Sequence[Sentence], desc: str = "predict") -> Prediction:
        prediction = predict_sentences(llm, task, sentences, hp, label_ids, desc)
        prediction.counts.update(verbalizer_counts)
        return prediction

    return predict
