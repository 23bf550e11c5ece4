"""The options of ToPro's methods, one ``Params`` dataclass per method (torch-free: the grid checks
a config's ``training:`` blocks against them without importing a model library).

Defaults are the authors' scripts (../shared/specs/topro.md): the XTREME ``run_tag.py`` settings
for Vanilla, Tu et al. 2022 / salesforce MPT for prefix tuning (PT), the ToPro scripts for the
encoders and mT5. Each method module imports its class as ``Params``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlie.papers.topro.verbalizers import LLM_VERBALIZER_STYLES
from xlie.pipeline.params import MethodParams, TrainingParams

# How a verbalizer word that the vocabulary splits into several tokens is scored: fail, or score
# its first piece and record the label.
VERBALIZER_POLICIES = ("strict", "first_piece")
# How a verbalizer word becomes a token id on the encoders: the authors look the bare word up as a
# vocabulary entry (boleima/ToPro processors/utils.py, ``convert_tokens_to_ids(word)``; XLM-R's bare
# piece ``location``); ``in_context`` tokenizes it where the template puts it (``▁location``).
VERBALIZER_LOOKUPS = ("vocabulary_entry", "in_context")
# The dev metric a ToPro encoder keeps its best epoch by: the task's primary metric (seqeval F1 /
# accuracy) or the authors' (boleima/ToPro run_prompt_tag.py: sklearn weighted F1, arguments
# swapped; xlie.papers.topro.authors_metrics.weighted_f1_swapped).
ENCODER_SELECTION_METRICS = ("primary", "weighted_f1_swapped")
LLM_MODES = ("logits", "generate")
LLM_PROMPT_VARIANTS = ("a", "b")


@dataclass
class ToProTrainingParams(TrainingParams):
    """What every trained ToPro method shares (HF Trainer, linear decay)."""

    warmup_steps: int = 0  # optimiser steps of linear warm-up
    bf16: bool = False  # bfloat16 mixed precision; used on a GPU only


@dataclass
class EncoderParams(ToProTrainingParams):
    """Encoder methods (mBERT, XLM-R): the ToPro/XTREME encoder settings."""

    learning_rate: float = 1e-5
    epochs: float = 5
    eval_batch_size: int = 64
    max_length: int = 128  # sub-word tokens per input, special tokens included


@dataclass
class TokenClassificationParams(EncoderParams):
    """Vanilla fine-tuning of a token-classification head (``token_classification``)."""

    grad_accum: int = 4  # micro-batches per optimiser step
    eval_steps: int = 1000  # evaluate English dev (and checkpoint) every N optimiser steps


@dataclass
class PrefixTuningParams(EncoderParams):
    """PT: prefix tuning of a frozen encoder with a trained head (``prefix_tuning``); no gradient
    accumulation (an out-of-memory retry lowers the effective batch, and the record says so)."""

    learning_rate: float = 1e-2
    dropout: float = 0.1  # hidden (and classifier) dropout of the encoder
    num_virtual_tokens: int = 16  # prefix length
    eval_steps: int | None = (
        1000  # evaluate English dev (and checkpoint) every N optimiser steps; None: every epoch (MPT)
    )
    lr_gamma: float | None = None  # None: linear decay; else MPT's ExponentialLR(gamma) stepped per epoch


@dataclass
class ToProEncoderParams(EncoderParams):
    """ToPro on encoders: one masked-LM prompt per word (``topro_encoder``); dev selection at each epoch end."""

    epochs: int = 5
    grad_accum: int = 4  # micro-batches per optimiser step
    eval_chunk_sentences: int = 256  # sentences tokenized together by the fast evaluator
    verbalizer_policy: str = "strict"  # or "first_piece" (in_context lookup only)
    verbalizer_lookup: str = "vocabulary_entry"  # or "in_context"
    logging_steps: int = 50
    selection_metric: str = "primary"  # or "weighted_f1_swapped" (the authors'), see ENCODER_SELECTION_METRICS

    def __post_init__(self) -> None:
        self.check_choices(
            verbalizer_policy=VERBALIZER_POLICIES,
            verbalizer_lookup=VERBALIZER_LOOKUPS,
            selection_metric=ENCODER_SELECTION_METRICS,
        )
        self.check_positive_ints("batch_size", "grad_accum", "epochs", "max_length", "logging_steps")
        self.check_positive_ints("eval_batch_size", "eval_chunk_sentences")
        if not self.learning_rate > 0:
            raise ValueError(f"{type(self).__qualname__}.learning_rate: {self.learning_rate!r} must be > 0")


@dataclass
class Seq2SeqParams(ToProTrainingParams):
    """mT5 methods (the authors' mT5 scripts).

    ``epochs``: 10 for PAN-X, 5 for UDPOS in the paper; the workflow sets it per table.
    ``dev_max_sentences``: evaluate at most the first N dev sentences at each selection (None = all).
    ``dropout``: None keeps the model config's dropout (the paper); a number overrides it for
    fine-tuning (tiny random-init demo models learn far faster with 0).
    """

    batch_size: int = 24
    epochs: float = 10
    grad_accum: int = 4  # micro-batches per optimiser step
    dev_max_sentences: int | None = None
    logging_steps: int = 50
    dropout: float | None = None


@dataclass
class ToProSeq2SeqParams(Seq2SeqParams):
    """ToPro on mT5: one prompt per word, the tag string as target (``topro_seq2seq``); dev selection
    at each epoch end. ``eval_batch_size``: prompts per scoring batch (each expanded over the labels)."""

    max_length: int = 128  # tokens of the (sentence, prompt) pair; the sentence is shortened


@dataclass
class VanillaSeq2SeqParams(Seq2SeqParams):
    """Vanilla mT5: the whole sentence in, every word's label out as text (``vanilla_seq2seq``).
    ``eval_batch_size``: sentences per generation batch."""

    max_source_length: int = 128
    # Generated sequence lengths in decoder tokens, the start token included (HF's max_length /
    # min_length of an encoder-decoder): the authors' generate(min_length=10, max_length=150).
    max_target_length: int = 150
    min_length: int = 10
    num_beams: int = 3
    # The authors' generate(early_stopping=True): a beam search ends once num_beams hypotheses are finished.
    early_stopping: bool = True
    eval_steps: int | None = None  # None: select at each epoch end; N: every N optimiser steps (the authors: 1000)

    def __post_init__(self) -> None:
        self.check_positive_ints("max_source_length", "max_target_length", "num_beams")
        if not 0 <= self.min_length < self.max_target_length:
            raise ValueError(
                f"{type(self).__qualname__}.min_length: {self.min_length!r} must be in [0, max_target_length)"
            )


@dataclass
class LLMParams(MethodParams):
    """Settings of the zero-shot LLM study (``llm_zero_shot``; config key ``papers.<paper>.training.llm``;
    ``mode`` is the method's variant, ``logits`` or ``generate``)."""

    mode: str = "logits"  # "logits" or "generate"
    prompt_variant: str = "a"  # "a" (ToPro template) or "b" (label words listed first)
    batch_size: int = 16  # prompts per forward pass / generate call
    # Prompt tokens; longer prompts are cut from the left and counted. Lowered for a causal LM
    # whose position table cannot hold max_length + max_new_tokens (LLM.prompt_limit).
    max_length: int = 512
    max_new_tokens: int = 10  # generate mode only
    bf16: bool = False  # GPU only: bfloat16 weights and autocast; ignored on CPU
    verbalizer_policy: str = "first_piece"  # "first_piece" or "strict" (logits mode only)
    verbalizer: str = "topro"  # "topro" (ToPro's words) or "authors" (their per-model UDPOS words)

    def __post_init__(self) -> None:
        self.check_choices(
            mode=LLM_MODES,
            prompt_variant=LLM_PROMPT_VARIANTS,
            verbalizer_policy=VERBALIZER_POLICIES,
            verbalizer=LLM_VERBALIZER_STYLES,
        )
        self.check_positive_ints("batch_size", "max_length", "max_new_tokens")
        if not isinstance(self.bf16, bool):
            raise ValueError(f"{type(self).__qualname__}.bf16: {self.bf16!r} must be true or false")
