"""Cut the AlignXIE demo's NER sets: PAN-X (WikiANN) sentences written in MultiCoNER's file layout.

    python tools/make_demo_multiconer.py <xtreme panx dir> resources/demo/multiconer

This is NOT MultiCoNER (its licence and size keep it out of the repository): it is PAN-X data,
tags PER/LOC/ORG, laid out as MultiCoNER's CoNLL files (``# id ... domain=xx`` then
``token _ _ TAG``) so the demo runs the same reader the paper preset uses. Sentences are taken
in file order, keeping short ones with at least one entity, no ``#`` token (PAN-X's Chinese uses
``#`` as a token; it would look like a comment line) and no token with a space inside; the splits
of one language never share a sentence. Deterministic: no shuffling.
"""

from __future__ import annotations

import sys
from pathlib import Path

# (language, split) -> (PAN-X file, how many sentences); splits from one file are consecutive and disjoint.
SEEN = {
    "en": [("train", "train-en.tsv", 200), ("dev", "dev-en.tsv", 20), ("test", "dev-en.tsv", 30)],
    "zh": [("train", "dev-zh.tsv", 200), ("dev", "dev-zh.tsv", 20), ("test", "dev-zh.tsv", 30)],
}
UNSEEN = ("bn", "de", "es", "fa", "hi", "ko", "nl", "ru", "tr")
MAX_TOKENS, MAX_CHARACTERS = 15, 30  # PAN-X Chinese tokens are characters: its limit counts them


def read_panx(path: Path) -> list[list[tuple[str, str]]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        token, tag = line.rsplit("\t", 1)
        current.append((token.strip(), tag.strip()))
    return sentences + ([current] if current else [])


def wanted(sentence: list[tuple[str, str]], lang: str) -> bool:
    limit = MAX_CHARACTERS if lang == "zh" else MAX_TOKENS
    return (
        3 <= len(sentence) <= limit
        and any(tag != "O" for _, tag in sentence)
        and not any(token.startswith("#") or len(token.split()) != 1 for token, _ in sentence)
    )


def write_conll(sentences, path: Path, lang: str, split: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for n, sentence in enumerate(sentences, start=1):
            handle.write(f"# id panx-{lang}-{split}-{n:04d} domain={lang}\n")
            handle.writelines(f"{token} _ _ {tag}\n" for token, tag in sentence)
            handle.write("\n")


def main(panx_dir: str, out_dir: str) -> None:
    panx, out = Path(panx_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = {**SEEN, **{lang: [("test", f"dev-{lang}.tsv", 30)] for lang in UNSEEN}}
    for lang, splits in plan.items():
        taken: dict[str, int] = {}  # PAN-X file -> sentences already used
        for split, name, count in splits:
            pool = [s for s in read_panx(panx / name) if wanted(s, lang)]
            start = taken.get(name, 0)
            chosen = pool[start : start + count]
            if len(chosen) < count:
                sys.exit(f"{panx / name}: only {len(chosen)} suitable sentences for {lang} {split}, {count} wanted")
            taken[name] = start + count
            write_conll(chosen, out / f"{lang}_{split}.conll", lang, split)
            print(f"{lang}_{split}.conll: {count} sentences from {name}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
