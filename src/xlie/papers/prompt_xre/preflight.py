"""Prompt-XRE's preflight checks (registry hook ``preflight_checks``): what its mBART method needs from a
model's tokenizer, checked by ``python -m xlie preflight`` before any job runs, through the functions the
jobs call (``methods.mbart_relation``).

* Each training language's mBART code (``en_XX``, ``zh_CN``, ``ar_AR``), and the decoder's when the run
  fixes one (``decoder_lang``), is one vocabulary entry: every input carries it as a single id (``lang_id``).
* The run's template (Table I): its special markers ``<s>``, ``</s>``, ``<mask>`` are the tokenizer's
  special tokens and its text pieces hold no unknown token (``template_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass

from xlie.papers.prompt_xre.params import MBartRelationParams
from xlie.papers.prompt_xre.templates import BASELINE_DECODERS, SPECIAL, TEMPLATES, fill, pieces
from xlie.pipeline.preflight import unknown_words


@dataclass(frozen=True)
class _Placeholder:
    """An instance's three texts, for filling a template without data."""

    sentence: str = "sentence"
    e1: str = "first"
    e2: str = "second"


def preflight_checks(tokenizer, model_config, run) -> list[tuple[str, bool | None, str]]:
    """(check, ok, detail) for a run of Prompt-XRE's method; [] for any other method."""
    if not isinstance(run.params, MBartRelationParams):
        return []
    decoder = run.params.decoder_lang
    languages = [*run.sources, *([decoder] if decoder is not None and decoder not in run.sources else [])]
    return [*(_language_code(tokenizer, run, language) for language in languages), _template(tokenizer, run)]


def _language_code(tokenizer, run, source: str) -> tuple[str, bool, str]:
    from xlie.papers.prompt_xre.methods.mbart_relation import LANG_CODES, lang_id

    code = LANG_CODES.get(source, source)
    name = f"language code {code}"
    try:
        token = lang_id(tokenizer, source)
    except (KeyError, ValueError) as error:
        message = str(error).strip("'\"")
        detail = (
            f"{message} (the training language {source!r} of {run.task}); fix: an mBART-cc25 tokenizer with its "
            f"language codes (models.{run.model}.path), or a source language with a code: {', '.join(LANG_CODES)}"
        )
        return name, False, detail
    return name, True, f"one entry, id {token}"


def _template(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.prompt_xre.methods.mbart_relation import template_ids

    template = run.params.template
    name = f"template {template}"
    lengths = []
    encoder, decoder = TEMPLATES[template]
    if template == "none":
        decoder = BASELINE_DECODERS[run.params.baseline_decoder]
    for side, pattern in (("encoder", encoder), ("decoder", decoder)):
        text = fill(pattern, _Placeholder())
        try:
            lengths.append(len(template_ids(tokenizer, text)))
        except ValueError as error:
            detail = f"{side} {pattern!r}: {error}; fix: an mBART tokenizer (models.{run.model}.path)"
            return name, False, detail
        unknown = unknown_words(tokenizer, " ".join(p for p in pieces(text) if p not in SPECIAL))
        if unknown:
            detail = f"{side} {pattern!r}: the pieces {unknown} are unknown tokens of {run.model_path}"
            return name, False, detail + f"; fix: a vocabulary covering them (models.{run.model}.path)"
    return name, True, f"special markers found; encoder {lengths[0]}, decoder {lengths[1]} tokens with one-word texts"
