"""API Gateway's behaviour for the local cloud: routes, throttling, API keys, authorizers, proxy translation, logs."""
