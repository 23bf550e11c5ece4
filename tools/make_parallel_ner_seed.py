"""Write the demo's SYNTHETIC English-Chinese parallel NER seed set (TIP training pairs).

    python tools/make_parallel_ner_seed.py resources/demo/parallel_ner/seed.jsonl

The demo's tiny random-init translator keeps almost no ParallelNER sample, so TIP gets these
pairs as given data: sentence templates in both languages filled from parallel name lists. English
sides carry PAN-X labels (PER/LOC/ORG), Chinese sides Chinese labels (人物/地点/组织), both mapped onto
the same English classes by the schema. SYNTHETIC: made up, not from any corpus. Deterministic.
Format: xlie.papers.alignxie.parallel_ner.write_parallel_jsonl's, with stage 0 ("given", not constructed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PEOPLE = [
    ("Li Wei", "李伟"),
    ("Anna Schmidt", "安娜·施密特"),
    ("Carlos Gomez", "卡洛斯·戈麦斯"),
    ("Yuki Tanaka", "田中由纪"),
    ("Omar Haddad", "奥马尔·哈达德"),
    ("Maria Rossi", "玛丽亚·罗西"),
    ("Wang Fang", "王芳"),
    ("John Miller", "约翰·米勒"),
]
PLACES = [
    ("Beijing", "北京"),
    ("Berlin", "柏林"),
    ("Madrid", "马德里"),
    ("Tokyo", "东京"),
    ("Cairo", "开罗"),
    ("Rome", "罗马"),
    ("Shanghai", "上海"),
    ("London", "伦敦"),
]
ORGS = [
    ("the United Nations", "联合国"),
    ("Peking University", "北京大学"),
    ("the Red Cross", "红十字会"),
    ("Tsinghua University", "清华大学"),
    ("the World Bank", "世界银行"),
]

# (English template, Chinese template); {p} person, {l} place, {o} organisation.
TEMPLATES = [
    ("{p} visited {l} last week .", "{p}上周访问了{l}。"),
    ("{p} works for {o} in {l} .", "{p}在{l}为{o}工作。"),
    ("Last year {o} opened a new office in {l} .", "去年{o}在{l}开设了新办公室。"),
    ("{p} was born in {l} .", "{p}出生于{l}。"),
    ("{p} joined {o} in 2010 .", "{p}于2010年加入{o}。"),
]
COUNT = 40


def pair(n: int, template: tuple[str, str], person, place, org) -> dict:
    en_template, zh_template = template
    sides = {}
    for lang, template_text, labels, column in (
        ("en", en_template, ("PER", "LOC", "ORG"), 0),
        ("zh", zh_template, ("人物", "地点", "组织"), 1),
    ):
        values = {"p": person[column], "l": place[column], "o": org[column]}
        # Entities in the order they appear in the sentence.
        order = sorted(
            (template_text.index("{" + key + "}"), key) for key in values if "{" + key + "}" in template_text
        )
        label_of = dict(zip("plo", labels))
        sides[lang] = {
            "sentence": template_text.format(**values),
            "entities": [[label_of[key], values[key]] for _, key in order],
        }
    return {"id": f"synthetic-seed-{n:03d}", "stage": 0, **sides}


def main(out: str) -> None:
    # Cycling the lists with different steps mixes templates and names without randomness.
    chosen = [
        (
            TEMPLATES[n % len(TEMPLATES)],
            PEOPLE[n % len(PEOPLE)],
            PLACES[(3 * n + 1) % len(PLACES)],
            ORGS[(n // 5) % len(ORGS)],
        )
        for n in range(COUNT)
    ]
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for n, (template, person, place, org) in enumerate(chosen, start=1):
            handle.write(json.dumps(pair(n, template, person, place, org), ensure_ascii=False) + "\n")
    print(f"{path}: {len(chosen)} SYNTHETIC pairs")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
