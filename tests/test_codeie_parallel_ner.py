"""ParallelNER construction: the three stages with a deterministic fake translator (exact
behaviour), the prompt translator's reply parsing, the HTTP client against a local server, and
the local Hugging Face backend on the tiny causal LM (mechanics and statistics only)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from xlie.papers.alignxie.parallel_ner import (
    CachedCompletion,
    HFCompletion,
    NerSample,
    OpenAIChatCompletion,
    ParallelNerError,
    PromptTranslator,
    build_parallel_ner,
    find_in_sentence,
    json_reply,
    read_ner_jsonl,
    write_parallel_jsonl,
)
from xlie.papers.alignxie.schema import Schema, TypeDef
from xlie.papers.alignxie.scorer import InputFileError
from xlie.papers.alignxie.tip import tip_instances_both_ways

SAMPLES = [
    NerSample("1", "Paris is big", (("LOC", "Paris"),)),
    NerSample("2", "I met John Smith", (("PER", "John Smith"),)),
    NerSample("3", "Obama visited Berlin", (("PER", "Obama"), ("LOC", "Berlin"))),
    NerSample("4", "Apple sells apples", (("ORG", "Apple"),)),
    NerSample("5", "Zorg wins", (("PER", "Zorg"),)),
    NerSample("6", "Nothing here", ()),
    NerSample("7", "Rome burns", (("LOC", "Rome"),)),
]


class FakeTranslator:
    """Table-driven: each sample exercises one path of the three stages."""

    WITH_SPANS = {
        "Paris is big": ("巴黎很大", ["巴黎"]),  # stage 1
        "I met John Smith": ("我见了 john smith", ["John Smith"]),  # stage 2: found ignoring case
        "Obama visited Berlin": ("奥巴马访问了柏林", ["欧巴马", "柏林"]),  # stage 2: translated alone
        "Apple sells apples": ("苹果公司卖苹果", ["苹果股份"]),  # stage 3: rewritten
        "Zorg wins": ("佐尔格赢了", ["左格"]),  # stage 3 fails: dropped
        "Nothing here": ("这里什么都没有", []),  # stage 1, no entities
        "Rome burns": None,  # unusable reply: dropped
    }
    ALONE = {"Obama": "奥巴马", "Apple": "苹果股份", "Zorg": None}
    REWRITE = {"苹果公司卖苹果": "苹果股份卖苹果", "佐尔格赢了": "佐尔格赢了"}

    def __init__(self):
        self.calls = []

    def translate_with_spans(self, items, source_lang, target_lang):
        self.calls.append(("translate_with_spans", len(items), source_lang, target_lang))
        return [self.WITH_SPANS[sentence] for sentence, _ in items]

    def translate_spans(self, items, source_lang, target_lang):
        self.calls.append(("translate_spans", [span for span, _ in items]))
        return [self.ALONE[span] for span, _ in items]

    def rewrite(self, items, language):
        self.calls.append(("rewrite", [spans for _, spans in items], language))
        return [self.REWRITE[sentence] for sentence, _ in items]


def test_three_stages_exact():
    translator = FakeTranslator()
    pairs, stats = build_parallel_ner(SAMPLES, translator, "en", "zh")
    assert [(p.source.id, p.stage) for p in pairs] == [("1", 1), ("2", 2), ("3", 2), ("4", 3), ("6", 1)]
    targets = {p.source.id: p.target for p in pairs}
    assert targets["2"].entities == (("PER", "john smith"),)
    assert targets["3"].entities == (("PER", "奥巴马"), ("LOC", "柏林"))
    assert targets["4"] == NerSample("4", "苹果股份卖苹果", (("ORG", "苹果股份"),))
    assert all(span in p.target.sentence for p in pairs for _, span in p.target.entities)
    # Only spans not found in the sentence are translated alone; only still-missing samples rewritten.
    assert translator.calls[1] == ("translate_spans", ["Obama", "Apple", "Zorg"])
    assert translator.calls[2] == ("rewrite", [["苹果股份"], ["左格"]], "zh")
    assert stats.stages == {
        "input": {"samples": 7, "entities": 7},
        "1_translate": {"spans_missing": 4, "samples_complete": 2, "samples_unusable_reply": 1},
        "2_repair": {
            "spans_missing": 4,
            "spans_found_in_sentence": 1,
            "spans_translated_alone": 1,
            "spans_still_missing": 2,
            "samples_repaired": 2,
        },
        "3_rewrite": {"samples_to_rewrite": 2, "samples_rewritten": 1, "samples_dropped": 1},
        "output": {"samples_kept": 5, "samples_dropped": 2},
    }


def test_statistics_tsv_and_parallel_jsonl(tmp_path):
    pairs, stats = build_parallel_ner(SAMPLES, FakeTranslator(), "en", "zh")
    stats.write_tsv(tmp_path / "stats.tsv")
    lines = (tmp_path / "stats.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "stage\tstatistic\tvalue"
    assert "3_rewrite\tsamples_dropped\t1" in lines and "output\tsamples_kept\t5" in lines
    write_parallel_jsonl(pairs, tmp_path / "parallel.jsonl", "en", "zh")
    records = [json.loads(line) for line in (tmp_path / "parallel.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records[3] == {
        "id": "4",
        "stage": 3,
        "en": {"sentence": "Apple sells apples", "entities": [["ORG", "Apple"]]},
        "zh": {"sentence": "苹果股份卖苹果", "entities": [["ORG", "苹果股份"]]},
    }


def test_pairs_make_tip_instances():
    schema = Schema.from_types(
        [TypeDef("entity", "Person", labels=("PER",)), TypeDef("entity", "Location", labels=("LOC",))]
    )
    pairs, _ = build_parallel_ner(SAMPLES, FakeTranslator(), "en", "zh")
    p = pairs[2]
    forward, backward = tip_instances_both_ways(
        schema, (p.source.sentence, p.source.entities), (p.target.sentence, p.target.entities)
    )
    assert forward.completion == 'results = [\n\tPerson("奥巴马"),\n\tLocation("柏林")\n]'
    assert backward.completion == 'results = [\n\tPerson("Obama"),\n\tLocation("Berlin")\n]'


def test_find_in_sentence():
    assert find_in_sentence("John Smith", "我见了 john smith") == "john smith"
    assert find_in_sentence("约翰 史密斯", "我见了约翰史密斯。") == "约翰史密斯"
    assert find_in_sentence("New York", "I love NewYork!") == "NewYork"
    assert find_in_sentence("a.b", "axb") is None  # regex characters are literal
    assert find_in_sentence("  ", "anything") is None


def test_read_ner_jsonl_errors_name_file_and_line(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "a", "sentence": "Paris is big", "entities": [["LOC", "Paris"]]}\n\n', encoding="utf-8")
    assert read_ner_jsonl(good) == [NerSample("a", "Paris is big", (("LOC", "Paris"),))]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": 1, "sentence": "x", "entities": []}\n{"id": 2, "sentence": "Paris", "entities": [["LOC", "Rome"]]}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputFileError, match=r"bad.jsonl:2: span 'Rome'"):
        read_ner_jsonl(bad)
    bad.write_text('{"id": 1, "sentence": "x", "entities": [["LOC"]]}\n', encoding="utf-8")
    with pytest.raises(InputFileError, match=r"bad.jsonl:1: 'entities' must be"):
        read_ner_jsonl(bad)
    bad.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"bad.jsonl:1: bad JSON"):
        read_ner_jsonl(bad)


# ---------------------------------------------------------------- prompts and replies


def test_json_reply_tolerates_prose_and_fences():
    assert json_reply('Sure! ```json\n{"sentence": "巴黎", "entities": ["巴黎"]}\n``` done') == {
        "sentence": "巴黎",
        "entities": ["巴黎"],
    }
    assert json_reply('{not json} then {"a": 1}') == {"a": 1}
    assert json_reply("no json") is None and json_reply("[1, 2]") is None


def test_prompt_translator_parses_replies():
    def complete(prompts):
        replies = []
        for p in prompts:
            if "Paris is big" in p:
                replies.append('Here: {"sentence": "巴黎很大", "entities": ["巴黎"]}')
            elif "Obama" in p and "Sentence: Obama" in p:
                replies.append('{"sentence": "奥巴马访问了柏林", "entities": ["奥巴马"]}')  # one entity short
            elif "Entity: Obama" in p:
                replies.append('{"entity": "奥巴马"}')
            elif "Rewrite" in p:
                replies.append('{"sentence": 3}')  # wrong type
            else:
                replies.append("I cannot help with that.")
        return replies

    translator = PromptTranslator(complete)
    items = [("Paris is big", ["Paris"]), ("Obama visited Berlin", ["Obama", "Berlin"]), ("x", [])]
    assert translator.translate_with_spans(items, "en", "zh") == [("巴黎很大", ["巴黎"]), None, None]
    assert translator.translate_spans([("Obama", "奥巴马访问了柏林"), ("Zorg", "?")], "en", "zh") == ["奥巴马", None]
    assert translator.rewrite([("s", ["a"])], "zh") == [None]
    with pytest.raises(ParallelNerError, match="unknown key"):
        PromptTranslator(complete, prompts={"translate": "x"})


def test_cached_completion_asks_each_prompt_once(tmp_path):
    asked = []

    def complete(prompts):
        asked.extend(prompts)
        return [p.upper() for p in prompts]

    cache = tmp_path / "cache.jsonl"
    assert CachedCompletion(complete, cache, chunk=2)(["a", "b", "a", "c"]) == ["A", "B", "A", "C"]
    with open(cache, "a", encoding="utf-8") as handle:
        handle.write('{"key": "cut by an interrupt')  # a half-written last line is asked again
    assert CachedCompletion(complete, cache)(["c", "d", "a"]) == ["C", "D", "A"]
    assert CachedCompletion(complete, cache)(["d", "b"]) == ["D", "B"]  # the file read back whole
    assert asked == ["a", "b", "c", "d"]
    cache.write_text('{"key": 1}\n{"key": "x", "reply": "y"}\n', encoding="utf-8")
    with pytest.raises(ParallelNerError, match=r"cache.jsonl:1: not a cache record"):
        CachedCompletion(complete, cache)


# ---------------------------------------------------------------- OpenAI-compatible HTTP endpoint


class _ChatHandler(BaseHTTPRequestHandler):
    fail_first = 0  # answer HTTP 500 to this many requests first (retry test)

    def do_POST(self):  # noqa: N802 (http.server's name)
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.seen.append((self.path, self.headers.get("Authorization"), body))
        if server.failures_left > 0:
            server.failures_left -= 1
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"overloaded")
            return
        if body["messages"][-1]["content"] == "bad request":
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b"invalid model")
            return
        reply = {"choices": [{"message": {"role": "assistant", "content": "echo: " + body["messages"][-1]["content"]}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def chat_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    server.seen, server.failures_left = [], 0
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_client_order_auth_and_retry(chat_server, monkeypatch):
    monkeypatch.setenv("XLIE_TEST_KEY", "sk-test")
    url = f"http://127.0.0.1:{chat_server.server_port}/v1"
    client = OpenAIChatCompletion(url, "gpt-4o-mini", "XLIE_TEST_KEY", timeout=5, backoff=0.01, concurrency=3)
    chat_server.failures_left = 1
    prompts = [f"prompt {i}" for i in range(7)]
    assert client(prompts) == [f"echo: prompt {i}" for i in range(7)]
    assert len(chat_server.seen) == 8  # one request retried after the 500
    path, auth, body = chat_server.seen[-1]
    assert path == "/v1/chat/completions" and auth == "Bearer sk-test"
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
    with pytest.raises(ParallelNerError, match="HTTP 400 after 1 attempt.*invalid model"):
        client(["bad request"])
    chat_server.failures_left = 10
    with pytest.raises(ParallelNerError, match="HTTP 500 after 3 attempt"):
        OpenAIChatCompletion(url, "m", "", timeout=5, max_retries=2, backoff=0.01)(["x"])


def test_http_client_key_only_from_the_named_variable(monkeypatch):
    monkeypatch.delenv("XLIE_MISSING_KEY", raising=False)
    with pytest.raises(ParallelNerError, match="XLIE_MISSING_KEY.*not set"):
        OpenAIChatCompletion("http://127.0.0.1:9/v1", "m", "XLIE_MISSING_KEY")
    with pytest.raises(ParallelNerError, match="http"):
        OpenAIChatCompletion("127.0.0.1:9", "m", "")


def test_http_backend_through_the_stages(chat_server):
    url = f"http://127.0.0.1:{chat_server.server_port}/v1"
    translator = PromptTranslator(OpenAIChatCompletion(url, "m", "", timeout=5))
    pairs, stats = build_parallel_ner(SAMPLES[:2], translator, "en", "zh")
    assert pairs == []  # the echo server never answers JSON: every sample is counted unusable
    assert stats.stages["1_translate"] == {"samples_unusable_reply": 2}
    assert "Chinese" in chat_server.seen[0][2]["messages"][0]["content"]


# ---------------------------------------------------------------- local Hugging Face model


@pytest.mark.parametrize("family", ["causal", "mt5"])
def test_local_hf_translator_mechanics(tiny_models, family):
    out_dirs, _ = tiny_models
    complete = HFCompletion(out_dirs[family], batch_size=4, max_new_tokens=8)
    replies = complete(["Translate: Paris is big", "x"])
    assert len(replies) == 2 and all(isinstance(r, str) for r in replies)
    pairs, stats = build_parallel_ner(SAMPLES[:3], PromptTranslator(complete), "en", "zh")
    # A random model writes no JSON: nothing kept, and every sample accounted for.
    assert stats.stages["output"]["samples_kept"] + stats.stages["output"]["samples_dropped"] == 3
    assert len(pairs) == stats.stages["output"]["samples_kept"]


def test_translator_from_config(chat_server, tiny_models, tmp_path):
    from xlie.papers.alignxie.parallel_ner import translator_from_config

    url = f"http://127.0.0.1:{chat_server.server_port}/v1"
    translator = translator_from_config(
        {"kind": "openai", "base_url": url, "model": "m", "api_key_env": ""}, cache_path=tmp_path / "cache.jsonl"
    )
    assert len(translator.rewrite([("s", ["a"])], "zh")) == 1 and (tmp_path / "cache.jsonl").exists()
    assert isinstance(
        translator_from_config({"kind": "hf", "model": str(tiny_models[0]["causal"])}).complete, HFCompletion
    )
    with pytest.raises(ParallelNerError, match="kind"):
        translator_from_config({"kind": "deepl"})
    with pytest.raises(ParallelNerError, match=r"unknown key\(s\) \['api_key'\]"):
        translator_from_config({"kind": "openai", "base_url": url, "model": "m", "api_key": "sk-secret"})
    with pytest.raises(ParallelNerError, match="missing key.*base_url"):
        translator_from_config({"kind": "openai", "model": "m"})
