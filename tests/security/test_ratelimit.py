from callbot.security.ratelimit import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_tenth_failure_in_a_minute_locks_the_client_out() -> None:
    clock = Clock()
    limiter = FailureLimiter(10, 60.0, clock=clock)
    reached = []
    for _ in range(10):
        assert limiter.retry_after_s("10.0.0.1") == 0
        reached.append(limiter.failed("10.0.0.1"))
        clock.now += 1.0
    assert reached == [False] * 9 + [True]  # reported once, to be logged once
    assert limiter.retry_after_s("10.0.0.1") == 50  # now 1010; the first failure leaves at 1060
    assert limiter.retry_after_s("10.0.0.2") == 0  # per client
    clock.now = 1060.0
    assert limiter.retry_after_s("10.0.0.1") == 0  # the oldest failure has left the window


def test_failures_spread_out_never_lock() -> None:
    clock = Clock()
    limiter = FailureLimiter(3, 60.0, clock=clock)
    for _ in range(20):
        limiter.failed("c")
        clock.now += 30.0
        assert limiter.retry_after_s("c") == 0


def test_zero_means_no_limit() -> None:
    limiter = FailureLimiter(0)
    for _ in range(100):
        assert not limiter.failed("c")
    assert limiter.retry_after_s("c") == 0


def test_memory_is_bounded() -> None:
    limiter = FailureLimiter(5, clock=Clock(), max_clients=100)
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._failures) == 100
