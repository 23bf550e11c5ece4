"""The paper preset's hub ids as real-class stand-ins in a hub cache: they load offline by id, and each
tokenizer and architecture keeps the real checkpoint's conventions (special tokens and their ids, pair
layout, language codes, padding side, position limits)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
import sentencepiece
import torch
from huggingface_hub import snapshot_download
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    TokenizersBackend,
)

from xlie.cli import main
from xlie.papers.topro.verbalizers import VERBALIZERS
from xlie.pipeline.methods import load_tokenizer
from xlie.pipeline.provenance import hub_revision
from xlie.pipeline.standins import STANDINS, build_hub_cache, repo_folder, standin_corpus
from xlie.pipeline.tiny_models import prompt_words

REPO = Path(__file__).resolve().parents[1]
# The class each workflow method loads the model with.
AUTO_CLASSES = {
    "bert-base-multilingual-cased": (AutoModelForMaskedLM, "BertForMaskedLM", "BertTokenizer"),
    "xlm-roberta-base": (AutoModelForMaskedLM, "XLMRobertaForMaskedLM", "XLMRobertaTokenizer"),
    "google/mt5-base": (AutoModelForSeq2SeqLM, "MT5ForConditionalGeneration", "T5Tokenizer"),
    "bigscience/mt0-xxl": (AutoModelForSeq2SeqLM, "MT5ForConditionalGeneration", "T5Tokenizer"),
    "facebook/mbart-large-cc25": (AutoModelForSeq2SeqLM, "MBartForConditionalGeneration", "MBartTokenizer"),
    "bigscience/bloomz-7b1": (AutoModelForCausalLM, "BloomForCausalLM", "TokenizersBackend"),
}
MBART_CODES = "ar_AR cs_CZ de_DE en_XX es_XX et_EE fi_FI fr_XX gu_IN hi_IN it_IT ja_XX kk_KZ ko_KR lt_LT lv_LV my_MM "
MBART_CODES += "ne_NP nl_XX ro_RO ru_RU si_LK tr_TR vi_VN zh_CN"
VERBALIZER_WORDS = sorted({word for words in VERBALIZERS.values() for word in words.values()})


@pytest.fixture
def hub(standin_hub) -> tuple[Path, dict[str, dict]]:
    return standin_hub


def _snapshot(hub, model_id: str) -> Path:
    return Path(hub[1][model_id]["snapshot"])


def _spm(hub, model_id: str, name: str) -> sentencepiece.SentencePieceProcessor:
    return sentencepiece.SentencePieceProcessor(model_file=str(_snapshot(hub, model_id) / name))


def _sample(count: int = 300) -> list[str]:
    lines = standin_corpus()
    return lines[:: max(1, len(lines) // count)]


@pytest.mark.parametrize("model_id", sorted(AUTO_CLASSES))
def test_loads_offline_by_hub_id_with_the_real_classes(hub, model_id):
    auto_model, architecture, tokenizer_class = AUTO_CLASSES[model_id]
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    config = AutoConfig.from_pretrained(model_id)
    model = auto_model.from_pretrained(model_id)
    assert type(tokenizer).__name__ == tokenizer_class
    assert type(model).__name__ == architecture and config.architectures == [architecture]
    assert config.vocab_size >= len(tokenizer)
    record = json.loads((_snapshot(hub, model_id) / "xlie_build.json").read_text())
    assert record["stand_in_for"] == model_id and "NOT the pretrained checkpoint" in record["note"]
    assert hub_revision(model_id) == hub[1][model_id]["commit"]  # the provenance of a run names the stand-in
    assert (repo_folder(hub[0], model_id) / "refs" / "main").read_text() == hub[1][model_id]["commit"]


def test_every_paper_preset_model_has_a_stand_in():
    import yaml

    preset = yaml.safe_load((REPO / "workflow" / "presets" / "paper.yaml").read_text(encoding="utf-8"))
    assert {model["path"] for model in preset["models"].values()} <= set(STANDINS)


def test_training_text_covers_the_workflows_scripts():
    text = "".join(standin_corpus())
    scripts = {unicodedata.name(c).split()[0] for c in text if c.isalpha()}
    assert {"LATIN", "CYRILLIC", "ARABIC", "CJK", "HANGUL", "DEVANAGARI", "BENGALI"} <= scripts


def test_mbert_wordpiece_conventions(hub):
    tokenizer = AutoTokenizer.from_pretrained("bert-base-multilingual-cased")
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
    assert ids == {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}  # mBERT's own ids
    assert tokenizer.model_max_length == 512 and not tokenizer.do_lower_case
    pair = tokenizer("Berlin", "the location")
    assert pair.tokens() == ["[CLS]", "Berlin", "[SEP]", "the", "location", "[SEP]"]
    assert pair["token_type_ids"] == [0, 0, 0, 1, 1, 1]
    pieces = tokenizer.tokenize("Unbelievably")
    assert len(pieces) > 1 and all(piece.startswith("##") for piece in pieces[1:])  # continuations
    assert tokenizer.tokenize("北京") == ["北", "京"]  # CJK characters split, as in mBERT
    assert tokenizer.tokenize("Zürich")[0] == "Z"  # cased, accents kept
    # The authors' lookup, convert_tokens_to_ids(word), finds every verbalizer word whole.
    assert [w for w in VERBALIZER_WORDS if tokenizer.convert_tokens_to_ids(w) == ids["[UNK]"]] == []
    config = AutoConfig.from_pretrained("bert-base-multilingual-cased")
    assert (config.max_position_embeddings, config.type_vocab_size, config.pad_token_id) == (512, 2, 0)


def test_xlmr_fairseq_ids_from_its_sentencepiece_model(hub):
    tokenizer = AutoTokenizer.from_pretrained("xlm-roberta-base")
    spm = _spm(hub, "xlm-roberta-base", "sentencepiece.bpe.model")
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    assert tokenizer.mask_token_id == len(tokenizer) - 1 == spm.get_piece_size() + 1
    for line in _sample():  # sentencepiece's piece i is id i + 1 (fairseq's dictionary)
        assert tokenizer(line, add_special_tokens=False)["input_ids"] == [i + 1 for i in spm.encode(line)], line
    pair = tokenizer("A", "B")
    assert pair.tokens() == ["<s>", "▁A", "</s>", "</s>", "▁B", "</s>"] and "token_type_ids" not in pair
    # Both the bare piece (the authors' lookup) and the word-initial piece (in context) are entries.
    for word in VERBALIZER_WORDS:
        assert tokenizer.convert_tokens_to_ids(word) != tokenizer.unk_token_id, word
        assert tokenizer.tokenize(f" {word}") == [f"▁{word}"], word
    assert tokenizer.model_max_length == 512
    config = AutoConfig.from_pretrained("xlm-roberta-base")
    assert (config.max_position_embeddings, config.type_vocab_size, config.pad_token_id) == (514, 1, 1)


@pytest.mark.parametrize("model_id", ["google/mt5-base", "bigscience/mt0-xxl"])
def test_mt5_conventions(hub, model_id):
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    spm = _spm(hub, model_id, "spiece.model")
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)
    assert tokenizer.bos_token is None and tokenizer.mask_token is None
    assert spm.id_to_piece(3) == "<0x00>"  # byte fallback pieces at 3..258, as mT5's
    assert len(tokenizer) == spm.get_piece_size() + 100
    assert tokenizer.convert_tokens_to_ids("<extra_id_0>") == len(tokenizer) - 1
    assert tokenizer.convert_tokens_to_ids("<extra_id_99>") == spm.get_piece_size()
    assert tokenizer("The location").tokens() == ["▁The", "▁location", "</s>"]
    assert tokenizer("A", "B").tokens() == ["▁A", "</s>", "▁B", "</s>"]
    config = AutoConfig.from_pretrained(model_id)
    assert config.vocab_size % 128 == 0 and config.vocab_size > len(tokenizer)  # padded, as 250112 > 250100
    assert (config.decoder_start_token_id, config.is_gated_act, config.feed_forward_proj) == (0, True, "gated-gelu")
    # mT5's own output layer: transformers 5 reads tie_word_embeddings as True whatever config.json says,
    # and keeps the output layer apart because the checkpoint holds both (as it does the hub's).
    assert json.loads((_snapshot(hub, model_id) / "config.json").read_text())["tie_word_embeddings"] is False
    model = AutoModelForSeq2SeqLM.from_pretrained(model_id)
    assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
    assert not torch.equal(model.lm_head.weight, model.shared.weight)


def test_mt5_from_sentencepiece_and_mt0_from_tokenizer_json_agree(hub):
    """google/mt5-base ships only spiece.model (converted on load), mt0-xxl also a tokenizer.json."""
    assert not (_snapshot(hub, "google/mt5-base") / "tokenizer.json").exists()
    mt5, mt0 = (AutoTokenizer.from_pretrained(model_id) for model_id in ("google/mt5-base", "bigscience/mt0-xxl"))
    for line in _sample():
        assert mt5(line)["input_ids"] == mt0(line)["input_ids"], line


def test_mbart_language_codes_and_source_layout(hub):
    tokenizer = AutoTokenizer.from_pretrained("facebook/mbart-large-cc25")
    codes = MBART_CODES.split()
    assert [tokenizer.convert_tokens_to_ids(code) for code in codes] == list(
        range(len(tokenizer) - 26, len(tokenizer) - 1)
    )
    assert tokenizer.mask_token_id == len(tokenizer) - 1
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    for code in codes:  # one token each, also inside text
        assert tokenizer.tokenize(f"{code} Berlin")[0] == code
    tokenizer.src_lang, tokenizer.tgt_lang = "zh_CN", "en_XX"
    source = tokenizer("Berlin", text_target="location")
    assert source.tokens()[-2:] == ["</s>", "zh_CN"]  # X </s> src_lang
    assert tokenizer.convert_ids_to_tokens(source["labels"])[-2:] == ["</s>", "en_XX"]
    spm = _spm(hub, "facebook/mbart-large-cc25", "sentence.bpe.model")  # the hub's name for it
    for line in _sample():  # text that NFKC leaves alone (see the next test)
        if unicodedata.normalize("NFKC", line) == line:
            assert tokenizer(line, add_special_tokens=False)["input_ids"] == [i + 1 for i in spm.encode(line)], line
    config = AutoConfig.from_pretrained("facebook/mbart-large-cc25")
    assert (config.max_position_embeddings, config.scale_embedding, config.normalize_before) == (1024, True, True)
    assert config.decoder_start_token_id is None and tokenizer.model_max_length == 1024


def test_mbart_tokenizer_of_transformers_5_drops_the_sentencepiece_normalizer(hub):
    """A known gap of the pinned transformers, which the real checkpoint has too: its tokenizer.json
    normalises as sentencepiece (and fairseq) do, NFKC, but MBartTokenizer builds no normalizer, so
    full-width punctuation of Chinese text ("，") is <unk> instead of ",". XLMRobertaTokenizer keeps it."""
    snapshot = _snapshot(hub, "facebook/mbart-large-cc25")
    assert json.loads((snapshot / "tokenizer.json").read_text())["normalizer"]["type"] == "Precompiled"
    mbart, xlmr = (AutoTokenizer.from_pretrained(m) for m in ("facebook/mbart-large-cc25", "xlm-roberta-base"))
    spm = _spm(hub, "facebook/mbart-large-cc25", "sentence.bpe.model")
    assert mbart.backend_tokenizer.normalizer is None
    assert spm.encode("北京，上海", out_type=str)[3] == xlmr.tokenize("北京，上海")[3] == ","
    assert mbart.unk_token_id in mbart("北京，上海")["input_ids"]


def test_load_tokenizer_restores_the_checkpoints_normalizer(hub, tmp_path):
    """xlie's tokenizer loader puts the checkpoint's normalizer back: mBART tokenizes Chinese punctuation
    as sentencepiece does (fairseq ids: pieces + 1), also from a trained model's saved tokenizer."""
    spm = _spm(hub, "facebook/mbart-large-cc25", "sentence.bpe.model")
    lines = [line for line in standin_corpus() if any(unicodedata.east_asian_width(c) == "F" for c in line)]
    assert len(lines) > 100
    tokenizer = load_tokenizer("facebook/mbart-large-cc25")
    tokenizer.save_pretrained(tmp_path)
    for loaded in (tokenizer, load_tokenizer(tmp_path)):
        assert loaded.backend_tokenizer.normalizer is not None
        for line in lines:
            assert loaded(line, add_special_tokens=False)["input_ids"] == [i + 1 for i in spm.encode(line)]


def test_bloom_byte_level_bpe_with_left_padding(hub):
    tokenizer = AutoTokenizer.from_pretrained("bigscience/bloomz-7b1")
    config = json.loads((_snapshot(hub, "bigscience/bloomz-7b1") / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "BloomTokenizerFast" and type(tokenizer) is TokenizersBackend
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("<unk>", "<s>", "</s>", "<pad>")] == [0, 1, 2, 3]
    assert tokenizer("of: location").tokens() == ["of", ":", "Ġlocation"]  # no BOS, no EOS
    assert all(tokenizer.convert_tokens_to_ids(f"Ġ{w}") != tokenizer.unk_token_id for w in VERBALIZER_WORDS)
    assert tokenizer.decode(tokenizer("北京 서울")["input_ids"]) == "北京 서울"  # bytes: nothing is unknown
    batch = tokenizer(["a b c", "a"], padding=True)
    assert tokenizer.padding_side == "left" and batch["input_ids"][1][:2] == [3, 3]
    model = AutoModelForCausalLM.from_pretrained("bigscience/bloomz-7b1")
    assert not any("position" in name for name, _ in model.named_parameters())  # ALiBi: no position embeddings
    assert model.config.vocab_size % 128 == 0 and model.config.vocab_size > len(tokenizer)


def test_baichuan_in_the_hub_checkpoints_own_layout(hub):
    snapshot = _snapshot(hub, "baichuan-inc/Baichuan2-7B-Base")
    config = json.loads((snapshot / "config.json").read_text())
    assert config["model_type"] == "baichuan" and config["architectures"] == ["BaichuanForCausalLM"]
    weights = torch.load(snapshot / "pytorch_model.bin", weights_only=True)
    assert any("W_pack" in name for name in weights)
    # The cache needs no blobs/ folder: a snapshot download resolves offline to the snapshot itself.
    assert snapshot_download("baichuan-inc/Baichuan2-7B-Base", local_files_only=True) == str(snapshot)
    spm = _spm(hub, "baichuan-inc/Baichuan2-7B-Base", "tokenizer.model")
    assert [spm.id_to_piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert spm.encode("2024") == [spm.piece_to_id(d) for d in "2024"]  # digits split, no dummy prefix


def test_prompt_words_are_whole_in_every_vocabulary(hub):
    """The papers' prompt words are in the training text, so each real-class vocabulary holds them as a
    pretrained one does; labels with a hyphen and '$$' split, as in the real vocabularies."""
    words = [w for w in prompt_words() if w.isalpha()]
    for model_id, prefix in [("xlm-roberta-base", "▁"), ("google/mt5-base", "▁"), ("bigscience/bloomz-7b1", "Ġ")]:
        vocab = AutoTokenizer.from_pretrained(model_id).get_vocab()
        assert [w for w in words if f"{prefix}{w}" not in vocab or w not in vocab] == [], model_id


def test_words_option_builds_a_vocabulary_without_a_word(tmp_path):
    """What a preflight test needs: a stand-in whose vocabulary splits a verbalizer word."""
    build_hub_cache(tmp_path, ["xlm-roberta-base"], words=[w for w in prompt_words() if w != "punct"])
    snapshot = next((repo_folder(tmp_path, "xlm-roberta-base") / "snapshots").iterdir())
    spm = sentencepiece.SentencePieceProcessor(model_file=str(snapshot / "sentencepiece.bpe.model"))
    assert spm.piece_to_id("▁punct") == spm.piece_to_id("punct") == spm.unk_id()
    assert spm.piece_to_id("▁location") != spm.unk_id()


def test_rebuild_writes_the_same_bytes(hub, tmp_path):
    records = build_hub_cache(tmp_path)
    assert {m: r["commit"] for m, r in records.items()} == {m: r["commit"] for m, r in hub[1].items()}
    for model_id, record in records.items():
        rebuilt, first = Path(record["snapshot"]), _snapshot(hub, model_id)
        for path in sorted(first.iterdir()):
            assert (rebuilt / path.name).read_bytes() == path.read_bytes(), (model_id, path.name)


def test_cli_builds_the_named_stand_ins(tmp_path, capsys):
    assert main(["standins", "--out", str(tmp_path), "--model", "bigscience/bloomz-7b1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.split("\t")[:3] == ["bigscience/bloomz-7b1", "BloomTokenizerFast", "BloomForCausalLM"]
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["models--bigscience--bloomz-7b1"]
    assert main(["standins", "--out", str(tmp_path), "--model", "gpt2"]) == 2


# ---------------------------------------------------------------- the workflow's tokenizer-dependent code, per real class


@pytest.mark.parametrize("model_id", ["bert-base-multilingual-cased", "xlm-roberta-base"])
def test_topro_encoder_prompts_and_verbalizers_per_real_class(hub, model_id):
    from xlie.papers.topro.methods import topro_encoder
    from xlie.papers.topro.xtreme import Sentence

    tokenizer = AutoTokenizer.from_pretrained(model_id)
    sentence = Sentence(("Angela", "Merkel", "besuchte", "北京"), ("B-PER", "I-PER", "O", "B-LOC"))
    prompts = topro_encoder.build_prompts("panx", [sentence], tokenizer.mask_token)
    encoded = topro_encoder.encode_prompts(tokenizer, [p[2] for p in prompts], [p[3] for p in prompts], 64)
    for ids in encoded.input_ids:  # one mask, the sentence first, the prompt second
        assert ids.count(tokenizer.mask_token_id) == 1 and ids[0] == tokenizer.cls_token_id
    if model_id.startswith("bert"):  # segment ids: 0 for [CLS] A [SEP], 1 for B [SEP]
        first = encoded.input_ids[0]
        assert encoded.token_type_ids[0] == [0] * (first.index(tokenizer.sep_token_id) + 1) + [1] * (
            len(first) - first.index(tokenizer.sep_token_id) - 1
        )
    else:  # XLM-R has one segment and </s></s> between the two texts
        assert encoded.token_type_ids is None
        first = encoded.input_ids[0]
        separator = first.index(tokenizer.sep_token_id)
        assert first[separator + 1] == tokenizer.sep_token_id
    for task in ("panx", "udpos"):
        entries, _ = topro_encoder.verbalizer_ids(tokenizer, task, "strict", model_id, lookup="vocabulary_entry")
        in_context, _ = topro_encoder.verbalizer_ids(tokenizer, task, "strict", model_id, lookup="in_context")
        assert len(set(entries)) == len(entries)
        # WordPiece words are the same entry either way; sentencepiece scores '▁word' in context, the
        # authors looked up the bare piece 'word' (issue 17).
        assert (entries == in_context) == model_id.startswith("bert")


@pytest.mark.parametrize("model_id", ["bigscience/bloomz-7b1", "bigscience/mt0-xxl"])
def test_llm_zero_shot_words_and_left_truncation_per_real_class(hub, model_id):
    from xlie.papers.topro.methods import llm_zero_shot
    from xlie.papers.topro.verbalizers import AUTHORS_LLM_UDPOS

    tokenizer = AutoTokenizer.from_pretrained(model_id)
    kind = "causal" if "bloom" in model_id else "seq2seq"
    for variant in ("a", "b"):  # the authors' words are single tokens after the prompt
        _, split = llm_zero_shot.verbalizer_token_ids(tokenizer, "panx", variant, "strict", model_id)
        _, split_udpos = llm_zero_shot.verbalizer_token_ids(
            tokenizer, "udpos", variant, "strict", model_id, words=AUTHORS_LLM_UDPOS[kind]
        )
        assert split == split_udpos == []
    long_prompt = "Sentence: " + "Berlin " * 200 + "\nThe named entity of the word Berlin is a kind of:"
    ids, cut = llm_zero_shot.encode_prompts(tokenizer, ["short", long_prompt], 32)
    full = tokenizer(long_prompt)["input_ids"]
    assert cut == 1 and len(ids[1]) == 32
    if kind == "causal":  # BLOOM adds no special token: the prompt's last 32 tokens
        assert ids[1] == full[-32:] and ids[0] == tokenizer("short")["input_ids"]
    else:  # mT5 keeps its closing </s>
        assert ids[1] == full[-32:] and ids[1][-1] == tokenizer.eos_token_id


@pytest.mark.parametrize("model_id", ["bigscience/bloomz-7b1", "bigscience/mt0-xxl"])
def test_code_style_generation_pads_each_class_on_its_side(hub, model_id):
    """A batch generates what each prompt generates alone: BLOOM (ALiBi) left-padded, mt0 right-padded."""
    from xlie.papers.alignxie.generation import HFGenerator

    stop = '"""' if "bloom" in model_id else None  # AlignXIE's stop string, on the causal LM (its base model)
    generator = HFGenerator(model_id, batch_size=4, max_new_tokens=5, device="cpu", stop=stop)
    prompts = ["Berlin is", "x", "北京 서울 Москва is a kind of: location organisation person"]
    together = generator.generate(prompts).texts
    assert together == [generator.generate([prompt]).texts[0] for prompt in prompts]


def test_alignxie_instance_encoding_on_bloom(hub):
    from xlie.papers.alignxie.lora_training import IGNORE_INDEX, Instance, encode_instance

    tokenizer = AutoTokenizer.from_pretrained("bigscience/bloomz-7b1")
    feature, cut = encode_instance(tokenizer, Instance('"""Find the entities."""\n', 'Person("Angela")'), 64)
    prompt = tokenizer('"""Find the entities."""\n')["input_ids"]
    assert not cut and feature["input_ids"][: len(prompt)] == prompt  # no BOS added
    assert feature["input_ids"][-1] == tokenizer.eos_token_id == 2
    assert feature["labels"][: len(prompt)] == [IGNORE_INDEX] * len(prompt)


def test_mbart_relation_language_codes_and_special_tokens(hub):
    from xlie.papers.prompt_xre.ace05 import RelationInstance
    from xlie.papers.prompt_xre.methods.mbart_relation import encode_instance

    tokenizer = AutoTokenizer.from_pretrained("facebook/mbart-large-cc25")
    instance = RelationInstance("Merkel visited Beijing .", "Merkel", "Beijing", "PHYS", "d", "s", "r", "en", "test")
    feature, cut = encode_instance(tokenizer, "3", instance, "zh", 64)  # zero-shot: the training language's id
    zh = tokenizer.convert_tokens_to_ids("zh_CN")
    assert not cut and feature["input_ids"][-2:] == [tokenizer.eos_token_id, zh]  # X </s> lang, as mBART's source
    decoder = feature["decoder_input_ids"]
    assert decoder[:2] == [zh, tokenizer.bos_token_id] and decoder[-1] == tokenizer.eos_token_id
    assert tokenizer.mask_token_id in feature["input_ids"] and tokenizer.unk_token_id not in feature["input_ids"]


def test_mt5_label_scoring_on_the_real_layout(hub):
    from xlie.papers.topro.labels import label_set
    from xlie.papers.topro.methods.topro_seq2seq import check_scoring_head, label_targets

    tokenizer = AutoTokenizer.from_pretrained("google/mt5-base")
    for task in ("panx", "udpos"):  # distinct sequences, each closed by </s>
        assert all(ids[-1] == 1 for ids in label_targets(tokenizer, label_set(task)).values())
    check_scoring_head(AutoModelForSeq2SeqLM.from_pretrained("google/mt5-base"))  # its own output layer


@pytest.mark.parametrize("model_id", ["bert-base-multilingual-cased", "xlm-roberta-base"])
def test_vanilla_window_chunks_fit_per_real_class(hub, model_id):
    from xlie.papers.topro.methods.token_classification import window_chunks
    from xlie.papers.topro.xtreme import Sentence

    tokenizer = AutoTokenizer.from_pretrained(model_id)
    words = tuple(["Zürich", "Москва", "北京大学", "Angela", "Merkel", "besuchte"] * 6)
    chunks, owners = window_chunks(tokenizer, [Sentence(words, ("O",) * len(words))], 16)
    assert owners == [0] * len(chunks) and sum(len(c.words) for c in chunks) == len(words)
    for chunk in chunks:
        assert len(tokenizer(list(chunk.words), is_split_into_words=True)["input_ids"]) <= 16
