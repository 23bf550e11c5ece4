"""xlie.papers.topro.ud: a UD release's CoNLL-U treebanks -> XTREME's UDPOS test-<lang>.tsv."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlie.papers.topro.ud import convert_ud_test, read_conllu, treebank_files
from xlie.papers.topro.xtreme import DataFormatError, load_xtreme, read_xtreme_tsv
from xlie.papers.topro.labels import UDPOS

UD_SAMPLE = Path(__file__).resolve().parent / "data" / "ud"

# By hand, from tests/data/ud (see its README): the treebanks in file-name order (pl_other,
# then pl_sample); multiword tokens replaced by their fused form with the span head's UPOS;
# the empty node 5.1 and the sentence of hidden forms dropped; "10 000" and the ZWNJ joined.
EXPECTED = """\
Dzień\tNOUN
dobry\tADJ
!\tPUNCT

Wiem\tVERB
,\tPUNCT
żeśmy\tAUX
przyszli\tVERB
.\tPUNCT

Idę\tVERB
doń\tPRON
.\tPUNCT

Anna\tPROPN
czyta\tVERB
,\tPUNCT
Piotr\tPROPN
pisze\tVERB
.\tPUNCT

Mam\tVERB
10000\tNUM
złotych\tNOUN
.\tPUNCT
"""


def test_converts_every_test_treebank_as_xtreme_does(tmp_path):
    out = tmp_path / "udpos" / "test-pl.tsv"
    assert convert_ud_test(UD_SAMPLE, "pl", out) == 5
    assert out.read_text(encoding="utf-8") == EXPECTED
    # the result is an ordinary XTREME file: 'auto' reads it locally
    sentences, identity = load_xtreme("udpos", "test", "pl", "auto", tmp_path)
    assert identity["source"] == "local" and len(sentences) == 5
    assert read_xtreme_tsv(out, UDPOS) == sentences


def test_multiword_head_tie_goes_to_the_precedence_list():
    """że (SCONJ) + śmy (AUX) are equally deep: AUX ranks before SCONJ in XTREME's tool."""
    first = read_conllu(UD_SAMPLE / "UD_Polish-Sample" / "pl_sample-ud-test.conllu", "pl")[0]
    assert first.words[2] == "żeśmy" and first.tags[2] == "AUX"


def test_only_test_files_of_the_language(tmp_path):
    names = [p.name for p in treebank_files(UD_SAMPLE, "pl")]
    assert names == ["pl_other-ud-test.conllu", "pl_sample-ud-test.conllu"]
    assert treebank_files(UD_SAMPLE, "lt") == []


def test_missing_release_names_the_key_and_where_to_get_ud(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        convert_ud_test(tmp_path / "nowhere", "lt", tmp_path / "test-lt.tsv")
    message = str(info.value)
    assert "config key data.ud.dir" in message and "Universal Dependencies 2.7" in message
    assert "hdl.handle.net/11234/1-3424" in message and not (tmp_path / "test-lt.tsv").exists()


def test_release_without_the_language_says_which_files_it_wants(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data\.ud\.dir: no wo_\*-ud-test\.conllu"):
        convert_ud_test(UD_SAMPLE, "wo", tmp_path / "test-wo.tsv")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "1\tDom\tdom\tNOUN\t_\t_\t0\troot",
            r"x-ud-test\.conllu:2: expected 10 tab-separated CoNLL-U columns, found 8",
        ),
        ("1\tDom\tdom\tNOPE\t_\t_\t0\troot\t0:root\t_", r"x-ud-test\.conllu:2: UPOS 'NOPE' is not in the label set"),
    ],
)
def test_bad_conllu_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "x-ud-test.conllu"
    path.write_text(f"# text = Dom\n{line}\n\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        read_conllu(path, "pl")
