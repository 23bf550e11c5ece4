"""TIP instances from parallel NER data: schema + source + its gold code + target -> target code."""

from __future__ import annotations

import pytest

from xlie.papers.alignxie.parser import Entity, parse_output
from xlie.papers.alignxie.schema import Schema, SchemaError
from xlie.papers.alignxie.tip import TIP_INSTRUCTION, TipError, build_tip_instance, tip_instances_both_ways

SCHEMA = Schema.from_dict(
    {
        "entities": [
            {"name": "Person", "description": "A human.", "examples": ["Obama"], "labels": ["PER", "人物"]},
            {"name": "Location", "labels": ["LOC", "地点"]},
        ]
    }
)
EN = ("Obama visited Beijing.", [("PER", "Obama"), ("LOC", "Beijing")])
ZH = ("奥巴马访问了北京。", [("人物", "奥巴马"), ("地点", "北京")])


def test_tip_instance_layout_and_completion():
    tip = build_tip_instance(SCHEMA, EN[0], EN[1], ZH[0], ZH[1])
    assert tip.query.startswith("class Entity:\n") and "class Person(Entity):" in tip.query
    assert tip.query.endswith(
        f'"""\n{TIP_INSTRUCTION}\n"""\n'
        'source_sentence = "Obama visited Beijing."\n'
        'source_results = [\n\tPerson("Obama"),\n\tLocation("Beijing")\n]\n'
        'target_sentence = "奥巴马访问了北京。"\n'
    )
    # Labels of both languages land on the same English classes; the completion is scorable code.
    assert tip.completion == 'results = [\n\tPerson("奥巴马"),\n\tLocation("北京")\n]'
    assert parse_output(tip.completion, "ner").records == [Entity("Person", "奥巴马"), Entity("Location", "北京")]
    # `source_results` in an echoed query is not mistaken for the answer.
    assert parse_output(tip.query + tip.completion, "ner").records[0] == Entity("Person", "奥巴马")


def test_both_directions_and_empty_target():
    forth, back = tip_instances_both_ways(SCHEMA, EN, ZH)
    assert forth.completion == build_tip_instance(SCHEMA, *EN, *ZH).completion
    assert 'source_sentence = "奥巴马访问了北京。"' in back.query and back.completion.endswith('Location("Beijing")\n]')
    assert build_tip_instance(SCHEMA, "Hi.", [], "你好。", []).completion == "results = []"


def test_tip_errors_name_the_problem():
    with pytest.raises(TipError, match="target span '上海' .* does not occur in the target sentence"):
        build_tip_instance(SCHEMA, *EN, ZH[0], [("地点", "上海")])
    with pytest.raises(SchemaError, match="'组织' has no English class"):
        build_tip_instance(SCHEMA, *EN, ZH[0], [("组织", "北京")])


def test_quotes_in_sentences_keep_the_query_valid_code():
    import ast

    en = ('He said "Obama" twice.', [("PER", "Obama")])
    zh = ("他说了两次“奥巴马”。", [("人物", "奥巴马")])
    tip = build_tip_instance(SCHEMA, *en, *zh)
    assert 'source_sentence = "He said \\"Obama\\" twice."\n' in tip.query
    code = tip.query.split(f'{TIP_INSTRUCTION}\n"""\n')[1]
    assert ast.literal_eval(ast.parse(code).body[0].value) == en[0]  # the sentence reads back unchanged
