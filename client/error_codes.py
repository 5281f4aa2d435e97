"""The service's error codes in one table: per code, the class a caller acts on, the HTTP status
and the service's wording. client.errors, the simulator's answers and the tests all read it."""

from __future__ import annotations

from dataclasses import dataclass

from . import errors as e


@dataclass(frozen=True)
class ErrorCode:
    """One row of the spec's error table (docs: dashscope-i2v-api.md §4)."""

    cls: type[e.WanError]  # what the caller does next
    status: int  # the HTTP status the service answers the code with
    message: str = ""  # the service's usual wording ("": none documented; the code stands in)


_BAD_URL = "The provided URL does not appear to be valid. Ensure it is correctly formatted."

ERROR_CODES: dict[str, ErrorCode] = {
    "InvalidParameter": ErrorCode(e.InvalidParameter, 400, "Required parameter(s) missing or "
                                  "invalid, please check the request parameters."),
    "DataInspectionFailed": ErrorCode(e.ContentRejected, 400, "Input or output data may contain "
                                      "inappropriate content."),
    "IPInfringementSuspect": ErrorCode(e.ContentRejected, 400, "Input data is suspected of being "
                                       "involved in IP infringement."),
    "InvalidParameter.DataInspection": ErrorCode(e.InvalidURL, 400, "Unable to download the media "
                                                 "resource during the data inspection process."),
    "BadRequest.EmptyInput": ErrorCode(e.InvalidParameter, 400,
                                       "Required input parameter missing from request."),
    "BadRequest.EmptyParameters": ErrorCode(e.InvalidParameter, 400, 'Required parameter '
                                            '"parameters" missing from request.'),
    "BadRequest.EmptyModel": ErrorCode(e.InvalidParameter, 400,
                                       'Required parameter "model" missing from request.'),
    "BadRequest.IllegalInput": ErrorCode(e.InvalidParameter, 400,
                                         "The input parameter requires json format."),
    "InvalidURL": ErrorCode(e.InvalidURL, 400, "Invalid URL provided in your request."),
    "Arrearage": ErrorCode(e.Arrearage, 400, "Access denied, please make sure your account is in "
                           "good standing."),
    "invalid_parameter_error": ErrorCode(e.InvalidURL, 400, _BAD_URL),
    "InternalError.Algo.InvalidParameter": ErrorCode(e.InvalidURL, 400, _BAD_URL),
    "InvalidApiKey": ErrorCode(e.AuthError, 401, "Invalid API-key provided."),
    "AccessDenied": ErrorCode(e.AccessDenied, 403, "Access denied."),
    "AccessDenied.Unpurchased": ErrorCode(e.AccessDenied, 403, "Access to model denied. Please "
                                          "make sure you are eligible for using the model."),
    "Model.AccessDenied": ErrorCode(e.AccessDenied, 403, "Model access denied."),
    "Workspace.AccessDenied": ErrorCode(e.AccessDenied, 403, "Model access denied."),
    "AllocationQuota.FreeTierOnly": ErrorCode(e.AccessDenied, 403),
    "ModelNotFound": ErrorCode(e.ModelNotFound, 404, "Model not exist."),
    "BadRequest.TooLarge": ErrorCode(e.PayloadTooLarge, 413, "Payload Too Large."),
    "BadRequest.InputDownloadFailed": ErrorCode(e.UnsupportedMedia, 415),
    "BadRequest.UnsupportedFileFormat": ErrorCode(e.UnsupportedMedia, 415),
    "Throttling": ErrorCode(e.RateLimited, 429, "Requests throttling triggered."),
    "Throttling.RateQuota": ErrorCode(e.RateLimited, 429,
                                      "Requests rate limit exceeded, please try again later."),
    # A busy allotment (waiting helps), unless it says FREE_QUOTA_MESSAGE (client.errors).
    "Throttling.AllocationQuota": ErrorCode(e.RateLimited, 429, "Allocated quota exceeded, "
                                            "please increase your quota limit."),
    "Throttling.BurstRate": ErrorCode(e.RateLimited, 429,
                                      "Request rate increased too quickly, please try again later."),
    "InternalError": ErrorCode(e.ServiceError, 500, "An internal error has occured, please try "
                               "again later or contact service support."),
    "InternalError.Algo": ErrorCode(e.ServiceError, 500,
                                    "An internal error occurred during algorithm execution."),
    "InternalError.Timeout": ErrorCode(e.ServiceError, 500, "An internal timeout error has "
                                       "occured during execution, please try again later or "
                                       "contact service support."),
    "SystemError": ErrorCode(e.ServiceError, 500,
                             "An system error has occured, please try again later."),
    "ModelUnavailable": ErrorCode(e.ServiceError, 503,
                                  "Model is unavailable, please try again later."),
    "UnsupportedOperation": ErrorCode(e.CancelNotAllowed, 400, "Failed to cancel the task, please "
                                      "confirm if the task is in PENDING status."),
}

# The service's other wordings of a code above.
NO_KEY_MESSAGE = "No API-key provided."  # InvalidApiKey
SYNC_CALL_MESSAGE = "current user api does not support synchronous calls."  # AccessDenied
POLICY_EXPIRED_MESSAGE = "Invalid according to Policy: Policy expired."  # AccessDenied (OSS)
FORMAT_UNSUPPORTED_MESSAGE = (  # InvalidParameter.DataInspection
    "The media format is not supported or incorrect for the data inspection."
)
# Throttling.AllocationQuota worded so means the free quota is used up: waiting never helps
# (QuotaExhausted). The simulator's own busy account uses the usual wording above.
FREE_QUOTA_MESSAGE = "Free allocated quota exceeded."

# Codes the table does not know are read by their HTTP status.
BY_STATUS: dict[int, type[e.WanError]] = {
    400: e.InvalidParameter, 401: e.AuthError, 403: e.AccessDenied, 404: e.ModelNotFound,
    413: e.PayloadTooLarge, 415: e.UnsupportedMedia, 429: e.RateLimited,
}


def message_for(code: str) -> str:
    """The service's usual wording of a code (the code itself when none is documented)."""
    row = ERROR_CODES.get(code)
    return row.message if row is not None and row.message else code


def status_for(code: str) -> int:
    """The HTTP status the service answers a code with (400, as for input errors, if unknown)."""
    row = ERROR_CODES.get(code)
    return row.status if row is not None else 400
