"""A local OpenAI-compatible server for tests: real HTTP on 127.0.0.1, port 0.

It implements POST /v1/chat/completions, records every request, and answers from a
script: good JSON (with or without logprobs), invalid JSON, an unknown tag, an HTTP
error, a reply slower than the client's timeout, or a 400 that refuses json_schema.
It runs in its own thread, so both sync clients and the running bot can call it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/v1/chat/completions"


@dataclass
class Reply:
    """One scripted answer. Build with the class methods below."""

    status: int = 200
    tag: str | None = None
    sentiment: str = "neutral"
    reason: str = "fits the tag"
    content: str | None = None  # raw content, overrides tag/sentiment/reason
    logprobs: bool = False
    probability: float = 0.97  # P(chosen tag) spelled out by the logprobs
    runner_up: str | None = None  # offered in top_logprobs with the remaining mass
    delay: float = 0.0
    error: dict[str, Any] | None = None
    usage: tuple[int, int] | None = (120, 18)

    @classmethod
    def good(cls, tag: str, sentiment: str = "neutral", **kw: Any) -> Reply:
        return cls(tag=tag, sentiment=sentiment, **kw)

    @classmethod
    def raw(cls, content: str, **kw: Any) -> Reply:
        return cls(content=content, **kw)

    @classmethod
    def http_error(cls, status: int, message: str = "server error") -> Reply:
        return cls(status=status, error={"message": message, "type": "server_error"})

    @classmethod
    def slow(cls, seconds: float, tag: str = "billing") -> Reply:
        return cls(tag=tag, delay=seconds)

    def body(self, request: dict[str, Any]) -> dict[str, Any]:
        content = self.content
        if content is None:
            content = json.dumps(
                {"tag": self.tag, "sentiment": self.sentiment, "reason": self.reason}
            )
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
        if self.logprobs and request.get("logprobs") and self.tag:
            choice["logprobs"] = {
                "content": _tokens(content, self.tag, self.probability, self.runner_up)
            }
        answer: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "fake"),
            "choices": [choice],
        }
        if self.usage is not None:
            prompt, completion = self.usage
            answer["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return answer


def _token(text: str, logprob: float, top: list[tuple[str, float]] | None = None) -> dict[str, Any]:
    return {
        "token": text,
        "logprob": logprob,
        "bytes": list(text.encode()),
        "top_logprobs": [
            {"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in (top or [])
        ],
    }


def _tokens(content: str, tag: str, probability: float, runner_up: str | None) -> list[dict]:
    """Tokens that spell `content`, the tag split in two like a BPE tokenizer would."""
    start = content.index(f'"{tag}"') + 1
    head, tail = tag[: max(1, len(tag) // 2)], tag[max(1, len(tag) // 2) :]
    chosen = math.log(probability)
    top = [(head, chosen)]
    if runner_up:
        top.append((runner_up[: max(1, len(runner_up) // 2)], math.log(max(1e-9, 1 - probability))))
    pieces = [_token(content[:start], -0.0001)]
    pieces.append(_token(head, chosen, top))
    if tail:
        pieces.append(_token(tail, -0.00001))
    rest = content[start + len(tag) :]
    pieces.extend(_token(rest[i : i + 4], -0.001) for i in range(0, len(rest), 4))
    return pieces


@dataclass
class FakeOpenAI:
    """Start with `FakeOpenAI().start()`; point OPENAI_BASE_URL at `base_url`."""

    default: Reply = field(default_factory=lambda: Reply.good("billing"))
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    refuse_json_schema: bool = False
    refuse_logprobs: bool = False
    _server: ThreadingHTTPServer | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def then(self, *replies: Reply) -> FakeOpenAI:
        """Queue answers for the next requests; after them, `default` answers."""
        with self._lock:
            self.script.extend(replies)
        return self

    def seen_text(self) -> str:
        """Everything the server was sent, as one string (for leak checks)."""
        return "\n".join(json.dumps(r) for r in self.requests)

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            if (
                self.refuse_json_schema
                and (request.get("response_format") or {}).get("type") == "json_schema"
            ):
                return Reply.http_error(400, "response_format json_schema is not supported")
            if self.refuse_logprobs and request.get("logprobs"):
                return Reply.http_error(400, "logprobs are not supported by this model")
            return self.script.pop(0) if self.script else self.default

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != PATH:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                request = json.loads(raw or b"{}")
                with fake._lock:
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = fake._next(request)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                if reply.status != 200:
                    self._send(reply.status, {"error": reply.error or {"message": "error"}})
                    return
                self._send(200, reply.body(request))

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout); that is the point of some tests

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
