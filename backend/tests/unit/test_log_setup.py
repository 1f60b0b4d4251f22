"""Logging: Procrastinate's records come out through Agented's handler, without job arguments."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from procrastinate.jobs import Job

from agented.log import QUEUE_LOGGER, configure_logging

PROMPT = "deploy with token hunter2"


@pytest.fixture
def restored_loggers() -> Iterator[None]:
    """configure_logging sets process-wide state: put the two loggers back afterwards."""
    loggers = [logging.getLogger(name) for name in ("agented", QUEUE_LOGGER)]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def log_a_job_as_procrastinate_does() -> None:
    job = Job(
        id=7,
        queue="agented-runs",
        lock=None,
        queueing_lock=None,
        task_name="agented.run",
        task_kwargs={"argv": ["claude", "-p", "--", PROMPT]},
    )
    worker = logging.getLogger(f"{QUEUE_LOGGER}.worker.build-2")
    worker.info(f"Starting job {job.call_string}", extra={"job": job.log_context()})
    worker.error(
        f"Job {job.call_string} ended with status: Error, lasted 0.1 s",
        extra={"action": "job_error", "job": job.log_context()},
    )
    logging.getLogger(f"{QUEUE_LOGGER}.jobs").warning(
        "Deferred 1 job", extra={"jobs": [job.log_context()]}
    )


@pytest.mark.usefixtures("restored_loggers")
def test_its_warnings_and_errors_read_like_ours_and_name_a_job_by_task_and_id() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "text", stream)
    log_a_job_as_procrastinate_does()
    lines = stream.getvalue().splitlines()
    assert lines == [
        line
        for line in lines
        if " procrastinate." in line and "[rid=-]" in line and PROMPT not in line
    ]
    assert len(lines) == 2, "its INFO lines repeat Agented's own"
    assert lines[0].endswith(
        "ERROR procrastinate.worker.build-2 [rid=-] Job agented.run[7] ended with status: "
        "Error, lasted 0.1 s"
    )
    assert lines[1].endswith("WARNING procrastinate.jobs [rid=-] Deferred 1 job")


@pytest.mark.usefixtures("restored_loggers")
def test_in_json_at_debug_everything_shows_and_no_argument() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream)
    log_a_job_as_procrastinate_does()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [record["message"] for record in records] == [
        "Starting job agented.run[7]",
        "Job agented.run[7] ended with status: Error, lasted 0.1 s",
        "Deferred 1 job",
    ]
    assert records[0]["job"]["task_name"] == "agented.run"
    assert records[2]["jobs"][0]["id"] == 7
    assert PROMPT not in stream.getvalue()
    assert "task_kwargs" not in stream.getvalue()
