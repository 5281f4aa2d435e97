"""One translated sentence per error class; chosen by class, never by parsing a message."""

from __future__ import annotations

from client import errors

from .i18n import t

# Most specific first: the first class in an exception's MRO found here decides the sentence.
_SENTENCES: dict[type[BaseException], str] = {
    errors.InvalidURL: "err_invalid_url",
    errors.ContentRejected: "err_content",
    errors.PayloadTooLarge: "err_too_large",
    errors.UnsupportedMedia: "err_media",
    errors.InvalidParameter: "err_input",
    errors.InputError: "err_input",
    errors.AuthError: "err_auth",
    errors.AccessDenied: "err_access",
    errors.Arrearage: "err_arrearage",
    errors.ModelNotFound: "err_model_missing",
    errors.AccountError: "err_account",
    errors.QuotaExhausted: "err_quota",
    errors.RateLimited: "err_rate",
    errors.NotSent: "err_not_sent",
    errors.AmbiguousTask: "err_ambiguous",
    errors.NoAnswer: "err_no_answer",
    errors.ServiceError: "err_service",
    errors.CancelNotAllowed: "err_cancel_not_allowed",
    errors.TaskFailed: "err_task_failed",
    errors.TaskCanceled: "err_task_canceled",
    errors.TaskExpired: "err_task_expired",
    errors.ResultExpired: "err_result_expired",
    errors.DownloadFailed: "err_download",
    errors.WaitTimeout: "err_timeout",
    errors.WanError: "err_service",
}


def sentence_key(exc: BaseException) -> str:
    """The string key for an error; InvalidInput is handled by error_sentence (it names a field)."""
    for cls in type(exc).__mro__:
        if cls in _SENTENCES:
            return _SENTENCES[cls]
    return "err_unexpected"


def field_name(field: str, lang: str) -> str:
    key = f"field_{field}"
    try:
        return t(key, lang)
    except KeyError:
        return field


def error_sentence(exc: BaseException, lang: str = "en") -> str:
    """The one sentence the person sees. InvalidInput keeps its rule (it says what to do)."""
    if isinstance(exc, errors.InvalidInput):
        rule = exc.rule.rstrip(".")
        if exc.allowed is not None and not isinstance(exc.allowed, (list, tuple)):
            rule += f" ({exc.allowed})"
        elif exc.allowed:
            rule += f" ({', '.join(map(str, exc.allowed))})"
        return t("err_invalid_input", lang, field=field_name(exc.field, lang), rule=rule)
    return t(sentence_key(exc), lang)
