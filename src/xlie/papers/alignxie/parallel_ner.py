"""ParallelNER construction: NER samples translated into another language with their spans.

AlignXIE built ParallelNER (en<->zh) with an LLM in three stages, reproduced here:

1. translate the sentence together with its entity spans;
2. repair spans that do not occur in the translated sentence: find them there first (case and
   spacing may differ), else translate the span alone and look again;
3. rewrite the translated sentence so that it contains every span still missing; a sample whose
   rewrite still misses a span is dropped.

The translator is pluggable (``Translator``: three batched operations). ``PromptTranslator`` does
them with prompts on any text-completion backend: ``HFCompletion`` (a local Hugging Face causal or
seq2seq model, batched greedy generation) or ``OpenAIChatCompletion`` (any OpenAI-compatible
chat-completions endpoint; the API key is read from an environment variable whose NAME is
configured, never from a config file). Replies are data: JSON is read with ``json.loads``,
nothing is executed. Every stage counts what it saw (``Statistics``, writable as TSV).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

from xlie.papers.alignxie.scorer import InputFileError, read_jsonl
from xlie.pipeline.runtime import atomic_write

LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "ru": "Russian",
    "ar": "Arabic",
    "hi": "Hindi",
    "ko": "Korean",
    "nl": "Dutch",
    "tr": "Turkish",
    "fa": "Persian",
    "bn": "Bengali",
    "ja": "Japanese",
}


class ParallelNerError(ValueError):
    """Bad input data or a translator that cannot be used (names the file and line or the setting)."""


# ---------------------------------------------------------------- samples


@dataclass(frozen=True)
class NerSample:
    """A sentence and its entities as (label, span) pairs; labels in any language the schema maps."""

    id: str
    sentence: str
    entities: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ParallelSample:
    """A source sample, its translation, and the stage that completed it (1, 2 or 3)."""

    source: NerSample
    target: NerSample
    stage: int


def read_ner_jsonl(path: str | Path) -> list[NerSample]:
    """Lines ``{"id", "sentence", "entities": [[label, span], ...]}``; every span must occur in its sentence.
    A bad line raises InputFileError naming the file and line."""
    samples = []
    for number, record in read_jsonl(Path(path), ("id", "sentence", "entities")):
        where, entities = f"{path}:{number}", record["entities"]
        if not isinstance(record["sentence"], str):
            raise InputFileError(f"{where}: 'sentence' must be a string")
        if not isinstance(entities, list) or any(
            not isinstance(e, list) or len(e) != 2 or not all(isinstance(x, str) and x for x in e) for e in entities
        ):
            raise InputFileError(f"{where}: 'entities' must be a list of [label, span] string pairs")
        for label, span in entities:
            if span not in record["sentence"]:
                raise InputFileError(f"{where}: span {span!r} ({label}) does not occur in the sentence")
        samples.append(NerSample(str(record["id"]), record["sentence"], tuple(map(tuple, entities))))
    return samples


def write_parallel_jsonl(
    samples: Iterable[ParallelSample], path: str | Path, source_lang: str, target_lang: str
) -> None:
    """One line per kept pair: ``{"id", "stage", <src>: {sentence, entities}, <tgt>: {sentence, entities}}``."""
    with atomic_write(path) as handle:
        for s in samples:
            record = {
                "id": s.source.id,
                "stage": s.stage,
                source_lang: {"sentence": s.source.sentence, "entities": [list(e) for e in s.source.entities]},
                target_lang: {"sentence": s.target.sentence, "entities": [list(e) for e in s.target.entities]},
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_parallel_jsonl(path: str | Path) -> list[tuple[int, ParallelSample, str, str]]:
    """Lines written by :func:`write_parallel_jsonl` (or given pairs in that format, stage 0):
    (line number, pair, first language, second language); the languages are the line's two keys
    besides id and stage. A bad line raises InputFileError naming the file and line."""
    pairs = []
    for number, record in read_jsonl(Path(path), ("id",)):
        where = f"{path}:{number}"
        languages = [key for key in record if key not in ("id", "stage")]
        if len(languages) != 2:
            raise InputFileError(f"{where}: expected exactly two language keys besides id and stage, got {languages}")
        stage = record.get("stage", 0)
        if not isinstance(stage, int) or isinstance(stage, bool) or not 0 <= stage <= 3:
            raise InputFileError(f"{where}: 'stage' must be 0 (given) or 1-3 (construction stage), got {stage!r}")
        sides = []
        for lang in languages:
            side = record[lang]
            entities = side.get("entities") if isinstance(side, dict) else None
            if (
                not isinstance(side, dict)
                or not isinstance(side.get("sentence"), str)
                or not isinstance(entities, list)
            ):
                raise InputFileError(
                    f'{where}: \'{lang}\' must be {{"sentence": str, "entities": [[label, span], ...]}}'
                )
            if any(
                not isinstance(e, list) or len(e) != 2 or not all(isinstance(x, str) and x for x in e) for e in entities
            ):
                raise InputFileError(f"{where}: '{lang}' entities must be [label, span] string pairs")
            sides.append(NerSample(str(record["id"]), side["sentence"], tuple(map(tuple, entities))))
        pairs.append((number, ParallelSample(sides[0], sides[1], stage), languages[0], languages[1]))
    return pairs


# ---------------------------------------------------------------- translators


class Translator(Protocol):
    """The three operations of the construction, batched. None where a reply was unusable."""

    def translate_with_spans(
        self, items: Sequence[tuple[str, Sequence[str]]], source_lang: str, target_lang: str
    ) -> list[tuple[str, list[str]] | None]:
        """(sentence, spans) -> (translated sentence, translated spans in the same order)."""

    def translate_spans(self, items: Sequence[tuple[str, str]], source_lang: str, target_lang: str) -> list[str | None]:
        """(span, its translated sentence as context) -> the span's translation."""

    def rewrite(self, items: Sequence[tuple[str, Sequence[str]]], language: str) -> list[str | None]:
        """(translated sentence, spans) -> the sentence rewritten to contain every span verbatim."""


# Prompts ask for JSON replies (read with json.loads). {source}/{target}/{language} are language names.
PROMPTS = {
    "translate_with_spans": (
        "Translate the following {source} sentence into {target}, and translate each of its named entities "
        "so that every translated entity appears verbatim in the translated sentence.\n"
        "Sentence: {sentence}\nEntities: {spans}\n"
        'Answer with JSON only: {{"sentence": "...", "entities": ["...", ...]}} '
        "with the entities in the same order."
    ),
    "translate_span": (
        "The {target} sentence below is a translation from {source}. Give the {target} translation of the {source} "
        "entity exactly as it is written in the sentence.\nSentence: {context}\nEntity: {span}\n"
        'Answer with JSON only: {{"entity": "..."}}'
    ),
    "rewrite": (
        "Rewrite the following {language} sentence with as few changes as possible so that it contains every "
        "one of these entities verbatim.\nSentence: {sentence}\nEntities: {spans}\n"
        'Answer with JSON only: {{"sentence": "..."}}'
    ),
}


def json_reply(text: str) -> dict | None:
    """The first JSON object in a reply (chat models wrap it in prose or ``` fences), or None."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None


def _language(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


class PromptTranslator:
    """The three operations as prompts to a text-completion backend: ``complete(prompts) -> replies``."""

    def __init__(self, complete: Callable[[Sequence[str]], list[str]], prompts: dict[str, str] | None = None):
        self.complete = complete
        self.prompts = {**PROMPTS, **(prompts or {})}
        unknown = set(self.prompts) - set(PROMPTS)
        if unknown:
            raise ParallelNerError(f"parallel_ner prompts: unknown key(s) {sorted(unknown)}; known: {sorted(PROMPTS)}")

    def translate_with_spans(self, items, source_lang, target_lang):
        prompts = [
            self.prompts["translate_with_spans"].format(
                source=_language(source_lang),
                target=_language(target_lang),
                sentence=sentence,
                spans=json.dumps(list(spans), ensure_ascii=False),
            )
            for sentence, spans in items
        ]
        results = []
        for (_, spans), reply in zip(items, self.complete(prompts), strict=True):
            data = json_reply(reply)
            sentence, entities = (data or {}).get("sentence"), (data or {}).get("entities")
            ok = isinstance(sentence, str) and isinstance(entities, list) and len(entities) == len(spans)
            ok = ok and all(isinstance(e, str) for e in entities)
            results.append((sentence, list(entities)) if ok else None)
        return results

    def translate_spans(self, items, source_lang, target_lang):
        prompts = [
            self.prompts["translate_span"].format(
                source=_language(source_lang), target=_language(target_lang), span=span, context=context
            )
            for span, context in items
        ]
        return [_string_field(reply, "entity") for reply in self.complete(prompts)]

    def rewrite(self, items, language):
        prompts = [
            self.prompts["rewrite"].format(
                language=_language(language), sentence=sentence, spans=json.dumps(list(spans), ensure_ascii=False)
            )
            for sentence, spans in items
        ]
        return [_string_field(reply, "sentence") for reply in self.complete(prompts)]


def _string_field(reply: str, key: str) -> str | None:
    value = (json_reply(reply) or {}).get(key)
    return value if isinstance(value, str) and value else None


class HFCompletion:
    """A local Hugging Face model (hub id or path; causal or seq2seq) as a completion backend:
    batched greedy generation (xlie.papers.alignxie.generation). A tokenizer with a chat template gets
    the prompt as one user turn (instruction-tuned models), others get it raw."""

    def __init__(
        self,
        model: str | Path,
        *,
        batch_size: int = 8,
        max_new_tokens: int = 256,
        chat_template: bool = True,
        **options,
    ):
        from xlie.papers.alignxie.generation import HFGenerator

        self.generator = HFGenerator(model, batch_size=batch_size, max_new_tokens=max_new_tokens, stop=None, **options)
        tokenizer = self.generator.tokenizer
        self.chat = chat_template and not self.generator.seq2seq and bool(getattr(tokenizer, "chat_template", None))

    def __call__(self, prompts: Sequence[str]) -> list[str]:
        if self.chat:
            tokenizer = self.generator.tokenizer
            prompts = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                )
                for p in prompts
            ]
        return self.generator.generate(prompts).texts


class OpenAIChatCompletion:
    """Any OpenAI-compatible ``POST {base_url}/chat/completions`` endpoint, greedy (temperature 0).

    ``api_key_env`` is the NAME of the environment variable holding the key (empty: send no key,
    for local servers). Requests run ``concurrency`` at a time; 429/5xx and network errors are
    retried ``max_retries`` times with exponential backoff, then raise naming the endpoint.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        concurrency: int = 4,
        max_tokens: int = 512,
        system_prompt: str = "",
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ParallelNerError(f"parallel_ner translator base_url {base_url!r}: expected an http(s) URL")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.timeout, self.max_retries, self.backoff = model, timeout, max_retries, backoff
        self.concurrency, self.max_tokens, self.system_prompt = max(1, concurrency), max_tokens, system_prompt
        self.headers = {"Content-Type": "application/json"}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise ParallelNerError(
                    f"parallel_ner translator: environment variable {api_key_env} (api_key_env) is not set; "
                    "export the API key there (it is never read from the config file)"
                )
            self.headers["Authorization"] = f"Bearer {key}"

    def _request(self, prompt: str) -> str:
        messages = ([{"role": "system", "content": self.system_prompt}] if self.system_prompt else []) + [
            {"role": "user", "content": prompt}
        ]
        body = json.dumps(
            {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": self.max_tokens}
        ).encode()
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = json.loads(response.read().decode("utf-8"))
                break
            except urllib.error.HTTPError as err:
                retry = err.code == 429 or err.code >= 500
                if not retry or attempt == self.max_retries:
                    detail = err.read().decode("utf-8", "replace")[:300]
                    raise ParallelNerError(
                        f"{self.url}: HTTP {err.code} after {attempt + 1} attempt(s): {detail}"
                    ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                if attempt == self.max_retries:
                    raise ParallelNerError(f"{self.url}: {err} after {attempt + 1} attempt(s)") from None
            except json.JSONDecodeError:
                raise ParallelNerError(f"{self.url}: the reply is not JSON") from None
            time.sleep(self.backoff * 2**attempt)
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ParallelNerError(
                f"{self.url}: no choices[0].message.content in the reply {str(payload)[:300]}"
            ) from None
        return content if isinstance(content, str) else ""

    def __call__(self, prompts: Sequence[str]) -> list[str]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._request, prompts))  # map keeps input order


class CachedCompletion:
    """A completion backend whose replies are appended to a JSONL file as they come, so an
    interrupted construction (hours of API calls) resumes without asking anything twice."""

    def __init__(self, complete: Callable[[Sequence[str]], list[str]], path: str | Path, chunk: int = 64):
        self.complete, self.path, self.chunk = complete, Path(path), chunk
        self.replies: dict[str, str] = {}
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                self.replies[record["key"]] = record["reply"]
            except (json.JSONDecodeError, KeyError, TypeError):
                if number < len(lines):
                    raise ParallelNerError(f"{self.path}:{number}: not a cache record") from None
                # Only the last line may be cut (by an interruption): drop it, ask again, and
                # rewrite the file so that new records do not start on the cut line.
                self.path.write_text("".join(f"{kept}\n" for kept in lines[:-1]), encoding="utf-8")

    @staticmethod
    def key(prompt: str) -> str:
        return hashlib.sha256(prompt.encode("utf-8")).hexdigest()

    def __call__(self, prompts: Sequence[str]) -> list[str]:
        todo = list(dict.fromkeys(p for p in prompts if self.key(p) not in self.replies))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for i in range(0, len(todo), self.chunk):
            batch = todo[i : i + self.chunk]
            replies = self.complete(batch)
            with open(self.path, "a", encoding="utf-8") as handle:
                for prompt, reply in zip(batch, replies, strict=True):
                    self.replies[self.key(prompt)] = reply
                    handle.write(json.dumps({"key": self.key(prompt), "reply": reply}, ensure_ascii=False) + "\n")
        return [self.replies[self.key(p)] for p in prompts]


# ---------------------------------------------------------------- the three stages


@dataclass
class Statistics:
    """Counts per stage; ``rows()`` gives (stage, statistic, value) for the TSV."""

    stages: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, stage: str, statistic: str, value: int = 1) -> None:
        self.stages.setdefault(stage, {}).setdefault(statistic, 0)
        self.stages[stage][statistic] += value

    def rows(self) -> list[tuple[str, str, int]]:
        return [(stage, name, value) for stage, values in self.stages.items() for name, value in values.items()]

    def write_tsv(self, path: str | Path) -> None:
        with atomic_write(path, newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["stage", "statistic", "value"])
            writer.writerows(self.rows())


def _space_insensitive(span: str) -> str:
    return r"\s*".join(re.escape(ch) for ch in span if not ch.isspace())


def find_in_sentence(span: str, sentence: str) -> str | None:
    """The sentence's own spelling of ``span``: exact, else ignoring case, else ignoring spaces too
    (Chinese translations drop or add spaces around Latin names)."""
    if not span.strip():
        return None
    if span in sentence:
        return span
    for pattern in (re.escape(span.strip()), _space_insensitive(span)):
        match = re.search(pattern, sentence, flags=re.IGNORECASE)
        if match and match.group(0).strip():
            return match.group(0).strip()
    return None


def build_parallel_ner(
    samples: Sequence[NerSample], translator: Translator, source_lang: str, target_lang: str
) -> tuple[list[ParallelSample], Statistics]:
    """Run the three stages over ``samples``; returns the kept pairs (input order) and the statistics."""
    stats = Statistics()
    stats.add("input", "samples", len(samples))
    stats.add("input", "entities", sum(len(s.entities) for s in samples))

    # Stage 1: sentence and spans together.
    translated = translator.translate_with_spans(
        [(s.sentence, [span for _, span in s.entities]) for s in samples], source_lang, target_lang
    )
    state: dict[int, tuple[str, list[str | None]]] = {}  # sample -> (sentence, spans; None = missing)
    for i, (sample, result) in enumerate(zip(samples, translated, strict=True)):
        if result is None or not result[0].strip():
            stats.add("1_translate", "samples_unusable_reply")
            continue
        sentence, spans = result
        found = [span if span.strip() and span in sentence else None for span in spans]
        state[i] = (sentence, found)
        stats.add("1_translate", "spans_missing", found.count(None))
        stats.add("1_translate", "samples_complete", int(None not in found))
    kept_after_1 = {i for i, (_, spans) in state.items() if None not in spans}

    # Stage 2: find each missing span in the translation, else translate it alone and look again.
    missing = [(i, k) for i, (_, spans) in state.items() for k, span in enumerate(spans) if span is None]
    stats.add("2_repair", "spans_missing", len(missing))
    alone_todo = []
    for i, k in missing:
        sentence, spans = state[i]
        spans[k] = find_in_sentence(translated[i][1][k], sentence)
        if spans[k] is not None:
            stats.add("2_repair", "spans_found_in_sentence")
        else:
            alone_todo.append((i, k))
    alone = translator.translate_spans(
        [(samples[i].entities[k][1], state[i][0]) for i, k in alone_todo], source_lang, target_lang
    )
    candidates: dict[tuple[int, int], str] = {}  # the best translation of a still-missing span, for stage 3
    for (i, k), span in zip(alone_todo, alone, strict=True):
        sentence, spans = state[i]
        spans[k] = find_in_sentence(span, sentence) if span else None
        if spans[k] is not None:
            stats.add("2_repair", "spans_translated_alone")
        else:
            candidates[(i, k)] = span or translated[i][1][k]
            stats.add("2_repair", "spans_still_missing")
    kept_after_2 = {i for i, (_, spans) in state.items() if None not in spans} - kept_after_1
    stats.add("2_repair", "samples_repaired", len(kept_after_2))

    # Stage 3: rewrite the sentence to contain every span (repaired ones and the candidates).
    rewrite_todo = sorted({i for i, _ in candidates})
    stats.add("3_rewrite", "samples_to_rewrite", len(rewrite_todo))
    wanted = {i: [s if s is not None else candidates[(i, k)] for k, s in enumerate(state[i][1])] for i in rewrite_todo}
    rewritten = translator.rewrite(
        [(state[i][0], [s for s in wanted[i] if s.strip()]) for i in rewrite_todo], target_lang
    )
    kept_after_3 = set()
    for i, sentence in zip(rewrite_todo, rewritten, strict=True):
        if sentence and all(s.strip() and s in sentence for s in wanted[i]):
            state[i] = (sentence, wanted[i])
            kept_after_3.add(i)
            stats.add("3_rewrite", "samples_rewritten")
        else:
            stats.add("3_rewrite", "samples_dropped")

    pairs = []
    for i, sample in enumerate(samples):
        stage = 1 if i in kept_after_1 else 2 if i in kept_after_2 else 3 if i in kept_after_3 else 0
        if stage:
            sentence, spans = state[i]
            target = NerSample(
                sample.id, sentence, tuple((label, span) for (label, _), span in zip(sample.entities, spans))
            )
            pairs.append(ParallelSample(sample, target, stage))
    stats.add("output", "samples_kept", len(pairs))
    stats.add("output", "samples_dropped", len(samples) - len(pairs))
    return pairs, stats


# ---------------------------------------------------------------- configuration

TRANSLATOR_KEYS = {
    "hf": {"kind", "model", "batch_size", "max_new_tokens", "chat_template", "bf16", "trust_remote_code"},
    "openai": {
        "kind",
        "base_url",
        "model",
        "api_key_env",
        "timeout",
        "max_retries",
        "concurrency",
        "max_tokens",
        "system_prompt",
    },
}


def translator_from_config(
    config: dict, cache_path: str | Path | None = None, prompts: dict | None = None
) -> PromptTranslator:
    """``{"kind": "hf", "model": ...}`` or ``{"kind": "openai", "base_url": ..., "model": ..., "api_key_env": ...}``
    (the other keys: the backend's options). Replies are cached in ``cache_path`` when given."""
    kind = config.get("kind")
    if kind not in TRANSLATOR_KEYS:
        raise ParallelNerError(f"parallel_ner translator.kind: {kind!r} is not one of {sorted(TRANSLATOR_KEYS)}")
    unknown = set(config) - TRANSLATOR_KEYS[kind]
    if unknown:
        raise ParallelNerError(
            f"parallel_ner translator ({kind}): unknown key(s) {sorted(unknown)}; "
            f"known: {sorted(TRANSLATOR_KEYS[kind])}"
        )
    missing = [key for key in ("model", "base_url") if key not in config and key in TRANSLATOR_KEYS[kind]]
    if missing:
        raise ParallelNerError(f"parallel_ner translator ({kind}): missing key(s) {missing}")
    options = {k: v for k, v in config.items() if k != "kind"}
    complete = HFCompletion(options.pop("model"), **options) if kind == "hf" else OpenAIChatCompletion(**options)
    return PromptTranslator(CachedCompletion(complete, cache_path) if cache_path else complete, prompts)
