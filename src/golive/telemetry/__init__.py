"""Telemetry: what the local cloud sees (requests, gateway decisions, log lines, metrics) in an embedded store."""
