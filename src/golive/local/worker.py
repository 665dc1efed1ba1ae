"""golive's Lambda runtime client: the bootstrap each local execution environment runs (stdlib only, fast start).

Run as a script (`python worker.py`), never imported by golive: it speaks the Lambda Runtime API at
AWS_LAMBDA_RUNTIME_API exactly as AWS's own client (awslambdaric) does, so a handler sees the same event, context,
environment and error reports it would see on Lambda.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

_API = "/2018-06-01/runtime"
_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"


class RuntimeClient:
    """A minimal keep-alive HTTP/1.1 client for the Runtime API (one socket, Content-Length bodies)."""

    def __init__(self, address: str, unix_name: str = "") -> None:
        host, _, port = address.rpartition(":")
        self.host = host
        self.address = (host, int(port))
        self.unix_name = unix_name  # golive's local cloud also serves the Runtime API on this abstract Unix socket
        self.sock: socket.socket | None = None
        self.buffer = b""
        self._chunk = memoryview(bytearray(65536))

    def request(self, method: str, path: str, body: bytes = b"",
                headers: tuple[tuple[str, str], ...] = ()) -> tuple[int, dict[str, str], bytes]:
        for attempt in (0, 1):
            try:
                return self._exchange(method, path, body, headers)
            except (ConnectionError, OSError):
                self.close()
                if attempt or method == "GET":  # a broken /next means the environment is gone: stop
                    raise
        raise ConnectionError("unreachable")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buffer = b""

    def respond_and_next(self, path: str, body: bytes,
                         headers: tuple[tuple[str, str], ...]) -> tuple[int, dict[str, str], bytes]:
        """POST a result and ask for the next invocation in the same write (HTTP/1.1 pipelining): one write and one
        wake-up per invocation; returns the next invocation. The Runtime API may answer both at once."""
        try:
            if self.sock is None:
                self._connect()
            assert self.sock is not None
            self.sock.sendall(self._head("POST", path, body, headers) + body + self._head("GET", "/invocation/next"))
            self._read_response()  # the 202 (or 400/403/413): the invocation is over either way
        except (ConnectionError, OSError):  # as request() does: one more try on a fresh connection, unpipelined
            self.close()
            self.request("POST", path, body, headers)
            return self.request("GET", "/invocation/next")
        return self._read_response()

    def _connect(self) -> None:
        if self.unix_name:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect("\0" + self.unix_name)
                self.sock = sock
                return
            except OSError:
                sock.close()
                self.unix_name = ""  # gone: the TCP address still answers
        self.sock = socket.create_connection(self.address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _head(self, method: str, path: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> bytes:
        head = f"{method} {_API}{path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n"
        return head.encode("latin-1") + b"\r\n"

    def _exchange(self, method: str, path: str, body: bytes,
                  headers: tuple[tuple[str, str], ...]) -> tuple[int, dict[str, str], bytes]:
        if self.sock is None:
            self._connect()
        assert self.sock is not None
        self.sock.sendall(self._head(method, path, body, headers) + body)
        return self._read_response()

    def _read_response(self) -> tuple[int, dict[str, str], bytes]:
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv()
        lines = buffer[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        response_headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        length = int(response_headers.get("content-length", "0"))
        start = end + 4
        if len(buffer) >= start + length:
            self.buffer = buffer[start + length:]
            return status, response_headers, buffer[start:start + length]
        body = bytearray(length)  # a large event: read the rest straight into place, not chunk by chunk
        view = memoryview(body)
        have = len(buffer) - start
        view[:have] = buffer[start:]
        while have < length:
            received = self.sock.recv_into(view[have:]) if self.sock is not None else 0
            if not received:
                raise ConnectionError("Runtime API closed the connection")
            have += received
        self.buffer = b""
        return status, response_headers, bytes(body)

    def _recv(self) -> bytes:
        # One reused 64 KiB buffer: a fresh 256 KiB bytes per recv() cost an mmap, an mremap and a munmap (plus page
        # faults) on every invocation.
        assert self.sock is not None
        received = self.sock.recv_into(self._chunk)
        if not received:
            raise ConnectionError("Runtime API closed the connection")
        return self._chunk[:received].tobytes()


class _Fault(Exception):
    """An init failure Lambda reports with its own error type (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class _Record:
    """An attribute bag built from a JSON object (context.client_context, context.identity)."""

    def __init__(self, values: dict | None = None) -> None:
        for key, value in (values or {}).items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({vars(self)!r})"


class LambdaContext:
    """The context object a Python handler receives on Lambda."""

    # Lambda sets these variables once per execution environment: read them once (configure()), not per
    # invocation; five os.environ look-ups were most of the context's cost.
    function_name: str | None = None
    function_version: str | None = None
    memory_limit_in_mb: str | None = None  # a string, as on Lambda
    log_group_name: str | None = None
    log_stream_name: str | None = None

    @classmethod
    def configure(cls) -> None:
        env = os.environ
        cls.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        cls.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        cls.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        cls.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        cls.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str, client_context: str | None,
                 cognito_identity: str | None) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.client_context = None
        if client_context:
            values = json.loads(client_context)
            self.client_context = _Record({**values, "client": _Record(values.get("client"))})
        self._cognito_identity = cognito_identity
        self._identity: _Record | None = None
        self._deadline_ms = deadline_ms

    @property
    def identity(self) -> _Record:
        """cognito_identity_id and cognito_identity_pool_id (None unless the caller sent a Cognito identity)."""
        if self._identity is None:
            identity = json.loads(self._cognito_identity) if self._cognito_identity else {}
            self._identity = _Record({"cognito_identity_id": identity.get("cognitoIdentityId"),
                                      "cognito_identity_pool_id": identity.get("cognitoIdentityPoolId")})
        return self._identity

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()


def load_handler(spec: str) -> object:
    """Import module.attribute the way Lambda's Python runtime does, with its error types."""
    import importlib

    try:
        module_name, attribute = spec.rsplit(".", 1)
    except ValueError as exc:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _Fault("Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise _Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace) from None
    handler = getattr(module, attribute, None)
    if handler is None:
        raise _Fault("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'")
    return handler


def error_result(exc: BaseException, request_id: str = "") -> dict:
    """The error document Lambda's Python runtime posts: errorMessage, errorType, requestId, stackTrace."""
    import traceback

    if isinstance(exc, _Fault):
        return {"errorMessage": exc.message, "errorType": exc.error_type, "requestId": request_id,
                "stackTrace": exc.trace}
    every = traceback.extract_tb(exc.__traceback__)
    here = os.path.abspath(__file__)
    frames = [frame for frame in every if os.path.abspath(frame.filename) != here] or list(every)
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
            "stackTrace": traceback.format_list(frames)}


def log_error(result: dict) -> None:
    """Print the error the way Lambda's Python runtime does: one log event, lines joined by carriage returns."""
    lines = [f"[ERROR] {result['errorType']}: {result['errorMessage']}"]
    if result.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in result["stackTrace"]:
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")
    sys.stdout.flush()


def marshal(result: object) -> tuple[bytes, str]:
    """The handler's return value as the response body (JSON, or bytes as they are)."""
    if isinstance(result, bytes | bytearray):
        return bytes(result), "application/unknown"
    try:
        return json.dumps(result, default=_json_default, ensure_ascii=False).encode(), "application/json"
    except (TypeError, ValueError) as exc:
        raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def _json_default(value: object) -> object:
    import decimal

    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _LambdaLogFilter:
    """Adds the current request id to log records, as Lambda's runtime does for its log format."""

    request_id = ""

    def filter(self, record: object) -> bool:
        record.aws_request_id = self.request_id  # type: ignore[attr-defined]
        return True


def _configure_logging(log_filter: _LambdaLogFilter) -> None:
    """Give the root logger Lambda's text format, as Lambda's runtime does before importing the handler."""
    import logging

    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(log_filter)  # type: ignore[arg-type]
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when the service that started it dies (no orphaned environment)."""
    parent = os.environ.pop("_GOLIVE_PARENT_PID", None)  # not part of the function's Lambda environment
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # prctl(PR_SET_PDEATHSIG, SIGKILL)
    except (OSError, AttributeError):
        return
    if parent and os.getppid() != int(parent):  # the parent died before the request above took effect
        os._exit(1)


def _prepare_process() -> tuple[str, str, str]:
    """Fix sys.path and cwd like Lambda (task root first, our own folder gone); returns api, handler, root."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, root)
    os.chdir(root)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    handler = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "")
    return os.environ["AWS_LAMBDA_RUNTIME_API"], handler, root


def _runtime_socket() -> str:
    """The abstract Unix socket golive's local cloud serves the Runtime API on (not part of Lambda's environment)."""
    return os.environ.pop("_GOLIVE_RUNTIME_SOCKET", "")


def main() -> None:
    _die_with_parent()
    api, spec, _root = _prepare_process()
    client = RuntimeClient(api, _runtime_socket())
    LambdaContext.configure()
    log_filter = _LambdaLogFilter()
    _configure_logging(log_filter)  # ~4 ms of cold start; handlers rely on logging.info() reaching the log
    try:
        handler = load_handler(spec)
    except Exception as exc:
        result = error_result(exc)
        log_error(result)
        client.request("POST", "/init/error", json.dumps(result).encode(), ((_ERROR_TYPE, result["errorType"]),))
        sys.exit(1)
    environ = os.environ
    following: tuple[int, dict[str, str], bytes] | None = None  # the next invocation, read with the last response
    while True:
        if following is None:
            following = client.request("GET", "/invocation/next")
        _status, headers, body = following
        following = None
        request_id = headers["lambda-runtime-aws-request-id"]
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            environ.pop("_X_AMZN_TRACE_ID", None)
        log_filter.request_id = request_id
        try:
            context = LambdaContext(request_id, int(headers.get("lambda-runtime-deadline-ms", "0")),
                                    headers.get("lambda-runtime-invoked-function-arn", ""),
                                    headers.get("lambda-runtime-client-context"),
                                    headers.get("lambda-runtime-cognito-identity"))
            try:
                event = json.loads(body) if body else None
            except ValueError as exc:
                raise _Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
            payload, content_type = marshal(handler(event, context))  # type: ignore[operator]
        except Exception as exc:
            result = error_result(exc, request_id)
            log_error(result)
            sys.stderr.flush()
            client.request("POST", f"/invocation/{request_id}/error", json.dumps(result).encode(),
                           ((_ERROR_TYPE, result["errorType"]), ("Content-Type", "application/json")))
            continue
        # flush before answering, so every line the handler printed is read before the invocation ends
        sys.stdout.flush()
        sys.stderr.flush()
        following = client.respond_and_next(f"/invocation/{request_id}/response", payload,
                                            (("Content-Type", content_type),))


if __name__ == "__main__":
    try:
        main()
    except (ConnectionError, KeyboardInterrupt):
        sys.exit(1)  # the Runtime API went away: the environment is being shut down
