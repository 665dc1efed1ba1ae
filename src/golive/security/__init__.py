"""Security applied to every request and response: headers, CORS, authentication, threat signals, audit."""
