"""Attachments in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, SeaweedFS, ...).

Objects are named ``<prefix><company_id>/<32 hex>``: the hub's own key shape, checked on every
call, under an optional fixed prefix. Path-style addressing (``<endpoint>/<bucket>/<key>``) is
the default because most self-hosted S3 services do not serve virtual-host bucket names.

Failures: a missing object is the API's ``NotFoundError`` (404). Connection errors, timeouts,
throttling and 5xx answers are retried a few times with a short exponential back-off (tenacity;
botocore's own retries are off so the two do not multiply); what still fails, and any other S3
error (access denied, missing bucket...), is a ``StorageUnavailableError`` (503) naming the S3
error code. Secrets never appear in messages or logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from hub_api.core.config import Settings
from hub_api.core.errors import NotFoundError
from hub_api.storage.base import StorageSetupError, StorageUnavailableError, check_key

log = structlog.get_logger(__name__)
T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
    }
)
MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        return _error_code(exc) in TRANSIENT_CODES or _http_status(exc) >= 500
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return _error_code(exc) or f"HTTP {_http_status(exc)}"
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return "unreachable"
    return type(exc).__name__


class S3Storage:
    """One boto3 client per app (boto3 clients are thread-safe); see the module docstring."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        key_prefix: str = "",
        path_style: bool = True,
        timeout_s: float = 5.0,
        attempts: int = 3,
        max_wait_s: float = 1.0,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.prefix = f"{key_prefix.strip('/')}/" if key_prefix.strip("/") else ""
        self.attempts = attempts
        self.max_wait_s = max_wait_s
        config = Config(
            region_name=region,
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"total_max_attempts": 1},  # tenacity retries, see _call
            s3={"addressing_style": "path" if path_style else "auto"},
            signature_version="s3v4",
        )
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        assert settings.s3_bucket is not None  # Settings refuses s3 without a bucket
        key_id, secret = settings.s3_access_key_id, settings.s3_secret_access_key
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=key_id.get_secret_value() if key_id else None,
            secret_access_key=secret.get_secret_value() if secret else None,
            key_prefix=settings.s3_key_prefix,
            path_style=settings.s3_path_style,
            timeout_s=settings.s3_timeout_s,
            attempts=settings.s3_attempts,
        )

    def object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @property
    def _where(self) -> str:
        return f"bucket '{self.bucket}' at {self.endpoint_url or 'AWS S3'}"

    def _retrying(self, fn: Callable[[], T], operation: str) -> T:
        def _log_retry(state: Any) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "s3_retry",
                operation=operation,
                attempt=state.attempt_number,
                error=_describe(exc) if exc else None,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.1, max=self.max_wait_s),
            retry=retry_if_exception(is_transient),
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(fn)

    def _call(self, operation: str, fn: Callable[[], T], key: str) -> T:
        """Run one S3 call with retries; map failures to the API's errors."""
        try:
            return self._retrying(fn, operation)
        except ClientError as exc:
            if operation == "get" and _error_code(exc) in MISSING_OBJECT_CODES:
                raise NotFoundError("attachment content is missing from storage") from exc
            reason = _describe(exc)
            log.error("s3_error", operation=operation, key=key, error=reason, where=self._where)
        except BotoCoreError as exc:
            reason = _describe(exc)
            log.error("s3_error", operation=operation, key=key, error=reason, where=self._where)
        raise StorageUnavailableError(
            f"attachment storage is unavailable ({operation} failed: {reason}); "
            "try again later or tell the hub's operators"
        )

    def put(self, key: str, data: bytes) -> None:
        name = self.object_key(key)
        self._call(
            "put",
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=name, Body=data, ContentType="application/octet-stream"
            ),
            name,
        )

    def get(self, key: str) -> bytes:
        name = self.object_key(key)

        def _read() -> bytes:
            body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        return self._call("get", _read, name)

    def delete(self, key: str) -> None:
        name = self.object_key(key)
        self._call("delete", lambda: self.client.delete_object(Bucket=self.bucket, Key=name), name)

    def ensure_bucket(self, *, create: bool = False) -> None:
        """Check at startup that the bucket exists and is ours to use; create it if asked."""
        try:
            self._retrying(lambda: self.client.head_bucket(Bucket=self.bucket), "head_bucket")
            return
        except ClientError as exc:
            code = _error_code(exc)
            if code not in MISSING_BUCKET_CODES:
                raise StorageSetupError(
                    f"attachment storage: cannot use {self._where} ({_describe(exc)}); "
                    "check HUB_S3_ACCESS_KEY_ID / HUB_S3_SECRET_ACCESS_KEY and the bucket policy"
                ) from exc
        except BotoCoreError as exc:
            raise StorageSetupError(
                f"attachment storage: cannot reach {self._where} ({type(exc).__name__}); "
                "check HUB_S3_ENDPOINT_URL and that the S3 service is running"
            ) from exc
        if not create:
            raise StorageSetupError(
                f"attachment storage: {self._where} does not exist; create it, "
                "or set HUB_S3_CREATE_BUCKET=true to let the hub create it at startup"
            )
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._retrying(lambda: self.client.create_bucket(**kwargs), "create_bucket")
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":  # another replica was quicker
                raise StorageSetupError(
                    f"attachment storage: could not create {self._where} ({_describe(exc)})"
                ) from exc
        except BotoCoreError as exc:
            raise StorageSetupError(
                f"attachment storage: could not create {self._where} ({_describe(exc)})"
            ) from exc
        log.info("s3_bucket_created", where=self._where)
