"""A scripted OpenAI-compatible chat-completions server on loopback, for end-to-end tests of real clients.

It is a test double, not a model: every reply is scripted by the test, either as a queue of replies
or as a function of the request. It speaks enough of the API for AutoGen's
`OpenAIChatCompletionClient`: `POST /v1/chat/completions` (plain and `stream=true` SSE), tool calls
and usage. Every request body is recorded in `server.requests` for assertions.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HOST = "127.0.0.1"  # loopback only

@dataclass
class ToolCall:
    """One scripted tool call: the tool's name and its arguments."""

    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:12]}")


@dataclass
class Reply:
    """One scripted assistant turn: text, tool calls, or both."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: int = 200  # a non-200 status returns an API error body instead
    delay_s: float = 0.0
    raw: str | None = None  # sent verbatim as the 200 response body (a malformed or truncated completion)


Script = Callable[[dict[str, Any]], Reply]


def _count_tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))


class ScriptedOpenAIServer:
    """Start with `with ScriptedOpenAIServer(replies) as server:`; `server.base_url` ends in /v1."""

    def __init__(self, replies: list[Reply] | Script | None = None) -> None:
        self._queue: list[Reply] = list(replies) if isinstance(replies, list) else []
        self._script: Script | None = replies if callable(replies) else None
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # each chat request's Authorization header
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((_HOST, 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{_HOST}:{self._httpd.server_port}/v1"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self._script is not None:
                return self._script(body)
            if not self._queue:
                return Reply(status=500, content="scripted server: no reply left in the script")
            return self._queue.pop(0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"unknown path {self.path}"}})
                    return
                server.authorizations.append(self.headers.get("Authorization"))
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                reply = server._next_reply(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._json(reply.status, {"error": {"message": reply.content or "error", "type": "server_error"}})
                    return
                if reply.raw is not None:
                    data = reply.raw.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._json(200, self._completion(body, reply))

            def _message(self, reply: Reply) -> dict[str, Any]:
                message: dict[str, Any] = {"role": "assistant", "content": reply.content}
                if reply.tool_calls:
                    message["tool_calls"] = [
                        {"id": c.id, "type": "function",
                         "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                        for c in reply.tool_calls]
                return message

            def _usage(self, body: dict[str, Any], reply: Reply) -> dict[str, int]:
                prompt = _count_tokens(body)
                completion = len((reply.content or "").split()) + 10 * len(reply.tool_calls)
                return {"prompt_tokens": prompt, "completion_tokens": completion,
                        "total_tokens": prompt + completion}

            def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
                return {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
                    "created": int(time.time()), "model": body.get("model", "scripted"),
                    "choices": [{"index": 0, "message": self._message(reply),
                                 "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
                    "usage": self._usage(body, reply),
                }

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
                        "created": int(time.time()), "model": body.get("model", "scripted")}

                def send(delta: dict[str, Any] | None, finish: str | None = None,
                         usage: dict[str, int] | None = None) -> None:
                    chunk = dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}] if delta
                                 is not None else [])
                    if usage is not None:
                        chunk["usage"] = usage
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                send({"role": "assistant", "content": ""})
                text = reply.content or ""
                for start in range(0, len(text), 16):
                    send({"content": text[start:start + 16]})
                for i, call in enumerate(reply.tool_calls):
                    send({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                                          "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}]})
                send({}, finish="tool_calls" if reply.tool_calls else "stop")
                if (body.get("stream_options") or {}).get("include_usage"):
                    send(None, usage=self._usage(body, reply))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self) -> ScriptedOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
