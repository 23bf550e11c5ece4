"""xlie.papers.topro.xtreme: the XTREME tsv reader, its error messages, hub configs, identity records."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from xlie.papers.topro import xtreme
from xlie.papers.topro.xtreme import DataFormatError, hub_config, load_xtreme, local_path, read_xtreme_tsv
from xlie.papers.topro.labels import PANX, UDPOS

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "xtreme"
SHARED_XTREME = Path(__file__).resolve().parents[2] / "shared" / "data" / "xtreme"


def _blocks(path: Path) -> int:
    """Number of blank-line-separated blocks of non-blank lines (independent of the reader)."""
    text = path.read_text(encoding="utf-8")
    return len([b for b in re.split(r"\n[ \t\r]*\n", text) if b.strip()])


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped demo file ---------------------------------------------------------------


def test_demo_panx_de_reads_100_sentences():
    path = DEMO / "panx" / "test-de.tsv"
    sentences = read_xtreme_tsv(path, PANX)
    assert len(sentences) == 100
    assert len(sentences) == _blocks(path)
    for sentence in sentences:
        assert len(sentence.words) == len(sentence.tags) > 0
        assert set(sentence.tags) <= set(PANX)
        assert all(w.strip() for w in sentence.words)
    # the first sentence of the file, as it is written there
    assert sentences[0].words[:4] == ("Anton", "Wilhelm", "von", "Zuccalmaglio")
    assert sentences[0].tags[:4] == ("B-PER", "I-PER", "I-PER", "I-PER")


def test_demo_panx_de_via_load_xtreme():
    sentences, identity = load_xtreme("panx", "test", "de", "local", DEMO)
    assert len(sentences) == 100
    assert identity["sentences"] == 100


def test_reader_tolerates_crlf_and_repeated_blank_lines(tmp_path):
    path = _write(tmp_path, "x.tsv", "\n\nA\tB-PER\r\nb\tI-PER\r\n\r\n\r\n\nc\tO\n\n")
    sentences = read_xtreme_tsv(path, PANX)
    assert [s.words for s in sentences] == [("A", "b"), ("c",)]
    assert [s.tags for s in sentences] == [("B-PER", "I-PER"), ("O",)]


def test_reader_keeps_last_sentence_without_trailing_blank_line(tmp_path):
    path = _write(tmp_path, "x.tsv", "a\tO\n\nb\tB-LOC")
    assert [s.words for s in read_xtreme_tsv(path, PANX)] == [("a",), ("b",)]


# --- error messages (the bad-input sweep, tests/test_bad_inputs.py, has the exact ones) ----


def test_udpos_tag_is_not_a_panx_tag(tmp_path):
    path = _write(tmp_path, "pos.tsv", "Paris\tPROPN\n")
    assert read_xtreme_tsv(path, UDPOS)[0].tags == ("PROPN",)
    with pytest.raises(DataFormatError, match=r"pos\.tsv:1: tag 'PROPN'"):
        read_xtreme_tsv(path, PANX)


def test_empty_word_is_rejected(tmp_path):
    path = _write(tmp_path, "bad.tsv", "a\tO\n \tO\n")
    with pytest.raises(DataFormatError, match=r"bad\.tsv:2: empty word"):
        read_xtreme_tsv(path, PANX)


def test_missing_file_in_reader(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        read_xtreme_tsv(tmp_path / "nope.tsv", PANX)


@pytest.mark.parametrize("task", ["panx", "udpos"])
def test_missing_language_file_names_path_and_layout(tmp_path, task):
    with pytest.raises(FileNotFoundError) as info:
        load_xtreme(task, "test", "xx_missing_lang", "local", tmp_path)
    message = str(info.value)
    expected = tmp_path / task / "test-xx_missing_lang.tsv"
    assert str(expected) in message
    assert f"<dir>/{task}/test-xx_missing_lang.tsv" in message
    assert "XTREME layout" in message


def test_unknown_source_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"'local' or 'hub'.*'ftp'"):
        load_xtreme("panx", "test", "de", "ftp", tmp_path)


# --- source 'auto': the local file when present, else the hub ------------------------------


def test_auto_reads_the_local_file_when_present(monkeypatch):
    def no_hub(*args):
        raise AssertionError("auto must not touch the hub when the local file exists")

    monkeypatch.setattr(xtreme, "_load_hub", no_hub)
    sentences, identity = load_xtreme("panx", "test", "de", "auto", DEMO)
    assert len(sentences) == 100 and identity["source"] == "local"


def test_auto_falls_back_to_the_hub_when_the_file_is_absent(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(xtreme, "_load_hub", lambda *args: calls.append(args) or ([], {"source": "hub"}))
    _, identity = load_xtreme("panx", "test", "sw", "auto", tmp_path)
    assert identity == {"source": "hub"} and calls == [("panx", "test", "sw", PANX)]


@pytest.mark.parametrize("source", ["auto", "hub"])
@pytest.mark.parametrize("lang", ["lt", "pl", "uk", "ro", "wo"])
def test_auto_without_a_ud27_file_says_how_to_make_it(tmp_path, monkeypatch, lang, source):
    monkeypatch.setattr(xtreme, "_load_hub", lambda *args: pytest.fail("these languages are not on the hub"))
    with pytest.raises(FileNotFoundError, match=rf"test-{lang}.tsv.*data\.ud\.dir"):
        load_xtreme("udpos", "test", lang, source, tmp_path)


def test_unknown_task_is_rejected(tmp_path):
    with pytest.raises(KeyError, match="unknown task"):
        load_xtreme("ner", "test", "de", "local", tmp_path)


# --- hub configs -------------------------------------------------------------------------


def test_hub_config_names():
    assert hub_config("panx", "de") == "PAN-X.de"
    assert hub_config("udpos", "de") == "udpos.German"
    assert hub_config("udpos", "zh") == "udpos.Chinese"
    with pytest.raises(KeyError):
        hub_config("xnli", "de")
    with pytest.raises(KeyError, match="unknown language code"):
        hub_config("udpos", "xx")


# --- identity record ---------------------------------------------------------------------


def test_local_identity_has_path_and_sha256(tmp_path):
    text = "Berlin\tB-LOC\nist\tO\n\nAnna\tB-PER\n"
    path = local_path(tmp_path, "panx", "dev", "de")
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    sentences, identity = load_xtreme("panx", "dev", "de", "local", tmp_path)
    assert len(sentences) == 2
    assert identity["source"] == "local"
    assert identity["path"] == str(path)
    assert identity["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert identity["sentences"] == 2


def test_demo_identity_sha256_matches_hashlib():
    _, identity = load_xtreme("udpos", "test", "zh", "local", DEMO)
    path = DEMO / "udpos" / "test-zh.tsv"
    assert Path(identity["path"]) == path
    assert identity["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


# --- the real data beside the repository -------------------------------------------------


@pytest.mark.skipif(not SHARED_XTREME.is_dir(), reason=f"{SHARED_XTREME} not present")
@pytest.mark.parametrize(
    "task, split, lang, labels",
    [("panx", "dev", "de", PANX), ("udpos", "test", "zh", UDPOS)],
)
def test_real_xtreme_files(task, split, lang, labels):
    path = local_path(SHARED_XTREME, task, split, lang)
    if not path.is_file():
        pytest.skip(f"{path} not present")
    sentences, identity = load_xtreme(task, split, lang, "local", SHARED_XTREME)
    assert len(sentences) == _blocks(path)
    assert identity["sentences"] == len(sentences)
    assert all(len(s.words) == len(s.tags) > 0 for s in sentences)
    assert {t for s in sentences for t in s.tags} <= set(labels)
