"""The dashboard: server-rendered pages over the telemetry store (board, charts, invocations, one request)."""
