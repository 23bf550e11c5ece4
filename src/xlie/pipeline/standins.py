"""Random-init stand-ins of the paper preset's hub models, under their real ids, with their real classes.

Every model id the paper preset names gets a tiny randomly initialised checkpoint with the real tokenizer
class and conventions (special tokens and their ids, pair layout, language codes, padding side, position
limits) and the real architecture class and structural config flags, trained locally from the shipped
multilingual demo text. They are laid out as a Hugging Face hub cache (``models--org--name/refs/main``
naming a snapshot, ``snapshots/<commit>/<files>``), so that with ``HF_HUB_CACHE=<dir>`` and
``HF_HUB_OFFLINE=1`` the workflow loads them by the preset's own ids: ``AutoTokenizer.from_pretrained(
"xlm-roberta-base")`` meets an ``XLMRobertaTokenizer`` built from a sentencepiece model, as with the real
checkpoint. The snapshot's files are those of the hub repository (a sentencepiece model where the hub has
one, ``tokenizer.json``, ``config.json``, safetensors weights), plus ``xlie_build.json`` saying what the
stand-in is. The fake commit is the sha1 of the files: a rebuild writes the same bytes under the same commit.

The papers' prompt words (their ``tokenizer_texts`` hooks) are part of the training text, each word after
a space and after a bracket, so that every vocabulary holds them as a pretrained multilingual vocabulary
does (``▁location`` and ``location``, ``Ġlocation``, a WordPiece ``location``); nothing is added to a
vocabulary by hand.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[3] / "resources" / "demo"

# hub id -> kind of stand-in. mt0 is mT5 fine-tuned: the same tokenizer and architecture (its hub repo
# also ships a tokenizer.json, which mt5-base does not).
STANDINS: dict[str, str] = {
    "bert-base-multilingual-cased": "bert",
    "xlm-roberta-base": "xlmr",
    "google/mt5-base": "mt5",
    "bigscience/mt0-xxl": "mt0",
    "facebook/mbart-large-cc25": "mbart",
    "bigscience/bloomz-7b1": "bloom",
    "baichuan-inc/Baichuan2-7B-Base": "baichuan",
}

SIZE = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}
# Entries each tokenizer trainer learns; the demo text has ~1,900 distinct characters, all kept.
VOCAB_SIZE = 6000
# Prompt words in the training text: in running text (after a space) and after a bracket (no space).
WORD_REPEATS, BARE_WORD_REPEATS = 48, 8

# mBERT's first ids: [PAD]=0, [unused1..99], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
BERT_SPECIAL_TOKENS = ["[PAD]", *[f"[unused{i}]" for i in range(1, 100)], "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# BLOOM's tokenizer.json: split on whitespace and a few punctuation marks, byte-level BPE without prefix space.
BLOOM_SPLIT = " ?[^(\\s|[.,!?…。，、।۔،])]+"
BLOOM_SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]


# The demo's data files: word-per-line tagged files (.tsv, .conll), sentence tables (.tsv), JSON lines.
CORPUS_SUFFIXES = (".tsv", ".conll", ".jsonl")


def _text_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _strings(value) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def _column_sentences(rows: list[list[str]]) -> list[str]:
    """Sentences of a word-per-line file: the first column of each block of lines, joined by spaces."""
    sentences, words = [], []
    for row in rows + [[""]]:
        if row[0].strip():
            words.append(row[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    return sentences


def _file_lines(path: Path) -> list[str]:
    """The text of one data file: its sentences, cells or JSON strings, one per line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [line for row in _text_lines(text) for value in _strings(json.loads(row)) for line in _text_lines(value)]
    separator = "\t" if path.suffix == ".tsv" else " "
    rows = [line.split(separator) for line in text.splitlines() if not line.startswith("# ")]
    if any(" " in row[0] for row in rows):  # a table of sentences (e.g. parallel text), not one word per line
        return [cell for row in rows for cell in row if cell.strip()]
    return _column_sentences(rows)


def corpus_files(demo_dir: Path = DEMO_DIR) -> list[Path]:
    return sorted(path for path in demo_dir.rglob("*") if path.suffix in CORPUS_SUFFIXES)


def standin_corpus(words: list[str] | None = None, demo_dir: Path = DEMO_DIR) -> list[str]:
    """The tokenizers' training text: every data file of the shipped demo (the scripts of all the
    workflow's languages: Latin, Cyrillic, Arabic, Devanagari, Bengali, CJK, Hangul, ...), then ``words``
    (default: the papers' prompt words) in running text and after a bracket."""
    from xlie.pipeline.tiny_models import prompt_words

    lines = [line for path in corpus_files(demo_dir) for line in _file_lines(path)]
    for word in prompt_words() if words is None else words:
        lines += [" ".join([word] * 8)] * (WORD_REPEATS // 8) + [f"({word})"] * BARE_WORD_REPEATS
    return lines


def _train_sentencepiece(lines: list[str], **options) -> bytes:
    """A sentencepiece model trained on ``lines`` (one thread, input order kept: the same bytes each run)."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=VOCAB_SIZE,
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=0,
        minloglevel=2,
        **options,
    )
    return model.getvalue()


def _xlmr_spm(lines: list[str]) -> bytes:
    # XLM-R's (and mBART cc25's, the same file): unigram, <unk>=0 <s>=1 </s>=2, no pad, no byte fallback;
    # every character of the demo text kept, as a 250k multilingual vocabulary holds them.
    return _train_sentencepiece(lines, model_type="unigram", character_coverage=1.0)


def _mt5_spm(lines: list[str]) -> bytes:
    # mT5's spiece.model: unigram, <pad>=0 </s>=1 <unk>=2, no BOS, byte fallback (256 byte pieces at 3..258).
    return _train_sentencepiece(
        lines, model_type="unigram", character_coverage=1.0, byte_fallback=True, pad_id=0, eos_id=1, unk_id=2, bos_id=-1
    )


def _precompiled_charsmap(spm_model: bytes) -> bytes:
    """The normalisation table of a sentencepiece model (nmt_nfkc by default)."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(spm_model)
    return proto.normalizer_spec.precompiled_charsmap


def _shared(shared: dict, key: str, train: Callable[[list[str]], bytes], lines: list[str]) -> bytes:
    """A sentencepiece model that two stand-ins share, trained once per build."""
    if key not in shared:
        shared[key] = train(lines)
    return shared[key]


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def _from_spm_file(tokenizer_class, spm_model: bytes, file_name: str):
    """``tokenizer_class`` built by its own v5 conversion of a sentencepiece model (as from a hub repo that
    ships only the .model file)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / file_name).write_bytes(spm_model)
        return tokenizer_class.from_pretrained(folder)


def _save_tokenizer(tokenizer, out: Path, tokenizer_config: dict) -> None:
    """tokenizer.json from the tokenizer; tokenizer_config.json with the hub repo's keys only (v5's
    save_pretrained also writes keys of the saving session, e.g. is_local)."""
    tokenizer.save_pretrained(out)
    _write_json(out / "tokenizer_config.json", tokenizer_config)


def _padded(size: int, multiple: int = 128) -> int:
    """mT5 and BLOOM pad their embedding matrices past the tokenizer (250112 > 250100, 250880 > 250680)."""
    return math.ceil(size / multiple) * multiple


def _encoder_sizes() -> dict:
    """BERT's and XLM-R's names of SIZE."""
    return {
        "hidden_size": SIZE["hidden_size"],
        "num_hidden_layers": SIZE["num_layers"],
        "num_attention_heads": SIZE["num_heads"],
        "intermediate_size": SIZE["intermediate_size"],
    }


def _save_model(model_class, config, out: Path, seed: int) -> dict:
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    model.save_pretrained(out)
    return {"architecture": type(model).__name__, "parameters": sum(p.numel() for p in model.parameters())}


def _bert(out: Path, lines: list[str], seed: int, shared: dict) -> dict:
    from tokenizers import normalizers
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    # mBERT: cased WordPiece (no lowercasing, accents kept), CJK characters split, ## continuations.
    options = {"clean_text": True, "handle_chinese_chars": True, "strip_accents": False, "lowercase": False}
    trainer = BertWordPieceTokenizer(**options)
    normalizer = normalizers.BertNormalizer(**options)
    characters = sorted({c for line in lines for c in normalizer.normalize_str(line) if not c.isspace()})
    # The trainer numbers "##c" pieces in hash-map order and breaks ties between merges by those numbers:
    # naming them up front (as the trainer's special tokens) makes the vocabulary the same on every run.
    continuations = [f"##{c}" for c in characters]
    trainer.train_from_iterator(
        lines,
        vocab_size=VOCAB_SIZE + len(continuations),
        special_tokens=BERT_SPECIAL_TOKENS + continuations,
        limit_alphabet=len(characters),
        show_progress=False,
    )
    trained = trainer.get_vocab()
    specials, continued = set(BERT_SPECIAL_TOKENS), set(continuations)

    def block(token: str) -> int:  # mBERT's vocab.txt order: special tokens, characters, ## characters, pieces
        return 0 if token in specials else 1 if len(token) == 1 else 2 if token in continued else 3

    ordered = sorted(trained, key=lambda token: (block(token), trained[token]))
    vocab = {token: index for index, token in enumerate(ordered)}
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=False, model_max_length=512)
    _save_tokenizer(tokenizer, out, {"do_lower_case": False, "model_max_length": 512})
    (out / "vocab.txt").write_text("".join(f"{token}\n" for token in ordered), encoding="utf-8")
    config = BertConfig(
        vocab_size=len(tokenizer), **_encoder_sizes(), max_position_embeddings=512, type_vocab_size=2, pad_token_id=0
    )
    return {"tokenizer_class": type(tokenizer).__name__, **_save_model(BertForMaskedLM, config, out, seed)}


def _xlmr(out: Path, lines: list[str], seed: int, shared: dict) -> dict:
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizer

    spm_model = _shared(shared, "xlmr_spm", _xlmr_spm, lines)
    # The fairseq offset: <s>=0 <pad>=1 </s>=2 <unk>=3, sentencepiece piece i at i + 1, <mask> last.
    tokenizer = _from_spm_file(XLMRobertaTokenizer, spm_model, "sentencepiece.bpe.model")
    _save_tokenizer(tokenizer, out, {"model_max_length": 512})
    (out / "sentencepiece.bpe.model").write_bytes(spm_model)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        **_encoder_sizes(),
        max_position_embeddings=514,  # 512 + padding_idx + 1: RoBERTa's positions start after the pad id
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    return {"tokenizer_class": type(tokenizer).__name__, **_save_model(XLMRobertaForMaskedLM, config, out, seed)}


def _mt5(out: Path, lines: list[str], seed: int, shared: dict, with_tokenizer_json: bool = False) -> dict:
    from transformers import MT5Config, MT5ForConditionalGeneration, T5Tokenizer

    spm_model = _shared(shared, "mt5_spm", _mt5_spm, lines)
    # T5Tokenizer appends <extra_id_99> .. <extra_id_0> after the sentencepiece pieces (extra_ids=100).
    tokenizer = _from_spm_file(T5Tokenizer, spm_model, "spiece.model")
    tokenizer_config = {"eos_token": "</s>", "extra_ids": 100, "pad_token": "<pad>", "unk_token": "<unk>"}
    if with_tokenizer_json:
        _save_tokenizer(tokenizer, out, tokenizer_config)
    else:  # google/mt5-base ships only spiece.model: transformers converts it on every load
        _write_json(out / "tokenizer_config.json", tokenizer_config)
    (out / "spiece.model").write_bytes(spm_model)
    heads = SIZE["num_heads"]
    config = MT5Config(
        vocab_size=_padded(len(tokenizer)),
        d_model=SIZE["hidden_size"],
        d_kv=SIZE["hidden_size"] // heads,
        d_ff=SIZE["intermediate_size"],
        num_layers=SIZE["num_layers"],
        num_decoder_layers=SIZE["num_layers"],
        num_heads=heads,
        feed_forward_proj="gated-gelu",
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        tokenizer_class="T5Tokenizer",
    )
    built = _save_model(MT5ForConditionalGeneration, config, out, seed)
    return {"tokenizer_class": type(tokenizer).__name__, **built, **_untie_output_layer(out, seed)}


def _untie_output_layer(out: Path, seed: int) -> dict:
    """mT5 has an output layer of its own (config.json: tie_word_embeddings false). transformers 5 forces
    MT5Config.tie_word_embeddings to True, so a model built from the config shares it with the input
    embeddings; we write it into the weights and the config as the hub checkpoint has them (loading then
    keeps the two apart, with transformers' warning that both are in the checkpoint)."""
    import torch
    from safetensors.torch import load_file, save_file

    weights = load_file(out / "model.safetensors")
    shared = weights["shared.weight"]
    output_layer = torch.randn(shared.shape, generator=torch.Generator().manual_seed(seed + 1)) * shared.std()
    save_file({**weights, "lm_head.weight": output_layer}, out / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    (out / "config.json").write_text(json.dumps({**config, "tie_word_embeddings": False}, indent=2) + "\n", "utf-8")
    return {"parameters": sum(t.numel() for t in weights.values()) + output_layer.numel()}


def _mt0(out: Path, lines: list[str], seed: int, shared: dict) -> dict:
    return _mt5(out, lines, seed, shared, with_tokenizer_json=True)


def _mbart(out: Path, lines: list[str], seed: int, shared: dict) -> dict:
    from tokenizers import normalizers
    from transformers import MBartConfig, MBartForConditionalGeneration, MBartTokenizer

    spm_model = _shared(shared, "xlmr_spm", _xlmr_spm, lines)  # cc25 reuses XLM-R's sentencepiece model
    # <s>=0 <pad>=1 </s>=2 <unk>=3, pieces i + 1, then the 25 language codes and <mask>; source: X </s> src_lang.
    tokenizer = _from_spm_file(MBartTokenizer, spm_model, "sentencepiece.bpe.model")
    # The hub's tokenizer.json (converted by transformers 4) normalises as the sentencepiece model does
    # (NFKC); transformers 5's MBartTokenizer builds no normalizer, and loads the file without it.
    tokenizer.backend_tokenizer.normalizer = normalizers.Precompiled(_precompiled_charsmap(spm_model))
    _save_tokenizer(tokenizer, out, {"model_max_length": 1024})
    # The hub repo names its sentencepiece model sentence.bpe.model, which transformers does not look for:
    # the tokenizer loads from tokenizer.json.
    (out / "sentence.bpe.model").write_bytes(spm_model)
    side = {"layers": SIZE["num_layers"], "attention_heads": SIZE["num_heads"], "ffn_dim": SIZE["intermediate_size"]}
    config = MBartConfig(
        vocab_size=len(tokenizer),
        d_model=SIZE["hidden_size"],
        **{f"{part}_{key}": value for part in ("encoder", "decoder") for key, value in side.items()},
        max_position_embeddings=1024,
        scale_embedding=True,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        forced_eos_token_id=2,
        # cc25's config.json keys from the fairseq conversion (pre-LayerNorm with final layer norms, which
        # MBart always builds); its decoder_start_token_id is unset (generation starts from a language code).
        normalize_before=True,
        add_final_layer_norm=True,
        normalize_embedding=True,
        static_position_embeddings=False,
        add_bias_logits=False,
    )
    return {
        "tokenizer_class": type(tokenizer).__name__,
        **_save_model(MBartForConditionalGeneration, config, out, seed),
    }


def _bloom(out: Path, lines: list[str], seed: int, shared: dict) -> dict:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import BloomConfig, BloomForCausalLM, TokenizersBackend

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(BLOOM_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)  # BLOOM adds no BOS/EOS
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=BLOOM_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(lines, trainer)
    special = dict(zip(("unk_token", "bos_token", "eos_token", "pad_token"), BLOOM_SPECIAL_TOKENS))
    tokenizer = TokenizersBackend(tokenizer_object=backend, padding_side="left", add_prefix_space=False, **special)
    # bloomz's tokenizer_config.json; transformers 5 maps BloomTokenizerFast to TokenizersBackend.
    tokenizer_config = {"add_prefix_space": False, "padding_side": "left", "tokenizer_class": "BloomTokenizerFast"}
    _save_tokenizer(tokenizer, out, {**tokenizer_config, **special})
    config = BloomConfig(
        vocab_size=_padded(len(tokenizer)),
        hidden_size=SIZE["hidden_size"],
        n_layer=SIZE["num_layers"],
        n_head=SIZE["num_heads"],
        unk_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
        seq_length=2048,
    )
    return {"tokenizer_class": "BloomTokenizerFast", **_save_model(BloomForCausalLM, config, out, seed)}


def _baichuan(out: Path, lines: list[str], seed: int, shared: dict) -> dict:
    import torch

    from xlie.pipeline.baichuan import baichuan_spm_options, write_baichuan_checkpoint

    # The hub checkpoint's own layout (fused W_pack, NormHead, its sentencepiece tokenizer.model), which
    # transformers 5 cannot load without the repository's code: the workflow converts it first.
    with tempfile.TemporaryDirectory() as folder:
        tokenizer_model = Path(folder) / "tokenizer.model"
        tokenizer_model.write_bytes(_train_sentencepiece(lines, **baichuan_spm_options()))
        config = write_baichuan_checkpoint(out, tokenizer_model, dict(SIZE), seed)
    weights = torch.load(out / "pytorch_model.bin", weights_only=True)
    return {
        "tokenizer_class": "BaichuanTokenizer",
        "architecture": config["architectures"][0],
        "parameters": sum(tensor.numel() for tensor in weights.values()),
    }


_BUILDERS: dict[str, Callable[[Path, list[str], int, dict], dict]] = {
    "bert": _bert,
    "xlmr": _xlmr,
    "mt5": _mt5,
    "mt0": _mt0,
    "mbart": _mbart,
    "bloom": _bloom,
    "baichuan": _baichuan,
}


def repo_folder(cache_dir: Path, model_id: str) -> Path:
    """The hub cache's folder of a model repository: ``models--org--name``."""
    return Path(cache_dir) / ("models--" + model_id.replace("/", "--"))


def _files_commit(folder: Path) -> str:
    """A 40-hex commit id from the files' paths and bytes (a snapshot's name, as a git commit's)."""
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha1(path.read_bytes()).digest())
    return digest.hexdigest()


def _install(cache_dir: Path, model_id: str, staged: Path) -> str:
    """Move a staged snapshot into the cache as the repository's only snapshot; ``refs/main`` names it."""
    commit = _files_commit(staged)
    repo = repo_folder(cache_dir, model_id)
    if repo.exists():
        shutil.rmtree(repo)
    (repo / "snapshots").mkdir(parents=True)
    (repo / "refs").mkdir()
    shutil.move(str(staged), repo / "snapshots" / commit)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")  # no newline, as huggingface_hub writes it
    return commit


def build_hub_cache(
    cache_dir: str | Path, model_ids: list[str] | None = None, seed: int = 0, words: list[str] | None = None
) -> dict[str, dict]:
    """Build the stand-ins of ``model_ids`` (default: every id of STANDINS) into the hub cache ``cache_dir``
    (use it as ``HF_HUB_CACHE``). ``words`` replaces the papers' prompt words in the training text (e.g.
    to build a vocabulary that lacks one). Returns each id's build record (also its snapshot's
    ``xlie_build.json``) with its commit and snapshot folder."""
    model_ids = list(STANDINS) if model_ids is None else list(model_ids)
    unknown = [model_id for model_id in model_ids if model_id not in STANDINS]
    if unknown:
        raise ValueError(f"no stand-in for {unknown}; known: {sorted(STANDINS)}")
    from transformers.utils import logging as transformers_logging

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    lines = standin_corpus(words)
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # save_pretrained's "Writing model shards" bar, once per model
    try:
        return _build(cache_dir, model_ids, seed, words, lines)
    finally:
        if bars:
            transformers_logging.enable_progress_bar()


def _record(model_id: str, built: dict, seed: int, words: list[str] | None, lines: list[str]) -> dict:
    """What a snapshot is (its xlie_build.json): never to be mistaken for the real checkpoint."""
    return {
        "stand_in_for": model_id,
        "note": "randomly initialised stand-in built locally by xlie (tokenizer trained on the shipped demo text); "
        "NOT the pretrained checkpoint",
        "kind": STANDINS[model_id],
        **built,
        "sizes": SIZE,
        "tokenizer_trainer_vocab_size": VOCAB_SIZE,
        "corpus": {
            "files": [path.relative_to(DEMO_DIR.parents[1]).as_posix() for path in corpus_files()],
            "prompt_words": "the papers' (tokenizer_texts hooks)" if words is None else sorted(words),
            "lines": len(lines),
            "sha1": hashlib.sha1("\n".join(lines).encode("utf-8")).hexdigest(),
        },
        "seed": seed,
        "versions": {name: metadata.version(name) for name in ("transformers", "tokenizers", "sentencepiece")},
    }


def _build(cache_dir: Path, model_ids: list[str], seed: int, words: list[str] | None, lines: list[str]) -> dict:
    shared: dict = {}  # sentencepiece models that two stand-ins share (XLM-R and mBART, mT5 and mt0)
    records = {}
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".standins-") as staging:
        for model_id in model_ids:
            staged = Path(staging) / STANDINS[model_id]
            staged.mkdir()
            record = _record(model_id, _BUILDERS[STANDINS[model_id]](staged, lines, seed, shared), seed, words, lines)
            _write_json(staged / "xlie_build.json", record)
            commit = _install(cache_dir, model_id, staged)
            snapshot = repo_folder(cache_dir, model_id) / "snapshots" / commit
            records[model_id] = {**record, "commit": commit, "snapshot": str(snapshot)}
    return records
