"""Baichuan2-7B checkpoints converted into a layout that transformers, peft and vLLM load natively.

The hub checkpoint (``baichuan-inc/Baichuan2-7B-Base``) ships its own modelling and tokenizer code
(``trust_remote_code``), which no longer runs on transformers 5. Its architecture is Llama's except
for two things, both undone here without running any of that code:

- ``self_attn.W_pack``: q, k and v projections fused into one ``[3 * hidden, hidden]`` matrix (rows
  q, then k, then v), split into Llama's ``q_proj``/``k_proj``/``v_proj``. RoPE needs no
  permutation: Baichuan2-7B rotates halves (``rotate_half``, ``cat(freqs, freqs)``, base 10000), as
  transformers' Llama does.
- ``lm_head`` is a ``NormHead``: its forward uses ``F.normalize(weight)`` (rows scaled to unit L2
  norm; in training on every call, in evaluation once, in place). The normalised rows are baked in.

Its sentencepiece ``tokenizer.model`` (BPE, byte fallback, digits split, no dummy prefix, no
normalisation) becomes a fast ``LlamaTokenizer`` with the same ids and the special tokens and
BOS/EOS behaviour of ``tokenizer_config.json``. Reading uses ``json``, ``torch.load(weights_only=True)``
or safetensors, and protobuf: nothing from the checkpoint is executed.

:func:`write_baichuan_checkpoint` writes a tiny random-init checkpoint in the hub's original layout
(the stand-in the tests and the paper preset's offline runs convert).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from xlie.pipeline.runtime import atomic_write_text

CONVERSION_RECORD = "xlie_conversion.json"
ARCHITECTURE = "BaichuanForCausalLM"
ROPE_THETA = 10000.0  # Baichuan2-7B's RotaryEmbedding(base=10000); its config has no key for it
MAX_POSITIONS = 4096  # the hub config's max_position_embeddings and model_max_length
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json")
# BaichuanTokenizer.__init__'s defaults, for a tokenizer_config.json that does not set them.
TOKENIZER_DEFAULTS = {
    "add_bos_token": True,
    "add_eos_token": False,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": None,
}
_LAYER_WEIGHTS = (
    "self_attn.W_pack",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
    "input_layernorm",
    "post_attention_layernorm",
)


class NotBaichuanLayout(ValueError):
    """The directory is not a Baichuan2-7B checkpoint in the hub's layout; the message names the file."""


# ---------------------------------------------------------------- the hub's layout


def baichuan_spm_options() -> dict:
    """sentencepiece ``SentencePieceTrainer.train`` options giving a model with Baichuan2's conventions
    (Baichuan 2 technical report, section 2.2: BPE, "we do not apply any normalization to the input
    text and we do not add a dummy prefix", numbers split into digits, whitespace-only tokens,
    character coverage 0.9999 with byte fallback, pieces up to 32 characters; ids <unk> 0, <s> 1,
    </s> 2 as its config's pad 0 / bos 1 / eos 2). The caller adds its input and vocab_size."""
    return {
        "model_type": "bpe",
        "normalization_rule_name": "identity",
        "add_dummy_prefix": False,
        "remove_extra_whitespaces": False,
        "split_digits": True,
        "byte_fallback": True,
        "allow_whitespace_only_pieces": True,
        "character_coverage": 0.9999,
        "max_sentencepiece_length": 32,
        "unk_id": 0,
        "bos_id": 1,
        "eos_id": 2,
        "pad_id": -1,
        "unk_piece": "<unk>",
        "bos_piece": "<s>",
        "eos_piece": "</s>",
    }


def _special_token(content: str) -> dict:
    """A special token as the hub's tokenizer_config.json / special_tokens_map.json write it."""
    return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": True}


def hub_config(vocab_size: int, size: dict) -> dict:
    """config.json of the hub's Baichuan2-7B-Base with the sizes of ``size``."""
    return {
        "architectures": [ARCHITECTURE],
        "auto_map": {
            "AutoConfig": "configuration_baichuan.BaichuanConfig",
            "AutoModelForCausalLM": "modeling_baichuan.BaichuanForCausalLM",
        },
        "tokenizer_class": "BaichuanTokenizer",
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": size["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": size["intermediate_size"],
        "max_position_embeddings": MAX_POSITIONS,
        "model_max_length": MAX_POSITIONS,
        "model_type": "baichuan",
        "num_attention_heads": size["num_heads"],
        "num_hidden_layers": size["num_layers"],
        "pad_token_id": 0,
        "rms_norm_eps": 1e-06,
        "_from_model_config": True,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",  # the hub's is bfloat16; the stand-in keeps fp32 for exact comparisons
        "transformers_version": "4.29.2",
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def hub_tokenizer_config() -> dict:
    """tokenizer_config.json of the hub's Baichuan2 checkpoints (add_bos_token and add_eos_token false:
    BaichuanTokenizer adds neither)."""
    special = {name: {"__type": "AddedToken", **_special_token(content)} for name, content in _hub_special_tokens()}
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "auto_map": {"AutoTokenizer": ["tokenization_baichuan.BaichuanTokenizer", None]},
        **special,
        "clean_up_tokenization_spaces": False,
        "model_max_length": MAX_POSITIONS,
        "sp_model_kwargs": {},
        "tokenizer_class": "BaichuanTokenizer",
    }


def _hub_special_tokens() -> list[tuple[str, str]]:
    return [("bos_token", "<s>"), ("eos_token", "</s>"), ("pad_token", "<unk>"), ("unk_token", "<unk>")]


def random_state_dict(config: dict, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random weights under the hub's names. Norm weights and lm_head row norms vary (not ones, not
    unit rows), so a swapped norm or a missing NormHead normalisation shows in the logits."""
    hidden, ffn, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * 0.02

    def norm_weight() -> torch.Tensor:
        return 1.0 + 0.2 * torch.randn(hidden, generator=generator)

    state = {"model.embed_tokens.weight": normal(vocab, hidden)}
    for i in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{i}."
        state[prefix + "self_attn.W_pack.weight"] = normal(3 * hidden, hidden)
        state[prefix + "self_attn.o_proj.weight"] = normal(hidden, hidden)
        state[prefix + "mlp.gate_proj.weight"] = normal(ffn, hidden)
        state[prefix + "mlp.up_proj.weight"] = normal(ffn, hidden)
        state[prefix + "mlp.down_proj.weight"] = normal(hidden, ffn)
        state[prefix + "input_layernorm.weight"] = norm_weight()
        state[prefix + "post_attention_layernorm.weight"] = norm_weight()
    state["model.norm.weight"] = norm_weight()
    row_scales = 0.5 + 2.0 * torch.rand(vocab, 1, generator=generator)
    state["lm_head.weight"] = normal(vocab, hidden) * row_scales  # NormHead normalises these in forward
    return state


def write_baichuan_checkpoint(out_dir: Path, tokenizer_model: Path, size: dict, seed: int) -> dict:
    """A tiny random-init checkpoint in the hub's original Baichuan2-7B-Base layout in ``out_dir``:
    its config.json, ``pytorch_model.bin`` (a torch.save'd state dict under the original names:
    fused ``W_pack``, un-normalised ``NormHead`` rows), ``tokenizer_model`` copied as
    ``tokenizer.model``, tokenizer_config.json, special_tokens_map.json and generation_config.json.
    No modelling code is written: nothing may need it.

    ``size``: hidden_size, num_layers, num_heads, intermediate_size; other keys (vocab_size,
    max_positions) are ignored: the vocabulary is the tokenizer's, and positions are the hub's 4096
    (RoPE has no weights per position). Returns the config written."""
    import sentencepiece as spm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_size = spm.SentencePieceProcessor(model_file=str(tokenizer_model)).get_piece_size()
    config = hub_config(vocab_size, size)
    state = random_state_dict(config, torch.Generator().manual_seed(seed))
    torch.save(state, out_dir / "pytorch_model.bin")
    (out_dir / "tokenizer.model").write_bytes(Path(tokenizer_model).read_bytes())
    files = {
        "config.json": config,
        "generation_config.json": {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
        "tokenizer_config.json": hub_tokenizer_config(),
        "special_tokens_map.json": {name: _special_token(content) for name, content in _hub_special_tokens()},
    }
    for name, payload in files.items():
        atomic_write_text(out_dir / name, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return config


# ---------------------------------------------------------------- reading a source


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise NotBaichuanLayout(f"{path}: not valid JSON ({error})") from None


def read_baichuan_config(src_dir: Path) -> dict:
    """The source's config.json, refused unless it is Baichuan2-7B's layout (the error names the file)."""
    path = Path(src_dir) / "config.json"
    if not path.is_file():
        raise NotBaichuanLayout(f"{src_dir}: no config.json; not a checkpoint directory in the hub's layout")
    config = _read_json(path)
    if config.get("model_type") != "baichuan" or config.get("architectures") != [ARCHITECTURE]:
        raise NotBaichuanLayout(
            f"{path}: model_type {config.get('model_type')!r}, architectures {config.get('architectures')!r}; "
            f"expected 'baichuan' and [{ARCHITECTURE!r}] (Baichuan2-7B as on the hub; Baichuan 1's "
            "BaiChuanForCausalLM has no NormHead and is not converted)"
        )
    if "max_position_embeddings" not in config:
        raise NotBaichuanLayout(
            f"{path}: no max_position_embeddings: the Baichuan2-13B layout (ALiBi positions, which Llama "
            "lacks); only Baichuan2-7B (RoPE) converts"
        )
    missing = [
        key
        for key in ("hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers", "vocab_size")
        if key not in config
    ]
    if missing:
        raise NotBaichuanLayout(f"{path}: missing {', '.join(missing)}")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise NotBaichuanLayout(f"{path}: hidden_size is not a multiple of num_attention_heads")
    return config


def _weight_files(src_dir: Path) -> list[Path]:
    """The weight files, safetensors first (single or sharded with an index), then pytorch_model*.bin."""
    for single, index in (
        ("model.safetensors", "model.safetensors.index.json"),
        ("pytorch_model.bin", "pytorch_model.bin.index.json"),
    ):
        if (src_dir / single).is_file():
            return [src_dir / single]
        if (src_dir / index).is_file():
            shards = sorted(set(_read_json(src_dir / index)["weight_map"].values()))
            return [src_dir / shard for shard in shards]
    raise NotBaichuanLayout(
        f"{src_dir}: no weights (model.safetensors, pytorch_model.bin or their .index.json shard lists)"
    )


def load_state_dict(src_dir: Path) -> tuple[dict[str, torch.Tensor], list[Path]]:
    """(every tensor of the source, the files read); pickles are read with ``weights_only=True``
    (tensors only, no code) and memory-mapped, so a 15 GB checkpoint is not copied into memory."""
    from safetensors.torch import load_file

    files = _weight_files(Path(src_dir))
    state: dict[str, torch.Tensor] = {}
    for path in files:
        if path.suffix == ".safetensors":
            state.update(load_file(path))
        else:
            state.update(torch.load(path, map_location="cpu", weights_only=True, mmap=True))
    return state, files


def _expected_names(config: dict) -> set[str]:
    names = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}
    for i in range(config["num_hidden_layers"]):
        names |= {f"model.layers.{i}.{module}.weight" for module in _LAYER_WEIGHTS}
    return names


def llama_state_dict(state: dict[str, torch.Tensor], config: dict, files: list[Path]) -> dict[str, torch.Tensor]:
    """The source's tensors under LlamaForCausalLM's names: W_pack split into q/k/v, lm_head rows
    normalised (in float32, then back to the source dtype) as NormHead's forward does."""
    names = {name for name in state if not name.endswith("rotary_emb.inv_freq")}  # a buffer, no weight
    expected = _expected_names(config)
    where = ", ".join(str(f) for f in files)
    if names != expected:
        missing, unexpected = sorted(expected - names), sorted(names - expected)
        raise NotBaichuanLayout(
            f"{where}: not Baichuan2-7B's weights (missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''})"
        )
    hidden = config["hidden_size"]
    converted = {}
    for name in sorted(expected):
        tensor = state[name]
        if name.endswith("self_attn.W_pack.weight"):
            if tuple(tensor.shape) != (3 * hidden, hidden):
                raise NotBaichuanLayout(
                    f"{where}: {name} has shape {tuple(tensor.shape)}, not [3 * {hidden}, {hidden}]"
                )
            prefix = name.removesuffix("W_pack.weight")
            for part, rows in zip(("q_proj", "k_proj", "v_proj"), tensor.split(hidden, dim=0), strict=True):
                converted[f"{prefix}{part}.weight"] = rows.clone()  # own storage: safetensors refuses shared views
        elif name == "lm_head.weight":
            converted[name] = torch.nn.functional.normalize(tensor.float(), dim=-1).to(tensor.dtype)
        else:
            converted[name] = tensor  # memory-mapped from the source until saved: no copy of 15 GB
    return converted


def llama_config(config: dict, dtype: torch.dtype):
    """LlamaConfig of the same model: sizes, RoPE base 10000, norm epsilon, special ids, untied head."""
    from transformers import LlamaConfig

    heads = config["num_attention_heads"]
    return LlamaConfig(
        vocab_size=config["vocab_size"],
        hidden_size=config["hidden_size"],
        intermediate_size=config["intermediate_size"],
        num_hidden_layers=config["num_hidden_layers"],
        num_attention_heads=heads,
        num_key_value_heads=heads,
        hidden_act=config.get("hidden_act", "silu"),
        max_position_embeddings=config["max_position_embeddings"],
        rms_norm_eps=config.get("rms_norm_eps", 1e-6),
        rope_parameters={"rope_type": "default", "rope_theta": ROPE_THETA},
        initializer_range=config.get("initializer_range", 0.02),
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=False,
        bos_token_id=config.get("bos_token_id", 1),
        eos_token_id=config.get("eos_token_id", 2),
        pad_token_id=config.get("pad_token_id", 0),
        dtype=dtype,
    )


def _token_content(value) -> str | None:
    """A special token of tokenizer_config.json: a string, an AddedToken dict, or null."""
    return value.get("content") if isinstance(value, dict) else value


def converted_tokenizer(src_dir: Path):
    """The source's tokenizer (tokenizer.model + tokenizer_config.json) as a fast LlamaTokenizer with
    the sentencepiece model's ids: its vocabulary and merges (by piece id, as sentencepiece's BPE
    merges by score), byte fallback, a dummy prefix only when the model adds one, control symbols
    special; special tokens and add_bos/add_eos as the source's tokenizer_config.json sets them
    (BaichuanTokenizer's defaults otherwise). Loads no weights: a preflight check can call it."""
    from tokenizers.models import BPE
    from transformers import LlamaTokenizer
    from transformers.convert_slow_tokenizer import SentencePieceExtractor

    src_dir = Path(src_dir)
    model_file = src_dir / "tokenizer.model"
    if not model_file.is_file():
        raise NotBaichuanLayout(f"{src_dir}: no tokenizer.model (Baichuan2's sentencepiece model)")
    extractor = SentencePieceExtractor(str(model_file))
    proto = extractor.proto
    if proto.trainer_spec.model_type != 2:  # sentencepiece's ModelType BPE
        raise NotBaichuanLayout(f"{model_file}: a sentencepiece model of type {proto.trainer_spec.model_type}, not BPE")
    if proto.normalizer_spec.precompiled_charsmap or proto.normalizer_spec.remove_extra_whitespaces:
        raise NotBaichuanLayout(
            f"{model_file}: the model normalises its input (Baichuan2's does not); its ids would differ"
        )
    extracted = extractor.extract(BPE)
    settings = {**TOKENIZER_DEFAULTS}
    config_file = src_dir / "tokenizer_config.json"
    if config_file.is_file():
        source = _read_json(config_file)
        settings.update({key: source[key] for key in TOKENIZER_DEFAULTS if key in source})
    tokens = {key: _token_content(settings[key]) for key in ("bos_token", "eos_token", "unk_token", "pad_token")}
    tokenizer = LlamaTokenizer(
        vocab=extracted["vocab"],
        merges=extracted["merges"],
        add_prefix_space=proto.normalizer_spec.add_dummy_prefix,
        add_bos_token=bool(settings["add_bos_token"]),
        add_eos_token=bool(settings["add_eos_token"]),
        model_max_length=MAX_POSITIONS,
        padding_side="right",  # BaichuanTokenizer's (transformers' default for slow tokenizers)
        **tokens,
    )
    # User-defined symbols (type 4, never split) whole, as sentencepiece matches them; whitespace ones are
    # left to the merges: their raw text has spaces, not the ▁ an added token would have to match.
    user_defined = [p.piece for p in proto.pieces if p.type == 4 and "\u2581" not in p.piece]
    if user_defined:
        tokenizer.add_tokens(user_defined)
    return tokenizer


def _snapshot_of(src_dir: Path) -> dict:
    """Repo id and commit when ``src_dir`` is a hub cache snapshot (.../models--org--name/snapshots/<commit>)."""
    resolved = Path(src_dir).resolve()
    if resolved.parent.name != "snapshots" or not resolved.parent.parent.name.startswith("models--"):
        return {"source_repo": None, "source_commit": None}
    repo = resolved.parent.parent.name.removeprefix("models--").replace("--", "/")
    return {"source_repo": repo, "source_commit": resolved.name}


def convert_baichuan(src_dir: Path, out_dir: Path) -> dict:
    """Write ``src_dir`` (Baichuan2-7B in the hub's layout) into ``out_dir`` as a LlamaForCausalLM
    (safetensors) with a fast Llama tokenizer and ``xlie_conversion.json``; returns that record.
    Refuses, naming the file, a source in another layout (:class:`NotBaichuanLayout`)."""
    from transformers import GenerationConfig, LlamaForCausalLM

    from xlie.pipeline.provenance import file_sha256

    src_dir, out_dir = Path(src_dir), Path(out_dir)
    config = read_baichuan_config(src_dir)
    tokenizer = converted_tokenizer(src_dir)
    state, files = load_state_dict(src_dir)
    weights = llama_state_dict(state, config, files)
    del state
    dtype = weights["model.embed_tokens.weight"].dtype
    with torch.device("meta"):
        model = LlamaForCausalLM(llama_config(config, dtype))
    model.load_state_dict(weights, strict=True, assign=True)
    model.generation_config = GenerationConfig(
        bos_token_id=config.get("bos_token_id", 1),
        eos_token_id=config.get("eos_token_id", 2),
        pad_token_id=config.get("pad_token_id", 0),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    _record_bos_eos(out_dir / "tokenizer_config.json", tokenizer)
    record = {
        "converter": "xlie.pipeline.baichuan.convert_baichuan",
        "source": str(src_dir),
        **_snapshot_of(src_dir),
        "source_files": {path.name: file_sha256(src_dir / path.name) for path in _small_files(src_dir)},
        "source_weights": [path.name for path in files],
        "from": {
            "architecture": ARCHITECTURE,
            "model_type": "baichuan",
            "tokenizer": "BaichuanTokenizer (sentencepiece)",
        },
        "to": {"architecture": "LlamaForCausalLM", "model_type": "llama", "tokenizer": type(tokenizer).__name__},
        "dtype": str(dtype).removeprefix("torch."),
        "changes": [
            "self_attn.W_pack.weight [3h, h] split row-wise into q_proj, k_proj, v_proj (rows q, k, v)",
            "lm_head.weight rows L2-normalised (NormHead's F.normalize, computed in float32) and baked in",
            f"RoPE: rotate-half layout kept as is (transformers' Llama uses the same), rope_theta {ROPE_THETA}",
            "tokenizer.model (sentencepiece BPE) converted to tokenizer.json: same vocabulary and ids, merges by "
            + "piece id, byte fallback, add_prefix_space = the model's add_dummy_prefix",
            "rotary_emb.inv_freq buffers, if any, dropped (recomputed by Llama)",
            "no modelling or tokenizer code copied: auto_map and trust_remote_code are not needed",
        ],
        "tokenizer": {
            "add_bos_token": tokenizer.add_bos_token,
            "add_eos_token": tokenizer.add_eos_token,
            "special_tokens": {k: str(v) for k, v in tokenizer.special_tokens_map.items()},
            "vocab_size": len(tokenizer),
        },
        "parameters": sum(t.numel() for t in weights.values()),
    }
    atomic_write_text(out_dir / CONVERSION_RECORD, json.dumps(record, indent=2) + "\n")
    return record


def _small_files(src_dir: Path) -> list[Path]:
    """The source's config and tokenizer files (hashed in the record; the weights are not: 15 GB)."""
    names = ("config.json", "generation_config.json", *TOKENIZER_FILES)
    return [Path(name) for name in names if (src_dir / name).is_file()]


def _record_bos_eos(path: Path, tokenizer) -> None:
    """Write add_bos_token / add_eos_token into tokenizer_config.json: transformers 5 keeps them in
    tokenizer.json's post-processor only, where a reader of the config does not see them."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload.update(add_bos_token=tokenizer.add_bos_token, add_eos_token=tokenizer.add_eos_token)
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
