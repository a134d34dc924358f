"""The mock token endpoint answers Google's grants, and Google's error bodies otherwise."""

from __future__ import annotations

import base64
import json

import pytest
from flask.testing import FlaskClient


def segment(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


ASSERTION = ".".join([segment({"alg": "RS256", "typ": "JWT"}),
                      segment({"iss": "receiver@postback-sim.iam.gserviceaccount.com",
                               "aud": "http://127.0.0.1/oauth2/token"}), "c2lnbmF0dXJl"])
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.mark.parametrize("form", [
    {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s", "refresh_token": "r"},
    {"grant_type": JWT_BEARER, "assertion": ASSERTION},
], ids=["refresh token", "service-account JWT"])
def test_a_well_formed_grant_gets_a_bearer_token(client: FlaskClient, form: dict) -> None:
    response = client.post("/oauth2/token", data=form)

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith("ya29.")
    assert body["expires_in"] == 3599


@pytest.mark.parametrize(("form", "error", "description"), [
    ({"grant_type": "password"}, "unsupported_grant_type", "Invalid grant_type: password"),
    ({}, "unsupported_grant_type", "Invalid grant_type: "),
    ({"grant_type": "refresh_token", "client_id": "c", "client_secret": "s"},
     "invalid_request", "Missing required parameter: refresh_token"),
    ({"grant_type": JWT_BEARER, "assertion": "not-a-jwt"}, "invalid_grant",
     "Invalid JWT Signature."),
    ({"grant_type": JWT_BEARER, "assertion": "e30.e30.c2ln"}, "invalid_grant",
     "Invalid JWT Signature."),
], ids=["unknown grant", "no grant", "no refresh token", "not a JWT", "JWT without issuer"])
def test_a_bad_grant_gets_googles_error_body(client: FlaskClient, form: dict, error: str,
                                            description: str) -> None:
    response = client.post("/oauth2/token", data=form)

    assert response.status_code == 400
    assert response.get_json() == {"error": error, "error_description": description}


def test_json_bodies_are_read_too(client: FlaskClient) -> None:
    response = client.post("/oauth2/token", json={"grant_type": JWT_BEARER,
                                                  "assertion": ASSERTION})

    assert response.status_code == 200


def test_the_mocks_accept_the_token_it_issues(client: FlaskClient) -> None:
    token = client.post("/oauth2/token", data={"grant_type": JWT_BEARER,
                                               "assertion": ASSERTION}).get_json()["access_token"]

    response = client.post(
        "/google-ads/v23/customers/1234567890:uploadClickConversions",
        json={"conversions": [{"gclid": "x" * 30}], "partialFailure": True},
        headers={"Authorization": f"Bearer {token}", "developer-token": "d"})

    assert response.status_code == 200
