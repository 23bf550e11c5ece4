"""Verbalizers: one word per label (ToPro's choice, from the authors' code), in one place."""

from __future__ import annotations

from xlie.papers.topro.labels import label_set

VERBALIZERS: dict[str, dict[str, str]] = {
    "panx": {
        "B-LOC": "location",
        "B-ORG": "organisation",
        "B-PER": "person",
        "I-LOC": "place",
        "I-ORG": "body",
        "I-PER": "name",
        "O": "other",
    },
    "udpos": {
        "ADJ": "modification",
        "ADP": "position",
        "ADV": "verbal",
        "AUX": "auxiliar",
        "CCONJ": "link",
        "DET": "determine",
        "INTJ": "mode",
        "NOUN": "thing",
        "NUM": "number",
        "PART": "functional",
        "PRON": "reference",
        "PROPN": "name",
        "PUNCT": "punct",
        "SCONJ": "condition",
        "SYM": "symbol",
        "VERB": "verb",
        "X": "other",
    },
}


def verbalizer(task: str) -> dict[str, str]:
    """label -> word, in the label set's order (the class-id order of every head)."""
    words = VERBALIZERS[task]
    return {label: words[label] for label in label_set(task)}


# The LLM study's UDPOS words in the authors' scripts (boleima/ToPro run_baseline/pvp.py,
# UdposLLMPVP), one set per model: mt0 (seq2seq, patterns 0/2) and bloomz (causal, patterns 1/3).
# Their PAN-X words are ToPro's for both models.
AUTHORS_LLM_UDPOS: dict[str, dict[str, str]] = {
    "seq2seq": {
        "ADJ": "modifica",
        "ADP": "position",
        "ADV": "condition",
        "AUX": "auxili",
        "CCONJ": "coord",
        "DET": "determin",
        "INTJ": "inter",
        "NOUN": "no",
        "NUM": "number",
        "PART": "parti",
        "PRON": "prono",
        "PROPN": "name",
        "PUNCT": "punct",
        "SCONJ": "depend",
        "SYM": "symbol",
        "VERB": "verb",
        "X": "other",
    },
    "causal": {
        "ADJ": "adjective",
        "ADP": "position",
        "ADV": "adverb",
        "AUX": "auxiliary",
        "CCONJ": "coordin",
        "DET": "determin",
        "INTJ": "inter",
        "NOUN": "noun",
        "NUM": "numeral",
        "PART": "particle",
        "PRON": "pronoun",
        "PROPN": "name",
        "PUNCT": "pun",
        "SCONJ": "subordin",
        "SYM": "symbol",
        "VERB": "verb",
        "X": "other",
    },
}
LLM_VERBALIZER_STYLES = ("topro", "authors")


def llm_verbalizer(task: str, style: str, seq2seq: bool) -> dict[str, str]:
    """label -> word for the LLM study: ToPro's words, or ('authors') the authors' per-model words."""
    if style not in LLM_VERBALIZER_STYLES:
        raise ValueError(f"llm verbalizer {style!r} is not one of {list(LLM_VERBALIZER_STYLES)}")
    if style == "authors" and task == "udpos":
        words = AUTHORS_LLM_UDPOS["seq2seq" if seq2seq else "causal"]
        return {label: words[label] for label in label_set(task)}
    return verbalizer(task)
