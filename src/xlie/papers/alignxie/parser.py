"""Read code-style model output into records WITHOUT executing it.

Model output is untrusted text that looks like Python. GoLLIE eval()s it; KnowCoder reads it with
regular expressions. Here Python's `ast` turns the `results = [...]` block into a syntax tree (data,
never run), and only the documented call shapes are accepted:

    NER  results = [Person("Obama"), ...]                    also Person(name = "Obama")
    RE   results = [WorkFor(Entity("Ann"), Entity("ACME"))]  also head_entity = ..., tail_entity = ...
    ED   results = [Attack("bombed")]                        also Attack(trigger = "bombed")
    EAE  results = [Attack(trigger = "bombed", target = [Entity("the bridge")], ...)]

Class names are any plain identifier not starting with "_" (checking them against a schema is the scorer's outlier
filter); strings must be plain literals (no f-strings, no operators, no names). Anything else in
the list is a rejected item, counted; an output with no readable list is a parse failure, counted.
Nothing raises: the input is capped in length and bracket depth before `ast.parse` sees it, and
the errors `ast.parse` can raise on hostile input (SyntaxError, ValueError for NUL bytes,
RecursionError, MemoryError) are caught.

Tolerated around the block: a chat preamble, markdown fences, trailing text, KnowCoder's stop
string. A truncated block (generation hit max tokens) keeps its complete items.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

from xlie.papers.alignxie.schema import TASKS

# KnowCoder's outputs stay under 640 new tokens (a few thousand characters); 100k is far beyond any
# real output and keeps the worst case of every step small.
MAX_CHARS = 100_000
# The documented shapes nest at most 4 brackets deep: [ Event( role = [ Entity( ... ) ] ) ].
MAX_DEPTH = 8
MAX_ITEMS = 4_096

_RESULTS = re.compile(r"\bresults?\s*=\s*\[")
# A fence header: "```", optional spaces, an optional language tag and its spaces, a newline. Written so
# that no two runs of [ \t] meet (possessive, and the second only after the tag): two adjacent ones split
# a run of n blanks n ways, quadratic on "```" + blanks with no newline.
_FENCE = re.compile(r"```[ \t]*+(?:(?:python|py)[ \t]*+)?\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


@dataclass(frozen=True)
class Entity:
    type: str
    span: str
    # Written `Person(name = "x")`: KnowCoder's reading sees positional calls only (knowcoder_protocol).
    keywords: bool = field(default=False, compare=False, repr=False)


@dataclass(frozen=True)
class Relation:
    type: str
    head: str
    tail: str
    head_type: str = "Entity"
    tail_type: str = "Entity"
    keywords: bool = field(default=False, compare=False, repr=False)  # as Entity.keywords


@dataclass(frozen=True)
class Event:
    type: str
    trigger: str
    arguments: tuple[tuple[str, str], ...] = ()  # (role, argument span)


@dataclass
class ParseResult:
    """What one output yielded: records, items rejected, and whether the output failed as a whole."""

    records: list = field(default_factory=list)
    failed: bool = False  # no readable `results = [...]` at all
    rejected: int = 0  # items (or EAE arguments) of another shape
    truncated: bool = False  # the list was cut off; its complete items were kept
    error: str = ""  # why it failed or what was rejected first
    parsed_chars: int = 0  # characters handed to ast.parse (a work bound the tests check)


# ---------------------------------------------------------------- locating the list


_CODE_STOPS = re.compile(r"[\"'()\[\]{},#]")
_STRING_STOPS = {q: re.compile(rf"[{q}\\\n]") for q in "\"'"}


def _scan_list(text: str, start: int, max_depth: int) -> tuple[int, list[int], str]:
    """Scan from the `[` at `start`: (end after the matching `]` or -1, top-level comma positions, error).

    Python-like quoting (single/double quotes, backslash escapes) so that brackets and commas inside
    strings do not count. One pass, O(len(text)), jumping between interesting characters with a
    regex; stops at max_depth.
    """
    depth, commas, i, n = 0, [], start, len(text)
    while i < n:
        stop = _CODE_STOPS.search(text, i)
        if stop is None:
            break
        i, c = stop.start(), stop.group()
        if c in "\"'":
            pattern = _STRING_STOPS[c]
            i += 1
            while i < n:
                inner = pattern.search(text, i)
                if inner is None:
                    return -1, commas, ""  # unterminated string to the end
                i = inner.start()
                if text[i] == "\\":
                    i += 2
                    continue
                break  # the closing quote, or a newline ending an unterminated one-line string
        elif c in "([{":
            depth += 1
            if depth > max_depth:
                return -1, commas, f"nested deeper than {max_depth} brackets"
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1, commas, ""
        elif c == "," and depth == 1:
            commas.append(i)
        elif c == "#":
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
            continue
        i += 1
    return -1, commas, ""


def _candidate(text: str) -> str:
    """The part of the output that should hold the list: the first fence that has one, else all."""
    for match in _FENCE.finditer(text):
        if _RESULTS.search(match.group(1)):
            return match.group(1)
    return text


# ---------------------------------------------------------------- reading the syntax tree


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _wrapped(node: ast.AST) -> tuple[str, str] | None:
    """`Entity("span")` (any class name) -> (class, span)."""
    if isinstance(node, ast.Call) and _class_name(node.func) and len(node.args) == 1 and not node.keywords:
        span = _string(node.args[0])
        if span is not None:
            return node.func.id, span
    return None


def _arguments(call: ast.Call, names: tuple[str, ...]) -> dict[str, ast.AST] | None:
    """Positional or keyword arguments bound to `names`, exactly those; None for any other shape."""
    if len(call.args) > len(names):
        return None
    bound = dict(zip(names, call.args, strict=False))
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in names or kw.arg in bound:
            return None
        bound[kw.arg] = kw.value
    return bound if len(bound) == len(names) else None


def _class_name(node: ast.AST) -> str | None:
    # A plain name; dunders and private names are never a class of a schema (`__import__("os")`).
    if isinstance(node, ast.Name) and not node.id.startswith("_"):
        return node.id
    return None


def _read_item(node: ast.AST, task: str, result: ParseResult) -> object | None:
    if not (isinstance(node, ast.Call) and _class_name(node.func)):
        return None
    name = node.func.id
    if task == "ner":
        bound = _arguments(node, ("name",))
        span = _string(bound["name"]) if bound else None
        return Entity(name, span, keywords=bool(node.keywords)) if span is not None else None
    if task == "ed":
        bound = _arguments(node, ("trigger",))
        trigger = _string(bound["trigger"]) if bound else None
        return Event(name, trigger) if trigger is not None else None
    if task == "re":
        bound = _arguments(node, ("head_entity", "tail_entity"))
        head, tail = (_wrapped(bound["head_entity"]), _wrapped(bound["tail_entity"])) if bound else (None, None)
        if head is None or tail is None:
            return None
        return Relation(name, head[1], tail[1], head_type=head[0], tail_type=tail[0], keywords=bool(node.keywords))
    # eae: trigger first (keyword or positional), then role = [Entity("..."), ...] keywords
    if len(node.args) > 1:
        return None
    trigger_node = node.args[0] if node.args else None
    arguments = []
    for kw in node.keywords:
        if kw.arg == "trigger" and trigger_node is None:
            trigger_node = kw.value
        elif kw.arg is None or kw.arg == "trigger":
            return None
        elif isinstance(kw.value, (ast.List, ast.Tuple)):
            for element in kw.value.elts:
                argument = _wrapped(element)
                if argument is None:
                    result.rejected += 1  # one bad argument does not sink the event
                    result.error = result.error or f"rejected argument of role {kw.arg!r}"
                else:
                    arguments.append((kw.arg, argument[1]))
        else:
            return None
    trigger = _string(trigger_node) if trigger_node is not None else None
    return Event(name, trigger, tuple(arguments)) if trigger is not None else None


def _parse(source: str, mode: str, result: ParseResult) -> ast.AST | None:
    result.parsed_chars += len(source)
    try:
        # SyntaxWarnings (invalid escapes, "1if") on model output are noise, not news.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode=mode)  # a syntax tree only: nothing is compiled to bytecode or run
    except _PARSE_ERRORS:
        return None


def _accept(nodes: list, task: str, result: ParseResult) -> None:
    for node in nodes:
        record = _read_item(node, task, result)
        if record is None:
            result.rejected += 1
            result.error = result.error or "rejected item of another shape"
        else:
            result.records.append(record)


def parse_output(
    text: object, task: str, *, max_chars: int = MAX_CHARS, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS
) -> ParseResult:
    """Records of `task` ("ner", "re", "ed", "eae") in one model output; never raises for any text."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")  # a caller's bug
    result = ParseResult()
    if not isinstance(text, str):
        result.failed, result.error = True, f"output is {type(text).__name__}, not text"
        return result
    text = _candidate(text[:max_chars])
    match = _RESULTS.search(text)
    if match is None:
        result.failed, result.error = True, "no `results = [` in the output"
        return result
    start = match.end() - 1
    end, commas, error = _scan_list(text, start, max_depth)
    if error:
        result.failed, result.error = True, error
        return result
    if end > 0:  # a closed list: the exact reading, when it is valid Python as a whole
        tree = _parse(text[start:end], "eval", result)
        if tree is not None and isinstance(tree.body, ast.List):
            if len(tree.body.elts) > max_items:
                result.rejected += len(tree.body.elts) - max_items
                result.error = f"more than {max_items} items"
            _accept(tree.body.elts[:max_items], task, result)
            return result
    else:
        result.truncated = True
    # Item by item between top-level commas: a truncated or partly broken list keeps its good items.
    stop = end - 1 if end > 0 else len(text)
    bounds = [start, *commas, stop]
    pieces = [text[a + 1 : b] for a, b in zip(bounds, bounds[1:], strict=False)]
    if result.truncated and pieces and not pieces[-1].strip():
        pieces.pop()
    if len(pieces) > max_items:
        result.rejected += len(pieces) - max_items
        pieces = pieces[:max_items]
    for piece in pieces:
        if not piece.strip():
            continue  # `[]`, or a trailing comma
        tree = _parse(piece.strip(), "eval", result)
        if tree is None:
            result.rejected += 1
            result.error = result.error or ("truncated item" if result.truncated else "item is not valid Python")
        else:
            _accept([tree.body], task, result)
    return result


@dataclass
class Tally:
    """A scorer's base: the set's task, its true positives, and what reading its outputs cost."""

    task: str
    tp: int = 0
    instances: int = 0
    parse_failures: int = 0
    rejected_items: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")

    def count_output(self, prediction: ParseResult) -> None:
        self.instances += 1
        self.parse_failures += prediction.failed
        self.rejected_items += prediction.rejected

    def output_counts(self) -> dict:
        return {
            "instances": self.instances,
            "parse_failures": self.parse_failures,
            "rejected_items": self.rejected_items,
        }
