"""
Authentication and versioning answers of the reference upstream (reference doc §3, §8).
"""

from __future__ import annotations

import pytest

from conformance.upstream import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, OAUTH_BETA, ReferenceUpstream, UpstreamConfig

from ._helpers import message_body, post

VERSION = {"anthropic-version": "2023-06-01"}


def _post(upstream: ReferenceUpstream, **headers: str):
    return post(upstream.base_url, message_body(), {"content-type": "application/json", **headers})


def test_api_key_in_x_api_key_is_accepted(upstream):
    """
    An API key in x-api-key is accepted.
    """
    assert _post(upstream, **{"x-api-key": DEFAULT_API_KEY}, **VERSION).status_code == 200


def test_api_key_as_bearer_is_accepted(upstream):
    """
    An API key as Authorization: Bearer is accepted (SDK 2.x sends that).
    """
    assert _post(upstream, authorization=f"Bearer {DEFAULT_API_KEY}", **VERSION).status_code == 200


def test_oauth_bearer_with_beta_is_accepted(upstream):
    """
    An OAuth token as Bearer with the oauth beta (among others) is accepted.
    """
    response = _post(
        upstream,
        authorization=f"Bearer {DEFAULT_OAUTH_TOKEN}",
        **{"anthropic-beta": f"interleaved-thinking-2025-05-14,{OAUTH_BETA}"},
        **VERSION,
    )
    assert response.status_code == 200


def test_oauth_bearer_without_beta_is_401(upstream):
    """
    An OAuth token as Bearer without the oauth beta gets 401 "OAuth authentication is currently not supported.".
    """
    response = _post(upstream, authorization=f"Bearer {DEFAULT_OAUTH_TOKEN}", **VERSION)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "authentication_error",
        "message": "OAuth authentication is currently not supported.",
    }


def test_oauth_in_x_api_key_default_is_the_seed_observation(upstream):
    """
    An OAuth token in x-api-key gets the seed's observed 429 rate_limit_error "Error" by default.
    """
    response = _post(upstream, **{"x-api-key": DEFAULT_OAUTH_TOKEN}, **VERSION)
    assert response.status_code == 429
    assert response.json()["error"] == {"type": "rate_limit_error", "message": "Error"}
    assert response.headers["x-should-retry"] == "true"


@pytest.mark.parametrize(("mode", "status"), [("invalid_key", 401), ("bad_request", 400), ("accept", 200)])
def test_oauth_in_x_api_key_is_configurable(mode, status):
    """
    The answer to an OAuth token in x-api-key is a configuration switch.
    """
    with ReferenceUpstream(UpstreamConfig(oauth_in_api_key=mode)) as upstream:
        assert _post(upstream, **{"x-api-key": DEFAULT_OAUTH_TOKEN}, **VERSION).status_code == status


def test_unknown_key_is_401_without_organization(upstream):
    """
    An unknown key gets 401 "invalid x-api-key", x-should-retry false and no anthropic-organization-id.
    """
    response = _post(upstream, **{"x-api-key": "sk-ant-api03-unknown"}, **VERSION)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "invalid x-api-key"
    assert response.headers["x-should-retry"] == "false"
    assert "anthropic-organization-id" not in response.headers
    assert response.json()["request_id"] == response.headers["request-id"]


def test_missing_credential_is_401(upstream):
    """
    No credential gets 401 "x-api-key header is required".
    """
    response = _post(upstream, **VERSION)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "x-api-key header is required"


def test_invalid_oauth_token_has_null_request_id(upstream):
    """
    An unknown OAuth token (with the beta) gets 401 "OAuth access token is invalid." and request_id null.
    """
    response = _post(upstream, authorization="Bearer sk-ant-oat01-unknown", **{"anthropic-beta": OAUTH_BETA}, **VERSION)
    assert response.status_code == 401
    assert response.json()["request_id"] is None


def test_valid_keys_are_configured():
    """
    Which keys are valid comes from the configuration.
    """
    config = UpstreamConfig(api_keys={"sk-ant-api03-custom"}, oauth_tokens=set())
    with ReferenceUpstream(config) as upstream:
        assert _post(upstream, **{"x-api-key": "sk-ant-api03-custom"}, **VERSION).status_code == 200
        assert _post(upstream, **{"x-api-key": DEFAULT_API_KEY}, **VERSION).status_code == 401


def test_missing_version_is_400(upstream):
    """
    A request without anthropic-version gets 400 "anthropic-version: header is required".
    """
    response = _post(upstream, **{"x-api-key": DEFAULT_API_KEY})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "anthropic-version: header is required"


@pytest.mark.parametrize("version", ["2023-06-01", "2026-10-21"])
def test_known_versions_are_accepted(upstream, version):
    """
    Both anthropic-version values clients send today are accepted.
    """
    assert _post(upstream, **{"x-api-key": DEFAULT_API_KEY, "anthropic-version": version}).status_code == 200


def test_duplicated_version_is_400_with_real_message(upstream):
    """
    A version duplicated by a proxy gets the real message naming the joined value.
    """
    response = _post(upstream, **{"x-api-key": DEFAULT_API_KEY, "anthropic-version": "2023-06-01, 2023-06-01"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == 'anthropic-version: "2023-06-01, 2023-06-01" is not a valid version'
