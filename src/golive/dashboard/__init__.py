"""The dashboard: server-rendered HTML pages over the telemetry store, served by golive dev and golive dashboard."""
