"""A scripted OpenAI-compatible chat server for tests: a real HTTP server on 127.0.0.1 whose
answers a test chooses per request (content, HTTP error, or a delay), so the `llm` simulator's
client, retries, timeouts and parsing are exercised over the wire without a model."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    usage: bool = True
    """Report token counts (words of the messages and of the answer), as an OpenAI server does."""
    finish: str = "stop"
    """The choice's finish_reason (`length`: cut at the token limit)."""


def words(request: dict) -> int:
    """The stub's prompt-token count of a request: its messages' words."""
    return sum(len(m["content"].split()) for m in request["messages"])


def is_analysis(request: dict) -> bool:
    """An emotion-analysis request: its instructions name the fence around the agent's replies."""
    return "<reply-" in request["messages"][0]["content"]


def default_answer(request: dict) -> Answer:
    if is_analysis(request):
        return Answer('{"change": 5, "reason": "that fits"}')
    return Answer("I still feel a bit low about it.")


class OpenAIStub:
    def __init__(self) -> None:
        self.respond: Callable[[dict], Answer] = default_answer
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub._lock:
                    stub.requests.append(body)
                    stub.authorizations.append(self.headers.get("Authorization"))
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                try:
                    answer = stub.respond(body)
                    time.sleep(answer.delay_s)
                    if answer.status != 200:
                        payload = {"error": {"message": f"scripted HTTP {answer.status}", "type": "server_error"}}
                    else:
                        payload = {
                            "id": "chatcmpl-stub",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body.get("model", "stub"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": answer.content},
                                    "finish_reason": answer.finish,
                                }
                            ],
                        }
                        if answer.usage:
                            prompt, completion = words(body), len(answer.content.split())
                            counts = {"prompt_tokens": prompt, "completion_tokens": completion}
                            payload["usage"] = counts | {"total_tokens": prompt + completion}
                    data = json.dumps(payload).encode()
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with stub._lock:
                        stub.in_flight -= 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._handler = Handler
        self._server = self._serve(0)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._restarts: list[threading.Thread] = []

    def _serve(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        server.daemon_threads = True
        return server

    def restart(self, down_s: float) -> None:
        """Stop listening now (connections are refused, as while a server restarts) and serve
        again on the same port after `down_s` seconds, without blocking the caller."""
        port = self._server.server_address[1]
        self._server.shutdown()
        self._server.server_close()

        def come_back() -> None:
            time.sleep(down_s)
            self._server = self._serve(port)
            self._server.serve_forever()

        thread = threading.Thread(target=come_back, daemon=True)
        thread.start()
        self._restarts.append(thread)

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
