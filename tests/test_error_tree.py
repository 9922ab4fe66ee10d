"""One error tree: every public exception of the pack is a ``ZoomError`` from ``exceptions.py``.

The old import locations keep giving the same classes, and the builtin bases code caught before
(``ValueError``, ``TimeoutError``, ``RuntimeError``) are still there.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import time

import pytest

import prefect_zoom
from prefect_zoom import exceptions
from prefect_zoom.exceptions import ZoomError


def _pack_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(prefect_zoom.__path__, prefix="prefect_zoom.")
        if not info.name.endswith("__main__")
    )


def _public_exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_name in _pack_modules():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("prefect_zoom.")
                and not name.startswith("_")
                and not value.__name__.startswith("_")
            ):
                found[f"{module_name}.{name}"] = value
    return found


def test_the_walk_finds_the_errors_of_every_part() -> None:
    names = {cls.__name__ for cls in _public_exception_classes().values()}
    assert {"ZoomAPIError", "SignInError", "BadSignatureError", "SpoolFullError"} <= names
    assert {"ConnectionLockTimeout", "AllRowsFailedError", "MissingDeploySettingError"} <= names


def test_every_public_exception_of_the_pack_is_a_zoom_error_defined_in_exceptions() -> None:
    found = _public_exception_classes()
    assert sorted(where for where, cls in found.items() if not issubclass(cls, ZoomError)) == []
    assert (
        sorted(where for where, cls in found.items() if cls.__module__ != "prefect_zoom.exceptions")
        == []
    )


def test_exceptions_module_lists_every_class_it_defines() -> None:
    defined = {
        name
        for name, value in vars(exceptions).items()
        if inspect.isclass(value) and value.__module__ == exceptions.__name__
    }
    assert defined <= set(exceptions.__all__)


OLD_LOCATIONS = [
    ("prefect_zoom.transfer", "ZoomDownloadError", "ZoomDownloadError"),
    ("prefect_zoom.transfer", "UnsafePartialError", "UnsafePartialError"),
    ("prefect_zoom.client", "ZoomForeignHostError", "ZoomForeignHostError"),
    ("prefect_zoom.client.origins", "ZoomForeignHostError", "ZoomForeignHostError"),
    ("prefect_zoom.auth", "ConnectionLockTimeout", "ConnectionLockTimeout"),
    ("prefect_zoom.auth.locks", "ConnectionLockTimeout", "ConnectionLockTimeout"),
    ("prefect_zoom.auth.authorize", "SignInError", "SignInError"),
    ("prefect_zoom.auth.authorize", "ConsentDeclinedError", "ConsentDeclinedError"),
    ("prefect_zoom.auth.authorize", "StateMismatchError", "StateMismatchError"),
    ("prefect_zoom.auth.authorize", "SignInTimeoutError", "SignInTimeoutError"),
    ("prefect_zoom.auth.authorize", "AuthorizationError", "AuthorizationError"),
    ("prefect_zoom.webhooks.signature", "WebhookVerificationError", "WebhookVerificationError"),
    ("prefect_zoom.webhooks.signature", "MissingHeaderError", "MissingHeaderError"),
    ("prefect_zoom.webhooks.signature", "InvalidTimestampError", "InvalidTimestampError"),
    ("prefect_zoom.webhooks.signature", "StaleTimestampError", "StaleTimestampError"),
    ("prefect_zoom.webhooks.signature", "FutureTimestampError", "FutureTimestampError"),
    ("prefect_zoom.webhooks.signature", "BadSignatureError", "BadSignatureError"),
    ("prefect_zoom.webhooks.receiver", "Rejected", "WebhookRejectedError"),
    ("prefect_zoom.webhooks.spool", "SpoolError", "SpoolError"),
    ("prefect_zoom.webhooks.spool", "SpoolFullError", "SpoolFullError"),
    ("prefect_zoom.webhooks.spool", "SpoolInUseError", "SpoolInUseError"),
    ("prefect_zoom.webhooks.delivery", "EventRefused", "EventRefused"),
    ("prefect_zoom.webhooks.delivery", "PrefectAPIError", "PrefectAPIError"),
    ("prefect_zoom.flows.schedule_meetings", "AllRowsFailedError", "AllRowsFailedError"),
    ("prefect_zoom.deploy_steps", "MissingDeploySettingError", "MissingDeploySettingError"),
]


@pytest.mark.parametrize(("module_name", "old_name", "new_name"), OLD_LOCATIONS)
def test_old_import_locations_give_the_same_class(
    module_name: str, old_name: str, new_name: str
) -> None:
    module = importlib.import_module(module_name)
    assert getattr(module, old_name) is getattr(exceptions, new_name)


@pytest.mark.parametrize(
    "name", ["error_from_response", "parse_missing_scopes", "parse_retry_after"]
)
def test_response_classification_lives_beside_the_client(name: str) -> None:
    from prefect_zoom.client import errors

    assert inspect.isfunction(getattr(errors, name))
    assert getattr(exceptions, name) is getattr(errors, name)  # the old location still answers
    assert name not in vars(exceptions)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (exceptions.ZoomInputError("topic", "is empty", "Give a topic"), ValueError),
        (exceptions.UnsafePartialError("target", "is a link", "Remove it"), ValueError),
        (exceptions.BadSignatureError("no match"), ValueError),
        (exceptions.ConnectionLockTimeout("conn", 120.0, "another process"), TimeoutError),
        (exceptions.AllRowsFailedError("every row failed"), RuntimeError),
        (exceptions.MissingDeploySettingError("ZOOM_BLOCK is not set"), RuntimeError),
    ],
)
def test_errors_keep_the_builtin_base_code_caught_before(
    error: ZoomError, builtin: type[Exception]
) -> None:
    with pytest.raises(builtin):
        raise error
    with pytest.raises(ZoomError):
        raise error


def test_a_refused_webhook_signature_is_caught_as_zoom_error_and_value_error() -> None:
    from prefect_zoom.webhooks.signature import sign, verify

    body = b'{"event":"meeting.started"}'
    now = time.time()
    timestamp = str(int(now))
    signature = sign("the-real-secret", timestamp, body)
    with pytest.raises(ZoomError) as caught:
        verify("another-secret", timestamp, signature, body, now=now)
    assert isinstance(caught.value, ValueError)
    assert caught.value.reason == "bad_signature"  # type: ignore[attr-defined]
