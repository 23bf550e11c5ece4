"""AlignXIE's preflight checks (registry hook ``preflight_checks``): what code-style generation needs from a
model's tokenizer and config, checked by ``python -m xlie preflight`` before any job runs.

* The stop string of generation (KnowCoder's closing ``\"\"\"``) has no unknown token and is found again
  in decoded text (Hugging Face's stop-string criterion and vLLM both look for it there).
* A completion of each task (``results = [...]``) survives tokenizing and decoding: it parses to the
  same records (a tokenizer may turn tabs and newlines into spaces; one that loses quotes or brackets
  would make every prediction unreadable).
* The fixed part of each prompt (system prompt, class definitions of the schema, instruction) fits the
  training cutoff ``max_length`` and the evaluation's ``keep_head + keep_tail``, and a cut prompt leaves
  room in the positions for ``max_new_tokens``.
"""

from __future__ import annotations

from xlie.papers.alignxie.params import LoraParams
from xlie.pipeline.preflight import positions, unknown_words

# A completion of each task, from the renderers the data steps use: (task, code).
_EXAMPLES = {
    "ner": ("ner_code", [("Person", "Ada Lovelace"), ("Location", "London")]),
    "re": ("re_code", [("Ada Lovelace", "Residence", "London")]),
    "ed": ("ed_code", [("met", "Meet")]),
    "eae": ("eae_code", [("Meet", "met", [("participant", "Ada Lovelace"), ("place", "London")])]),
}


def preflight_checks(tokenizer, model_config, run) -> list[tuple[str, bool | None, str]]:
    """(check, ok, detail) for a run of AlignXIE's method; [] for any other method."""
    if not isinstance(run.params, LoraParams):
        return []
    return [_stop_string(tokenizer, run), _completions(tokenizer, run), *_prompt_lengths(tokenizer, model_config, run)]


def _stop_string(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.alignxie.generation import DEFAULT_STOP

    name = f"stop string {DEFAULT_STOP}"
    ids = tokenizer(DEFAULT_STOP, add_special_tokens=False)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    if unknown_words(tokenizer, DEFAULT_STOP):
        return name, False, f"{DEFAULT_STOP!r} is unknown tokens {tokens} in {run.model_path}; fix: another model"
    decoded = tokenizer.decode(tokenizer("results = []\n" + DEFAULT_STOP, add_special_tokens=False)["input_ids"])
    if DEFAULT_STOP not in decoded:
        detail = f"{DEFAULT_STOP!r} is lost in decoding ({decoded!r}): generation would never stop at it"
        return name, False, detail + f"; fix: a tokenizer that gives quotes back (models.{run.model}.path)"
    return name, True, f"tokens {tokens}, found again in decoded text"


def _completions(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.alignxie import schema
    from xlie.papers.alignxie.parser import parse_output

    name = "completions decode and parse"
    for task, (renderer, items) in _EXAMPLES.items():
        code = getattr(schema, renderer)(items)
        decoded = tokenizer.decode(tokenizer(code, add_special_tokens=False)["input_ids"], skip_special_tokens=True)
        if parse_output(decoded, task).records != parse_output(code, task).records:
            detail = (
                f"the {task} completion {code!r} decodes as {decoded!r}, which parses to other records; fix: a "
                f"tokenizer that keeps code's quotes and brackets (models.{run.model}.path)"
            )
            return name, False, detail
    return name, True, f"one completion of each of {', '.join(_EXAMPLES)} parses back to its records"


def _prompt_sets(run) -> tuple[dict[tuple[str, str], list[str]], dict[tuple[str, str], list[str]]]:
    """(schema file, task) -> the sets that prompt with it: those the run trains on, those it evaluates."""
    codeie = run.config["data"]["codeie"]
    benchmarks, mixtures = codeie.get("benchmarks") or {}, codeie.get("mixtures") or {}
    trained = [member for source in run.sources for member in mixtures.get(source, [source])]
    found: tuple[dict, dict] = ({}, {})
    for sets, into in zip((trained, run.targets), found, strict=True):
        for name in dict.fromkeys(sets):
            benchmark = benchmarks.get(name)
            key = (benchmark["schema"], benchmark["task"]) if benchmark else (codeie["schema"], "ner")
            into.setdefault(key, []).append(name)
    return found


def _prompt_length(tokenizer, path: str, task: str) -> int:
    """Tokens of the fixed part of a prompt: system prompt, class definitions, instruction, empty sentence."""
    from xlie.papers.alignxie.schema import render_prompt, render_query
    from xlie.papers.alignxie.tasks import read_schema

    # verbose=False: a prompt longer than the tokenizer's model_max_length is what this measures
    return len(tokenizer(render_prompt(render_query(read_schema(path), task, "")), verbose=False)["input_ids"])


def _prompt_lengths(tokenizer, model_config, run) -> list[tuple[str, bool | None, str]]:
    from xlie.papers.alignxie.schema import SchemaError

    params = run.params
    kept, new = params.keep_head + params.keep_tail, params.max_new_tokens
    room = positions(model_config)
    trained, evaluated = _prompt_sets(run)
    checks = []
    for path, task in dict.fromkeys([*trained, *evaluated]):
        name = f"{task} prompt of {path}"
        try:
            length = _prompt_length(tokenizer, path, task)
        except SchemaError as error:
            checks.append((name, None, f"not checked: {error}"))
            continue
        problems = []
        if (path, task) in trained and length >= params.max_length:
            problems.append(
                f"its fixed part is {length} tokens >= the cutoff {params.max_length}: every training instance "
                f"({', '.join(trained[path, task])}) is cut; fix: raise {run.option_key('max_length')}"
            )
        if (path, task) in evaluated and length > kept:
            problems.append(
                f"its fixed part is {length} tokens > keep_head + keep_tail = {kept}: every evaluation prompt "
                f"({', '.join(evaluated[path, task])}) loses its middle; fix: raise {run.option_key('keep_head')}"
            )
        past = (path, task) in evaluated and room.limit is not None and length + new > room.limit
        if past and not room.rotary:
            problems.append(
                f"its fixed part ({length} tokens) + max_new_tokens {new} > the {room.limit} positions of "
                f"{run.model_path}; fix: lower {run.option_key('max_new_tokens')} or use a model with more positions"
            )
        if problems:
            checks.append((name, False, "; ".join(problems)))
            continue
        shown = [f"cutoff {params.max_length} in training"] if (path, task) in trained else []
        shown += [f"{kept} kept in evaluation"] if (path, task) in evaluated else []
        detail = f"fixed part {length} tokens; {', '.join(shown)}"
        if past:
            detail += (
                f"; caution: + max_new_tokens {new} runs past the {room.how} (Hugging Face computes them, vLLM "
                "refuses prompts longer than its max_model_len)"
            )
        checks.append((name, True, detail))
    checks.append(_generation_room(room, run, kept))
    return checks


def _generation_room(room, run, kept: int) -> tuple[str, bool, str]:
    """keep_head + keep_tail + max_new_tokens against the positions: the longest prompts' room to generate."""
    new = run.params.max_new_tokens
    name = "positions: prompt kept + max_new_tokens"
    if room.limit is None:
        return name, True, f"{kept} + {new}; {room.how}"
    if kept + new <= room.limit:
        return name, True, f"{kept} + {new} <= {room.how}"
    fix = f"fix: lower {run.option_key('keep_head')} and keep_tail, or max_new_tokens"
    if not room.rotary:
        detail = f"a prompt cut to {kept} tokens + {new} new tokens indexes past the {room.how} of {run.model_path}"
        return name, False, f"{detail}; {fix}"
    return name, True, f"caution: a prompt cut to {kept} tokens + {new} new tokens runs past the {room.how}"
