"""Only /v1/info and /v1/pair answer without a token; every other route refuses a missing, wrong or revoked one."""

from __future__ import annotations

import hashlib
import re
import sqlite3

import pytest
from bridge_helpers import pair
from fastapi import FastAPI
from fastapi.routing import APIRoute

from device_bridge.api.app import protected, public
from device_bridge.service import STORE_FILE

PUBLIC = {("GET", "/v1/info"), ("POST", "/v1/pair")}
PATH_VALUES = {"speaker_id": "kitchen", "token_id": "1", "schedule_id": "1", "activation_id": "1", "block_id": "1"}


def _routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, including those of included routers."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x nests included routers
    except ImportError:
        contexts = [(route, route) for route in app.routes]
    else:
        contexts = [(context.original_route, context) for context in iter_route_contexts(app.routes)]
    found = set()
    for original, route in contexts:
        assert isinstance(original, APIRoute), f"not an APIRoute, so not checked here: {original!r}"
        found |= {(method, route.path) for method in route.methods}
    return found


def _all_routes() -> list[tuple[str, str]]:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(public)
    app.include_router(protected)
    return sorted(_routes_of(app))


ROUTES = _all_routes()
GUARDED = [route for route in ROUTES if route not in PUBLIC]


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_the_running_app_has_exactly_the_routes_checked_here(bridge):
    # A route added to the app directly (not through the routers) would escape the parametrized checks below.
    assert _routes_of(bridge.app) == set(ROUTES)
    assert PUBLIC < set(ROUTES)
    assert ("GET", "/v1/openapi.json") in GUARDED


def test_info_needs_no_token(bridge, connect):
    response = connect(bridge).get("/v1/info")
    assert response.status_code == 200
    info = response.json()
    assert info == {
        "bridge_id": bridge.bridge_id,
        "name": bridge.config.name,
        "version": info["version"],
        "api": 1,
        "fingerprint": bridge.fingerprint,
        "pairing": "open",
        "time_zone": "UTC",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", info["bridge_id"])
    assert re.fullmatch(r"[0-9a-f]{64}", info["fingerprint"])


@pytest.mark.parametrize("method, path", GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
def test_guarded_route_refuses_missing_wrong_and_revoked_tokens(bridge, connect, method, path):
    paired = connect(bridge)
    revoked = pair(paired, bridge, "old phone")
    keeper = connect(bridge, pair(paired, bridge, "laptop")["token"])
    assert keeper.delete(f"/v1/tokens/{revoked['token_id']}").status_code == 204

    for label, headers in [
        ("no token", {}),
        ("wrong token", {"Authorization": "Bearer " + "x" * 43}),
        ("not bearer", {"Authorization": "Basic dXNlcjpwYXNz"}),
        ("revoked token", {"Authorization": f"Bearer {revoked['token']}"}),
    ]:
        response = connect(bridge).request(method, _fill(path), headers={**headers, "Connection": "close"})
        assert response.status_code == 401, f"{label}: {response.status_code} {response.text}"
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), label
        assert isinstance(response.json()["detail"], str), label


def test_tokens_list_and_revoke(bridge, connect):
    anonymous = connect(bridge)
    first = pair(anonymous, bridge, "Anna's laptop")
    second = pair(anonymous, bridge, "Ben's phone")
    api = connect(bridge, first["token"])
    tokens = api.get("/v1/tokens").json()
    assert [(t["id"], t["client_name"]) for t in tokens] == [
        (first["token_id"], "Anna's laptop"), (second["token_id"], "Ben's phone")
    ]
    assert all(set(t) == {"id", "client_name", "created", "last_used"} for t in tokens)
    assert tokens[0]["last_used"] is not None  # just used for this very request

    assert api.delete(f"/v1/tokens/{second['token_id']}").status_code == 204
    assert connect(bridge, second["token"]).get("/v1/speakers").status_code == 401
    assert [t["id"] for t in api.get("/v1/tokens").json()] == [first["token_id"]]
    missing = api.delete(f"/v1/tokens/{second['token_id']}")
    assert missing.status_code == 404 and missing.json() == {"detail": f"no token {second['token_id']}"}

    # A client may revoke its own token; from the next request on it is refused.
    assert api.delete(f"/v1/tokens/{first['token_id']}").status_code == 204
    assert api.get("/v1/speakers").status_code == 401


def test_only_the_token_hash_is_stored(bridge, connect):
    paired = pair(connect(bridge), bridge)
    token = paired["token"]
    assert len(token) >= 43  # token_urlsafe(32)
    db = sqlite3.connect(bridge.data_dir / STORE_FILE)
    try:
        rows = db.execute("SELECT token_hash FROM tokens").fetchall()
    finally:
        db.close()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(),)]
    for path in bridge.data_dir.iterdir():
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path.name
