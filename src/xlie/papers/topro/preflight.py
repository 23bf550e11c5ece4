"""ToPro's preflight checks (registry hook ``preflight_checks``): what its methods need from a model's
tokenizer and config, checked by ``python -m xlie preflight`` before any job runs, through the same
functions the jobs call.

* ToPro on encoders: each verbalizer word under the method's lookup and policy is one token, and no
  two labels share one (``topro_encoder.verbalizer_ids``); the template holds exactly one mask, no
  unknown piece, and fits ``max_length`` with a one-word sentence.
* ToPro on mT5: the template has no unknown piece; every tag string is a target of its own, without unk.
* Vanilla mT5: a target naming every tag (``LABEL: word $$ ...``) survives tokenizing and decoding and
  parses back to the same tags.
* The LLM study: the prompt has no unknown piece; in logits mode each word's scored token under the
  policy (``llm_zero_shot.verbalizer_token_ids``), in generate mode each word survives decoding.
"""

from __future__ import annotations


from xlie.papers.topro.labels import label_set
from xlie.papers.topro.params import LLMParams, ToProEncoderParams, ToProSeq2SeqParams, VanillaSeq2SeqParams
from xlie.papers.topro.prompts import LLM, TOPRO_ENCODER, TOPRO_SEQ2SEQ, VANILLA_SEQ2SEQ_INPUT
from xlie.papers.topro.verbalizers import llm_verbalizer, verbalizer
from xlie.pipeline.preflight import unknown_words


def preflight_checks(tokenizer, model_config, run) -> list[tuple[str, bool | None, str]]:
    """(check, ok, detail) for a run of a ToPro method; [] for any other method."""
    params = run.params
    if isinstance(params, ToProEncoderParams):
        return [_encoder_verbalizer(tokenizer, run), _encoder_template(tokenizer, run)]
    if isinstance(params, ToProSeq2SeqParams):
        return [_seq2seq_targets(tokenizer, run), _seq2seq_template(tokenizer, run)]
    if isinstance(params, VanillaSeq2SeqParams):
        return [_vanilla_round_trip(tokenizer, run)]
    if isinstance(params, LLMParams):
        return _llm(tokenizer, model_config, run)
    return []


def _a_word(task: str) -> str:
    """A one-word sentence any multilingual vocabulary holds (a verbalizer word)."""
    return next(iter(verbalizer(task).values()))


def _fix_unknown(run, words: list[str]) -> str:
    return (
        f"the template pieces {words} are unknown tokens of {run.model_path}; fix: a model whose vocabulary "
        f"covers the template (models.{run.model}.path)"
    )


# ---------------------------------------------------------------- ToPro on encoders


def _encoder_verbalizer(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.topro.methods import topro_encoder

    params = run.params
    name = f"{run.task} topro_encoder verbalizer ({params.verbalizer_lookup}, {params.verbalizer_policy})"
    try:  # the same call as training
        ids, first_piece = topro_encoder.verbalizer_ids(
            tokenizer, run.task, params.verbalizer_policy, run.model_path, lookup=params.verbalizer_lookup
        )
    except ValueError as error:
        keys = f"{run.option_key('verbalizer_policy')}, {run.option_key('verbalizer_lookup')}"
        return name, False, f"{error} (config keys {keys})"
    tokens = tokenizer.convert_ids_to_tokens(ids)
    detail = f"{len(ids)} words, one token each: {', '.join(tokens)}"
    if first_piece:
        detail += f"; the first piece scored for {', '.join(first_piece)}"
    return name, True, detail


def _encoder_template(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.topro.prompts import topro_encoder_prompt

    name = f"{run.task} topro_encoder template"
    if tokenizer.mask_token is None:
        return name, False, f"the tokenizer of {run.model_path} has no mask token; fix: a masked-LM model"
    unknown = unknown_words(tokenizer, TOPRO_ENCODER[run.task].format(word="", mask=""))
    if unknown:
        return name, False, _fix_unknown(run, unknown)
    ids = tokenizer(_a_word(run.task), topro_encoder_prompt(run.task, "word", tokenizer.mask_token))
    masks = ids["input_ids"].count(tokenizer.mask_token_id)
    if masks != 1:
        return name, False, f"the prompt holds {masks} mask tokens after tokenizing, not one; fix: a masked-LM model"
    length, limit = len(ids["input_ids"]), run.params.max_length
    if length > limit:
        key = run.option_key("max_length")
        return name, False, f"a one-word sentence's prompt is {length} tokens > {limit}; fix: raise {key}"
    return name, True, f"one mask; a one-word sentence's prompt is {length} of {limit} tokens"


# ---------------------------------------------------------------- ToPro and Vanilla on mT5


def _seq2seq_targets(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.topro.methods.topro_seq2seq import label_targets

    name = f"{run.task} topro_seq2seq tag targets"
    labels = label_set(run.task)
    try:
        targets = label_targets(tokenizer, labels)
    except ValueError as error:
        return name, False, f"{error} in {run.model_path}; fix: a model whose vocabulary tells the tags apart"
    unk = tokenizer.unk_token_id
    with_unk = [label for label, ids in targets.items() if unk is not None and unk in ids]
    if with_unk:
        detail = f"the tags {with_unk} hold unknown tokens in {run.model_path}; fix: a vocabulary covering them"
        return name, False, detail
    lengths = sorted({len(ids) for ids in targets.values()})
    shown = "-".join(map(str, sorted({lengths[0], lengths[-1]})))
    return name, True, f"{len(labels)} distinct targets of {shown} tokens (eos included)"


def _seq2seq_template(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.topro.prompts import topro_seq2seq_prompt

    name = f"{run.task} topro_seq2seq template"
    unknown = unknown_words(tokenizer, TOPRO_SEQ2SEQ[run.task].format(word=""))
    if unknown:
        return name, False, _fix_unknown(run, unknown)
    length = len(tokenizer(_a_word(run.task), topro_seq2seq_prompt(run.task, "word"))["input_ids"])
    limit = run.params.max_length
    if length > limit:
        return (
            name,
            False,
            f"a one-word sentence's prompt is {length} tokens > {limit}; fix: raise {run.option_key('max_length')}",
        )
    return name, True, f"a one-word sentence's prompt is {length} of {limit} tokens"


def _vanilla_round_trip(tokenizer, run) -> tuple[str, bool, str]:
    from xlie.papers.topro.methods.vanilla_seq2seq import parse_tagged_output, target_text

    name = f"{run.task} vanilla_seq2seq target"
    labels = label_set(run.task)
    unknown = unknown_words(tokenizer, VANILLA_SEQ2SEQ_INPUT[run.task].format(sentence=""))
    if unknown:
        return name, False, _fix_unknown(run, unknown)
    words = [verbalizer(run.task)[label] for label in labels]  # words any multilingual vocabulary holds
    target = target_text(words, labels)
    decoded = tokenizer.decode(tokenizer(text_target=target)["input_ids"], skip_special_tokens=True)
    tags, counts = parse_tagged_output(decoded, words, labels)
    if tags != list(labels) or any(counts.values()):
        wrong = {key: value for key, value in counts.items() if value}
        detail = (
            f"a target naming every tag decodes as {decoded[:120]!r}, which parses back with {wrong}; fix: a "
            f"model whose tokenizer keeps the tags and the separator (models.{run.model}.path)"
        )
        return name, False, detail
    return name, True, f"a target naming all {len(labels)} tags decodes and parses back to them"


# ---------------------------------------------------------------- the LLM study


def _llm(tokenizer, model_config, run) -> list[tuple[str, bool, str]]:
    from xlie.papers.topro.methods.llm_zero_shot import verbalizer_token_ids

    params = run.params
    seq2seq = bool(getattr(model_config, "is_encoder_decoder", False))
    words = llm_verbalizer(run.task, params.verbalizer, seq2seq)
    checks = []
    template = LLM[(run.task, params.prompt_variant)].format(sentence="", word="", label_words="")
    unknown = unknown_words(tokenizer, template)
    name = f"{run.task} llm prompt {params.prompt_variant}"
    checks.append((name, False, _fix_unknown(run, unknown)) if unknown else (name, True, "no unknown piece"))
    name = f"{run.task} llm[{params.mode}] verbalizer ({params.verbalizer}, {params.verbalizer_policy})"
    if params.mode == "logits":
        try:
            ids, split = verbalizer_token_ids(
                tokenizer, run.task, params.prompt_variant, params.verbalizer_policy, run.model_path, words
            )
        except ValueError as error:
            keys = f"{run.option_key('verbalizer_policy')}, {run.option_key('verbalizer')}"
            return [*checks, (name, False, f"{error} (config keys {keys})")]
        detail = f"{len(ids)} words scored by {', '.join(tokenizer.convert_ids_to_tokens(list(ids.values())))}"
        if split:
            detail += f"; the first piece scored for {', '.join(split)}"
        return [*checks, (name, True, detail)]
    # Generate mode matches each word in the decoded text: a word the tokenizer cannot give back never matches.
    lost = []
    for word in words.values():
        decoded = tokenizer.decode(tokenizer(" " + word, add_special_tokens=False)["input_ids"])
        if word.lower() not in decoded.lower():
            lost.append(f"{word!r} -> {decoded.strip()!r}")
    if lost:
        detail = f"the words {', '.join(lost)} do not decode back in {run.model_path}, so they never match"
        detail += f"; fix: {run.option_key('verbalizer')} or another model"
        return [*checks, (name, False, detail)]
    return [*checks, (name, True, f"all {len(words)} words decode back whole")]
