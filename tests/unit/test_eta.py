"""The ETA estimator learns submit-to-end seconds per task shape from the service's timestamps."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from client.eta import EtaEstimator, TaskShape
from client.request import VideoRequest
from client.status import Failed, Succeeded, Usage

T0 = datetime(2026, 1, 1, 12, 0, 0)


def finished(seconds: float) -> Succeeded:
    return Succeeded(task_id="t", submit_time=T0, end_time=T0 + timedelta(seconds=seconds),
                     video_url="https://r.test/v.mp4", usage=Usage(seconds=5))


def test_no_tasks_seen_gives_the_prior() -> None:
    assert EtaEstimator().expected(TaskShape("wan2.6-i2v", "720P", 5)) is None
    assert EtaEstimator(prior=90).expected(TaskShape("wan2.6-i2v", "720P", 5)) == 90


def test_median_of_the_recent_tasks_of_a_shape() -> None:
    eta = EtaEstimator(keep=3)
    shape = TaskShape("wan2.6-i2v", "720P", 5)
    for seconds in (500, 60, 62, 70):  # the first falls out of the window
        eta.learn(shape, finished(seconds))
    assert eta.expected(shape) == 62


def test_an_unseen_length_is_scaled_from_the_same_model_and_resolution() -> None:
    eta = EtaEstimator(prior=1)
    eta.learn(TaskShape("wan2.6-i2v", "720P", 5), finished(50))
    assert eta.expected(TaskShape("wan2.6-i2v", "720P", 10)) == pytest.approx(100)
    assert eta.expected(TaskShape("wan2.6-i2v", "1080P", 10)) == pytest.approx(50)  # same model
    assert eta.expected(TaskShape("wan2.2-i2v-flash", "480P", 5)) == 1  # the prior


def test_only_a_success_with_both_times_teaches() -> None:
    eta = EtaEstimator()
    shape = TaskShape.of(VideoRequest(model="wan2.2-i2v-flash", resolution="480P", duration=5))
    assert eta.learn(shape, Failed(task_id="t", submit_time=T0, end_time=T0, code="x")) is None
    assert eta.learn(shape, Succeeded(task_id="t", submit_time=T0, video_url="u",
                                      usage=Usage(seconds=5))) is None
    assert eta.learn(shape, finished(40)) == 40
    assert eta.expected(shape) == 40


def test_early_by_is_how_much_sooner_than_the_median_recent_tasks_ended() -> None:
    eta = EtaEstimator()
    shape = TaskShape("wan2.6-i2v", "720P", 5)
    for seconds in (60, 70):
        eta.learn(shape, finished(seconds))
    assert eta.early_by(shape) is None  # too few runs to say
    eta.learn(shape, finished(62))
    assert eta.early_by(shape) == pytest.approx(2)  # median 62, fastest 60
    assert eta.early_by(TaskShape("wan2.6-i2v", "1080P", 5)) is None
