"""Methods: how inputs are built and which model head scores them. Training uses HF Trainer.

Every method exposes the same two functions, so the workflow treats them alike:

    train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed, **task_kwargs) -> summary
        fine-tune from ``model_path`` (hub id or local dir), keep the best source-dev model in
        ``output_dir`` (loadable by ``load_predictor``), checkpoints in ``checkpoint_dir``
        (resumed from when present); ``params`` is the method's config dict; ``task_kwargs`` are
        what the task type adds (``TaskType.method_kwargs``, e.g. a label list read from data).
    load_predictor(model_dir, task, params) -> predict(examples, desc=...) -> prediction record
        load once, then predict any number of example lists (``Prediction`` for tagging).

Zero-shot methods (the LLM study) have ``train = None`` and predict with the base model. A method's
options are its ``Params`` dataclass (``xlie.pipeline.params``), in a torch-free module of its paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Prediction:
    """Word-level tags for each sentence plus counts of everything that was not a clean prediction
    (truncated words, invalid/unparseable generations, empty sentences...). Never silent."""

    tags: list[list[str]]
    counts: dict[str, int] = field(default_factory=dict)
    # Per sentence, what the model produced before it became tags (a generated string, per-word
    # generations), for metrics defined on raw outputs; None when the tags are the output.
    outputs: list | None = None


def load_for_inference(auto_class, model_dir: str | Path):
    """``auto_class.from_pretrained(model_dir)`` on the GPU when there is one, in eval mode, with its tokenizer."""
    import torch

    tokenizer = load_tokenizer(model_dir)
    model = auto_class.from_pretrained(model_dir)
    if torch.cuda.is_available():
        model = model.cuda()
    return model.eval(), tokenizer


def load_tokenizer(model: str | Path):
    """``AutoTokenizer.from_pretrained(model)`` with the checkpoint's text normalisation.

    transformers 5's ``MBartTokenizer`` rebuilds its pipeline from the sentencepiece vocabulary
    without the normalizer that the checkpoint's ``tokenizer.json`` (and sentencepiece, and fairseq)
    apply: full-width punctuation of Chinese text ("，") becomes ``<unk>`` instead of ",". Where the
    loaded tokenizer has no normalizer and the checkpoint's ``tokenizer.json`` has one, it is restored."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    from transformers.utils import cached_file

    tokenizer = AutoTokenizer.from_pretrained(model)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or backend.normalizer is not None:
        return tokenizer
    saved = cached_file(str(model), "tokenizer.json", _raise_exceptions_for_missing_entries=False)
    if saved is not None:
        normalizer = Tokenizer.from_file(saved).normalizer
        if normalizer is not None:
            backend.normalizer = normalizer
    return tokenizer
