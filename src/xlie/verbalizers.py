"""Verbalizers: one word per label (ToPro's choice, from the authors' code), in one place."""

from __future__ import annotations

from xlie.labels import label_set

VERBALIZERS: dict[str, dict[str, str]] = {
    "panx": {
        "B-LOC": "location", "B-ORG": "organisation", "B-PER": "person",
        "I-LOC": "place", "I-ORG": "body", "I-PER": "name", "O": "other",
    },
    "udpos": {
        "ADJ": "modification", "ADP": "position", "ADV": "verbal", "AUX": "auxiliar",
        "CCONJ": "link", "DET": "determine", "INTJ": "mode", "NOUN": "thing", "NUM": "number",
        "PART": "functional", "PRON": "reference", "PROPN": "name", "PUNCT": "punct",
        "SCONJ": "condition", "SYM": "symbol", "VERB": "verb", "X": "other",
    },
}  # fmt: skip


def verbalizer(task: str) -> dict[str, str]:
    """label -> word, in the label set's order (the class-id order of every head)."""
    words = VERBALIZERS[task]
    return {label: words[label] for label in label_set(task)}
