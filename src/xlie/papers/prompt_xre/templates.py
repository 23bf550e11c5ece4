"""Prompt-XRE's Table I: the baseline and the nine templates, as (encoder input, decoder input),
and the baseline's two decoder inputs (:data:`BASELINE_DECODERS`).

``<s>``, ``</s>`` and ``<mask>`` are the tokenizer's special tokens (``<mask>`` is a separator,
never predicted); ``{S}``, ``{E1}``, ``{E2}`` are the sentence and the two argument texts.
Torch-free: the method's options (``xlie.papers.prompt_xre.params``) check a template id here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only
    from xlie.papers.prompt_xre.ace05 import RelationInstance

_ENC_MASKED = "<s> {S} <mask> {E1} <mask> {E2} </s>"
_HARD_QUESTION = "<s> What is the type of relationship between {E1} and {E2} </s>"
_HYBRID_OF = "<s> The sentence of {S} includes {E1} <mask> {E2} </s>"
_HYBRID_QUOTED = '<s> The sentence: "{S}" includes {E1} <mask> {E2} </s>'

# id -> (encoder input, decoder input), exactly as printed in Table I; "none" is the baseline,
# 1-4 are the paper's soft prompts, 5-6 its hard prompts and 7-9 its hybrid prompts.
TEMPLATES: dict[str, tuple[str, str]] = {
    "none": ("<s> {S} </s>", "<s> {S} </s>"),
    "1": (_ENC_MASKED, "<s> {S} </s>"),
    "2": (_ENC_MASKED, "<s> {E1} {E2} </s>"),
    "3": (_ENC_MASKED, "<s> {E1} <mask> {E2} </s>"),
    "4": (_ENC_MASKED, _ENC_MASKED),
    "5": ("<s> {S} </s>", _HARD_QUESTION),
    "6": ("<s> The sentence of {S} includes {E1} and {E2} </s>", _HARD_QUESTION),
    "7": (_HYBRID_OF, _HYBRID_OF),
    "8": (_HYBRID_QUOTED, "<s> {S} </s>"),
    "9": (_HYBRID_QUOTED, "<s> {E1} <mask> {E2} </s>"),
}

# The decoder input of the baseline (template "none"), by the params' ``baseline_decoder``:
# "sentence" as the paper describes plain fine-tuning (Section IV-b: "<s> x </s>" into encoder and
# decoder), "entities" as the authors' code builds its baseline data (my_scripts/make_prompt_data.py,
# make_baseline_data: encoder the sentence, decoder "E1 E2"; --baseline in their
# mbart_sentence_prediction task). The encoder input is the sentence either way.
BASELINE_DECODERS = {"sentence": TEMPLATES["none"][1], "entities": "<s> {E1} {E2} </s>"}

SPECIAL = ("<s>", "</s>", "<mask>")
_PIECE = re.compile(r"\s*(<s>|</s>|<mask>)\s*")
_SLOT = re.compile(r"\{(S|E1|E2)\}")


def check_template(template: str) -> None:
    if template not in TEMPLATES:
        raise KeyError(f"unknown Prompt-XRE template {template!r}; known: {sorted(TEMPLATES)}")


def fill(pattern: str, instance: RelationInstance) -> str:
    """The template string with S, E1, E2 filled in, in one pass (braces inside a sentence stay)."""
    values = {"S": instance.sentence, "E1": instance.e1, "E2": instance.e2}
    return _SLOT.sub(lambda m: values[m.group(1)], pattern)


def render(template: str, instance: RelationInstance, baseline_decoder: str = "sentence") -> tuple[str, str]:
    """(encoder string, decoder string) of ``instance`` under ``template``, without language ids;
    ``baseline_decoder`` picks the decoder input of template "none" (:data:`BASELINE_DECODERS`)."""
    check_template(template)
    encoder, decoder = TEMPLATES[template]
    if template == "none":
        decoder = BASELINE_DECODERS[baseline_decoder]
    return fill(encoder, instance), fill(decoder, instance)


def pieces(text: str) -> list[str]:
    """A filled template split into special markers (:data:`SPECIAL`) and the text runs between them."""
    return [p for p in _PIECE.split(text) if p]
