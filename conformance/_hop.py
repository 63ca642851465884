"""Hop-by-hop and framing headers: a proxy legitimately drops or rewrites these (RFC 9110 §7.6.1)."""

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade", "host",
                        "content-length", "trailer", "proxy-authorization", "proxy-authenticate"})
