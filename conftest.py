"""Repository-level pytest configuration: keep proxy and credential variables of the caller out of every test."""
