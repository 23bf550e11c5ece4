"""Every prompt template of the workflow, in one place (ToPro and its LLM study).

Templates are plain ``str.format`` strings with named fields; nothing here tokenizes.
Sources: the ToPro authors' code (../shared/specs/topro.md).
"""

from __future__ import annotations

from xlie.verbalizers import VERBALIZERS

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
    ("panx", "b"): "Named entity type: {label_words}\nSentence: {sentence}\nNamed entity type of the word {word} in the sentence is",
    ("udpos", "a"): "Sentence: {sentence}\n The pos tag of the word {word} in the sentence is a kind of",
    ("udpos", "b"): "Pos tag: {label_words}\nSentence: {sentence}\n The pos tag of the word {word} in the sentence is a kind of",
}  # fmt: skip


def topro_encoder_prompt(task: str, word: str, mask: str) -> str:
    return TOPRO_ENCODER[task].format(word=word, mask=mask)


def topro_seq2seq_prompt(task: str, word: str) -> str:
    return TOPRO_SEQ2SEQ[task].format(word=word)


def llm_prompt(task: str, variant: str, sentence: str, word: str) -> str:
    label_words = " ".join(VERBALIZERS[task].values())  # the authors' listing order
    return LLM[(task, variant)].format(sentence=sentence, word=word, label_words=label_words)
