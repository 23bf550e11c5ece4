"""Baichuan2-7B's hub layout converted into LlamaForCausalLM + a fast Llama tokenizer
(xlie.pipeline.baichuan), checked against the original architecture written out here in plain
torch: fused W_pack attention with Baichuan2-7B's RoPE, RMSNorm, SiLU-gated MLP, NormHead."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
import torch.nn.functional as F
import yaml

from xlie.pipeline import jobs
from xlie.pipeline.baichuan import (
    NotBaichuanLayout,
    baichuan_spm_options,
    convert_baichuan,
    converted_tokenizer,
    write_baichuan_checkpoint,
)

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo"
SIZE = {
    "hidden_size": 32,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_size": 64,
    "vocab_size": 7,
    "max_positions": 8,
}
SPACE_LESS = ("zh",)  # MultiCoNER's zh files hold one character per line: the sentence has no spaces


def conll_sentences(path: Path) -> list[str]:
    lang, sentences, words = path.name[:2], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("# id"):
            continue
        if line.strip():
            words.append(line.split()[0])
        elif words:
            sentences.append(("" if lang in SPACE_LESS else " ").join(words))
            words = []
    return sentences


def tsv_sentences(path: Path) -> list[str]:
    sentences, words = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    return sentences


def code_prompts() -> list[str]:
    """AlignXIE's code-style prompts and completions (tabs, newlines, quotes, indentation)."""
    from xlie.papers.alignxie import schema as codeie

    types = codeie.Schema.from_dict(yaml.safe_load((REPO / "resources/codeie/schemas/multiconer.yaml").read_text()))
    sentences = ["Angela Merkel visited Paris in 2019.", "北京大学位于海淀区。", "  indented    text  "]
    prompts = [codeie.render_prompt(codeie.render_query(types, "ner", s)) for s in sentences]
    return prompts + [
        codeie.ner_code([("Angela Merkel", "Person"), ("Paris", "Location")]),
        "    x = 1\n\n\tif y:  # 12345",
    ]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Shipped multilingual text: MultiCoNER (11 languages incl. zh, ko, fa, hi, bn) and XTREME (ar, zh, hi, ru...)."""
    lines = [s for p in sorted((DEMO / "multiconer").glob("*.conll")) for s in conll_sentences(p)]
    lines += [s for p in sorted((DEMO / "xtreme").rglob("*.tsv")) for s in tsv_sentences(p)]
    return lines + code_prompts()


@pytest.fixture(scope="module")
def tokenizer_model(tmp_path_factory, texts) -> Path:
    """A sentencepiece model with Baichuan2's conventions, trained on the shipped text."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        vocab_size=3000,
        hard_vocab_limit=False,
        minloglevel=2,
        **baichuan_spm_options(),
    )
    path = tmp_path_factory.mktemp("spm") / "tokenizer.model"
    path.write_bytes(model.getvalue())
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tokenizer_model) -> tuple[Path, Path]:
    """(the Baichuan-layout stand-in, its conversion)."""
    root = tmp_path_factory.mktemp("baichuan")
    write_baichuan_checkpoint(root / "source", tokenizer_model, SIZE, seed=3)
    convert_baichuan(root / "source", root / "converted")
    return root / "source", root / "converted"


# ---------------------------------------------------------------- the original architecture


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def reference_logits(source: Path, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None):
    """Baichuan2-7B's forward (its modeling_baichuan.py, eval mode) on the original weights: positions
    0..T-1 (its forward's default), causal attention with padded keys masked, NormHead."""
    config = json.loads((source / "config.json").read_text())
    w = torch.load(source / "pytorch_model.bin", weights_only=True)
    hidden, heads, eps = config["hidden_size"], config["num_attention_heads"], config["rms_norm_eps"]
    head_dim, (batch, length) = hidden // heads, input_ids.shape
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
    freqs = torch.outer(torch.arange(length).float(), inv_freq)
    cos, sin = torch.cat((freqs, freqs), -1).cos(), torch.cat((freqs, freqs), -1).sin()
    allowed = torch.tril(torch.ones(length, length, dtype=torch.bool))[None, None]
    if attention_mask is not None:
        allowed = allowed & attention_mask.bool()[:, None, None, :]
    x = w["model.embed_tokens.weight"][input_ids]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        qkv = rms_norm(x, w[p + "input_layernorm.weight"], eps) @ w[p + "self_attn.W_pack.weight"].T
        q, k, v = (t.view(batch, length, heads, head_dim).transpose(1, 2) for t in qkv.split(hidden, dim=-1))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        scores = (q @ k.transpose(-1, -2) / math.sqrt(head_dim)).masked_fill(~allowed, torch.finfo(q.dtype).min)
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, hidden)
        x = x + attended @ w[p + "self_attn.o_proj.weight"].T
        y = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        x = (
            x
            + (F.silu(y @ w[p + "mlp.gate_proj.weight"].T) * (y @ w[p + "mlp.up_proj.weight"].T))
            @ w[p + "mlp.down_proj.weight"].T
        )
    x = rms_norm(x, w["model.norm.weight"], eps)
    return x @ F.normalize(w["lm_head.weight"]).T  # NormHead


def load_converted(converted: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(converted).eval()


def random_ids(rows: int, length: int, vocab: int, seed: int) -> torch.Tensor:
    return torch.randint(3, vocab, (rows, length), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- model


def test_logits_equal_the_original_architecture(checkpoints):
    source, converted = checkpoints
    model = load_converted(converted)
    assert type(model).__name__ == "LlamaForCausalLM"
    for rows, length, seed in ((1, 1, 0), (1, 17, 1), (3, 9, 2), (2, 40, 3)):
        ids = random_ids(rows, length, model.config.vocab_size, seed)
        with torch.no_grad():
            logits = model(input_ids=ids).logits
        torch.testing.assert_close(logits, reference_logits(source, ids), atol=1e-5, rtol=0)


@pytest.mark.parametrize("side", ["left", "right"])
def test_logits_equal_the_original_architecture_with_padding(checkpoints, side):
    source, converted = checkpoints
    model = load_converted(converted)
    lengths, width = [12, 5, 9], 12
    ids = random_ids(len(lengths), width, model.config.vocab_size, 7)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        mask[row, slice(width - n, width) if side == "left" else slice(0, n)] = 1
    ids = ids.masked_fill(mask == 0, 0)  # pad id 0, as the config says
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    expected = reference_logits(source, ids, mask)
    real = mask.bool()
    torch.testing.assert_close(logits[real], expected[real], atol=1e-5, rtol=0)


def test_generate_continues_as_the_original_greedily(checkpoints):
    """A left-padded batch through generate() (KV cache, positions from the mask) gives each prompt
    the continuation the original architecture picks alone, token by token."""
    source, converted = checkpoints
    model = load_converted(converted)
    prompts = [random_ids(1, n, model.config.vocab_size, 10 + n)[0] for n in (6, 3)]
    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :], mask[row, width - len(prompt) :] = prompt, 1
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=5, do_sample=False, pad_token_id=0)
    for row, prompt in enumerate(prompts):
        sequence = prompt.clone()
        for _ in range(5):
            next_id = reference_logits(source, sequence[None])[0, -1].argmax()
            sequence = torch.cat([sequence, next_id[None]])
        assert out[row, width:].tolist() == sequence[len(prompt) :].tolist()


def test_alignxie_lora_targets_llama_projections(checkpoints):
    """AlignXIE's LoRA ('auto' targets by model type) wraps q/k/v/o/gate/up/down of the converted
    model (no W_pack left to target) and trains."""
    from peft import LoraConfig, get_peft_model

    from xlie.papers.alignxie.lora_training import target_modules_for

    _, converted = checkpoints
    model = load_converted(converted)
    targets = target_modules_for(model, "auto")
    assert targets == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert not any("W_pack" in name for name, _ in model.named_modules())
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=targets, task_type="CAUSAL_LM"))
    wrapped = {name.rsplit(".", 1)[-1] for name, module in peft_model.named_modules() if hasattr(module, "lora_A")}
    assert wrapped == set(targets)
    ids = random_ids(2, 8, model.config.vocab_size, 5)
    loss = peft_model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = [p.grad for n, p in peft_model.named_parameters() if "lora_B" in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_converted_directory_needs_no_remote_code(checkpoints):
    from transformers import AutoConfig

    source, converted = checkpoints
    assert not list(converted.glob("*.py")) and not list(source.glob("*.py"))
    config = json.loads((converted / "config.json").read_text())
    assert "auto_map" not in config and config["architectures"] == ["LlamaForCausalLM"]
    assert (config["rope_parameters"]["rope_theta"], config["max_position_embeddings"]) == (10000.0, 4096)
    assert (config["bos_token_id"], config["eos_token_id"], config["pad_token_id"]) == (1, 2, 0)
    assert config["tie_word_embeddings"] is False and config["rms_norm_eps"] == 1e-6
    assert AutoConfig.from_pretrained(converted).model_type == "llama"
    record = json.loads((converted / "xlie_conversion.json").read_text())
    assert record["source_weights"] == ["pytorch_model.bin"] and "tokenizer.model" in record["source_files"]
    assert any("W_pack" in change for change in record["changes"])
    assert any("normalised" in change for change in record["changes"])


# ---------------------------------------------------------------- tokenizer


def test_tokenizer_gives_the_sentencepiece_ids(checkpoints, tokenizer_model, texts):
    from transformers import AutoTokenizer

    _, converted = checkpoints
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer_model))
    tokenizer = AutoTokenizer.from_pretrained(converted)
    assert type(tokenizer).__name__ == "LlamaTokenizer" and len(texts) > 1000
    scripts = {"zh": "北京", "ko": "의", "ar": "ال", "ru": "и", "hi": "के", "code": "\t"}
    assert all(any(mark in t for t in texts) for mark in scripts.values())
    extra = ["", " ", "  two leading", "trailing  ", "digits 20240617 and 3.14", "emoji 😀 𝔘 rare 龘", "a\tb\nc"]
    for text in texts + extra:
        ids = sp.encode(text)
        assert tokenizer(text)["input_ids"] == ids, text  # Baichuan2 adds neither BOS nor EOS
        assert tokenizer.decode(ids) == sp.decode(ids), text
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<unk>", "<s>", "</s>")}
    assert ids == {"<unk>": 0, "<s>": 1, "</s>": 2}
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.unk_token, tokenizer.pad_token) == (
        "<s>",
        "</s>",
        "<unk>",
        "<unk>",
    )
    assert len(tokenizer) == sp.get_piece_size()


def test_tokenizer_follows_the_source_bos_eos_settings(tmp_path, checkpoints, tokenizer_model):
    """BaichuanTokenizer's own defaults (BOS added, no EOS) when tokenizer_config.json does not say."""
    source, _ = checkpoints
    for name in ("config.json", "tokenizer.model"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"add_eos_token": True}))
    tokenizer = converted_tokenizer(tmp_path)
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer_model))
    assert tokenizer("Paris")["input_ids"] == [1, *sp.encode("Paris"), 2]


def test_tokenizer_keeps_user_defined_symbols(tmp_path, texts):
    """Reserved tokens and whitespace runs as user-defined symbols (never split, matched first by
    sentencepiece) keep their ids: Baichuan2's vocabulary has reserved and whitespace-only tokens."""
    model = io.BytesIO()
    symbols = ["<reserved_106>", "<reserved_107>", "\u2581\u2581\u2581\u2581", "\u2581\u2581", "\t\t"]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts[::4]),
        model_writer=model,
        vocab_size=1500,
        hard_vocab_limit=False,
        minloglevel=2,
        user_defined_symbols=symbols,
        **baichuan_spm_options(),
    )
    (tmp_path / "tokenizer.model").write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    tokenizer = converted_tokenizer(tmp_path)
    extra = ["a<reserved_106>b <reserved_107> c", "x    y  z     w      v", "\t\t\tq", "        deep"]
    for text in texts[1::7] + code_prompts() + extra:
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == sp.encode(text), text


def test_spm_options_are_baichuan2s(tokenizer_model):
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(tokenizer_model.read_bytes())
    normalizer, trainer = proto.normalizer_spec, proto.trainer_spec
    assert (normalizer.add_dummy_prefix, normalizer.remove_extra_whitespaces, normalizer.name) == (
        False,
        False,
        "identity",
    )
    assert trainer.model_type == 2 and trainer.byte_fallback and trainer.split_digits
    assert [proto.pieces[i].piece for i in range(3)] == ["<unk>", "<s>", "</s>"]


# ---------------------------------------------------------------- refusals and sources


def test_refuses_other_layouts_naming_the_file(tmp_path, checkpoints):
    from transformers import LlamaConfig

    source, converted = checkpoints
    with pytest.raises(NotBaichuanLayout, match="config.json.*'llama'"):
        convert_baichuan(converted, tmp_path / "out")  # a Llama checkpoint is not converted again
    LlamaConfig(hidden_size=8, num_attention_heads=2).save_pretrained(tmp_path / "llama")
    with pytest.raises(NotBaichuanLayout, match=str(tmp_path / "llama" / "config.json")):
        convert_baichuan(tmp_path / "llama", tmp_path / "out")
    with pytest.raises(NotBaichuanLayout, match="no config.json"):
        convert_baichuan(tmp_path / "empty", tmp_path / "out")
    thirteen = json.loads((source / "config.json").read_text())
    del thirteen["max_position_embeddings"]  # Baichuan2-13B's config: ALiBi, no position size
    (tmp_path / "13b").mkdir()
    (tmp_path / "13b" / "config.json").write_text(json.dumps(thirteen))
    with pytest.raises(NotBaichuanLayout, match="ALiBi"):
        convert_baichuan(tmp_path / "13b", tmp_path / "out")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.model", "tokenizer_config.json"):
        (broken / name).write_bytes((source / name).read_bytes())
    weights = torch.load(source / "pytorch_model.bin", weights_only=True)
    weights["model.layers.0.self_attn.q_proj.weight"] = weights.pop("model.layers.0.self_attn.W_pack.weight")
    torch.save(weights, broken / "pytorch_model.bin")
    with pytest.raises(NotBaichuanLayout, match="pytorch_model.bin.*W_pack"):
        convert_baichuan(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_hub_id_converts_from_the_offline_hub_cache(tmp_path, monkeypatch, checkpoints):
    """A hub id resolves to its cached snapshot (HF_HUB_OFFLINE), whose commit the record keeps."""
    import huggingface_hub.constants as hub

    source, _ = checkpoints
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--baichuan-inc--Baichuan2-7B-Base"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for path in source.iterdir():
        (snapshot / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    record = jobs.convert_model("baichuan", "baichuan-inc/Baichuan2-7B-Base", str(tmp_path / "converted"))
    assert (record["source_repo"], record["source_commit"]) == ("baichuan-inc/Baichuan2-7B-Base", commit)
    assert (tmp_path / "converted" / "model.safetensors").is_file()


def test_jobs_load_the_converted_copy():
    config = {
        "models": {
            "baichuan2": {"path": "baichuan-inc/Baichuan2-7B-Base", "family": "causal", "convert": "baichuan"},
            "tinyone": {"path": "results/models/tiny/causal", "family": "causal", "tiny": True, "convert": "baichuan"},
            "plain": {"path": "bigscience/bloomz-7b1", "family": "causal", "convert": None},
        }
    }
    assert jobs.model_load_path(config, "baichuan2") == "results/models/converted/baichuan2"
    assert jobs.model_load_path(config, "tinyone") == "results/models/tiny/causal"  # built, not converted
    assert jobs.model_load_path(config, "plain") == "bigscience/bloomz-7b1"
