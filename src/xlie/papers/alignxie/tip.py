"""Translated instance prediction (TIP): AlignXIE's cross-lingual alignment task on parallel NER data.

The model sees the schema, a sentence in one language with its gold extraction, and the parallel
sentence in the other language; it completes the extraction of the parallel sentence. Labels of
either side, in any language, map onto the same English classes, so source and target code differ
only in their spans. The paper's exact wording is unknown; TIP_INSTRUCTION is this project's,
in KnowCoder's voice, and a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from xlie.papers.alignxie.schema import Schema, class_definitions, ner_code, py_string

TIP_INSTRUCTION = (
    "This is an object-oriented programming task: some Entity Classes are defined above. "
    "The Entity Objects in the source sentence are given. Please instantiate all the corresponding "
    "Entity Objects in the target sentence, which is a translation of the source sentence."
)


class TipError(ValueError):
    """A parallel pair that cannot make a TIP instance (e.g. a span missing from its sentence)."""


@dataclass(frozen=True)
class TipInstance:
    query: str  # what KnowCoder's template wraps as "Input:\n{query}\nOutput:\n"
    completion: str  # the target-language code the loss is computed on


def _english(schema: Schema, entities: Iterable[tuple[str, str]], sentence: str, side: str) -> list[tuple[str, str]]:
    """(label in any language, span) -> (English class, span); every span must occur in its sentence."""
    mapped = []
    for label, span in entities:
        if not span or span not in sentence:
            raise TipError(f"{side} span {span!r} ({label}) does not occur in the {side} sentence {sentence!r}")
        mapped.append((schema.english_class("entity", label), span))
    return mapped


def build_tip_instance(
    schema: Schema,
    source_sentence: str,
    source_entities: Iterable[tuple[str, str]],
    target_sentence: str,
    target_entities: Iterable[tuple[str, str]],
    *,
    names: Sequence[str] | None = None,
    instruction: str = TIP_INSTRUCTION,
) -> TipInstance:
    """schema + source sentence + its gold code + target sentence -> target code.

    entities: (label, span) pairs, labels in any language the schema's label table maps.
    names: the entity classes to define in the prompt (all of the schema's by default).
    Sentences are quoted as Python string literals (py_string), so a quote or a newline in one
    keeps the query valid code.
    """
    source = _english(schema, source_entities, source_sentence, "source")
    target = _english(schema, target_entities, target_sentence, "target")
    query = (
        class_definitions(schema, "ner", names)
        + f'"""\n{instruction}\n"""\n'
        + f"source_sentence = {py_string(source_sentence)}\n"
        + "source_"
        + ner_code(source)
        + "\n"
        + f"target_sentence = {py_string(target_sentence)}\n"
    )
    return TipInstance(query=query, completion=ner_code(target))


def tip_instances_both_ways(
    schema: Schema,
    first: tuple[str, Iterable[tuple[str, str]]],
    second: tuple[str, Iterable[tuple[str, str]]],
    **options,
) -> list[TipInstance]:
    """Both directions of one parallel pair (en->zh and zh->en from one ParallelNER sample)."""
    (s1, e1), (s2, e2) = (first[0], list(first[1])), (second[0], list(second[1]))
    return [
        build_tip_instance(schema, s1, e1, s2, e2, **options),
        build_tip_instance(schema, s2, e2, s1, e1, **options),
    ]
