"""The stand-ins of xlie.pipeline.standins re-initialised at a benchmark's size, shared by the benchmarks
in tools/ that run real tokenizer classes on random weights (both sides of a benchmark load the same
directory, so they compare the same weights).

Sizes are given as ``{"hidden", "layers", "heads", "ffn"}`` and set under each architecture's own config
names (BLOOM's feed-forward is always 4 x hidden); a real vocabulary size widens the embedding and output
tables, so that the LM head weighs as on the real checkpoint.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Rows of the real checkpoints' vocabularies, by config model_type.
REAL_VOCAB = {"bloom": 250880, "mt5": 250112, "t5": 250112, "xlm-roberta": 250002}


def resize_config(config, size: dict | None, real_vocab: bool):
    """``config`` (changed in place and returned) at ``size`` (None: as built) and, with ``real_vocab``,
    the real checkpoint's vocabulary size."""
    if size is not None:
        if config.model_type == "bloom":
            config.hidden_size, config.n_layer, config.n_head = size["hidden"], size["layers"], size["heads"]
        elif getattr(config, "is_encoder_decoder", False):  # T5 / mT5 names
            config.d_model, config.d_ff, config.num_heads = size["hidden"], size["ffn"], size["heads"]
            config.num_layers = config.num_decoder_layers = size["layers"]
            config.d_kv = size["hidden"] // size["heads"]
        else:  # BERT-like encoders
            config.hidden_size, config.intermediate_size = size["hidden"], size["ffn"]
            config.num_hidden_layers, config.num_attention_heads = size["layers"], size["heads"]
    if real_vocab:
        config.vocab_size = REAL_VOCAB[config.model_type]
    return config


def build_model_dir(
    snapshot: Path, out: Path, size: dict | None, real_vocab: bool, seed: int, untie_output: bool = False
) -> None:
    """The stand-in's files in ``out``, the model re-initialised (``seed``) at ``size`` (None, without
    ``real_vocab``: kept as built), its tokenizer unchanged. ``untie_output``: an output layer of its own,
    as mT5 has (its stand-in ties it to the input embeddings)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    shutil.copytree(snapshot, out)
    if size is None and not real_vocab:
        return
    config = resize_config(AutoConfig.from_pretrained(out), size, real_vocab)
    loader = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    if untie_output:
        config.tie_word_embeddings = False
    torch.manual_seed(seed)
    model = loader.from_config(config)
    if untie_output:
        shared = model.get_input_embeddings().weight
        model.get_output_embeddings().weight = torch.nn.Parameter(torch.randn_like(shared) * shared.std().item())
    model.save_pretrained(out)


def resized_standin(
    directory: Path, model_id: str, size: dict | None, real_vocab: bool, seed: int, untie_output: bool = False
) -> Path:
    """The stand-in of ``model_id`` built under ``directory`` and re-initialised as :func:`build_model_dir`
    does: the model directory both sides of a benchmark load."""
    from xlie.pipeline.standins import build_hub_cache

    built = build_hub_cache(directory / "hub", [model_id], seed=seed)
    out = directory / model_id.replace("/", "--")
    build_model_dir(Path(built[model_id]["snapshot"]), out, size, real_vocab, seed, untie_output)
    return out
