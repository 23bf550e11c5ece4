"""Universal Dependencies treebanks (CoNLL-U) -> XTREME's UDPOS ``test-<lang>.tsv``.

ToPro's UDPOS languages lt pl uk ro wo come from UD 2.7 (XTREME-R) and are not on the hub.
This re-implements, without its networkx dependency, what XTREME does to a UD release
(google-research/xtreme: scripts/download_data.sh ``download_treebank``, then
third_party/ud-conversion-tools ``conllu_to_conll.py --replace_subtokens_with_fused_forms``,
then utils_preprocess.py ``udpos_preprocess``):

- every treebank of the language: files ``<lang>_<treebank>-ud-test.conllu``, in file-name order;
- comment lines and empty nodes (ID ``n.m``) are dropped;
- a multiword token (ID ``a-b``, e.g. Polish ``żeśmy``) replaces its syntactic words: it takes the
  UPOS of the span's head, the word with the fewest ancestors in the graph of basic and enhanced
  dependencies; a tie goes to the POS earliest in the tool's precedence list (es/fr/it have
  their own), then to the first word of the span;
- a sentence whose forms are hidden (``_``; all or all but one) is dropped;
- spaces and zero-width non-joiners inside a word are removed.

One deliberate difference: XTREME writes test files without tags; we keep ``word<TAB>tag`` (the
hub's test split is labelled too, and scoring needs the tags).
"""

from __future__ import annotations

from pathlib import Path

from xlie.papers.topro.xtreme import LOCAL_ONLY, DataFormatError, Sentence
from xlie.papers.topro.labels import UDPOS
from xlie.pipeline.runtime import atomic_write_text

UD27_LANGUAGES = LOCAL_ONLY["udpos"]
UD_RELEASE_URL = "https://hdl.handle.net/11234/1-3424"  # ud-treebanks-v2.7.tgz (LINDAT/CLARIAH-CZ)

# ud-conversion-tools' POSRANKPRECEDENCEDICT: which UPOS heads a tied multiword span.
_DEFAULT_PRECEDENCE = "VERB NOUN PROPN PRON ADJ NUM ADV INTJ AUX ADP DET PART CCONJ SCONJ X PUNCT".split()
POS_PRECEDENCE = {
    "es": "VERB AUX PRON ADP DET".split(),
    "fr": "VERB AUX PRON NOUN ADJ ADV ADP DET PART SCONJ CONJ".split(),
    "it": "VERB AUX ADV PRON ADP DET INTJ".split(),
}


def _ancestor_count(word: int, parents: dict[int, set[int]]) -> int:
    seen: set[int] = set()
    stack = list(parents.get(word, ()))
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(parents.get(node, ()))
    return len(seen)


def _span_head(span: list[int], parents: dict[int, set[int]], upos: dict[int, str], precedence: list[str]) -> int:
    depth = {w: _ancestor_count(w, parents) for w in span}
    highest = [w for w in span if depth[w] == min(depth.values())]
    rank = {tag: i for i, tag in enumerate(precedence)}
    # min() keeps the first of equal ranks: span order, as the tool's strict '<' does.
    return min(highest, key=lambda w: rank.get(upos[w], len(precedence)))


def _sentence(rows: list[tuple[int, list[str]]], path: Path, precedence: list[str]) -> Sentence | None:
    """One CoNLL-U sentence (its token lines with line numbers) as XTREME keeps it, or None if dropped."""
    words: dict[int, str] = {}
    upos: dict[int, str] = {}
    parents: dict[int, set[int]] = {}
    multiword: list[tuple[int, int, str]] = []
    for lineno, cols in rows:
        token_id = cols[0]
        if "." in token_id:  # empty node of the enhanced graph: no surface word
            continue
        if "-" in token_id:
            start, end = (int(x) for x in token_id.split("-"))
            multiword.append((start, end, cols[1]))
            continue
        if not token_id.isdigit():
            raise DataFormatError(f"{path}:{lineno}: ID {token_id!r} is not a word, range or empty-node id")
        word = int(token_id)
        if cols[3] not in UDPOS:
            raise DataFormatError(f"{path}:{lineno}: UPOS {cols[3]!r} is not in the label set {sorted(UDPOS)}")
        words[word], upos[word] = cols[1], cols[3]
        heads = {int(cols[6])} if cols[6].isdigit() else set()
        if cols[8] != "_":
            heads |= {int(h) for h, _, _ in (d.partition(":") for d in cols[8].split("|")) if h.isdigit()}
        parents[word] = heads
    for start, end, form in multiword:
        span = [w for w in range(start, end + 1) if w in words]
        if not span:
            continue
        head = _span_head(span, parents, upos, precedence)
        words[head] = form
        for w in span:
            if w != head:
                del words[w], upos[w]
    order = sorted(words)
    forms = [words[w] for w in order]
    hidden = sum(f == "_" for f in forms)
    if hidden and hidden >= len(forms) - 1:
        return None  # treebank distributed without its text
    forms = ["".join(f.replace("\u200c", "").split(" ")) for f in forms]
    return Sentence(tuple(forms), tuple(upos[w] for w in order))


def read_conllu(path: str | Path, lang: str) -> list[Sentence]:
    """Sentences of one CoNLL-U file, converted as XTREME converts them (module doc)."""
    path = Path(path)
    precedence = POS_PRECEDENCE.get(lang, _DEFAULT_PRECEDENCE)
    sentences: list[Sentence] = []
    rows: list[tuple[int, list[str]]] = []

    def flush():
        if rows:
            sentence = _sentence(rows, path, precedence)
            if sentence is not None:
                sentences.append(sentence)
            rows.clear()

    with path.open(encoding="utf-8") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                flush()
            elif not line.startswith("#"):
                cols = line.split("\t")
                if len(cols) != 10:
                    raise DataFormatError(
                        f"{path}:{lineno}: expected 10 tab-separated CoNLL-U columns, found {len(cols)}"
                    )
                rows.append((lineno, cols))
    flush()
    return sentences


def treebank_files(ud_dir: str | Path, lang: str, split: str = "test") -> list[Path]:
    """The language's CoNLL-U files of ``split`` in a UD release, every treebank, in file-name order."""
    return sorted(Path(ud_dir).glob(f"*/{lang}_*-ud-{split}.conllu"), key=lambda p: p.name)


def convert_ud_test(ud_dir: str | Path, lang: str, out_path: str | Path) -> int:
    """Write ``test-<lang>.tsv`` (word<TAB>UPOS) from every treebank of ``lang``; returns sentences written."""
    ud_dir = Path(ud_dir)
    if not ud_dir.is_dir():
        raise FileNotFoundError(
            f"config key data.ud.dir: {ud_dir} is not a directory. UDPOS {lang!r} is not on the hub: download "
            f"Universal Dependencies 2.7 (ud-treebanks-v2.7.tgz, {UD_RELEASE_URL}), unpack it and set "
            f"data.ud.dir to the ud-treebanks-v2.7 directory"
        )
    files = treebank_files(ud_dir, lang)
    if not files:
        raise FileNotFoundError(
            f"config key data.ud.dir: no {lang}_*-ud-test.conllu treebank under {ud_dir}/*/ "
            f"(expected the UD release layout UD_<Language>-<Treebank>/<lang>_<treebank>-ud-test.conllu)"
        )
    lines: list[str] = []
    for path in files:
        sentences = read_conllu(path, lang)
        print(f"{path}: {len(sentences)} sentences")
        for sentence in sentences:
            lines.extend(f"{w}\t{t}" for w, t in zip(sentence.words, sentence.tags))
            lines.append("")
    atomic_write_text(out_path, "\n".join(lines))
    return sum(1 for line in lines if line == "")
