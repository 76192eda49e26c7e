"""The official client's exceptions as kubecourse's error tree (see `kubecourse.errors`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3
from kubernetes.client.exceptions import ApiException

from kubecourse.errors import ClusterError, NotConnectedError, api_error_from_status


def wrap_api_exception(err: ApiException) -> ClusterError:
    """The most specific kubecourse error for an ApiException, chained by the caller."""
    try:
        body = json.loads(err.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return api_error_from_status(body)
    return api_error_from_status(
        {"code": err.status, "reason": err.reason, "message": str(err.reason)}
    )


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn the official client's exceptions into kubecourse errors (chained)."""
    try:
        yield
    except ApiException as err:
        raise wrap_api_exception(err) from err
    except urllib3.exceptions.HTTPError as err:
        raise NotConnectedError(
            f"the cluster did not answer ({err.__class__.__name__}); is it running? "
            "Try `kubecourse status` in a terminal."
        ) from err
