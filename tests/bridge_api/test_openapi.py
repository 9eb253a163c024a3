"""The generated OpenAPI schema: behind the token, complete, and no interactive docs."""

from __future__ import annotations


def test_openapi_needs_a_token(bridge, connect):
    response = connect(bridge).get("/v1/openapi.json")
    assert response.status_code == 401


def test_openapi_lists_the_api(api):
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Earmuff bridge"
    paths = schema["paths"]
    assert set(paths) == {
        "/v1/info", "/v1/pair", "/v1/tokens", "/v1/tokens/{token_id}", "/v1/speakers", "/v1/speakers/{speaker_id}",
        "/v1/speakers/{speaker_id}/mute", "/v1/schedules", "/v1/schedules/{schedule_id}", "/v1/events",
        "/v1/activations", "/v1/speakers/{speaker_id}/traffic",
        "/v1/speakers/{speaker_id}/destinations", "/v1/speakers/{speaker_id}/destinations/history",
        "/v1/activations/{activation_id}/destinations", "/v1/speakers/{speaker_id}/blocks",
        "/v1/speakers/{speaker_id}/blocks/{block_id}", "/v1/destinations/presets",
        "/v1/deletions/capabilities", "/v1/deletions/schedules", "/v1/deletions/schedules/{schedule_id}",
        "/v1/deletions/run", "/v1/deletions/runs",
    }
    assert set(paths["/v1/schedules/{schedule_id}"]) == {"put", "delete"}
    assert set(paths["/v1/deletions/schedules/{schedule_id}"]) == {"patch", "delete"}
    assert "application/x-ndjson" in paths["/v1/events"]["get"]["responses"]["200"]["content"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" not in paths["/v1/info"]["get"]
    assert paths["/v1/speakers"]["get"]["security"] == [{"HTTPBearer": []}]
    assert {"Speaker", "Schedule", "MuteRequest", "Info", "Activation", "TrafficHistory"} <= set(
        schema["components"]["schemas"])


def test_no_interactive_docs(api):
    for path in ("/docs", "/redoc", "/openapi.json", "/v1/docs"):
        assert api.get(path).status_code == 404, path
