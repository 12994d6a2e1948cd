"""What the fake API server holds about a Node and what the agent asked of it, as the
end-to-end tests read them."""
import collections


def own_taints(api, key: str, node: str = "node-1") -> list[dict]:
    return [t for t in api.node(node)["spec"].get("taints") or [] if t["key"] == key]


def condition(api, kind: str, node: str = "node-1") -> dict | None:
    return next((c for c in api.node(node)["status"].get("conditions", []) if c["type"] == kind), None)


def is_watch(request: dict) -> bool:
    return request["params"].get("watch") in ("true", "1")


def agent_requests(api) -> list[dict]:
    """The agent's requests (not kubectl's nor the fake's own writer's), oldest first."""
    return [r for r in api.requests() if (r.get("user_agent") or "").startswith("autotaint/")]


def verb_counts(api) -> dict:
    """The agent's requests by verb, a watch counted as WATCH."""
    return dict(collections.Counter("WATCH" if is_watch(r) else r["method"] for r in agent_requests(api)))
