"""The one redactor: text, bytes, headers and exceptions in the form that is safe to show.

What must never be shown is given once, to a :class:`Redactor`: the API key, and any URL
whose password it holds (a proxy's, Redis's). Every layer that lets text out (the transport's
errors, the exchange's errors and answer headers, the answer reader's messages, the limiter's
reasons) asks it, so "redacted" means the same thing everywhere:

- a URL given to the redactor shows as :func:`redact_url` writes it (``***@host``,
  ``?password=***``), its password (raw and decoded; userinfo's or the query's, which
  redis-py reads too) as ``***`` wherever else it appears;
- a secret shows as ``***``, in text and in bytes (UTF-8, as the wire carries it);
- a header that is a credential by its name (``Authorization``, ``Proxy-Authorization``)
  keeps only its scheme: ``Bearer ***`` (a Basic credential is base64, which no text search
  would find);
- an exception keeps no traceback anywhere in its cause/context chain (frame locals hold the
  request's headers, and error reporters such as Sentry capture locals), and the chain is cut
  before any exception that carries a secret in its text, args, attributes or notes.

>>> redact = Redactor.of("sk-123", urls=["http://user:pw@proxy:3128"])
>>> redact.text("Bearer sk-123 via http://user:pw@proxy:3128 (pw)")
'Bearer *** via http://***@proxy:3128 (***)'
>>> redact
Redactor(3 secrets)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import unquote, unquote_plus, urlsplit

import aiohttp
import attrs

__all__ = ["MASK", "Redactor", "redact_url", "url_password"]

#: What stands where a secret was.
MASK = "***"

#: Headers whose value is a credential, whoever's it is (lower-cased names).
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})


#: Query parameters that carry a credential (redis-py reads every query parameter as a
#: connection keyword: ``?password=`` authenticates, ``ssl_password`` unlocks the key file).
#: Their values are secrets; a ``username`` is hidden in the URL as userinfo's is.
_QUERY_SECRETS = frozenset({"password", "ssl_password"})
_QUERY_HIDDEN = _QUERY_SECRETS | {"username"}


def _query(url: str) -> list[tuple[str, str, str]]:
    """``(name, raw, value)`` of each parameter of *url*'s query: its name decoded and
    lower-cased, its value as written and as decoded (``+`` and ``%xx``). Read by hand, so a
    URL Python cannot split still has its query read."""
    query = url.partition("#")[0].partition("?")[2]
    fields = []
    for field in query.split("&") if query else ():
        name, _, raw = field.partition("=")
        fields.append((unquote_plus(name).lower(), raw, unquote_plus(raw)))
    return fields


def redact_url(url: str) -> str:
    """*url* with any password (and user name) replaced by ``***``, in its userinfo and in its
    query (``?password=``, which redis-py honours): safe for reprs and logs.

    >>> redact_url("redis://app:s3cret@cache:6379/0")
    'redis://***@cache:6379/0'
    >>> redact_url("redis://cache:6379/0?password=s3cret&db=1")
    'redis://cache:6379/0?password=***&db=1'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if "@" in parts.netloc:
        parts = parts._replace(netloc=f"***@{parts.netloc.rpartition('@')[2]}")
    if any(name in _QUERY_HIDDEN for name, _, _ in _query(url)):
        fields = parts.query.split("&")
        parts = parts._replace(
            query="&".join(
                f"{field.partition('=')[0]}={MASK}"
                if unquote_plus(field.partition("=")[0]).lower() in _QUERY_HIDDEN
                else field
                for field in fields
            )
        )
    return parts.geturl()


def url_password(url: str) -> str | None:
    """The password *url* holds (in its userinfo, else its query's ``password``), as written,
    or ``None``. For a URL Python cannot parse, all that stands where the user and password
    would (it cannot tell where one ends).

    >>> url_password("redis://app:s3cret@cache:6379/0")
    's3cret'
    """
    try:
        password = urlsplit(url).password
    except ValueError:
        password = url.partition("//")[2].partition("/")[0].rpartition("@")[0]
    if not password:
        password = next((raw for name, raw, _ in _query(url) if name == "password"), None)
    return password or None


def _url_secrets(url: str) -> set[str]:
    """Every credential *url* holds, as written and as decoded (the raw form shows in URLs;
    the decoded one is what a client sends)."""
    found: set[str] = set()
    password = url_password(url)
    if password is not None:
        found |= {password, unquote(password)}
    for name, raw, value in _query(url):
        if name in _QUERY_SECRETS and raw:
            found |= {raw, unquote(raw), value}
    return found


def _replacements(secrets: Iterable[str], urls: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """What to replace, in order: whole URLs first (so one shows as its safe form, user name
    hidden too), then the bare secrets, longest first (so a secret that holds another is
    never left half shown)."""
    whole: dict[str, str] = {}
    bare = {s for s in secrets if s}
    for url in urls:
        safe = redact_url(url)
        if safe != url:
            whole[url] = safe
        bare |= _url_secrets(url)
    ordered = sorted(bare, key=len, reverse=True)
    return (*whole.items(), *((s, MASK) for s in ordered))


@attrs.frozen(repr=False)
class Redactor:
    """What must not be shown, and how to show anything without it (see the module
    docstring). A value: build one with :meth:`of` and share it. An empty one (nothing to
    hide) still strips tracebacks from exceptions.
    """

    #: The secrets to hide (the API key).
    _secrets: tuple[str, ...] = ()
    #: The URLs whose passwords (and user names) to hide.
    _urls: tuple[str, ...] = ()
    #: ``(text, replacement)``, applied in order (see :func:`_replacements`).
    _pairs: tuple[tuple[str, str], ...] = attrs.field(init=False, eq=False)
    #: The same as bytes, for bodies (UTF-8; surrogateescape keeps any str encodable).
    _byte_pairs: tuple[tuple[bytes, bytes], ...] = attrs.field(init=False, eq=False)

    @_pairs.default
    def _make_pairs(self) -> tuple[tuple[str, str], ...]:
        return _replacements(self._secrets, self._urls)

    @_byte_pairs.default
    def _encode(self) -> tuple[tuple[bytes, bytes], ...]:
        return tuple(
            (s.encode("utf-8", "surrogateescape"), r.encode("utf-8", "surrogateescape"))
            for s, r in self._pairs
        )

    @classmethod
    def of(cls, *secrets: str, urls: Iterable[str | None] = ()) -> Redactor:
        """A redactor hiding each of *secrets* (the API key; empty ones are ignored) and the
        password and user name of each of *urls* (``None`` is ignored)."""
        return cls(tuple(s for s in secrets if s), tuple(u for u in urls if u))

    def plus(self, *secrets: str, urls: Iterable[str | None] = ()) -> Redactor:
        """This redactor, also hiding *secrets* and the passwords of *urls* (itself when
        they add nothing)."""
        more = Redactor.of(*secrets, urls=urls)
        if set(more._secrets) <= set(self._secrets) and set(more._urls) <= set(self._urls):
            return self
        return Redactor.of(*self._secrets, *more._secrets, urls=(*self._urls, *more._urls))

    def __repr__(self) -> str:
        # Never the secrets themselves: only how many there are.
        return f"Redactor({len(self._pairs)} secrets)"

    def __bool__(self) -> bool:
        """Whether there is anything to hide."""
        return bool(self._pairs)

    def text(self, text: str) -> str:
        """*text* with every secret replaced (``***``, or a URL's safe form)."""
        for secret, replacement in self._pairs:
            if secret in text:
                text = text.replace(secret, replacement)
        return text

    def body(self, raw: bytes) -> bytes:
        """*raw* bytes with every secret (as UTF-8) replaced, before they are decoded or cut:
        a secret cut in two by a later slice must not show its first half."""
        for secret, replacement in self._byte_pairs:
            if secret in raw:
                raw = raw.replace(secret, replacement)
        return raw

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """*headers* with secrets replaced in their values, and a credential header (by its
        name, any case) reduced to its scheme: ``Bearer ***``. The same dict when there is
        nothing to hide (the common case: answers are not copied)."""
        if (
            isinstance(headers, dict)
            and _CREDENTIAL_HEADERS.isdisjoint(map(str.lower, headers))
            and not any(secret in value for secret, _ in self._pairs for value in headers.values())
        ):
            return headers
        return {name: self._header(name, value) for name, value in headers.items()}

    def _header(self, name: str, value: str) -> str:
        if name.lower() in _CREDENTIAL_HEADERS:
            scheme, space, _ = value.partition(" ")
            return f"{scheme} {MASK}" if space else MASK
        return self.text(value)

    def _shows(self, text: str) -> bool:
        return any(secret in text for secret, _ in self._pairs)

    def describe(self, exc: BaseException) -> str:
        """``"Type: message"`` (or ``"Type"``) of *exc*, redacted: a hostile or broken server
        could echo our headers back, and the key must never ride on."""
        try:
            text = str(exc)
        except Exception:  # an unprintable exception: its type says what is known
            text = "<unprintable>"
        return self.text(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)

    def carries(self, exc: BaseException) -> bool:
        """Whether *exc* itself (not its chain) shows a secret: in its str, repr, args,
        attributes or notes. aiohttp's ``ClientResponseError`` always does when there is a
        secret: it keeps the request's headers (Authorization, Proxy-Authorization) in its
        args and repr. An exception that cannot be printed cannot be checked: it does."""
        if not self._pairs:
            return False
        if isinstance(exc, aiohttp.ClientResponseError):
            return True
        try:
            texts = (
                str(exc),
                repr(exc),
                repr(exc.args),
                repr(getattr(exc, "__dict__", "")),
                repr(getattr(exc, "__notes__", "")),
            )
        except Exception:
            return True
        return any(self._shows(text) for text in texts)

    def exception(self, exc: BaseException) -> BaseException | None:
        """*exc*, fit to ride along as an error's cause: every exception of its cause/context
        chain without its traceback, and the chain cut before any exception that
        :meth:`carries` a secret. ``None`` if *exc* does. (The exceptions are changed in
        place: they are the ones being dropped by their raiser.)"""
        seen: set[int] = set()

        def clean(current: BaseException | None) -> BaseException | None:
            if current is None or id(current) in seen:
                return None
            seen.add(id(current))
            if self.carries(current):
                return None
            current.__traceback__ = None
            current.__cause__ = clean(current.__cause__)
            current.__context__ = clean(current.__context__)
            return current

        return clean(exc)
