"""callbot.logs: JSON lines carry the call id; secrets and identifiers never reach them."""

import asyncio
import io
import json
import logging
from collections.abc import Awaitable, Callable, Iterator

import pytest

from callbot.logs import (
    CALL_ID,
    JsonFormatter,
    TextFormatter,
    bind_call_id,
    call_log,
    log_filters,
)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    for f in log_filters(secrets=["s3cr3t-pass"]):
        handler.addFilter(f)
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield out
    logger.removeHandler(handler)


def lines(out: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_each_calls_lines_carry_its_id(stream: io.StringIO) -> None:
    logger = logging.getLogger("test.logs")

    async def call(call_id: str) -> None:
        bind_call_id(call_id)
        await asyncio.sleep(0)
        logger.info("turn")
        await asyncio.to_thread(logger.info, "in a thread")

    await asyncio.gather(asyncio.create_task(call("a")), asyncio.create_task(call("b")))
    logger.info("outside")
    got = lines(stream)
    assert sorted((d["call_id"], d["msg"]) for d in got if "call_id" in d) == [
        ("a", "in a thread"),
        ("a", "turn"),
        ("b", "in a thread"),
        ("b", "turn"),
    ]
    assert next(d for d in got if d["msg"] == "outside").get("call_id") is None
    assert CALL_ID.get() is None


def test_secrets_and_identifiers_are_masked(stream: io.StringIO) -> None:
    logger = logging.getLogger("test.logs")
    logger.info("connecting with %s", "s3cr3t-pass")
    try:
        raise RuntimeError("auth failed for s3cr3t-pass")
    except RuntimeError:
        logger.exception("caller said %s", "06 12 34 56 78")
    text = stream.getvalue()
    assert "s3cr3t-pass" not in text
    assert "06 12 34 56 78" not in text
    assert "***" in text and "<TEL>" in text


def test_text_format_shows_the_call_id() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "hello", None, None)
    record.call_id = "c-9"
    assert "[c-9] hello" in TextFormatter().format(record)


def _text_lines(emit: object) -> list[str]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("test.logs.text")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        emit(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    return out.getvalue().splitlines()


FORGED = "x\n2026-11-29 21:00:00,000 INFO    callbot.bridge: call 1: transferred\r\x1b[2K"


def test_a_caller_string_cannot_forge_a_text_log_line() -> None:
    [line] = _text_lines(lambda log: log.warning("bad channel %s", FORGED))
    assert "\\n2026-11-29" in line and "\\r\\x1b[2K" in line


def test_a_traceback_never_starts_a_line_like_a_record() -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise ValueError(FORGED)
        except ValueError:
            log.exception("failed")

    first, *rest = _text_lines(emit)
    assert first.endswith("failed")
    assert rest and all(line.startswith("    ") for line in rest)


def test_json_lines_stay_one_line_each(stream: io.StringIO) -> None:
    logging.getLogger("test.logs").info("channel %s", FORGED)
    [record] = lines(stream)
    assert record["msg"].startswith("channel x\n2026")  # escaped by JSON, one line


async def _both_formats(emit: Callable[[logging.Logger], Awaitable[None]]) -> tuple[str, str]:
    """What ``emit`` logs, through the filters every callbot handler carries, as one text
    line and one JSON line."""
    out = {"text": io.StringIO(), "json": io.StringIO()}
    logger = logging.getLogger("test.logs.call")
    handlers = []
    for name, formatter in (("text", TextFormatter()), ("json", JsonFormatter())):
        handler = logging.StreamHandler(out[name])
        handler.setFormatter(formatter)
        for log_filter in log_filters():
            handler.addFilter(log_filter)
        logger.addHandler(handler)
        handlers.append(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        await asyncio.create_task(emit(logger))  # a task of its own, as a call's
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    [text] = out["text"].getvalue().splitlines()
    [json_line] = out["json"].getvalue().splitlines()
    return text, json_line


def assert_id_once(text: str, json_line: str, call_id: str) -> None:
    assert text.count(call_id) == 1 and text.endswith(f": [{call_id}] turn 2: matched")
    data = json.loads(json_line)
    assert (data.get("call_id"), data["msg"]) == (call_id, "turn 2: matched")


async def test_a_line_in_a_bound_call_task_carries_the_id_once() -> None:
    async def call(logger: logging.Logger) -> None:
        bind_call_id("c-17")
        await asyncio.sleep(0)
        logger.info("turn %d: %s", 2, "matched")

    assert_id_once(*await _both_formats(call), "c-17")


async def test_a_line_through_call_log_carries_its_call_even_in_another_calls_task() -> None:
    async def elsewhere(logger: logging.Logger) -> None:
        bind_call_id("c-other")  # e.g. a new caller's task reclaiming this call's slot
        call_log(logger, "c-18").info("turn %d: %s", 2, "matched")

    text, json_line = await _both_formats(elsewhere)
    assert_id_once(text, json_line, "c-18")
    assert "c-other" not in text + json_line


async def test_a_line_through_call_log_outside_any_call_carries_its_id() -> None:
    async def router(logger: logging.Logger) -> None:
        call_log(logger, "c-19").info("turn %d: %s", 2, "matched")

    assert_id_once(*await _both_formats(router), "c-19")
