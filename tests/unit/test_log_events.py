"""Job transition events: the same fields in the text line and in the JSON object."""

from __future__ import annotations

import json
import logging

import pytest

from ionstack.logs import JsonFormatter, job_event


def test_text_line_carries_the_fields(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("ionstack.test_logs")
    with caplog.at_level(logging.INFO, logger="ionstack.test_logs"):
        job_event(
            logger,
            "job_completed",
            job_id="j1",
            project_id="p1",
            backend="simulator",
            duration_ms=12,
            code=None,
            worker="w1",
        )
    (record,) = caplog.records
    # None-valued fields are left out of both forms
    assert record.getMessage() == (
        "job_completed job_id=j1 project_id=p1 backend=simulator duration_ms=12 worker=w1"
    )
    payload = json.loads(JsonFormatter().format(record))
    assert payload["action"] == "job_completed" and payload["level"] == "info"
    assert {
        k: payload[k] for k in ("job_id", "project_id", "backend", "duration_ms", "worker")
    } == {
        "job_id": "j1",
        "project_id": "p1",
        "backend": "simulator",
        "duration_ms": 12,
        "worker": "w1",
    }
    assert "code" not in payload


def test_unknown_actions_are_refused() -> None:
    with pytest.raises(AssertionError):
        job_event(
            logging.getLogger("ionstack.test_logs"),
            "job_exploded",
            job_id="j",
            project_id="p",
            backend="b",
        )
