"""Logs, metrics and traces emitted from inside the function, in the formats CloudWatch and X-Ray read."""
