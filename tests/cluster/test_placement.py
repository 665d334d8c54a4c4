from callbot.cluster.nodes import NodeRow
from callbot.cluster.placement import MediaTarget, choose


def worker(name: str, active: int = 0, capacity: int = 4, **kw: object) -> NodeRow:
    fields: dict[str, object] = {
        "node": name,
        "role": "worker",
        "websocket_connection": f"callbot-{name}",
        "audiosocket_address": f"{name}:9092",
        "ready": True,
        "draining": False,
        "leader": False,
        "active_calls": active,
        "capacity": capacity,
        "dialplan_version": "",
        "started_at": 0.0,
        "heartbeat_age_s": 0.5,
    }
    fields.update(kw)
    return NodeRow(**fields)  # type: ignore[arg-type]


def pick(nodes: list[NodeRow], placed: dict[str, int] | None = None, **kw: object) -> str | None:
    target = choose(nodes, placed or {}, audiosocket=False, timeout_s=3.0, **kw)  # type: ignore[arg-type]
    return target.node if target else None


def test_the_least_loaded_ready_worker_relative_to_its_capacity() -> None:
    assert pick([worker("a", 2), worker("b", 1)]) == "b"
    assert pick([worker("a", 2, capacity=8), worker("b", 1, capacity=2)]) == "a"
    target = choose([worker("a")], {}, audiosocket=True, timeout_s=3.0)
    assert target == MediaTarget("a", "callbot-a", "a:9092")


def test_what_this_control_placed_counts_before_the_worker_reports_it() -> None:
    # A burst of callers must not all land on the worker that looked idle a second ago.
    assert pick([worker("a", 0), worker("b", 1)], {"a": 2}) == "b"


def test_workers_not_ready_draining_silent_full_or_excluded_get_nothing() -> None:
    assert pick([worker("a", ready=False)]) is None
    assert pick([worker("a", draining=True)]) is None
    assert pick([worker("a", heartbeat_age_s=3.5)]) is None
    assert pick([worker("a", 4)]) is None
    assert pick([worker("a"), worker("b", 1)], exclude={"a"}) == "b"
    assert pick([worker("a", websocket_connection="")]) is None
    assert pick([worker("a", role="control")]) is None
    assert pick([]) is None
