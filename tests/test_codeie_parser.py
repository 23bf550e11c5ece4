"""The code-style output parser: documented shapes in, everything else counted, nothing executed."""

from __future__ import annotations

import ast
import builtins
import contextlib
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlie.papers.alignxie import parser as parser_module
from xlie.papers.alignxie.parser import MAX_CHARS, MAX_ITEMS, TASKS, Entity, Event, Relation, parse_output

SENTINEL = Path(__file__).resolve().parent / "_codeie_parser_was_executed"


@contextlib.contextmanager
def no_execution():
    """eval/exec fail the test; compile is allowed only as ast.parse uses it (syntax tree, no code).

    Yields a counter of what ast.parse was handed, an independent check of the parser's work bound.
    """
    real_compile, real_parse = builtins.compile, ast.parse
    work = {"calls": 0, "chars": 0}

    def forbidden(*args, **kwargs):
        raise AssertionError("the parser executed model output")

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("the parser compiled model output to code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def counting_parse(source, *args, **kwargs):
        work["calls"] += 1
        work["chars"] += len(source)
        return real_parse(source, *args, **kwargs)

    with (
        mock.patch.object(builtins, "eval", forbidden),
        mock.patch.object(builtins, "exec", forbidden),
        mock.patch.object(builtins, "compile", ast_only_compile),
        mock.patch.object(parser_module.ast, "parse", counting_parse),
    ):
        yield work


def check_contract(text: object) -> None:
    """Never raises, never executes, bounded work, well-typed records — for every task."""
    for task in TASKS:
        with no_execution() as work:
            result = parse_output(text, task)
        assert work["chars"] <= 2 * MAX_CHARS and work["chars"] == result.parsed_chars
        assert work["calls"] <= MAX_ITEMS + 1
        assert result.rejected >= 0 and isinstance(result.failed, bool)
        assert not (result.failed and result.records)
        kind = {"ner": Entity, "re": Relation, "ed": Event, "eae": Event}[task]
        for record in result.records:
            assert type(record) is kind
            fields = {k: v for k, v in vars(record).items() if k != "keywords"}  # keywords: the call's form, a bool
            assert all(isinstance(v, str) for v in fields.values() if not isinstance(v, tuple))
            assert not record.type.startswith("_")
    assert not SENTINEL.exists(), "model output was executed"


# ---------------------------------------------------------------- documented shapes


def test_knowcoder_shapes():
    assert parse_output(
        'results = [\n\tPerson("Michel Roux Junior"),\n\tTvShow("Professional Master Chef")\n]', "ner"
    ).records == [
        Entity("Person", "Michel Roux Junior"),
        Entity("TvShow", "Professional Master Chef"),
    ]
    assert parse_output('results = [Person(name = "Ann")]', "ner").records == [Entity("Person", "Ann")]
    assert parse_output(
        'results = [\n\tCreator(Entity("No. 1 Croydon"), Entity("Richard Seifert & Partners"))\n]', "re"
    ).records == [Relation("Creator", "No. 1 Croydon", "Richard Seifert & Partners")]
    assert parse_output(
        'results = [WorkFor(head_entity = Human("Ann"), tail_entity = Entity("ACME"))]', "re"
    ).records == [Relation("WorkFor", "Ann", "ACME", head_type="Human")]
    assert parse_output('results = [\n\tEducation("school")\n]', "ed").records == [Event("Education", "school")]
    assert parse_output('results = [Attack(trigger = "bombed")]', "ed").records == [Event("Attack", "bombed")]
    eae = 'results = [\n\tEducation(trigger = "student", institution = [Entity("American University of Beirut")], student = [Entity("George Habash")])\n]'
    assert parse_output(eae, "eae").records == [
        Event("Education", "student", (("institution", "American University of Beirut"), ("student", "George Habash")))
    ]
    for task in TASKS:
        result = parse_output("results = []", task)
        assert result.records == [] and not result.failed and result.rejected == 0


def test_preamble_fences_trailing_text_and_stop_string():
    text = 'Sure! The entities are:\n```python\nresults = [\n\tPerson("Ann")\n]\n```\nHope this helps. results = [Bad("x")]'
    assert parse_output(text, "ner").records == [Entity("Person", "Ann")]
    assert parse_output('results = [Person("Ann")]\n"""\nThis is an object-oriented', "ner").records == [
        Entity("Person", "Ann")
    ]
    assert parse_output('results = [Person("Ann")] and then results = [', "ner").records == [Entity("Person", "Ann")]


def test_truncated_list_keeps_its_complete_items():
    result = parse_output('results = [\n\tPerson("Ann"),\n\tPerson("Bo"),\n\tLocation("New Yo', "ner")
    assert result.records == [Entity("Person", "Ann"), Entity("Person", "Bo")]
    assert result.truncated and result.rejected == 1 and not result.failed
    result = parse_output('results = [\n\tPerson("Ann"),\n', "ner")
    assert result.records == [Entity("Person", "Ann")] and result.truncated and result.rejected == 0


def test_other_shapes_are_rejected_and_counted():
    text = (
        'results = [Person("ok"), os.system("rm -rf /"), __import__("os"), Person(f"{x}"), (lambda: 1)(), '
        'Person("a" + "b"), Person(name), Person(b"bytes"), Person(1), Person("a", "b"), obj.Person("x"), '
        'Person("a") Person("b"), [Person("x")], Person(**kw), Person("two" "parts")]'
    )
    result = parse_output(text, "ner")
    assert result.records == [Entity("Person", "ok"), Entity("Person", "twoparts")]
    assert result.rejected == 13 and not result.failed
    # EAE: a bad argument is dropped and counted; the event stays.
    result = parse_output('results = [Attack(trigger = "hit", target = [Entity("x"), evil(), Entity(y)])]', "eae")
    assert result.records == [Event("Attack", "hit", (("target", "x"),))] and result.rejected == 2
    # ED rejects the EAE shape (roles) rather than guessing.
    assert parse_output('results = [Attack(trigger = "hit", target = [Entity("x")])]', "ed").rejected == 1


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "no `results = [`"),
        ("I could not find any entities.", "no `results = [`"),
        ("result_list = [Person('x')]", "no `results = [`"),
        ("results = " + "[" * 50, "nested deeper"),
        (None, "not text"),
    ],
)
def test_parse_failures(text, why):
    result = parse_output(text, "ner")
    assert result.failed and why in result.error and result.records == []


def test_strings_with_brackets_quotes_and_escapes():
    text = r"""results = [Person("a, ] b"), Work('it\'s "x"'), Work("tab\tand \\"), Work("中文（测试）")]"""
    assert [e.span for e in parse_output(text, "ner").records] == ["a, ] b", 'it\'s "x"', "tab\tand \\", "中文（测试）"]


# ---------------------------------------------------------------- hostile input, property-based

FRAGMENTS = [
    "results = [",
    "result=[",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ",",
    ", ",
    "\n",
    "\t",
    " ",
    '"',
    "'",
    '"""',
    "\\",
    "#",
    "\x00",
    "```python\n",
    "```",
    "Person(",
    "Entity(",
    'Person("Obama")',
    "Attack(trigger = ",
    "target = [",
    '"x"',
    "'y'",
    'f"{x}"',
    "lambda: 0",
    "__import__",
    "__import__('os')",
    f"__import__('pathlib').Path('{SENTINEL}').touch()",
    "os.system",
    ".attr",
    "*args",
    "**kw",
    "+",
    "-",
    "not ",
    "await ",
    "yield ",
    ":=",
    "if",
    "else",
    "\u2028",
    "\ud800"[:0],
    "中文",
    "é",
    "\r",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "1e999",
    "0x",
    "...",
    "None",
    "True",
    "exec(",
    "eval(",
    "compile(",
]

hostile = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join),
    st.builds(
        lambda prefix, body, suffix: prefix + "results = [" + body + suffix,
        st.text(max_size=40),
        st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
        st.sampled_from(["]", "", "\n]\n```", ']\n"""']),
    ),
    st.builds(
        lambda opener, n, core: "results = [" + opener * n + core,
        st.sampled_from(["(", "[", "Person(", "-", "not ", "a.", "a+", "lambda: ", "f(", "{"]),
        st.integers(1, 3000),
        st.sampled_from(["", '"x"', ")" * 10, "]"]),
    ),
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile)
def test_parser_never_raises_never_executes_bounded(text):
    check_contract(text)


@pytest.mark.parametrize(
    "text",
    [
        "results = [" + 'Person("a"), ' * 400_000 + "]",  # ~5.6 MB, more items than MAX_ITEMS
        "results = [" + "(" * 3_000_000,  # 3 MB of nesting
        'results = [Person("' + "x" * 4_000_000,  # an unterminated 4 MB string
        "results = [" + "-" * 99_000 + "1]",  # what ast.parse answers with MemoryError
        "results = [a" + ".a" * 49_000 + "]",  # ... and with RecursionError
        "\x00" * 1_000_000 + "results = [Person('x')]",
        "results = [" + ",".join(["Person('x')"] * 20_000) + ",Person('",  # truncated, 20k items
    ],
    ids=["many-items", "deep-nesting", "unterminated", "unary-chain", "attribute-chain", "nul-bytes", "truncated-many"],
)
def test_multi_megabyte_inputs(text):
    check_contract(text)


def test_cap_keeps_items_within_bound():
    result = parse_output("results = [" + 'Person("a"), ' * (MAX_ITEMS + 10) + "]", "ner")
    assert len(result.records) == MAX_ITEMS and result.rejected == 10


def test_the_execution_guard_itself_bites():
    with no_execution():
        ast.parse("x = 1")  # allowed: a syntax tree
        for attempt in (lambda: eval("1"), lambda: exec("x = 1"), lambda: compile("1", "<s>", "exec")):
            with pytest.raises(AssertionError, match="executed|compiled"):
                attempt()


@pytest.mark.parametrize(
    "text",
    [
        "```" + " " * 1_000_000,  # a fence header whose newline never comes
        "```" + " \t" * 500_000 + "py",
        "```py" + "\t" * 1_000_000,
        "``` " * 250_000,  # many headers, each cut short
        "```" + " " * 1_000_000 + "\nresults = [Person('x')]",
    ],
    ids=["spaces", "mixed-blanks", "tag-then-tabs", "many-headers", "spaces-then-code"],
)
def test_fence_search_is_linear_on_a_megabyte_of_whitespace(text):
    """Two runs of [ \\t]* in a row made this quadratic: "```" + 100k spaces took 6-10 s, 1 MB would
    take half an hour. Linear, a megabyte takes milliseconds; the bound leaves room for a busy machine."""
    import time

    started = time.perf_counter()
    for max_chars in (MAX_CHARS, 2 * len(text)):  # the default cap, and the whole megabyte
        result = parse_output(text, "ner", max_chars=max_chars)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert result.records == ([Entity("Person", "x")] if text.endswith("]") else [])
