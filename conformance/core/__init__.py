"""Layer 1, vocabulary and plumbing: the wire's names, the one SSE codec, the one error catalogue, verdicts,
settings, redaction, the harness's HTTP client, processes and threads. Imports nothing else of the package."""
