"""The API docs list the SSE routes too, though quart-schema cannot see them."""

from __future__ import annotations


async def test_the_openapi_schema_lists_both_sse_routes_as_event_streams(client) -> None:
    response = await client.get("/openapi.json")
    paths = (await response.get_json())["paths"]
    for path in (
        "/admin/executions/{execution_id}/stream",
        "/admin/agents/{agent_id}/messages/stream",
    ):
        operation = paths[path]["get"]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        assert {"Last-Event-ID", "last_event_id", "token"} <= {
            p["name"] for p in operation["parameters"]
        }


async def test_the_documented_paths_are_the_served_ones_with_their_404(client) -> None:
    for path in (
        "/admin/executions/exe_missing/stream",
        "/admin/agents/agt_missing/messages/stream",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
