"""The spans table: X-Ray documents (what workers send to golive dev's daemon address, and the segments the local
cloud makes for the gateway and each invocation), batched into DuckDB and flattened there, one row per span.

The callbacks only append (bytes as received, dicts as built). A background thread writes each batch: the local
cloud's own segments without nested subsegments (nearly all of them) as columns of their fields' text, taken from
the dicts column by column, the rest (datagrams, a cold start's segment with its Initialization) as one NDJSON file
beside the store whose documents one INSERT ... SELECT parses and unfolds in DuckDB (a recursive query). Both
statements make a row with the same expressions, off the event loop, as the collector does for lines."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from collections.abc import Callable
from operator import methodcaller
from typing import Any

from golive.telemetry.store import Store
from golive.telemetry.values import jsonable
from golive.telemetry.writer import BatchWriter

try:
    from orjson import dumps as _orjson_dumps
except ImportError:  # an install without the cli extra: the standard library's encoder
    def _orjson_dumps(value: Any, default: Any = None) -> bytes:  # type: ignore[misc]
        return _encode(value).encode()

# A batch costs a fixed ~15 ms of DuckDB work whatever its size, and nothing waits for spans the way `golive logs
# --tail` waits for requests (readers of spans flush first): a batch a second at most, larger ones under load.
FLUSH_INTERVAL_S = 1.0
BUSY_SHARE = 0.02  # the writer works at most this share of the time ...
MAX_INTERVAL_S = 5.0  # ... and waits at most this long between batches
MAX_DEPTH = 32  # nested subsegments deeper than this are not unfolded (X-Ray documents are shallow)

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False, default=str).encode

# The fields of a span read in one JSON parse per node (json_extract_string with a list of paths)
_PATHS = ["$.id", "$.parent_id", "$.trace_id", "$.name", "$.type", "$.origin", "$.namespace", "$.start_time",
          "$.end_time", "$.http.response.status", "$.error", "$.fault", "$.throttle", "$.in_progress",
          "$.cause.exceptions[0].type", "$.cause.exceptions[0].message", "$.aws.operation", "$.aws.table_name",
          "$.annotations.table_name", "$.annotations.table", "$.http.request.url"]
_V = {path: index for index, path in enumerate(_PATHS, start=1)}


def _v(path: str) -> str:
    return f"v[{_V[path]}]"


def _c(path: str) -> str:
    return f"c{_V[path]}::VARCHAR"  # a column of the local cloud's segments (all NULL: DuckDB's NULL type)


_EPOCH_US = "make_timestamp((TRY_CAST({} AS DOUBLE) * 1000000)::BIGINT)"
_FLAG = "coalesce(TRY_CAST({} AS BOOLEAN), FALSE)"


def _insert_sql(tree: str, v: Any, annotations: str, metadata: str, document: str) -> str:
    """INSERT INTO spans from `tree`'s rows: a node's fields (`v(path)`: its text, as json_extract_string gives it),
    its parent, trace and depth."""
    return rf"""INSERT INTO spans
WITH RECURSIVE {tree},
spans AS (
    SELECT *, CASE WHEN depth > 0 OR {v("$.type")} = 'subsegment' THEN 'subsegment'
                   WHEN {v("$.origin")} = 'AWS::ApiGateway::Stage' THEN 'gateway'
                   WHEN {v("$.origin")} = 'AWS::Lambda::Function' THEN 'function'
                   ELSE 'segment' END AS kind
    FROM fields
    WHERE {v("$.id")} IS NOT NULL AND TRY_CAST({v("$.start_time")} AS DOUBLE) IS NOT NULL
        AND NOT {_FLAG.format(v("$.in_progress"))})  -- an in-progress document is sent again once complete
SELECT {_EPOCH_US.format(v("$.start_time"))}, coalesce(trace, {v("$.trace_id")}), {v("$.id")},
    CASE WHEN depth > 0 THEN parent ELSE {v("$.parent_id")} END, {v("$.name")}, kind,
    CASE WHEN kind <> 'subsegment' THEN {v("$.origin")} END, {v("$.namespace")},
    {_EPOCH_US.format(v("$.end_time"))},
    round((TRY_CAST({v("$.end_time")} AS DOUBLE) - TRY_CAST({v("$.start_time")} AS DOUBLE)) * 1000, 3),
    TRY_CAST({v("$.http.response.status")} AS SMALLINT),
    {_FLAG.format(v("$.error"))}, {_FLAG.format(v("$.fault"))}, {_FLAG.format(v("$.throttle"))},
    nullif(concat_ws(': ', {v("$.cause.exceptions[0].type")}, {v("$.cause.exceptions[0].message")}), ''),
    -- X-Ray SDKs name an AWS call's service and put the operation in aws.operation; golive's tracer may name
    -- the call 'DynamoDB.GetItem' instead
    coalesce({v("$.aws.operation")}, CASE WHEN {v("$.namespace")} = 'aws' AND contains({v("$.name")}, '.')
                                          THEN split_part({v("$.name")}, '.', 2) END),
    coalesce({v("$.aws.table_name")}, {v("$.annotations.table_name")}, {v("$.annotations.table")}),
    {v("$.http.request.url")}, {annotations}, {metadata}, {document}
FROM spans"""


# One document per line; a line that is not a JSON object (a stray datagram) is skipped. Top-level documents carry
# their trace id and parent; a nested subsegment takes its trace from the document and its parent from the node
# it is nested in.
SPANS_SQL = _insert_sql(rf"""lines AS (
    SELECT unnest(string_split(content, chr(10))) AS line FROM read_text(?)),
documents AS (
    SELECT line::JSON AS node FROM lines WHERE starts_with(line, '{{') AND json_valid(line)
        AND json_type(line) = 'OBJECT'),
tree(node, parent, trace, depth) AS (
    SELECT node, node->>'$.parent_id', node->>'$.trace_id', 0 FROM documents
    UNION ALL
    SELECT unnest(from_json(node->'$.subsegments', '["JSON"]')), node->>'$.id', trace, depth + 1
    FROM tree WHERE depth < {MAX_DEPTH} AND json_type(node, '$.subsegments') = 'ARRAY'),
fields AS (
    SELECT node, parent, trace, depth, json_extract_string(node, {_PATHS!r}) AS v FROM tree)""",
                        _v, "(node->'$.annotations')::VARCHAR", "(node->'$.metadata')::VARCHAR",
                        """json_merge_patch(node, '{"subsegments": null}')::VARCHAR""")

# The local cloud's own segments (dicts without nested subsegments) skip JSON: their fields arrive as columns of
# text, taken from the dicts in Python, and the same expressions make the rows (parsing JSON in DuckDB cost ~20 us
# per document, most of the writer's time).
SEGMENTS = "golive_segments_batch"
SEGMENTS_SQL = _insert_sql(f"""fields AS (
    SELECT *, NULL::VARCHAR AS parent, NULL::VARCHAR AS trace, 0 AS depth FROM {SEGMENTS})""",
                           _c, "annotations::VARCHAR", "metadata::VARCHAR", "document::VARCHAR")
_TOP = ["$.id", "$.parent_id", "$.trace_id", "$.name", "$.type", "$.origin", "$.namespace", "$.start_time",
        "$.end_time", "$.error", "$.fault", "$.throttle", "$.in_progress"]  # the paths one key deep


def _text(value: Any) -> str | None:
    """A value as json_extract_string gives it: a string itself, anything else its JSON text, null NULL."""
    if value is None or value.__class__ is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value.__class__ is float or value.__class__ is int:
        return repr(value)  # what the JSON encoder writes for a number, without its ~1 us per call
    return _encode(value)


def _fast_encode(value: Any) -> str:
    """JSON text as _encode writes it, by orjson (~0.5 us for a segment where json takes ~7 us); json for what
    orjson refuses (integers beyond 64 bits, keys that are not strings) and for NaN (orjson writes null)."""
    try:
        text = _orjson_dumps(value, default=str).decode()
    except TypeError:
        return _encode(value)
    return _encode(value) if "null" in text and _has_nan(value) else text


def _has_nan(value: Any) -> bool:
    if value.__class__ is float:
        return value - value != 0
    if value.__class__ is dict:
        return any(_has_nan(item) for item in value.values())
    if value.__class__ is list or value.__class__ is tuple:
        return any(_has_nan(item) for item in value)
    return False


_PLAIN = {str, type(None)}  # values that are their own text
_NUMBERS = {float, int, type(None)}  # repr(): what the JSON encoder writes for a number
_FLOAT = {float}
_FLAGS = {bool, type(None)}
_FLAG_TEXT = {True: "true", False: "false", None: None}


def _texts(values: list[Any]) -> Any:
    """A column of values as json_extract_string gives them; a column of one kind is converted in C."""
    import numpy as np  # CLI side only (golive dev), as the collector's columns

    kinds = set(map(type, values))
    if kinds <= _PLAIN:
        return np.array(values, dtype=object)
    if kinds <= _FLAGS:
        return np.array(list(map(_FLAG_TEXT.__getitem__, values)), dtype=object)
    if kinds == _FLOAT:
        return np.array(list(map(repr, values)), dtype=object)
    if kinds <= _NUMBERS:
        return np.array([None if value is None else repr(value) for value in values], dtype=object)
    return np.array(list(map(_text, values)), dtype=object)


def _children(parents: list[Any], key: str) -> list[Any]:
    """Each parent's `key` (None where the parent is not an object)."""
    if parents.count(None) == len(parents):
        return parents
    return [parent.get(key) if parent.__class__ is dict else None for parent in parents]


def _first_exceptions(causes: list[Any]) -> list[Any]:
    if causes.count(None) == len(causes):
        return causes
    found = []
    for exceptions in _children(causes, "exceptions"):
        found.append(exceptions[0] if exceptions.__class__ is list and exceptions else None)
    return found


def _finite(value: Any) -> bool:
    # NaN or infinity would be valid text for TRY_CAST but not a timestamp; such a document takes the JSON path
    return value.__class__ is not float or value - value == 0


def segment_columns(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Documents without nested subsegments as the columns SEGMENTS_SQL reads: each path's text (c1, c2, ... in
    _PATHS order), the annotations, metadata and document as JSON text. Column by column, the per-value work in C:
    a batch is thousands of documents."""
    import numpy as np

    count = len(documents)
    present = set().union(*map(dict.keys, documents))  # most paths are in none of a batch's documents

    def field(key: str) -> list[Any]:
        return list(map(methodcaller("get", key), documents)) if key in present else [None] * count

    columns = {f"c{_V[path]}": _texts(field(path[2:])) for path in _TOP}
    http = field("http")
    columns[f"c{_V['$.http.response.status']}"] = _texts(_children(_children(http, "response"), "status"))
    columns[f"c{_V['$.http.request.url']}"] = _texts(_children(_children(http, "request"), "url"))
    first = _first_exceptions(field("cause"))
    columns[f"c{_V['$.cause.exceptions[0].type']}"] = _texts(_children(first, "type"))
    columns[f"c{_V['$.cause.exceptions[0].message']}"] = _texts(_children(first, "message"))
    aws = field("aws")
    columns[f"c{_V['$.aws.operation']}"] = _texts(_children(aws, "operation"))
    columns[f"c{_V['$.aws.table_name']}"] = _texts(_children(aws, "table_name"))
    annotations = field("annotations")
    columns[f"c{_V['$.annotations.table_name']}"] = _texts(_children(annotations, "table_name"))
    columns[f"c{_V['$.annotations.table']}"] = _texts(_children(annotations, "table"))
    columns["annotations"] = np.array([None if node is None else _fast_encode(node) for node in annotations],
                                      dtype=object)
    columns["metadata"] = np.array([None if node is None else _fast_encode(node) for node in field("metadata")],
                                   dtype=object)
    columns["document"] = np.array(list(map(_fast_encode, documents)), dtype=object)
    return columns


class Spans(BatchWriter):
    """Buffers trace documents and writes them to `store`'s spans table from a background thread; the local cloud's
    SpanSink (golive.local.xray)."""

    def __init__(self, store: Store, *, flush_interval: float = FLUSH_INTERVAL_S) -> None:
        super().__init__(flush_interval, BUSY_SHARE, MAX_INTERVAL_S)
        self.store = store
        self._datagrams: list[bytes] = []
        self._parts: list[tuple[Callable[..., dict[str, Any]], tuple[Any, ...]]] = []
        self._lock = threading.Lock()
        self._cursor: Any = None
        self.rows_written = 0

    # -- the hot path: appends only (list.append is atomic) ---------------------------------------------------
    def on_datagram(self, body: bytes) -> None:
        self._datagrams.append(body)

    def on_segment(self, build: Callable[..., dict[str, Any]], *args: Any) -> None:
        # the gateway's and functions' segments: built by the writer thread, the event loop only keeps the parts
        self._parts.append((build, args))

    # -- the background thread (BatchWriter) --------------------------------------------------------------------
    thread_name = "golive-spans"
    failure = "span write failed"

    def close(self) -> None:
        """Store what is still buffered, then stop."""
        self.stop()
        self.flush()

    def flush(self) -> int:
        """Store what arrived; returns the spans written."""
        with self._lock:
            datagrams, self._datagrams = self._datagrams, []
            parts, self._parts = self._parts, []
            if not (datagrams or parts):
                return 0
            segments: list[dict[str, Any]] = []
            for build, args in parts:
                try:
                    segments.append(build(*args))
                except Exception as exc:  # one segment that cannot be built never costs the batch
                    print(f"golive dev: segment failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            if self._cursor is None:
                self._cursor = self.store.cursor()
            flat: list[dict[str, Any]] = []  # the usual: read as columns
            nested: list[dict[str, Any]] = []  # with subsegments (a cold start's Initialization): as JSON
            for document in segments:
                if "subsegments" in document or not (_finite(document.get("start_time"))
                                                     and _finite(document.get("end_time"))):
                    nested.append(document)
                else:
                    flat.append(document)
            written = 0
            if flat:
                self._cursor.register(SEGMENTS, segment_columns(flat))
                try:
                    written += self.store.run(SEGMENTS_SQL, [], self._cursor)
                finally:
                    self._cursor.unregister(SEGMENTS)  # the arrays go with the batch
            # one document per line: a raw newline in a document can only be whitespace between JSON tokens
            lines = [_encode(document) for document in nested]
            lines += [body.replace(b"\n", b" ").decode("utf-8", "replace") for body in datagrams]
            if lines:
                with self.store.staged(lines) as path:
                    written += self.store.run(SPANS_SQL, [path], self._cursor)
            self.rows_written += written
            return written


def request_spans(cur: Any, trace_id: str, request_id: str | None, started: str,
                  window: tuple[int, int]) -> list[dict[str, Any]]:
    """The spans of one request's trace as a timeline: depth-first by start time, each with its depth and its
    offset from the request's start (`started`, ISO). When a client reused one trace id for several requests,
    only the spans beneath this request's gateway segment."""
    rows = cur.execute(
        """SELECT id, parent_id, name, kind, origin, namespace, ts AS start, end_ts AS "end", duration_ms,
                  status, error, fault, throttle, exception, operation, table_name, url, annotations, metadata,
                  document->>'$.aws.api_gateway.request_id' AS gateway_request_id,
                  epoch_us(ts) AS start_us
           FROM spans WHERE ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) AND trace_id = ?
           ORDER BY ts, id""", [*window, trace_id]).fetchall()
    names = [column[0] for column in cur.description]
    spans = [dict(zip(names, row, strict=True)) for row in rows]
    gateways = [span for span in spans if span["kind"] == "gateway"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {span["id"] for span in spans}
    for span in spans:
        parent = span["parent_id"] if span["parent_id"] in ids else None
        children.setdefault(parent, []).append(span)
    roots = children.get(None, [])
    if len(gateways) > 1:
        roots = [span for span in gateways if span["gateway_request_id"] == request_id]
    # the request starts when the gateway received it: its segment's start (the requests row keeps milliseconds)
    origin_us = min((span["start_us"] for span in roots), default=None)
    if origin_us is None:
        origin_us = dt.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() * 1_000_000
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(span: dict[str, Any], depth: int) -> None:
        if span["id"] in seen:  # a document sent twice, or a cycle: shown once
            return
        seen.add(span["id"])
        ordered.append(_span_record(span, depth, origin_us))
        for child in children.get(span["id"], []):
            visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    return ordered


def _span_record(span: dict[str, Any], depth: int, origin_us: float) -> dict[str, Any]:
    record = {key: jsonable(value) for key, value in span.items()
              if key not in ("gateway_request_id", "start_us", "annotations", "metadata")}
    record["depth"] = depth
    record["offset_ms"] = round((span["start_us"] - origin_us) / 1000, 3)
    for key in ("annotations", "metadata"):
        try:
            record[key] = json.loads(span[key]) if span[key] else {}
        except ValueError:
            record[key] = {}
    return record
