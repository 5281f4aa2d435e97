"""The one table of error codes (client.error_codes): the spec's statuses, classes that fit them,
and its two readers, client.errors.error_class and the simulator's refusals, agreeing with it."""

from __future__ import annotations

import json

import pytest

from client import errors
from client.error_codes import (
    BY_STATUS,
    ERROR_CODES,
    FREE_QUOTA_MESSAGE,
    NO_KEY_MESSAGE,
    message_for,
    status_for,
)
from client.simulator.responses import ApiRefusal

# HTTP status per code, from the spec's error table (§4 and §6): the facts the table must hold.
SPEC_STATUS = {
    "InvalidParameter": 400, "InvalidParameter.DataInspection": 400,
    "BadRequest.EmptyInput": 400, "BadRequest.EmptyParameters": 400, "BadRequest.EmptyModel": 400,
    "BadRequest.IllegalInput": 400, "BadRequest.TooLarge": 413,
    "BadRequest.InputDownloadFailed": 415, "BadRequest.UnsupportedFileFormat": 415,
    "InvalidURL": 400, "invalid_parameter_error": 400, "InternalError.Algo.InvalidParameter": 400,
    "DataInspectionFailed": 400, "IPInfringementSuspect": 400, "Arrearage": 400,
    "InvalidApiKey": 401, "AccessDenied": 403, "AccessDenied.Unpurchased": 403,
    "Model.AccessDenied": 403, "Workspace.AccessDenied": 403, "AllocationQuota.FreeTierOnly": 403,
    "ModelNotFound": 404, "Throttling": 429, "Throttling.RateQuota": 429,
    "Throttling.AllocationQuota": 429, "Throttling.BurstRate": 429, "InternalError": 500,
    "InternalError.Algo": 500, "InternalError.Timeout": 500, "SystemError": 500,
    "ModelUnavailable": 503, "UnsupportedOperation": 400,
}


def test_every_code_of_the_spec_with_its_status() -> None:
    assert {code: row.status for code, row in ERROR_CODES.items()} == SPEC_STATUS


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_each_class_fits_its_status(code: str) -> None:
    row = ERROR_CODES[code]
    group = {429: errors.RateLimited, 500: errors.ServiceError, 503: errors.ServiceError,
             401: errors.AccountError, 403: errors.AccountError, 404: errors.AccountError}
    expected = group.get(row.status, (errors.InputError, errors.AccountError,
                                      errors.CancelNotAllowed))
    assert issubclass(row.cls, expected), (code, row)
    assert row.message == "" or row.message[-1] in ".!", row.message  # a sentence, as sent


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_error_class_reads_the_table(code: str) -> None:
    row = ERROR_CODES[code]
    assert errors.error_class(row.status, code, row.message) is row.cls
    assert errors.error_class(599, code) is row.cls  # the code wins over the status


def test_allocation_quota_means_a_used_up_free_quota_only_in_that_wording() -> None:
    busy = ERROR_CODES["Throttling.AllocationQuota"]
    assert errors.error_class(429, "Throttling.AllocationQuota", busy.message) is errors.RateLimited
    for said in (FREE_QUOTA_MESSAGE, FREE_QUOTA_MESSAGE.upper(), f"x: {FREE_QUOTA_MESSAGE}"):
        assert errors.error_class(429, "Throttling.AllocationQuota", said) is errors.QuotaExhausted
    assert errors.error_class(429, "Throttling.RateQuota", FREE_QUOTA_MESSAGE) is errors.RateLimited


@pytest.mark.parametrize("status, cls", [*BY_STATUS.items(), (502, errors.ServiceError),
                                         (200, errors.ServiceError)])
def test_unknown_codes_are_read_by_status(status: int, cls: type[errors.WanError]) -> None:
    assert errors.error_class(status, "Something.New", "no") is cls
    assert errors.error_class(status, None) is cls


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_the_simulator_refuses_with_the_tables_status_and_wording(code: str) -> None:
    answer = ApiRefusal(code).response()
    body = json.loads(answer.body)
    assert answer.status_code == ERROR_CODES[code].status == status_for(code)
    assert body["code"] == code and body["message"] == message_for(code)
    assert body["message"] == (ERROR_CODES[code].message or code)


def test_other_wordings_and_unknown_codes() -> None:
    refusal = ApiRefusal("InvalidApiKey", NO_KEY_MESSAGE)
    assert (refusal.status, refusal.message) == (401, "No API-key provided.")
    assert (message_for("No.Such.Code"), status_for("No.Such.Code")) == ("No.Such.Code", 400)
