"""Where requests go: the REST endpoint from an instance name or a URL, and the budget's name.

Plain ``http://`` is refused except for loopback hosts (the simulator): the key must not
travel in clear text.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import urlsplit

from ._errors import BrazeValidationError

__all__ = ["budget_name", "resolve_base_url", "route_template"]

_INSTANCE = re.compile(r"[a-z]{2,4}-\d{2}")
#: Paths with an id in them, and the template that names them whatever the id.
_TEMPLATES = (
    (
        re.compile(r"/transactional/v1/campaigns/[^/]+/send"),
        "/transactional/v1/campaigns/{campaign_id}/send",
    ),
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def budget_name(base_url: str, api_key: str) -> str:
    """The default name of a rate-limit budget: derived from endpoint and key, never the key."""
    digest = hashlib.sha256(f"{base_url}\0{api_key}".encode()).hexdigest()
    return f"{urlsplit(base_url).hostname}-{digest[:16]}"


def route_template(path: str) -> str:
    """*path* with its ids replaced by placeholders (``/transactional/v1/campaigns/{campaign_id}
    /send``), without its query: a name of few values, fit for metric attributes and span
    names."""
    path = path.partition("?")[0]
    for pattern, template in _TEMPLATES:
        if pattern.fullmatch(path):
            return template
    return path


def resolve_base_url(instance: str | None, base_url: str | None) -> str:
    """The REST endpoint from ``instance`` ("iad-01") or ``base_url``; https unless loopback.
    Written one way whatever its spelling (see :func:`_canonical`).

    >>> resolve_base_url(None, "HTTPS://REST.iad-01.braze.com:443/")
    'https://rest.iad-01.braze.com'
    """
    if instance is not None and base_url is not None:
        raise BrazeValidationError("instance", "give either instance or base_url, not both")
    if instance is not None:
        if not isinstance(instance, str) or not _INSTANCE.fullmatch(instance):
            raise BrazeValidationError(
                "instance", f"must look like 'iad-01' or 'fra-02', not {instance!r}"
            )
        domain = "braze.eu" if instance.startswith("fra-") else "braze.com"
        return f"https://rest.{instance}.{domain}"
    if base_url is None:
        raise BrazeValidationError(
            "base_url", "is required: pass instance='iad-01' or base_url='https://rest...'"
        )
    if not isinstance(base_url, str):
        raise BrazeValidationError("base_url", f"must be a string, not {type(base_url).__name__}")
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise BrazeValidationError("base_url", "is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        # Never echo it: the URL holds a password.
        raise BrazeValidationError(
            "base_url", "must not hold credentials (user:password@): the API key authenticates"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BrazeValidationError("base_url", f"must be an http(s) URL, not {base_url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise BrazeValidationError(
            "base_url", "plain http:// is only allowed for loopback hosts; use https://"
        )
    if parts.query or parts.fragment:
        raise BrazeValidationError("base_url", "must not have a query or fragment")
    if parts.path not in ("", "/"):
        raise BrazeValidationError(
            "base_url",
            f"must be the REST endpoint alone, e.g. 'https://rest.iad-01.braze.com', without a "
            f"path (not {parts.path!r}): the client adds each endpoint's path",
        )
    return _canonical(parts.scheme, parts.hostname, parts.port)


#: The port each scheme means when none is written.
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _canonical(scheme: str, host: str, port: int | None) -> str:
    """The one spelling of an endpoint: scheme and host lower-cased, the scheme's default port
    dropped, no trailing slash. It names the budget and a journal's destination, so
    ``instance="iad-01"`` and ``https://REST.iad-01.braze.com:443/`` are one endpoint (one
    budget: two would earn 429s between them)."""
    scheme = scheme.lower()
    if ":" in host:  # IPv6: urlsplit gave it without its brackets
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}"
