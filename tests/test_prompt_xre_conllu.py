"""Prompt-XRE's CoNLL-U reader splits lines at "\\n" only: a Unicode line separator inside a
``# text`` line (U+2028, U+0085, ...) is text, not a line break that would make the file unreadable."""

from __future__ import annotations

import pytest

from xlie.papers.prompt_xre.conllu import parse_conllu, read_conllu

WORDS = "1\tHe\the\tPRON\t_\t_\t2\tnsubj\t_\t_\n2\tleft\tleave\tVERB\t_\t_\t0\troot\t_\t_\n"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1e"])
def test_a_unicode_separator_inside_the_text_line_stays_text(tmp_path, separator):
    text = f"He{separator}left"
    conllu = f"# sent_id = 1\n# text = {text}\n{WORDS}\n# sent_id = 2\n# text = He left\n{WORDS}"
    sentences = parse_conllu(conllu)
    assert [(s.sent_id, s.text) for s in sentences] == [("1", text), ("2", "He left")]
    path = tmp_path / "doc.conllu"
    path.write_bytes(conllu.encode("utf-8"))
    assert [s.text for s in read_conllu(path)] == [text, "He left"]


def test_crlf_line_ends_are_stripped(tmp_path):
    path = tmp_path / "doc.conllu"
    path.write_bytes(f"# sent_id = 1\n# text = He left\n{WORDS}\n".replace("\n", "\r\n").encode("utf-8"))
    (sentence,) = read_conllu(path)
    assert sentence.text == "He left" and [w.form for w in sentence.words] == ["He", "left"]
    assert sentence.words[-1].misc == "_"
