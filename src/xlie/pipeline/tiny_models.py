"""Tiny, randomly initialised models of every architecture family the papers use.

The demo runs with no network, so nothing can come from the hub: we train one
SentencePiece-unigram tokenizer on the demo corpus and save small random-init configs
with ``save_pretrained``. They then load through exactly the same
``from_pretrained`` code path as hub ids, which is the point: the demo exercises the
real loading, training and evaluation code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

import torch
from tokenizers import SentencePieceUnigramTokenizer
from tokenizers.processors import TemplateProcessing
from transformers import (
    BertConfig,
    BertForMaskedLM,
    LlamaConfig,
    LlamaForCausalLM,
    MBartConfig,
    MBartForConditionalGeneration,
    MT5Config,
    MT5ForConditionalGeneration,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from xlie.pipeline.runtime import atomic_write_text

# XLM-R's special-token order, so that ids 0..3 mean what they mean in the real models.
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
# mBART language codes (Prompt-XRE uses these three); special so they stay one token.
MBART_LANG_CODES = ["ar_AR", "en_XX", "zh_CN"]
FAMILIES = ("bert", "xlmr", "mt5", "mbart", "causal")


def corpus_lines(files: Iterable[Path]) -> Iterator[str]:
    """Sentences of XTREME tsv files, words joined by spaces (the tokenizer's training text)."""
    for path in files:
        words: list[str] = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                words.append(line.split("\t")[0])
            elif words:
                yield " ".join(words)
                words = []
        if words:
            yield " ".join(words)


def prompt_words() -> list[str]:
    """The words the papers' prompts need whole (their ``tokenizer_texts`` hooks). A pretrained
    multilingual vocabulary holds these English words whole; a vocabulary learned from a few
    thousand tagged sentences splits them, and a method that scores a word as one token needs it."""
    from xlie.pipeline.registry import hooks

    return sorted({word for hook in hooks("tokenizer_texts") for word in hook()})


# tokenizers' unigram trainer scores the corpus characters that EM dropped min_score + k * 1e-4.
_REQUIRED_CHAR_STEP = 1e-4


def _canonical_vocab(vocab: list[list], n_special: int) -> list[list]:
    """The unigram trainer's vocabulary in an order and with scores that do not depend on the run.

    The trainer (tokenizers, Rust) sums in hash-map order, so scores differ in the last bits
    between two builds, and it re-adds the corpus characters that EM dropped with scores
    ``min_score + k * 1e-4``, k in hash-map order; ids, and with them every number of the
    demo, then differ between two builds. We round the scores, give the characters of that
    band the minimum score, and sort by (score, piece) after the special tokens, which keep
    their ids."""
    special, pieces = vocab[:n_special], [[piece, round(score, 6)] for piece, score in vocab[n_special:]]
    lowest = min(score for _, score in pieces)
    singles = {score for piece, score in pieces if len(piece) == 1}
    k = 0
    while round(lowest + (k + 1) * _REQUIRED_CHAR_STEP, 6) in singles:
        k += 1
    top = round(lowest + k * _REQUIRED_CHAR_STEP, 6)
    for entry in pieces:
        if len(entry[0]) == 1 and lowest <= entry[1] <= top:
            entry[1] = lowest
    return special + sorted(pieces, key=lambda entry: (-entry[1], entry[0]))


def _finish_vocab(tokenizer: SentencePieceUnigramTokenizer, words: list[str]) -> SentencePieceUnigramTokenizer:
    """Canonical order (see _canonical_vocab), then ``▁word`` pieces added with the best unigram
    score, so Viterbi keeps each prompt word whole."""
    state = json.loads(tokenizer._tokenizer.to_str())
    vocab = _canonical_vocab(state["model"]["vocab"], len(SPECIAL_TOKENS) + len(MBART_LANG_CODES))
    known = {piece for piece, _ in vocab}
    best = max(score for _, score in vocab if score < 0) if vocab else 0.0
    vocab.extend([f"\u2581{w}", best] for w in words if f"\u2581{w}" not in known)
    state["model"]["vocab"] = vocab
    tokenizer._tokenizer = tokenizer._tokenizer.from_str(json.dumps(state))
    return tokenizer


def train_tokenizer(lines: Iterable[str], vocab_size: int) -> SentencePieceUnigramTokenizer:
    lines = list(lines)
    # A unigram vocabulary must hold every character of the corpus (plus specials and the
    # word-boundary marker); say so by config key instead of the trainer's bare exception.
    needed = (
        len({c for line in lines for c in line if not c.isspace()}) + len(SPECIAL_TOKENS) + len(MBART_LANG_CODES) + 1
    )
    if vocab_size < needed:
        raise ValueError(
            f"config key tiny_models.vocab_size: {vocab_size} is too small for the demo corpus, "
            f"which needs at least {needed} entries (its distinct characters plus special tokens)"
        )
    tokenizer = SentencePieceUnigramTokenizer()
    tokenizer.train_from_iterator(
        lines,
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS + MBART_LANG_CODES,
        unk_token="<unk>",
        show_progress=False,
    )
    return _finish_vocab(tokenizer, prompt_words())


def _post_processor(family: str, ids: dict[str, int]) -> TemplateProcessing:
    s, e = ("<s>", ids["<s>"]), ("</s>", ids["</s>"])
    if family == "bert":  # [CLS] A [SEP] B [SEP], with segment ids
        return TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1", special_tokens=[s, e])
    if family == "xlmr":  # <s> A </s></s> B </s>
        return TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[s, e])
    if family in ("mt5", "mbart"):  # T5 style: eos only (mBART adds language codes in the method)
        return TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[e])
    if family == "causal":  # Llama style: bos only
        return TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[s])
    raise KeyError(f"unknown model family {family!r}; known: {FAMILIES}")


def wrap_tokenizer(base: SentencePieceUnigramTokenizer, family: str, max_length: int) -> PreTrainedTokenizerFast:
    backend = base._tokenizer.__class__.from_str(base._tokenizer.to_str())  # independent copy
    ids = {token: backend.token_to_id(token) for token in SPECIAL_TOKENS}
    backend.post_processor = _post_processor(family, ids)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=max_length,
        padding_side="left" if family == "causal" else "right",
        # BERT pairs carry segment ids (as the real mBERT tokenizer returns them); others do not.
        model_input_names=["input_ids", "token_type_ids", "attention_mask"]
        if family == "bert"
        else ["input_ids", "attention_mask"],
    )
    return tokenizer


def _config(family: str, vocab_size: int, size: dict, ids: dict[str, int]):
    hidden, layers, heads = size["hidden_size"], size["num_layers"], size["num_heads"]
    ffn, positions = size["intermediate_size"], size["max_positions"]
    pad, bos, eos = ids["<pad>"], ids["<s>"], ids["</s>"]
    common = dict(vocab_size=vocab_size, pad_token_id=pad, bos_token_id=bos, eos_token_id=eos)
    # BERT, XLM-R and Llama name the sizes alike.
    bert_sizes = dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=ffn)
    if family == "bert":
        return BertConfig(**bert_sizes, max_position_embeddings=positions, **common)
    if family == "xlmr":  # RoBERTa offsets positions by padding_idx + 1
        return XLMRobertaConfig(**bert_sizes, max_position_embeddings=positions + 2, **common)
    if family == "causal":
        return LlamaConfig(**bert_sizes, num_key_value_heads=heads, max_position_embeddings=positions * 4, **common)
    if family == "mt5":
        sizes = dict(d_model=hidden, d_kv=hidden // heads, d_ff=ffn, num_heads=heads, num_decoder_layers=layers)
        return MT5Config(**sizes, num_layers=layers, decoder_start_token_id=pad, tie_word_embeddings=False, **common)
    if family == "mbart":  # the encoder's sizes and the decoder's alike
        side = dict(layers=layers, attention_heads=heads, ffn_dim=ffn)
        sizes = {f"{part}_{key}": value for part in ("encoder", "decoder") for key, value in side.items()}
        return MBartConfig(
            d_model=hidden, **sizes, max_position_embeddings=positions, decoder_start_token_id=eos, **common
        )
    raise KeyError(f"unknown model family {family!r}; known: {FAMILIES}")


_MODEL_CLASSES = {
    "bert": BertForMaskedLM,
    "xlmr": XLMRobertaForMaskedLM,
    "mt5": MT5ForConditionalGeneration,
    "mbart": MBartForConditionalGeneration,
    "causal": LlamaForCausalLM,
}


def build_tiny_models(corpus_files: list[Path], out_dirs: dict[str, Path], size: dict, seed: int) -> dict[str, dict]:
    """Train one tokenizer on ``corpus_files`` and save a random-init model per family in ``out_dirs``.

    ``size`` holds vocab_size, hidden_size, num_layers, num_heads, intermediate_size, max_positions.
    Returns a provenance record per family.
    """
    lines = list(corpus_lines(corpus_files))
    base = train_tokenizer(lines, size["vocab_size"])
    records = {}
    for family, out_dir in out_dirs.items():
        torch.manual_seed(seed)  # same seed per family: the build is reproducible family by family
        tokenizer = wrap_tokenizer(base, family, size["max_positions"])
        ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
        config = _config(family, len(tokenizer), size, ids)
        model = _MODEL_CLASSES[family](config)
        out_dir = Path(out_dir)
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        record = {
            "family": family,
            "architecture": type(model).__name__,
            "parameters": sum(p.numel() for p in model.parameters()),
            "vocab_size": len(tokenizer),
            "tokenizer_corpus_sentences": len(lines),
            "corpus_files": [str(p) for p in corpus_files],
            "seed": seed,
            "note": "randomly initialised demo model, built locally; not a pretrained checkpoint",
        }
        atomic_write_text(out_dir / "xlie_build.json", json.dumps(record, indent=2) + "\n")
        records[family] = record
    return records
