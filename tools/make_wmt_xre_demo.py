"""Write resources/demo/wmt17_xre/: original English-Chinese sentence pairs with a hand-annotated UD parse.

Every sentence is composed from clause frames and noun phrases written and annotated by hand
below (UD v2, English EWT conventions); the script only fills the frames, numbers the words and
resolves the heads, so that the 100-odd parses stay consistent. Nothing is taken from a corpus.
Run: python tools/make_wmt_xre_demo.py resources/demo/wmt17_xre
"""

from __future__ import annotations

import sys
from pathlib import Path

# noun phrases: (English words as (form, lemma, UPOS, head within the phrase or 0, deprel), Chinese)
PHRASES = {
    "PER": [
        ([("Li", "Li", "PROPN", 0, ""), ("Wei", "Wei", "PROPN", 1, "flat")], "李伟"),
        ([("Anna", "Anna", "PROPN", 0, ""), ("Berg", "Berg", "PROPN", 1, "flat")], "安娜·伯格"),
        ([("my", "my", "PRON", 2, "nmod:poss"), ("sister", "sister", "NOUN", 0, "")], "我的姐姐"),
        ([("the", "the", "DET", 2, "det"), ("engineer", "engineer", "NOUN", 0, "")], "那位工程师"),
        ([("Tom", "Tom", "PROPN", 0, "")], "汤姆"),
        (
            [("the", "the", "DET", 3, "det"), ("new", "new", "ADJ", 3, "amod"), ("manager", "manager", "NOUN", 0, "")],
            "新经理",
        ),
        ([("Zhang", "Zhang", "PROPN", 0, ""), ("Min", "Min", "PROPN", 1, "flat")], "张敏"),
        ([("our", "we", "PRON", 2, "nmod:poss"), ("teacher", "teacher", "NOUN", 0, "")], "我们的老师"),
    ],
    "ORG": [
        ([("the", "the", "DET", 2, "det"), ("company", "company", "NOUN", 0, "")], "这家公司"),
        ([("the", "the", "DET", 2, "det"), ("bank", "bank", "NOUN", 0, "")], "这家银行"),
        ([("the", "the", "DET", 2, "det"), ("museum", "museum", "NOUN", 0, "")], "博物馆"),
        ([("the", "the", "DET", 2, "det"), ("school", "school", "NOUN", 0, "")], "这所学校"),
        ([("the", "the", "DET", 2, "det"), ("club", "club", "NOUN", 0, "")], "俱乐部"),
        (
            [
                ("the", "the", "DET", 3, "det"),
                ("United", "United", "PROPN", 3, "compound"),
                ("Nations", "Nations", "PROPN", 0, ""),
            ],
            "联合国",
        ),
        (
            [("a", "a", "DET", 3, "det"), ("small", "small", "ADJ", 3, "amod"), ("firm", "firm", "NOUN", 0, "")],
            "一家小公司",
        ),
    ],
    "PLACE": [
        ([("Beijing", "Beijing", "PROPN", 0, "")], "北京"),
        ([("Shanghai", "Shanghai", "PROPN", 0, "")], "上海"),
        ([("London", "London", "PROPN", 0, "")], "伦敦"),
        (
            [("a", "a", "DET", 3, "det"), ("small", "small", "ADJ", 3, "amod"), ("village", "village", "NOUN", 0, "")],
            "一个小村庄",
        ),
        (
            [
                ("the", "the", "DET", 3, "det"),
                ("city", "city", "NOUN", 3, "compound"),
                ("centre", "centre", "NOUN", 0, ""),
            ],
            "市中心",
        ),
        ([("Tianjin", "Tianjin", "PROPN", 0, "")], "天津"),
        ([("Paris", "Paris", "PROPN", 0, "")], "巴黎"),
    ],
    "SITE": [
        ([("the", "the", "DET", 2, "det"), ("station", "station", "NOUN", 0, "")], "车站"),
        ([("the", "the", "DET", 2, "det"), ("airport", "airport", "NOUN", 0, "")], "机场"),
        ([("the", "the", "DET", 2, "det"), ("river", "river", "NOUN", 0, "")], "河边"),
        ([("the", "the", "DET", 2, "det"), ("park", "park", "NOUN", 0, "")], "公园"),
        (
            [("the", "the", "DET", 3, "det"), ("old", "old", "ADJ", 3, "amod"), ("bridge", "bridge", "NOUN", 0, "")],
            "老桥",
        ),
    ],
    "THING": [
        ([("three", "three", "NUM", 2, "nummod"), ("children", "child", "NOUN", 0, "")], "三个孩子"),
        (
            [("a", "a", "DET", 3, "det"), ("large", "large", "ADJ", 3, "amod"), ("garden", "garden", "NOUN", 0, "")],
            "一个大花园",
        ),
        ([("many", "many", "ADJ", 2, "amod"), ("friends", "friend", "NOUN", 0, "")], "很多朋友"),
        ([("two", "two", "NUM", 2, "nummod"), ("offices", "office", "NOUN", 0, "")], "两个办事处"),
    ],
    "DOC": [
        ([("the", "the", "DET", 2, "det"), ("agreement", "agreement", "NOUN", 0, "")], "这份协议"),
        (
            [("a", "a", "DET", 3, "det"), ("new", "new", "ADJ", 3, "amod"), ("contract", "contract", "NOUN", 0, "")],
            "一份新合同",
        ),
        ([("the", "the", "DET", 2, "det"), ("letter", "letter", "NOUN", 0, "")], "这封信"),
    ],
    "NEWORG": [
        ([("a", "a", "DET", 2, "det"), ("company", "company", "NOUN", 0, "")], "一家公司"),
        ([("a", "a", "DET", 2, "det"), ("charity", "charity", "NOUN", 0, "")], "一个慈善机构"),
        (
            [("a", "a", "DET", 3, "det"), ("new", "new", "ADJ", 3, "amod"), ("school", "school", "NOUN", 0, "")],
            "一所新学校",
        ),
    ],
}

# clause frames: words (form, lemma, UPOS, head key, deprel, key); slots are ("@A", type, head key, deprel, key)
# and the Chinese template. Keys name words within the frame; "V" is the root unless stated.
FRAMES = {
    "live_in": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("lives", "live", "VERB", None, "root", "V"),
            ("in", "in", "ADP", "B", "case", "P"),
            ("@B", "PLACE", "V", "obl", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}住在{B}。",
    ),
    "work_for": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("works", "work", "VERB", None, "root", "V"),
            ("for", "for", "ADP", "B", "case", "P"),
            ("@B", "ORG", "V", "obl", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}在{B}工作。",
    ),
    "have": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("has", "have", "VERB", None, "root", "V"),
            ("@B", "THING", "V", "obj", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}有{B}。",
    ),
    "visit": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("visited", "visit", "VERB", None, "root", "V"),
            ("@B", "PLACE", "V", "obj", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}参观了{B}。",
    ),
    "will_visit": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("will", "will", "AUX", "V", "aux", "X"),
            ("visit", "visit", "VERB", None, "root", "V"),
            ("@B", "ORG", "V", "obj", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}将参观{B}。",
    ),
    "member_of": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("is", "be", "AUX", "V", "cop", "C"),
            ("a", "a", "DET", "V", "det", "D"),
            ("member", "member", "NOUN", None, "root", "V"),
            ("of", "of", "ADP", "B", "case", "P"),
            ("@B", "ORG", "V", "nmod", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}是{B}的成员。",
    ),
    "founded_by": (
        [
            ("@A", "ORG", "V", "nsubj:pass", "A"),
            ("was", "be", "AUX", "V", "aux:pass", "X"),
            ("founded", "found", "VERB", None, "root", "V"),
            ("by", "by", "ADP", "B", "case", "P"),
            ("@B", "PER", "V", "obl:agent", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}由{B}创立。",
    ),
    "close_to": (
        [
            ("@A", "ORG", "V", "nsubj", "A"),
            ("is", "be", "AUX", "V", "cop", "C"),
            ("close", "close", "ADJ", None, "root", "V"),
            ("to", "to", "ADP", "B", "case", "P"),
            ("@B", "SITE", "V", "obl", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}离{B}很近。",
    ),
    "sign": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("signed", "sign", "VERB", None, "root", "V"),
            ("@B", "DOC", "V", "obj", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}签署了{B}。",
    ),
    "set_up": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("set", "set", "VERB", None, "root", "V"),
            ("up", "up", "ADP", "V", "compound:prt", "U"),
            ("@B", "NEWORG", "V", "obj", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}创办了{B}。",
    ),
    # no ?a-?b pattern: a ?c, no ?b, an oblique without preposition
    "gave_to": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("gave", "give", "VERB", None, "root", "V"),
            ("@B", "DOC", "V", "obj", "B"),
            ("to", "to", "ADP", "C", "case", "P"),
            ("@C", "PER", "V", "obl", "C"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}把{B}交给了{C}。",
    ),
    "is_doctor": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("is", "be", "AUX", "V", "cop", "C"),
            ("a", "a", "DET", "V", "det", "D"),
            ("doctor", "doctor", "NOUN", None, "root", "V"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}是一名医生。",
    ),
    "arrived_yesterday": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("arrived", "arrive", "VERB", None, "root", "V"),
            ("in", "in", "ADP", "B", "case", "P"),
            ("@B", "PLACE", "V", "obl", "B"),
            ("yesterday", "yesterday", "NOUN", "V", "obl:tmod", "T"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}昨天到达了{B}。",
    ),
    # two instances each: a conjoined object, a conjoined predicate sharing the subject
    "visit_and": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("visited", "visit", "VERB", None, "root", "V"),
            ("@B", "PLACE", "V", "obj", "B"),
            ("and", "and", "CCONJ", "C", "cc", "K"),
            ("@C", "PLACE", "B", "conj", "C"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}参观了{B}和{C}。",
    ),
    "live_and_work": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("lives", "live", "VERB", None, "root", "V"),
            ("in", "in", "ADP", "B", "case", "P"),
            ("@B", "PLACE", "V", "obl", "B"),
            ("and", "and", "CCONJ", "W", "cc", "K"),
            ("works", "work", "VERB", "V", "conj", "W"),
            ("for", "for", "ADP", "C", "case", "Q"),
            ("@C", "ORG", "W", "obl", "C"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}住在{B}，在{C}工作。",
    ),
    "not_have": (
        [
            ("@A", "PER", "V", "nsubj", "A"),
            ("does", "do", "AUX", "V", "aux", "X"),
            ("not", "not", "PART", "V", "advmod", "N"),
            ("have", "have", "VERB", None, "root", "V"),
            ("@B", "THING", "V", "obj", "B"),
            (".", ".", "PUNCT", "V", "punct", ""),
        ],
        "{A}没有{B}。",
    ),
}

# (frame, how many sentences); verb forms alternate through PAST for variety
PLAN = [
    ("live_in", 10),
    ("work_for", 10),
    ("have", 10),
    ("visit", 7),
    ("will_visit", 3),
    ("member_of", 9),
    ("founded_by", 9),
    ("close_to", 9),
    ("sign", 9),
    ("set_up", 8),
    ("gave_to", 3),
    ("is_doctor", 3),
    ("arrived_yesterday", 3),
    ("visit_and", 4),
    ("live_and_work", 4),
    ("not_have", 2),
]
PAST = {"lives": ("lived", "{A}曾住在{B}。"), "works": ("worked", "{A}曾在{B}工作。"), "has": ("had", "{A}曾有{B}。")}
NO_SPACE_BEFORE = {".", ","}


def compose(frame: str, n: int) -> tuple[list[tuple], str]:
    """Words (form, lemma, upos, head, deprel) with resolved heads, and the Chinese sentence."""
    words, zh_template = FRAMES[frame]
    pieces, keys, slots = [], {}, {}
    for position, word in enumerate(words):
        if word[0].startswith("@"):
            slot, kind, head_key, deprel, key = word
            choices = PHRASES[kind]
            # step 11 is prime to every list length, so consecutive sentences get different fillers
            index = n * 11 + 3 * position + len(frame)
            while choices[index % len(choices)][1] in slots.values():  # no "X gave it to X"
                index += 1
            phrase, zh = choices[index % len(choices)]
            slots[slot[1]] = zh
            start = len(pieces)
            for form, lemma, upos, inner_head, inner_deprel in phrase:
                if inner_head == 0:
                    keys[key] = len(pieces)
                    pieces.append([form, lemma, upos, head_key, deprel])
                else:
                    pieces.append([form, lemma, upos, start + inner_head - 1, inner_deprel])
        else:
            form, lemma, upos, head_key, deprel, key = word
            if n % 2 == 1 and form in PAST:
                form, zh_template = (
                    PAST[form][0],
                    (PAST[form][1] if frame in ("live_in", "work_for", "have") else zh_template),
                )
            keys[key] = len(pieces)
            pieces.append([form, lemma, upos, head_key, deprel])
    resolved = []
    for form, lemma, upos, head, deprel in pieces:
        if head is None:
            head_id = 0
        elif isinstance(head, int):
            head_id = head + 1
        else:
            head_id = keys[head] + 1
        resolved.append((form, lemma, upos, head_id, deprel))
    first = resolved[0]
    resolved[0] = (first[0][:1].upper() + first[0][1:], *first[1:])
    zh = zh_template.format(**slots)
    return resolved, zh


def long_sentence() -> tuple[list[tuple], str]:
    """Eleven conjoined clauses, 54 words: longer than the 50-token limit, so it is filtered out."""
    words: list[tuple] = []
    zh_parts = []
    for clause in range(11):
        person, zh_person = PHRASES["PER"][clause % 8]
        place, zh_place = PHRASES["PLACE"][clause % len(PHRASES["PLACE"])]
        verb_id = len(words) + len(person) + 1 + (1 if clause else 0)
        if clause:
            words.append(("and", "and", "CCONJ", verb_id, "cc"))
        start = len(words)
        for form, lemma, upos, inner, deprel in person:
            words.append(
                (form, lemma, upos, verb_id if inner == 0 else start + inner, "nsubj" if inner == 0 else deprel)
            )
        words.append(("visited", "visit", "VERB", 0 if clause == 0 else first_verb, "root" if clause == 0 else "conj"))
        if clause == 0:
            first_verb = verb_id
        start = len(words)
        for form, lemma, upos, inner, deprel in place:
            words.append((form, lemma, upos, verb_id if inner == 0 else start + inner, "obj" if inner == 0 else deprel))
        zh_parts.append(f"{zh_person}参观了{zh_place}")
    words.append((".", ".", "PUNCT", first_verb, "punct"))
    first = words[0]
    words[0] = (first[0][:1].upper() + first[0][1:], *first[1:])
    return words, "，".join(zh_parts) + "。"


def text_of(words: list[tuple]) -> str:
    out = ""
    for index, word in enumerate(words):
        out += word[0]
        if index + 1 < len(words) and words[index + 1][0] not in NO_SPACE_BEFORE:
            out += " "
    return out


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sentences = []
    for frame, count in PLAN:
        for n in range(count):
            sentences.append(compose(frame, n))
    sentences.insert(40, long_sentence())
    seen, unique = set(), []
    for words, zh in sentences:
        if text_of(words) not in seen:
            seen.add(text_of(words))
            unique.append((words, zh))
    # interleave frames so that the per-label "last N" test split is not one block of the file
    order = sorted(range(len(unique)), key=lambda i: (i * 37) % len(unique))
    conllu, tsv = [], ["en\tzh"]
    for number, index in enumerate(order, start=1):
        words, zh = unique[index]
        text = text_of(words)
        conllu += [f"# sent_id = xlie-wmt-demo-{number:03d}", f"# text = {text}"]
        for word_id, (form, lemma, upos, head, deprel) in enumerate(words, start=1):
            space = "SpaceAfter=No" if word_id < len(words) and words[word_id][0] in NO_SPACE_BEFORE else "_"
            conllu.append(f"{word_id}\t{form}\t{lemma}\t{upos}\t_\t_\t{head}\t{deprel}\t_\t{space}")
        conllu.append("")
        tsv.append(f"{text}\t{zh}")
    (out / "en.conllu").write_text("\n".join(conllu) + "\n", encoding="utf-8")
    (out / "pairs.tsv").write_text("\n".join(tsv) + "\n", encoding="utf-8")
    print(f"{len(order)} pairs written to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "resources/demo/wmt17_xre")
