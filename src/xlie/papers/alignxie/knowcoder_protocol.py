"""KnowCoder's evaluation as its ``eval/scripts/eval.sh`` runs it: the ``knowcoder`` scoring protocol.

AlignXIE's rows were computed with ICT-GoKnow/KnowCoder's evaluation (commit b785978). eval.sh, as
released (match type EM, granularity "source", filter_outlier=1, wikidata_upper=1, schema_type
"aligned"), runs ``eval/src/convert/convert_{ner,re,ee,eae}.py`` (the model's text into items), then
``eval/src/eval.py``, which scores the items with ``metric.py``. Implemented here from reading that
code (their figures are pinned in tests/data/golden/knowcoder_eval.json; their code is not copied):

Names (``utils.norm_name``), on type and role names of gold and prediction alike: a name with a "-"
becomes lower case with "-" as a space (its "_" kept); else one with "_" the same with "_"; else a
space goes between a lower-case letter and the capital after it, then lower case. So ``PhoneWrite``,
``phone_write``, ``PHONE_WRITE`` and ``Phone-Write`` are one name, ``PHONEWRITE`` another.

What is compared, per sentence (``metric.gen_tuples_*``; an empty span, trigger or argument is no tuple):
    NER  (type, span)              convert_ner: the type ``other`` is dropped, gold and predicted; a gold
                                   span ``##<pad>##`` is dropped
    RE   (type, head, tail)        convert_re: entity classes of head and tail are not compared
    ED   (parent type, trigger)    convert_ee (their task "EE", score "TC"): an ACE 2005 subtype is
                                   replaced by its parent type (``Attack`` -> ``conflict``), gold and
                                   predicted, so confusing two subtypes of one parent is no error
    EAE  (type, argument, role)    convert_eae (score "AC"): triggers are not compared (both set to "");
                                   no parent mapping

Outlier filter (``--filter_outlier 1``), predictions only:
    NER  span non-empty and in the sentence; type in the schema's entity classes
    RE   head and tail non-empty, different, both in the sentence; type in the schema's relations
    ED   trigger non-empty and in the sentence; no class check (commented out in convert_ee)
    EAE  the event's trigger non-empty and in the sentence; type in the schema's events; arguments
         are NOT checked (commented out in convert_eae), so arguments outside the sentence stay
The schema they read (``Entity_aligned.json`` etc., normalised names per source) is not released; we
use the given schema's class names, normalised. Without a schema the class check is skipped (their
NER does the same for a source the file lacks; their RE and EAE crash).

Counting (``metric.score_by_source``, pooled over one source = one set here): every predicted tuple
counts, and one that is in its sentence's gold is a true positive, however often it is predicted
(membership, the gold is not used up; ``deduplication`` is dead code). So TP can exceed the gold
count, recall and F1 can exceed 1, and ``fn`` (gold - TP) below is negative then. P = TP / predicted,
R = TP / gold, F1 = 2PR / (P + R); eval.py prints them x100 to one decimal.

wikidata_upper (convert_ner only): a predicted entity type becomes the list of the names of its
Wikidata classes and all their ancestors, plus itself, and matches a gold (type, span) whose type is
any of them (``metric.judge_match``). Their lookup needs ``name2qid.json``, ``qid2name.json`` and
``wikidata_ontology.owl`` (read with owlready2) from ``corpus/onto_data``, none of which is released.
We take the lookup's result as a JSON file (``load_upper_types``); without it every type is its own
list, which is what their code does for a type those files do not know.

Reading the model's text: KnowCoder runs regular expressions over the whole text (never ``eval``);
we read it with ``xlie.papers.alignxie.parser`` (``ast`` on the ``results = [...]`` list) and keep
what their expressions see: NER and RE only positional calls (``Person("x")``, ``Rel(Entity("a"),
Entity("b"))``; a keyword form ``Person(name = "x")`` is not read), ED and EAE a trigger given either
way. The readings differ, and the golden cases avoid it, on: calls outside the list (their regexes
read any ``Name("...")`` in the text, prose included; an output without ``results = [`` is a parse
failure here); string literals (they take the characters between double quotes as written: no
escapes decoded, single-quoted strings unread, a ``\\"`` ends the span); spacing their RE pattern
does not allow (``Entity("a") , Entity("b")``, ``Entity( "a")``); an EAE event whose first quoted
string is not its trigger (theirs takes that string); a repeated role keyword (``place = [...],
place = [...]``: theirs keeps the last list, we keep both); items of other shapes (``Person("a",
"b")`` is their Person "a", a rejected item here); and unclosed event calls, on which their event
pattern can backtrack without end (convert_ee gives up after 0.3 s and reads nothing from that
output, convert_eae never gives up). Not implemented: match type HM (head words with spaCy; eval.sh's
default is EM) and the identification scores (EI, RI, TI, AI) eval.py prints beside these.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xlie.papers.alignxie.parser import Entity, Event, ParseResult, Relation, Tally
from xlie.papers.alignxie.schema import KIND_OF_TASK, TASKS, Schema

# ACE 2005 event subtypes (normalised) and their parent types, as convert_ee maps them.
ACE_PARENT = {
    **dict.fromkeys(["be born", "die", "divorce", "injure", "marry"], "life"),
    **dict.fromkeys(["attack", "demonstrate"], "conflict"),
    **dict.fromkeys(["meet", "phone write"], "contact"),
    **dict.fromkeys(["declare bankruptcy", "end organization", "merge organization", "start organization"], "business"),
    **dict.fromkeys(["elect", "end position", "nominate", "start position"], "personnel"),
    **dict.fromkeys(["transfer money", "transfer ownership"], "transaction"),
    "transportation": "movement",
    **dict.fromkeys(
        [
            "acquit",
            "appeal",
            "arrest jail detain",
            "charge indict",
            "convict",
            "execute",
            "extradite",
            "fine",
            "pardon",
            "release parole",
            "sentence",
            "sue",
            "trial hearing",
        ],
        "justice",
    ),
}
DROPPED_ENTITY_TYPE = "other"
PAD_SPAN = "##<pad>##"  # a gold entity span convert_ner skips

_CAMEL = re.compile(r"([a-z])([A-Z])")


def norm_name(name: str) -> str:
    """A type or role name as KnowCoder compares it (see the module docstring)."""
    if "-" in name:
        return name.replace("-", " ").lower()
    if "_" in name:
        return name.replace("_", " ").lower()
    return _CAMEL.sub(r"\1 \2", name).lower()


def _event_type(name: str, task: str) -> str:
    normalised = norm_name(name)
    return ACE_PARENT.get(normalised, normalised) if task == "ed" else normalised


def gold_tuples(records: Sequence, task: str) -> list[tuple]:
    """KnowCoder's compared tuples of one sentence's gold records."""
    if task == "ner":
        return [
            (norm_name(r.type), r.span)
            for r in records
            if isinstance(r, Entity) and norm_name(r.type) != DROPPED_ENTITY_TYPE and r.span and r.span != PAD_SPAN
        ]
    if task == "re":
        return [(norm_name(r.type), r.head, r.tail) for r in records if isinstance(r, Relation) and r.head and r.tail]
    if task == "ed":
        return [(_event_type(r.type, task), r.trigger) for r in records if isinstance(r, Event) and r.trigger]
    if task == "eae":
        return [
            (norm_name(r.type), arg, norm_name(role))
            for r in records
            if isinstance(r, Event)
            for role, arg in r.arguments
            if arg
        ]
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def _eae_arguments(arguments: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(normalised role, argument): convert_eae starts a role's list afresh for each role written, so of
    two roles that normalise alike (``Place``, ``place``) the later one's arguments are the ones kept."""
    by_role: dict[str, list[str]] = {}
    for role, arg in arguments:
        by_role.setdefault(role, []).append(arg)
    by_name: dict[str, list[str]] = {}
    for role, args in by_role.items():
        by_name[norm_name(role)] = args
    return [(role, arg) for role, args in by_name.items() for arg in args]


def predicted_tuples(
    records: Sequence,
    task: str,
    sentence: str,
    known: set[str] | None = None,
    upper_types: Mapping[str, Sequence[str]] | None = None,
) -> list[tuple]:
    """KnowCoder's predicted tuples of one sentence, outlier filter applied; the first element of each
    is a tuple of the types it may match (more than one only through ``upper_types``, NER).

    known: the schema's class names of the task's kind, normalised (None: no class check).
    """
    kept: list[tuple] = []
    for r in records:
        if task == "ner" and isinstance(r, Entity) and not r.keywords:
            name = norm_name(r.type)
            if name == DROPPED_ENTITY_TYPE or not r.span or r.span not in sentence:
                continue
            if known is not None and name not in known:
                continue
            types = (*(upper_types or {}).get(name, ()), name)
            kept.append((types, r.span))
        elif task == "re" and isinstance(r, Relation) and not r.keywords:
            name = norm_name(r.type)
            if not r.head or not r.tail or r.head == r.tail or r.head not in sentence or r.tail not in sentence:
                continue
            if known is not None and name not in known:
                continue
            kept.append(((name,), r.head, r.tail))
        elif task == "ed" and isinstance(r, Event):
            if r.trigger and r.trigger in sentence:
                kept.append(((_event_type(r.type, task),), r.trigger))
        elif task == "eae" and isinstance(r, Event):
            name = norm_name(r.type)
            if not r.trigger or r.trigger not in sentence or (known is not None and name not in known):
                continue
            kept.extend(((name,), arg, role) for role, arg in _eae_arguments(r.arguments) if arg)
    return kept


def true_positives(predicted: Sequence[tuple], gold: Sequence[tuple]) -> int:
    """Predicted tuples with a gold tuple of one of their types and the same spans; each copy counts."""
    present = set(gold)
    return sum(any((t, *p[1:]) in present for t in p[0]) for p in predicted)


def known_classes(schema: Schema | None, task: str) -> set[str] | None:
    """The schema's class names the filter allows for `task` (normalised); None: no class check."""
    if schema is None or task == "ed":  # convert_ee checks no class
        return None
    return {norm_name(name) for name in schema.class_names(KIND_OF_TASK[task])}


class UpperTypesError(ValueError):
    """A malformed --wikidata-upper file; the message names the file."""


def load_upper_types(path: Path) -> dict[str, tuple[str, ...]]:
    """{normalised entity type: [type names]}: what KnowCoder's ``convert_type`` returns for each type
    (the names of its Wikidata classes and their ancestors, itself excluded: it is always added)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UpperTypesError(f"{path}: cannot read the Wikidata upper types: {err}") from None
    if not isinstance(data, dict) or not all(
        isinstance(names, list) and all(isinstance(n, str) for n in names) for names in data.values()
    ):
        raise UpperTypesError(f"{path}: expected a JSON object of type name -> list of type names")
    return {name: tuple(names) for name, names in data.items()}


@dataclass
class KnowCoderScorer(Tally):
    """Accumulates sentences of one set (their "source"), then reports KnowCoder's P/R/F1 and counts."""

    schema: Schema | None = None  # classes the outlier filter allows (see known_classes)
    upper_types: Mapping[str, Sequence[str]] | None = None  # wikidata_upper (see load_upper_types)
    predicted: int = 0
    gold: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._known = known_classes(self.schema, self.task)

    def counts(self, gold: list, prediction: ParseResult, sentence: str = "", schema: Schema | None = None):
        """(true positives, predicted, gold) of one sentence; `schema` replaces the scorer's for it."""
        known = self._known if schema is None else known_classes(schema, self.task)
        gold_items = gold_tuples(gold, self.task)
        predicted = predicted_tuples(prediction.records, self.task, sentence, known, self.upper_types)
        return true_positives(predicted, gold_items), len(predicted), len(gold_items)

    def add(self, gold: list, prediction: ParseResult, sentence: str = "", schema: Schema | None = None) -> None:
        tp, predicted, gold_count = self.counts(gold, prediction, sentence, schema)
        self.tp += tp
        self.predicted += predicted
        self.gold += gold_count
        self.count_output(prediction)

    def result(self) -> dict:
        precision = self.tp / self.predicted if self.predicted else 0.0
        recall = self.tp / self.gold if self.gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision or recall else 0.0
        return {
            "task": self.task,
            "protocol": "knowcoder",
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "tp": self.tp,
            "fp": self.predicted - self.tp,
            "fn": self.gold - self.tp,  # negative when duplicates push TP above the gold count
            "predicted": self.predicted,
            "gold": self.gold,
            **self.output_counts(),
        }
