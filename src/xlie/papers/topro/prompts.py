"""Every prompt template of the workflow, in one place (ToPro and its LLM study).

Templates are plain ``str.format`` strings with named fields; nothing here tokenizes.
Sources: the ToPro authors' code (../shared/specs/topro.md).
"""

from __future__ import annotations

from xlie.papers.topro.verbalizers import VERBALIZERS

# ToPro, encoders: segment B of a sentence pair (segment A is the sentence). ``{mask}`` is the
# tokenizer's mask token, filled in by the method.
TOPRO_ENCODER = {
    "panx": "The named entity of {word} is a kind of: {mask} .",
    "udpos": "The pos tag of {word} is a kind of: {mask} .",
}

# ToPro, mT5: the same prompt without a mask token; the target is the raw tag string.
TOPRO_SEQ2SEQ = {
    "panx": "The named entity of {word} is a kind of: .",
    "udpos": "The pos tag of {word} is a kind of: .",
}

# Vanilla mT5: the whole sentence in, ``LABEL: word $$ LABEL: word ...`` out.
VANILLA_SEQ2SEQ_INPUT = {"panx": "tag: {sentence}", "udpos": "POS tagging: {sentence}"}
VANILLA_SEQ2SEQ_ITEM = "{label}: {word}"
VANILLA_SEQ2SEQ_SEPARATOR = " $$ "

# Zero-shot LLM study. Prompt "a": the ToPro template as a continuation; "b": with the label
# words listed first (the authors' "Pattern" variants; B lists the verbalizer words).
LLM = {
    ("panx", "a"): "{sentence} The named entity of {word} is a kind of:",
    (
        "panx",
        "b",
    ): "Named entity type: {label_words}\nSentence: {sentence}\nNamed entity type of the word {word} in the sentence is",
    ("udpos", "a"): "Sentence: {sentence}\n The pos tag of the word {word} in the sentence is a kind of",
    (
        "udpos",
        "b",
    ): "Pos tag: {label_words}\nSentence: {sentence}\n The pos tag of the word {word} in the sentence is a kind of",
}


def topro_encoder_prompt(task: str, word: str, mask: str) -> str:
    return TOPRO_ENCODER[task].format(word=word, mask=mask)


def topro_seq2seq_prompt(task: str, word: str) -> str:
    return TOPRO_SEQ2SEQ[task].format(word=word)


def llm_prompt(task: str, variant: str, sentence: str, word: str) -> str:
    label_words = " ".join(VERBALIZERS[task].values())  # the authors' listing order
    return LLM[(task, variant)].format(sentence=sentence, word=word, label_words=label_words)


def tokenizer_texts() -> list[str]:
    """The templates' and verbalizers' words, whole pieces of the demo's tiny tokenizer (a
    registry hook): ToPro needs each verbalizer word to be a single token."""
    from xlie.papers.topro.labels import LABEL_SETS
    from xlie.papers.topro.verbalizers import AUTHORS_LLM_UDPOS

    texts = [" ".join(words.values()) for words in (*VERBALIZERS.values(), *AUTHORS_LLM_UDPOS.values())]
    texts += [t.format(word="", mask="") for t in TOPRO_ENCODER.values()]
    texts += [t.format(word="") for t in TOPRO_SEQ2SEQ.values()]
    texts += [t.format(sentence="", word="", label_words="") for t in LLM.values()]
    words = [w.strip('.:,"') for text in texts for w in text.split()]
    # Tag strings and the "$$" separator are mT5 targets (ToPro-mT5, Vanilla-mT5): whole
    # pieces keep label scoring short, as in a real vocabulary.
    labels = {label for labels in LABEL_SETS.values() for label in labels} | {"$$"}
    return sorted({w for w in words if w.isalpha()} | labels)
