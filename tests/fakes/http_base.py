"""The HTTP plumbing both fake LLM servers share: a threaded HTTP/1.1 server on 127.0.0.1.

One daemon thread per connection, keep-alive, Nagle off and whole responses written in one
call, so 64+ concurrent clients with 200 ms latency are limited by the latency, not the server.
`stop()` wakes sleeping requests and closes open connections, so a `Hang` never delays teardown.
Subclasses implement `respond(method, path, headers, body)`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from tests.fakes.rules import FakeRequest, Fault, Latency, Rule, RuleEngine

HttpResponse = tuple[int, dict[str, str], bytes]
"""(status, extra headers, body) as returned by `FakeHTTPServer.respond`."""

ResponseHook = Callable[[str, Any, bytes, int], None]
"""Called once a reply was written: (path, request headers, request body, reply status)."""


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    """A JSON response with the given status."""
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


def fault_response(fault: Fault, error_body: Callable[[int, str], dict[str, Any]]) -> HttpResponse:
    """An HTTP error in the protocol's own error format (or the fault's literal body)."""
    extra = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
    if fault.body is not None:
        return fault.status, {"Content-Type": content_type(fault.body), **extra}, fault.body.encode()
    return json_response(fault.status, error_body(fault.status, f"fake fault {fault.status}"), extra)


def content_type(body: str) -> str:
    """application/json for a JSON body, text/html otherwise (like a proxy's error page)."""
    try:
        json.loads(body)
    except ValueError:
        return "text/html; charset=utf-8"
    return "application/json"


class _ThreadingServer(ThreadingHTTPServer):
    # The default backlog of 5 drops SYNs when 64 clients connect at once (1 s retransmits).
    request_queue_size = 1024
    daemon_threads = True
    block_on_close = False  # never join handler threads: a hanging one must not block stop()

    def __init__(self, owner: FakeHTTPServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client SIGKILLed mid-request resets its connection: expected in kill tests, not a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every open connection, waking handler threads blocked on reads."""
        with self.connections_lock:
            connections = list(self.connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    disable_nagle_algorithm = True  # small responses must not wait for delayed ACKs
    timeout = 120  # an idle keep-alive connection frees its thread eventually
    server: _ThreadingServer

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        owner.engine.count_http(self.path.split("?", 1)[0])
        try:
            status, headers, payload = owner.respond(method, self.path, self.headers, body)
        except Exception as e:  # a bug in a fake or a rule: make it loud, as a 500 with the reason
            status, headers, payload = json_response(500, {"error": {"code": 500, "message": repr(e)}})
        self._write(status, headers, payload)
        if owner.on_response is not None:
            owner.on_response(self.path, self.headers, body, status)

    def _write(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(payload)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + payload)  # one write: one TCP segment for small replies
        except OSError:  # the client gave up (timeout) or the server is stopping
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; counters say what happened


class FakeHTTPServer:
    """Base class of the fake LLM servers: lifecycle, rule/latency settings and counters.

    Use as a context manager or with start()/stop(). Set `rule` and `latency_s` at any time.
    `on_response`, if set, observes every reply once written (e.g. to time answers against a
    client's SIGKILL); it runs on the handler thread, so keep it quick and thread-safe.
    """

    def __init__(self) -> None:
        self.engine = RuleEngine()
        self.on_response: ResponseHook | None = None
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None

    # --- what subclasses implement --------------------------------------------------------

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> HttpResponse:
        """Answer one HTTP request (called on a handler thread)."""
        raise NotImplementedError

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._server is None:
            self.engine.resume()
            self._server = _ThreadingServer(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake hanging requests and close connections. Idempotent."""
        if self._server is None:
            return
        self.engine.stop()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT of the running server."""
        if self._server is None:
            raise RuntimeError("the fake server is not running; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The URL a client should be configured with (subclasses may add a path)."""
        return self.root_url

    # --- scripting and counters (delegated to the rule engine) -----------------------------

    @property
    def rule(self) -> Rule:
        """The function deciding each reply."""
        return self.engine.rule

    @rule.setter
    def rule(self, rule: Rule) -> None:
        self.engine.rule = rule

    @property
    def latency_s(self) -> Latency:
        """Delay before every reply: seconds, or a function of the request."""
        return self.engine.latency_s

    @latency_s.setter
    def latency_s(self, latency: Latency) -> None:
        self.engine.latency_s = latency

    @property
    def requests_total(self) -> int:
        """HTTP requests received."""
        return self.engine.requests_total

    @property
    def path_counts(self) -> dict[str, int]:
        """HTTP requests received per path."""
        return self.engine.path_counts

    @property
    def requests(self) -> list[FakeRequest]:
        """Parsed model requests, in arrival order."""
        return self.engine.requests

    def reset(self) -> None:
        """Forget counters and seen bodies."""
        self.engine.reset()
