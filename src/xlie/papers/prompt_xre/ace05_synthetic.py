"""SYNTHETIC stand-in for ACE05, written in exactly the layout and format of ACE05-Processor.

ACE 2005 is licensed (LDC2006T06) and cannot ship, so the demo and the tests run the real
ingestion (:mod:`xlie.papers.prompt_xre.ace05`) on data this module writes: ``<root>/<English|Chinese|Arabic>/
<train|dev|test>/SYNTHETIC_<LANG>_<split>_<nnn>.{conllu,v1.json,v2.json}`` plus ``README.SYNTHETIC.md``.
Every document id, file name and the README say SYNTHETIC.

Content: one short sentence per relation mention, made from one template per label and language
(the template's words carry the label, so a tiny model can beat the majority class) with
entity names drawn by a seeded generator; all 18 labels appear in train (and dev and test).
The CoNLL-U is UDPipe-shaped (``# newdoc``, ``# newpar``, ``# sent_id``, ``# text``, ``TokenRange``
and ``SpaceAfter=No`` in MISC) but its tree is flat (every word attached to the first): nothing
downstream reads the synthetic trees. Some argument texts contain a newline, as raw ACE text does,
to exercise the newline rule. The first training document of each language also holds bad
mentions, one per kind in :data:`BAD_MENTIONS`, so that the drop counting is exercised.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from xlie.papers.prompt_xre.ace05 import LABELS, LANGUAGE_DIRS, SPLITS, SYNTHETIC_MARKER

# Slot types of each label's two arguments.
SLOTS = {
    "ART:User-Owner-Inventor-Manufacturer": ("PER", "VEH"),
    "GEN-AFF:Citizen-Resident-Religion-Ethnicity": ("PER", "GPE"),
    "GEN-AFF:Org-Location": ("ORG", "GPE"),
    "ORG-AFF:Employment": ("PER", "ORG"),
    "ORG-AFF:Founder": ("PER", "ORG"),
    "ORG-AFF:Investor-Shareholder": ("PER", "ORG"),
    "ORG-AFF:Membership": ("PER", "ORG"),
    "ORG-AFF:Ownership": ("PER", "ORG"),
    "ORG-AFF:Sports-Affiliation": ("PER", "ORG"),
    "ORG-AFF:Student-Alum": ("PER", "ORG"),
    "PART-WHOLE:Artifact": ("FAC", "FAC"),
    "PART-WHOLE:Geographical": ("GPE", "GPE"),
    "PART-WHOLE:Subsidiary": ("ORG", "ORG"),
    "PER-SOC:Business": ("PER", "PER"),
    "PER-SOC:Family": ("PER", "PER"),
    "PER-SOC:Lasting-Personal": ("PER", "PER"),
    "PHYS:Located": ("PER", "GPE"),
    "PHYS:Near": ("PER", "FAC"),
}

# Templates as space-separated tokens; "1" and "2" are the argument slots.
TEMPLATES = {
    "en": {
        "ART:User-Owner-Inventor-Manufacturer": "1 drove 2 to work .",
        "GEN-AFF:Citizen-Resident-Religion-Ethnicity": "1 is a citizen of 2 .",
        "GEN-AFF:Org-Location": "1 is based in 2 .",
        "ORG-AFF:Employment": "1 works for 2 .",
        "ORG-AFF:Founder": "1 founded 2 ten years ago .",
        "ORG-AFF:Investor-Shareholder": "1 holds shares in 2 .",
        "ORG-AFF:Membership": "1 is a member of 2 .",
        "ORG-AFF:Ownership": "1 owns 2 .",
        "ORG-AFF:Sports-Affiliation": "1 plays football for 2 .",
        "ORG-AFF:Student-Alum": "1 graduated from 2 .",
        "PART-WHOLE:Artifact": "1 is part of 2 .",
        "PART-WHOLE:Geographical": "1 is a city in 2 .",
        "PART-WHOLE:Subsidiary": "1 is a subsidiary of 2 .",
        "PER-SOC:Business": "1 is a colleague of 2 .",
        "PER-SOC:Family": "1 is the brother of 2 .",
        "PER-SOC:Lasting-Personal": "1 is an old friend of 2 .",
        "PHYS:Located": "1 lives in 2 .",
        "PHYS:Near": "1 waited near 2 .",
    },
    "zh": {
        "ART:User-Owner-Inventor-Manufacturer": "1 驾驶 2 上班 。",
        "GEN-AFF:Citizen-Resident-Religion-Ethnicity": "1 是 2 公民 。",
        "GEN-AFF:Org-Location": "1 总部 设 在 2 。",
        "ORG-AFF:Employment": "1 在 2 工作 。",
        "ORG-AFF:Founder": "1 创办 了 2 。",
        "ORG-AFF:Investor-Shareholder": "1 持有 2 的 股份 。",
        "ORG-AFF:Membership": "1 是 2 的 成员 。",
        "ORG-AFF:Ownership": "1 拥有 2 。",
        "ORG-AFF:Sports-Affiliation": "1 效力 于 2 足球队 。",
        "ORG-AFF:Student-Alum": "1 毕业 于 2 。",
        "PART-WHOLE:Artifact": "1 是 2 的 一部分 。",
        "PART-WHOLE:Geographical": "1 是 2 的 一 个 城市 。",
        "PART-WHOLE:Subsidiary": "1 是 2 的 子公司 。",
        "PER-SOC:Business": "1 是 2 的 同事 。",
        "PER-SOC:Family": "1 是 2 的 哥哥 。",
        "PER-SOC:Lasting-Personal": "1 是 2 的 老 朋友 。",
        "PHYS:Located": "1 住 在 2 。",
        "PHYS:Near": "1 在 2 附近 等候 。",
    },
    "ar": {
        "ART:User-Owner-Inventor-Manufacturer": "1 يقود 2 إلى العمل .",
        "GEN-AFF:Citizen-Resident-Religion-Ethnicity": "1 مواطن من 2 .",
        "GEN-AFF:Org-Location": "1 مقرها في 2 .",
        "ORG-AFF:Employment": "1 يعمل لدى 2 .",
        "ORG-AFF:Founder": "1 أسس 2 قبل عشر سنوات .",
        "ORG-AFF:Investor-Shareholder": "1 يملك أسهما في 2 .",
        "ORG-AFF:Membership": "1 عضو في 2 .",
        "ORG-AFF:Ownership": "1 يملك 2 .",
        "ORG-AFF:Sports-Affiliation": "1 يلعب كرة القدم مع 2 .",
        "ORG-AFF:Student-Alum": "1 تخرج من 2 .",
        "PART-WHOLE:Artifact": "1 جزء من 2 .",
        "PART-WHOLE:Geographical": "1 مدينة في 2 .",
        "PART-WHOLE:Subsidiary": "1 فرع تابع ل 2 .",
        "PER-SOC:Business": "1 زميل 2 في العمل .",
        "PER-SOC:Family": "1 شقيق 2 .",
        "PER-SOC:Lasting-Personal": "1 صديق قديم ل 2 .",
        "PHYS:Located": "1 يسكن في 2 .",
        "PHYS:Near": "1 انتظر قرب 2 .",
    },
}

# Entity names: one line per language and slot type, the names separated by "|" (a name's words
# by spaces; Chinese names are one word).
_NAME_TABLE = """
en PER John Smith|Maria Lopez|Ahmed Hassan|Li Wei|Anna Berg|Tom Reed|Sara Khan|Paul Noor
en ORG Acme Corp|Delta Bank|City University|the Red Cross|Orion Motors|the Tigers
en GPE Paris|Cairo|Beijing|Texas|Egypt|China|Lyon|Giza
en FAC the airport|the old bridge|the station|the north gate|the harbour
en VEH the truck|a red car|the bus|a small boat
zh PER 张伟|李娜|王强|刘洋|陈静|赵磊|周敏|孙浩
zh ORG 华信公司|东方银行|北京大学|红十字会|长城汽车|猛虎队
zh GPE 北京|上海|埃及|开罗|广州|中国|天津|法国
zh FAC 机场|大桥|火车站|北门|港口
zh VEH 卡车|轿车|公交车|小船
ar PER أحمد حسن|محمد علي|سارة خالد|ليلى يوسف|عمر سعيد|خالد منصور|هدى سالم|يوسف كريم
ar ORG شركة النور|بنك القاهرة|جامعة القاهرة|الصليب الأحمر|شركة الأمل|نادي النجوم
ar GPE القاهرة|مصر|بيروت|لبنان|دبي|الجيزة|عمان|الأردن
ar FAC المطار|الجسر القديم|المحطة|البوابة الشمالية|الميناء
ar VEH الشاحنة|سيارة حمراء|الحافلة|قارب صغير
"""


def _names(table: str) -> dict[str, dict[str, list[str]]]:
    """language -> slot type -> names, from :data:`_NAME_TABLE`."""
    names: dict[str, dict[str, list[str]]] = {}
    for line in table.strip().splitlines():
        lang, slot_type, listed = line.split(" ", 2)
        names.setdefault(lang, {})[slot_type] = listed.split("|")
    return names


NAMES = _names(_NAME_TABLE)

TIME_WORD = {"en": "yesterday", "zh": "昨天", "ar": "أمس"}
PUNCTUATION = {".", "。"}
BAD_MENTIONS = ("time_argument", "not_two_arguments", "label_unknown", "sent_id_missing")
UNKNOWN_LABEL = "SYNTHETIC-BAD:Not-An-ACE-Subtype"


@dataclass
class _Sentence:
    tokens: list[str]
    spans: dict[str, tuple[int, int]]  # "1"/"2" -> inclusive word span
    label: str


def _sentence(lang: str, label: str, rng: random.Random) -> _Sentence:
    first_type, second_type = SLOTS[label]
    first = rng.choice(NAMES[lang][first_type])
    second = rng.choice([name for name in NAMES[lang][second_type] if name != first])
    tokens: list[str] = []
    spans = {}
    for piece in TEMPLATES[lang][label].split(" "):
        if piece in ("1", "2"):
            words = (first if piece == "1" else second).split(" ")
            spans[piece] = (len(tokens), len(tokens) + len(words) - 1)
            tokens.extend(words)
        else:
            tokens.append(piece)
    if lang == "en":
        tokens[0] = tokens[0][:1].upper() + tokens[0][1:]  # "The station is part of ..."
    return _Sentence(tokens, spans, label)


def _space_after(lang: str, tokens: list[str], index: int) -> bool:
    if lang == "zh" or index + 1 == len(tokens):
        return False
    return tokens[index + 1] not in PUNCTUATION


def _document(lang: str, doc_id: str, sentences: list[_Sentence], with_bad: bool) -> tuple[str, dict, dict]:
    """(conllu text, v1 JSON, v2 JSON) of one document."""
    conllu = ["# newdoc", "# newpar"]
    text_parts: list[str] = []
    offset = 0
    entities_v1, entities_v2, relations_v1, relations_v2 = [], [], [], []
    for sent_no, sentence in enumerate(sentences, start=1):
        sent_id = str(sent_no)
        ranges = []
        sentence_text = ""
        for index, token in enumerate(sentence.tokens):
            ranges.append((offset + len(sentence_text), offset + len(sentence_text) + len(token)))
            sentence_text += token + (" " if _space_after(lang, sentence.tokens, index) else "")
        conllu += [f"# sent_id = {sent_id}", f"# text = {sentence_text}"]
        for index, token in enumerate(sentence.tokens):
            misc = f"TokenRange={ranges[index][0]}:{ranges[index][1]}"
            if not _space_after(lang, sentence.tokens, index) and index + 1 < len(sentence.tokens):
                misc = "SpaceAfter=No|" + misc
            upos, head, deprel = (
                ("PUNCT", 1, "punct")
                if token in PUNCTUATION
                else ("X", 0 if index == 0 else 1, "root" if index == 0 else "dep")
            )
            conllu.append(f"{index + 1}\t{token}\t_\t{upos}\t_\t_\t{head}\t{deprel}\t_\t{misc}")
        conllu.append("")
        arguments_v1, arguments_v2 = [], []
        for slot, role in (("1", "Arg-1"), ("2", "Arg-2")):
            start, end = sentence.spans[slot]
            words = sentence.tokens[start : end + 1]
            # raw ACE mention text may break lines; the second sentence of every document does
            glue = "" if lang == "zh" else " "
            text = glue.join(words)
            if sent_no == 2 and role == "Arg-1":
                text = "\n".join(words) if len(words) > 1 else (text[:1] + "\n" + text[1:] if lang == "zh" else text)
            char_span = [ranges[start][0], ranges[end][1] - 1]
            entity_id = f"{doc_id}-E{sent_no}{slot}-1"
            entity_type = SLOTS[sentence.label][int(slot) - 1]
            entities_v1.append(
                {
                    "entity-id": entity_id,
                    "entity-type": entity_type,
                    "text": text,
                    "position": char_span,
                    "head": {"text": text, "position": char_span},
                }
            )
            entities_v2.append(
                {
                    "entity-id": entity_id,
                    "entity-type": entity_type,
                    "text": text,
                    "sent_id": sent_id,
                    "position": [start, end],
                    "head": {"text": text, "position": [start, end]},
                }
            )
            arguments_v1.append({"text": text, "position": char_span, "role": role, "entity-id": entity_id})
            arguments_v2.append(
                {"text": text, "sent_id": sent_id, "position": [start, end], "role": role, "entity-id": entity_id}
            )
        lo, hi = (
            min(sentence.spans["1"][0], sentence.spans["2"][0]),
            max(sentence.spans["1"][1], sentence.spans["2"][1]),
        )
        relation_text = sentence_text[ranges[lo][0] - offset : ranges[hi][1] - offset]
        relation_id = f"{doc_id}-R{sent_no}-1"
        relations_v1.append(
            {
                "relation-id": relation_id,
                "relation-type": sentence.label,
                "text": relation_text,
                "position": [ranges[lo][0], ranges[hi][1] - 1],
                "arguments": arguments_v1,
            }
        )
        relations_v2.append(
            {
                "relation-id": relation_id,
                "relation-type": sentence.label,
                "text": relation_text,
                "sent_id": sent_id,
                "position": [lo, hi],
                "arguments": arguments_v2,
            }
        )
        text_parts.append(sentence_text)
        offset += len(sentence_text) + 1  # sentences are separated by one newline in the raw text
    if with_bad:
        relations_v2 += _bad_relations(lang, doc_id, relations_v2[0])
    v1 = {"entities": entities_v1, "events": [], "relations": relations_v1}
    v2 = {"entities": entities_v2, "events": [], "relations": relations_v2}
    return "\n".join(conllu) + "\n", v1, v2


def _bad_relations(lang: str, doc_id: str, good: dict) -> list[dict]:
    """One mention per kind of :data:`BAD_MENTIONS`, each a copy of a good one with one defect."""

    def copy(kind: str) -> dict:
        relation = json.loads(json.dumps(good))
        relation["relation-id"] = f"{doc_id}-BAD-{kind}"
        return relation

    time = copy("time_argument")
    time["arguments"].append(
        {
            "text": TIME_WORD[lang],
            "sent_id": good["sent_id"],
            "position": [0, 0],
            "role": "Time-Within",
            "entity-id": f"{doc_id}-T1-1",
        }
    )
    one = copy("not_two_arguments")
    one["arguments"] = one["arguments"][:1]
    label = copy("label_unknown")
    label["relation-type"] = UNKNOWN_LABEL
    missing = copy("sent_id_missing")
    missing["sent_id"] = "999"
    for argument in missing["arguments"]:
        argument["sent_id"] = "999"
    return [time, one, label, missing]


README = """# SYNTHETIC ACE05-format data (not ACE 2005)

Written by `xlie.papers.prompt_xre.ace05_synthetic.write_synthetic_ace05(root, seed={seed})`, in the layout and
file formats of wasiahmad/ACE05-Processor's `processed-data` directory, so that xlie's real ACE05
ingestion can be demonstrated and tested without the licensed corpus (LDC2006T06).
Every sentence was generated from one template per relation label and language with entity
names drawn at random (seed {seed}); the dependency trees in the .conllu files are flat
placeholders. The first training document of each language contains deliberately bad relation
mentions ({bad}). Numbers obtained on this data say nothing about ACE 2005.
"""


def write_synthetic_ace05(
    root: str | Path, seed: int = 0, docs: dict[str, int] | None = None, sentences_per_doc: int = 9
) -> Path:
    """Write SYNTHETIC data under ``root`` (the ``processed-data`` equivalent); returns ``root``.

    ``docs``: documents per split (default train 8, dev 2, test 2). Train cycles through the 18
    labels in a shuffled order, so with 8 x 9 = 72 mentions each label has 4; dev and test
    likewise hold each label once per 18 mentions. Deterministic for a given seed.
    """
    root = Path(root)
    docs = docs or {"train": 8, "dev": 2, "test": 2}
    # the marker first: a directory left half-written is still recognisably SYNTHETIC
    root.mkdir(parents=True, exist_ok=True)
    (root / SYNTHETIC_MARKER).write_text(README.format(seed=seed, bad=", ".join(BAD_MENTIONS)), encoding="utf-8")
    for lang, language_dir in LANGUAGE_DIRS.items():
        for split in SPLITS:
            rng = random.Random(f"{seed}-{lang}-{split}")
            count = docs[split] * sentences_per_doc
            labels = [label for _ in range(-(-count // len(LABELS))) for label in rng.sample(LABELS, len(LABELS))][
                :count
            ]
            directory = root / language_dir / split
            directory.mkdir(parents=True, exist_ok=True)
            for doc_no in range(docs[split]):
                doc_id = f"SYNTHETIC_{lang.upper()}_{split}_{doc_no + 1:03d}"
                chunk = labels[doc_no * sentences_per_doc : (doc_no + 1) * sentences_per_doc]
                sentences = [_sentence(lang, label, rng) for label in chunk]
                conllu, v1, v2 = _document(lang, doc_id, sentences, with_bad=split == "train" and doc_no == 0)
                (directory / f"{doc_id}.conllu").write_text(conllu, encoding="utf-8")
                # ACE05-Processor writes each JSON on one line with json.dump's defaults
                (directory / f"{doc_id}.v1.json").write_text(json.dumps(v1), encoding="utf-8")
                (directory / f"{doc_id}.v2.json").write_text(json.dumps(v2), encoding="utf-8")
    return root
