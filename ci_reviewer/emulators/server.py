"""The HTTP plumbing both emulators share: a threaded server on 127.0.0.1 with an ephemeral
port, request recording, and fault injection (status faults, hangs, dropped connections,
fixed latency) with a count of the peak number of calls in flight.

An emulator subclasses `EmulatorServer` and implements `handle(request) -> Response`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The emulators running in this process, and callbacks told of each one that starts: observers
# such as the test suite's secret-leak scan read what every emulator received.
RUNNING: list[EmulatorServer] = []
START_OBSERVERS: list[Callable[[EmulatorServer], None]] = []


@dataclass(frozen=True)
class Request:
    """One HTTP request as the emulator received it."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """What a route answers: a status, headers and a body (dict/list -> JSON; an iterator of
    bytes is streamed with chunked transfer encoding as it is produced: grouped into ~64 KB
    chunks, or with `each_part` one chunk a part, sent as soon as it is produced, as
    server-sent events are)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    each_part: bool = False

    @property
    def streamed(self) -> bool:
        return isinstance(self.body, Iterator)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if self.streamed:
            return b"".join(self.body)
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        self.headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return json.dumps(self.body).encode()


@dataclass
class Fault:
    """An injected fault for the next `times` calls whose path matches `route` (a regex).

    kind: "status" answers `status` with `body` and `retry-after`; "hang" sleeps `seconds`
    before answering normally; "drop" closes the connection without an answer; "after" lets
    the route do its work (a write lands) and then answers `status` instead of the route's
    answer, or, with `then="drop"`, closes the connection: GitHub's "did it or did it not?".
    `headers` go with a status answer; `answer` (GitHub emulator) names one of GitHub's real
    answers to give (data/github_answers.json), with `status` in place of its own.
    """

    route: str
    kind: str = "status"
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    seconds: float = 0.0
    body: Any = None
    method: str | None = None
    then: str = "status"  # for kind "after": "status" or "drop"
    headers: dict[str, str] = field(default_factory=dict)
    answer: str | None = None


class EmulatorServer:
    """Base class: runs `handle` for each request on a background thread pool."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.faults: list[Fault] = []
        self.latency = 0.0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.log: list[Request] = []

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("emulator not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmulatorServer:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer((self._host, self._port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        RUNNING.append(self)
        for observer in list(START_OBSERVERS):
            observer(self)
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self in RUNNING:
            RUNNING.remove(self)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault injection ---------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        """Queue a fault; faults are consumed in the order they were injected."""
        with self._lock:
            self.faults.append(fault)

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method and fault.method != request.method:
                    continue
                if re.search(fault.route, request.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # -- to implement --------------------------------------------------------------------
    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def delay(self, request: Request) -> float:
        """Seconds to wait before answering `request` (faults included): `latency`; an
        emulator whose route paces its own answer returns 0 for it."""
        return self.latency

    def fault_response(self, fault: Fault) -> Response:
        """The body an injected status fault answers with; emulators override the shape."""
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        return Response(fault.status, fault.body or {"message": "injected fault"}, headers)


def _make_handler(server: EmulatorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Small JSON answers would otherwise wait ~40 ms for Nagle + delayed ACK per call.
        disable_nagle_algorithm = True

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionResetError, BrokenPipeError):
                # The client closed its connection while we waited for its next request
                # (the SDK closes a stream it stops reading, such as one ended by an error).
                return

        def log_message(self, format: str, *args: Any) -> None:
            # The emulators are quiet: tests read `server.log`, not stderr.
            return

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            with server._lock:
                server.log.append(request)
                server.in_flight += 1
                server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
            try:
                delay = server.delay(request)
                if delay:
                    time.sleep(delay)
                fault = server._take_fault(request)
                if fault is not None and fault.kind == "drop":
                    self._drop()
                    return
                if fault is not None and fault.kind == "hang":
                    time.sleep(fault.seconds)
                    fault = None
                if fault is not None and fault.kind == "after":
                    _complete(server.handle(request))
                    if fault.then == "drop":
                        self._drop()
                        return
                    response = server.fault_response(fault)
                elif fault is not None:
                    response = server.fault_response(fault)
                else:
                    response = server.handle(request)
                self._send(response)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _drop(self) -> None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def _send(self, response: Response) -> None:
            if response.streamed and self.command != "HEAD":
                self._send_chunked(response)
                return
            payload = response.encode()
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (its timeout fired during an injected hang).
                    return

        def _send_chunked(self, response: Response) -> None:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                parts = response.body if response.each_part else _coalesced(response.body)
                for chunk in parts:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return  # the client stopped reading

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    return Handler


_STREAM_CHUNK = 1 << 16


def _complete(response: Response) -> None:
    """Run a route's answer to its end (a streamed body produces as it is read) and drop it."""
    if response.streamed:
        for _ in response.body:
            pass


def _coalesced(parts: Iterator[bytes]) -> Iterator[bytes]:
    """Small pieces (a JSONL line each) grouped into ~64 KB chunks: one send per chunk."""
    pending: list[bytes] = []
    size = 0
    for part in parts:
        pending.append(part)
        size += len(part)
        if size >= _STREAM_CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    if size:
        yield b"".join(pending)
