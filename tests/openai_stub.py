"""A local OpenAI-compatible chat endpoint that "translates" by copying, for tests of the paper
preset's ParallelNER path (kind: openai) without the network. It answers the three prompts of
xlie.papers.alignxie.parallel_ner.PROMPTS so that every stage has work: most sentences come back whole
(stage 1), some with a span's case changed (found again in stage 2), some with a span the
sentence lacks (stage 3 rewrites the sentence to contain it)."""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _field(prompt: str, name: str) -> str:
    match = re.search(rf"^{name}: (.*)$", prompt, flags=re.MULTILINE)
    return match.group(1) if match else ""


def reply_to(prompt: str, number: int) -> str:
    if prompt.startswith("Translate the following"):
        sentence, spans = _field(prompt, "Sentence"), json.loads(_field(prompt, "Entities") or "[]")
        if spans and number % 3 == 1:
            spans = [spans[0].upper(), *spans[1:]]  # stage 2 finds it in the sentence, case aside
        elif spans and number % 3 == 2:
            spans = [spans[0] + " Jr", *spans[1:]]  # missing: stage 2 fails, stage 3 rewrites
        return json.dumps({"sentence": sentence, "entities": spans}, ensure_ascii=False)
    if prompt.startswith("The "):  # translate one span alone: give it back unchanged (still missing)
        return json.dumps({"entity": _field(prompt, "Entity") + " Jr"}, ensure_ascii=False)
    if prompt.startswith("Rewrite"):
        sentence, spans = _field(prompt, "Sentence"), json.loads(_field(prompt, "Entities") or "[]")
        return json.dumps({"sentence": sentence + " " + " ".join(spans)}, ensure_ascii=False)
    return "I cannot help with that."


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests += 1
            number = self.server.requests
        content = reply_to(body["messages"][-1]["content"], number)
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextmanager
def copying_translator():
    """The server's base URL (http://127.0.0.1:<port>/v1) while it runs; ``.requests`` counts calls."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests, server.lock = 0, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
