"""Wan image-to-video on Alibaba Model Studio (DashScope): catalog, requests, HTTP client, tasks,
and the job pipeline. The names below are the public API; the rest is reached by module."""

from . import events
from .catalog import DEFAULT_REGION, MODELS, REGIONS, Model, model_in_region, models_in_region
from .errors import (
    AccessDenied,
    AccountError,
    AmbiguousTask,
    Arrearage,
    AuthError,
    CancelNotAllowed,
    ContentRejected,
    DownloadFailed,
    InputError,
    InvalidInput,
    InvalidParameter,
    InvalidURL,
    ModelNotFound,
    NoAnswer,
    NotSent,
    PayloadTooLarge,
    QuotaExhausted,
    RateLimited,
    ResultExpired,
    ServiceError,
    TaskCanceled,
    TaskExpired,
    TaskFailed,
    UnsupportedMedia,
    WaitTimeout,
    WanError,
)
from .eta import EtaEstimator, TaskShape
from .events import Event
from .handle import TaskHandle, outcome
from .http import WanClient
from .pipeline import follow, run_job
from .request import VideoRequest, validate
from .slots import SlotQueue
from .status import TaskStatus

__all__ = [
    "DEFAULT_REGION",
    "MODELS",
    "REGIONS",
    "AccessDenied",
    "AccountError",
    "AmbiguousTask",
    "Arrearage",
    "AuthError",
    "CancelNotAllowed",
    "ContentRejected",
    "DownloadFailed",
    "EtaEstimator",
    "Event",
    "InputError",
    "InvalidInput",
    "InvalidParameter",
    "InvalidURL",
    "Model",
    "ModelNotFound",
    "NoAnswer",
    "NotSent",
    "PayloadTooLarge",
    "QuotaExhausted",
    "RateLimited",
    "ResultExpired",
    "ServiceError",
    "SlotQueue",
    "TaskCanceled",
    "TaskExpired",
    "TaskFailed",
    "TaskHandle",
    "TaskShape",
    "TaskStatus",
    "UnsupportedMedia",
    "VideoRequest",
    "WaitTimeout",
    "WanClient",
    "WanError",
    "events",
    "follow",
    "model_in_region",
    "models_in_region",
    "outcome",
    "run_job",
    "validate",
]
