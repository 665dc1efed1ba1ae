"""The telemetry event model: the tables, their columns and what each column means (the documented schema).

Used by the store (DDL), the collector (row order) and `golive query` users (docs/telemetry.md renders TABLES).
Plain data only: importing this module costs nothing."""

from __future__ import annotations

from pathlib import Path

STATE_DIR = ".golive"  # under the service directory, beside the local tables
STORE_FILE = "telemetry.duckdb"
DEV_STATE_FILE = "dev.json"  # written by golive dev while it runs: its URL and pid
DEFAULT_MAX_BYTES = 1024 ** 3  # 1 GiB: above this the oldest requests and their lines are pruned
DEFAULT_MAX_AGE_S = 7 * 24 * 3600  # 7 days
API_PREFIX = "/_golive/api/"  # the dev server's telemetry API; never a service route, never deployed

DECIDED_BY = ("gateway", "function")
SCHEMA_VERSION = 5  # bumped when a column changes; a store of another version is moved aside, not migrated

# table -> [(column, DuckDB type, meaning)]; the collector builds rows in this order
TABLES: dict[str, list[tuple[str, str, str]]] = {
    "requests": [
        ("ts", "TIMESTAMP", "when API Gateway received the request (UTC, $context.requestTimeEpoch)"),
        ("request_id", "VARCHAR", "API Gateway's request id ($context.requestId, x-amzn-RequestId / Apigw-Requestid)"),
        ("request_key", "UINTEGER", "CRC-32 of request_id: 4 bytes the drill-down scans instead of the strings"),
        ("extended_request_id", "VARCHAR", "$context.extendedRequestId (x-amz-apigw-id)"),
        ("lambda_request_id", "UUID", "the Lambda request id of the integration ($context.integrationRequestId)"),
        ("lambda_key", "UINTEGER", "CRC-32 of lambda_request_id: what a drill-down by Lambda request id scans"),
        ("trace_id", "VARCHAR", "the X-Ray trace id (1-xxxxxxxx-...)"),
        ("correlation_id", "VARCHAR", "golive's correlation id from the function's log lines (X-Request-ID ...); NULL "
                                      "when it is request_id, golive's default"),
        ("stage", "VARCHAR", "the API stage"),
        ("route", "VARCHAR", "the route key, 'GET /users/{id}'; NULL when no route matched"),
        ("method", "VARCHAR", "the HTTP method"),
        ("path", "VARCHAR", "the request path"),
        ("status", "SMALLINT", "the status the client received"),
        ("decided_by", "VARCHAR", "'gateway' when API Gateway answered itself, 'function' when the function did"),
        ("error_type", "VARCHAR", "API Gateway's error.responseType: UNAUTHORIZED, THROTTLED, INTEGRATION_FAILURE..."),
        ("error_message", "VARCHAR", "API Gateway's error.message or integrationErrorMessage"),
        ("latency_ms", "INTEGER", "$context.responseLatency: the whole request as the client saw it"),
        ("integration_latency_ms", "INTEGER", "$context.integrationLatency: the Lambda invocation"),
        ("authorizer_latency_ms", "INTEGER", "$context.authorizer.latency"),
        ("authorizer_error", "VARCHAR", "$context.authorizer.error"),
        ("principal", "VARCHAR", "$context.authorizer.principalId"),
        ("function", "VARCHAR", "the golive.toml function that served the route"),
        ("cold_start", "BOOLEAN", "the invocation started a new execution environment (REPORT has Init Duration)"),
        ("init_ms", "DOUBLE", "REPORT Init Duration"),
        ("duration_ms", "DOUBLE", "REPORT Duration"),
        ("billed_ms", "INTEGER", "REPORT Billed Duration"),
        ("max_memory_mb", "SMALLINT", "REPORT Max Memory Used"),
        ("response_bytes", "INTEGER", "$context.responseLength"),
        ("source_ip", "VARCHAR", "$context.identity.sourceIp"),
        ("user_agent", "VARCHAR", "$context.identity.userAgent"),
        ("ended_at", "TIMESTAMP", "when the invocation's END and REPORT lines were written, when the row holds them "
                                  "(the logs view shows them from here); NULL when they are stored in log_lines"),
        ("memory_mb", "SMALLINT", "REPORT Memory Size, when the row holds the invocation's lines"),
    ],
    "log_lines": [
        ("ts", "TIMESTAMP", "when the line was written"),
        ("function", "VARCHAR", "the golive.toml function"),
        ("lambda_request_id", "UUID", "the invocation the line belongs to (NULL outside one: init, idle)"),
        ("stream", "VARCHAR", "stdout, stderr or platform (START / END / REPORT and Lambda's own lines)"),
        ("kind", "VARCHAR", "platform, json (a structured log record), emf (a metrics document) or text"),
        ("level", "VARCHAR", "the record's level (DEBUG, INFO, WARN, ERROR...); ERROR for tracebacks on text lines"),
        ("message", "VARCHAR", "the record's message, or the line itself"),
        ("error_type", "VARCHAR", "the exception's type, from a record's error / exception fields or a traceback"),
        ("error_message", "VARCHAR", "the exception's message"),
        ("error_stack", "VARCHAR", "the full stack trace, as text"),
        ("error_frames", "VARCHAR", "the innermost frames normalised (file:function, no line numbers) for grouping"),
        ("line", "VARCHAR", "the line as written: query JSON fields with line->>'$.field'"),
    ],
    "spans": [
        ("ts", "TIMESTAMP", "when the segment or subsegment started (start_time)"),
        ("trace_id", "VARCHAR", "the X-Ray trace id (1-xxxxxxxx-...): requests.trace_id"),
        ("id", "VARCHAR", "the segment's or subsegment's id (16 hex digits)"),
        ("parent_id", "VARCHAR", "the id of the segment or subsegment it ran in; NULL for the request's first"),
        ("name", "VARCHAR", "the segment's name: 'service/stage', the function, 'dynamodb', '## handler'..."),
        ("kind", "VARCHAR", "gateway (API Gateway's segment), function (Lambda's), subsegment, or segment (another "
                            "service's)"),
        ("origin", "VARCHAR", "X-Ray's origin: AWS::ApiGateway::Stage, AWS::Lambda::Function; NULL for subsegments"),
        ("namespace", "VARCHAR", "aws (an AWS SDK call), remote (another HTTP call), NULL for local work"),
        ("end_ts", "TIMESTAMP", "when it ended (end_time)"),
        ("duration_ms", "DOUBLE", "end_time - start_time"),
        ("status", "SMALLINT", "http.response.status"),
        ("error", "BOOLEAN", "X-Ray's error flag (a 4xx, a client error)"),
        ("fault", "BOOLEAN", "X-Ray's fault flag (a 5xx, a server error or an exception)"),
        ("throttle", "BOOLEAN", "X-Ray's throttle flag (429)"),
        ("exception", "VARCHAR", "the first of cause.exceptions: 'Type: message'"),
        ("operation", "VARCHAR", "aws.operation of an AWS call: GetItem, PutItem, Query..."),
        ("table_name", "VARCHAR", "aws.table_name of a DynamoDB call"),
        ("url", "VARCHAR", "http.request.url (the path, on the gateway's segment)"),
        ("annotations", "VARCHAR", "the annotations as a JSON object: annotations->>'$.route'"),
        ("metadata", "VARCHAR", "the metadata as a JSON object"),
        ("document", "VARCHAR", "the document as sent, without its nested subsegments (stored as rows of their own)"),
    ],
}

# Views, computed when read (their columns documented like the tables').
# metrics: EMF documents expanded as CloudWatch extracts them. Computed from the stored EMF lines when read rather
# than stored at ingest: the expansion was a fifth of the collector's cost per request, and few ask for it.
VIEW_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # logs: every line, the stored ones (log_lines) and the START, END and REPORT lines a request row holds
    "logs": TABLES["log_lines"],
    "metrics": [
        ("ts", "TIMESTAMP", "the EMF document's _aws.Timestamp"),
        ("function", "VARCHAR", "the function that wrote the document"),
        ("lambda_request_id", "UUID", "the invocation"),
        ("namespace", "VARCHAR", "CloudWatch namespace"),
        ("name", "VARCHAR", "metric name"),
        ("value", "DOUBLE", "one value (an array of values gives one row each)"),
        ("unit", "VARCHAR", "Milliseconds, Count..."),
        ("dimensions", "VARCHAR", "the dimension set as a JSON object, as CloudWatch extracts it"),
    ],
    "errors": [
        ("fingerprint", "VARCHAR", "md5 of exception type + normalised innermost frames + route, 12 hex digits"),
        ("error_type", "VARCHAR", "the exception's type"),
        ("last_message", "VARCHAR", "the latest occurrence's message"),
        ("route", "VARCHAR", "the route of the requests it failed"),
        ("count", "BIGINT", "occurrences"),
        ("first_seen", "TIMESTAMP", "the first occurrence"),
        ("last_seen", "TIMESTAMP", "the latest occurrence"),
        ("example_request_id", "VARCHAR", "the latest occurrence's API request id (or Lambda request id)"),
        ("example_stack", "VARCHAR", "the latest occurrence's stack trace"),
    ],
}

# A request row that holds its invocation's START, END and REPORT lines (the collector's, for a local request: a
# quarter of the rows and of the bytes it would store otherwise) gives them back as lines, written exactly as the
# local Lambda service wrote them: START when the invocation began (its end minus its duration), END when it ended,
# REPORT just after.
_REPORT_LINE = ("'REPORT RequestId: ' || lambda_request_id || chr(9) || 'Duration: ' || printf('%.2f', duration_ms) "
                "|| ' ms' || chr(9) || 'Billed Duration: ' || billed_ms || ' ms' || chr(9) || 'Memory Size: ' "
                "|| memory_mb || ' MB' || chr(9) || 'Max Memory Used: ' || max_memory_mb || ' MB' || chr(9) "
                "|| coalesce('Init Duration: ' || printf('%.2f', init_ms) || ' ms' || chr(9), '')")


def _held_line(ts: str, line: str) -> str:
    """One of the lines a request row holds, in the columns of log_lines (three branches of UNION ALL rather
    than an unnest: a filter on lambda_request_id or ts reaches the requests scan through plain projections)."""
    return (f"SELECT {ts} AS ts, function, lambda_request_id, 'platform' AS stream, 'platform' AS kind, "
            f"NULL::VARCHAR AS level, {line} AS message, NULL::VARCHAR AS error_type, NULL::VARCHAR AS error_message, "
            f"NULL::VARCHAR AS error_stack, NULL::VARCHAR AS error_frames, {line} AS line "
            f"FROM requests WHERE ended_at IS NOT NULL")


# errors: one row per fingerprint (exception type + normalised innermost frames + route), over logs joined to
# requests. A view, so it is always exactly what the logs say.
VIEWS = {
    "logs": f"""
        SELECT * FROM log_lines
        UNION ALL {_held_line("ended_at - to_microseconds(round(duration_ms * 1000)::BIGINT)",
                              "'START RequestId: ' || lambda_request_id || ' Version: $LATEST'")}
        UNION ALL {_held_line("ended_at", "'END RequestId: ' || lambda_request_id")}
        UNION ALL {_held_line("ended_at + INTERVAL 1 MICROSECOND", _REPORT_LINE)}""",
    "metrics": """
        WITH directives AS (
            SELECT ts, function, lambda_request_id, line, TRY_CAST(line->>'$._aws.Timestamp' AS DOUBLE) AS stamp,
                unnest(from_json(line->'$._aws.CloudWatchMetrics', '[{"Namespace": "VARCHAR",
                    "Dimensions": [["VARCHAR"]], "Metrics": [{"Name": "VARCHAR", "Unit": "VARCHAR"}]}]')) AS directive
            FROM logs WHERE kind = 'emf' AND CONDITION),
        metrics AS (
            SELECT ts, function, lambda_request_id, line, stamp, directive.Namespace AS namespace,
                unnest(directive.Metrics) AS metric, directive.Dimensions AS sets
            FROM directives),
        per_set AS (
            SELECT *, unnest(CASE WHEN coalesce(len(sets), 0) = 0 THEN [[]::VARCHAR[]] ELSE sets END)
                    AS dimension_set,
                json_extract(line, '$."' || metric.Name || '"') AS raw_value
            FROM metrics WHERE metric.Name IS NOT NULL)
        SELECT coalesce(make_timestamp((stamp * 1000)::BIGINT), ts) AS ts, function, lambda_request_id,
            namespace, metric.Name AS name,
            unnest(CASE WHEN json_type(raw_value) = 'ARRAY'
                        THEN TRY_CAST(from_json(raw_value, '["VARCHAR"]') AS DOUBLE[])
                        ELSE [TRY_CAST(raw_value::VARCHAR AS DOUBLE)] END) AS value,
            metric.Unit AS unit,
            to_json(map_from_entries(list_transform(dimension_set,
                lambda key: {'k': key, 'v': json_extract_string(line, '$."' || key || '"')})))::VARCHAR AS dimensions
        FROM per_set""",
    "errors": """
        SELECT md5(concat_ws('|', l.error_type, l.error_frames, r.route))[:12] AS fingerprint,
               any_value(l.error_type) AS error_type, arg_max(l.error_message, l.ts) AS last_message,
               r.route AS route, count(*) AS count, min(l.ts) AS first_seen, max(l.ts) AS last_seen,
               arg_max(coalesce(r.request_id, l.lambda_request_id::VARCHAR), l.ts) AS example_request_id,
               arg_max(l.error_stack, l.ts) AS example_stack
        FROM logs l LEFT JOIN requests r ON r.lambda_request_id = l.lambda_request_id
        WHERE l.error_type IS NOT NULL
        GROUP BY ALL""",
}


def metrics_sql(condition: str = "TRUE") -> str:
    """The metrics view's query over the EMF lines that also meet `condition` (a drill-down expands only its
    request's documents)."""
    return VIEWS["metrics"].replace("CONDITION", condition)


def state_dir(service_root: Path) -> Path:
    return Path(service_root) / STATE_DIR


def store_path(service_root: Path) -> Path:
    return state_dir(service_root) / STORE_FILE


def ddl() -> list[str]:
    statements = ["CREATE TABLE IF NOT EXISTS golive_schema (version INTEGER)"]
    statements += [f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{name} {kind}' for name, kind, _ in columns)})"
                  for table, columns in TABLES.items()]
    statements += [f"CREATE OR REPLACE VIEW {name} AS {sql.replace('CONDITION', 'TRUE').strip()}"
                   for name, sql in VIEWS.items()]
    return statements
