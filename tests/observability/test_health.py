from callbot.observability.health import Readiness


def test_ready_only_when_loaded_not_stopping_and_under_the_limit() -> None:
    active = [0]
    readiness = Readiness(active_calls=lambda: active[0], max_concurrent_calls=2)
    assert readiness.reasons() == ["models not loaded"]
    readiness.models_loaded = True
    assert readiness.ready()
    active[0] = 2
    assert not readiness.ready()
    assert "limit" in readiness.reasons()[0]
    active[0] = 1
    readiness.shutting_down = True
    assert readiness.status() == {
        "ready": False,
        "reasons": ["shutting down"],
        "active_calls": 1,
        "max_concurrent_calls": 2,
    }


def test_no_limit() -> None:
    readiness = Readiness(lambda: 1000, max_concurrent_calls=0, models_loaded=True)
    assert readiness.ready()
