"""The harness's closed vocabularies: what a path can offer a check, how much a check's failure weighs, which
upstream a run talks to. A name outside them is refused where it is written, never read as "unsupported" later."""

from __future__ import annotations

from enum import StrEnum


class Feature(StrEnum):
    """Something a path offers that a check may need; a path without it gets ``unsupported`` for that check."""

    MESSAGES = "messages"
    STREAMING = "streaming"
    COUNT_TOKENS = "count_tokens"
    MODELS = "models"
    API_KEY = "api-key"
    OAUTH = "oauth"
    BETA_QUERY = "beta-query"
    CLAUDE_CODE = "claude-code"
    SANDBOX = "sandbox"
    """The agents run in a network of their own whose only way out is the path (set up by the run)."""
    SNI_ALLOWLIST = "sni-allowlist"
    CONNECT_ALLOWLIST = "connect-allowlist"
    MASKED_CREDENTIAL = "masked-credential"
    """Agents hold a placeholder for the Anthropic credential; the path puts the real one in on the way out."""


COMMON_FEATURES = frozenset({Feature.MESSAGES, Feature.STREAMING, Feature.COUNT_TOKENS, Feature.MODELS,
                             Feature.API_KEY, Feature.OAUTH, Feature.BETA_QUERY, Feature.CLAUDE_CODE})
"""What a path offers unless it says otherwise; allowlists and sandboxes are declared by the paths that have them."""


def features(names: object) -> frozenset[Feature]:
    """``names`` as features; an unknown name raises ValueError naming it."""
    if isinstance(names, str):
        names = (names,)
    try:
        return frozenset(Feature(name) for name in names)  # type: ignore[union-attr]
    except ValueError as exc:
        raise ValueError(f"{exc} (features: {', '.join(f.value for f in Feature)})") from None


class Level(StrEnum):
    """How much a check's failure weighs: a ``must`` fails the target, a ``should`` grades it pass-nonstrict, an
    ``info`` check only observes."""

    MUST = "must"
    SHOULD = "should"
    INFO = "info"


class UpstreamMode(StrEnum):
    """Which api.anthropic.com a run talks to: the reference upstream, recorded exchanges replayed, or the real API."""

    REFERENCE = "reference"
    REPLAY = "replay"
    LIVE = "live"
