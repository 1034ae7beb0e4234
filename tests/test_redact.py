"""The one redactor: what text, bytes, headers and exception chains look like once the API key
and the passwords of URLs are hidden. (End to end, ``test_secrets.py`` searches every output
of real jobs for them; these tests pin each rule on its own.)"""

from __future__ import annotations

import base64
import traceback
from collections.abc import Callable
from types import MappingProxyType

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from braze_async import RateLimits
from braze_async._redact import Redactor, redact_url, url_password

KEY = "sk-REDACT-0123456789abcdef"
PROXY = "http://proxy-user:p%40ss-word@proxy.internal:3128"
REDACT = Redactor.of(KEY, urls=[PROXY])


def chain(exc: BaseException) -> list[BaseException]:
    """*exc* and every exception reachable through its causes and contexts, depth first."""
    found: list[BaseException] = []

    def walk(current: BaseException | None) -> None:
        if current is not None and all(current is not seen for seen in found):
            found.append(current)
            walk(current.__cause__)
            walk(current.__context__)

    walk(exc)
    return found


def raised(exc: BaseException, cause: BaseException | None = None) -> BaseException:
    """*exc* raised (from *cause*) and caught: it has a traceback, as a real one would."""
    try:
        if cause is None:
            raise exc
        raise exc from cause
    except BaseException as caught:
        return caught


# -- text and bytes ----------------------------------------------------------------------------


def test_the_key_becomes_stars_wherever_it_stands() -> None:
    """Once or many times, alone or inside other text."""
    assert REDACT.text(f"Bearer {KEY}, again:{KEY}.") == "Bearer ***, again:***."
    assert REDACT.text("nothing secret") == "nothing secret"


def test_a_url_shows_its_safe_form_and_its_password_shows_nowhere() -> None:
    """The URL itself as redact_url writes it (user name hidden too); its password alone,
    raw or percent-decoded (as an HTTP stack sends it), as stars."""
    assert REDACT.text(f"via {PROXY}") == "via http://***@proxy.internal:3128"
    assert REDACT.text("password p%40ss-word or p@ss-word") == "password *** or ***"
    assert REDACT.text("proxy-user") == "proxy-user"  # a user name alone is no secret


def test_an_unparsable_url_hides_all_that_stands_where_user_and_password_would() -> None:
    """Python cannot split the URL, so the whole user:password part is the secret."""
    url = "redis://app:hunter2@cache\u2100:6379/0"
    redact = Redactor.of(urls=[url])
    assert redact.text(f"bad URL {url}!") == "bad URL <unparsable URL>!"
    assert redact.text("netloc 'app:hunter2@cache'") == "netloc '***@cache'"


def test_a_secret_holding_another_is_hidden_whole() -> None:
    """Longest first: a secret that contains a shorter one never shows its tail."""
    redact = Redactor.of("abc", "abc-def-ghi")
    assert redact.text("abc-def-ghi and abc") == "*** and ***"


def test_empty_secrets_and_urls_without_a_password_hide_nothing() -> None:
    """An empty secret would otherwise put stars between every character."""
    redact = Redactor.of("", urls=[None, "http://proxy:3128"])
    assert not redact
    assert redact.text("http://proxy:3128 said no") == "http://proxy:3128 said no"


def test_bytes_are_redacted_in_utf8_before_any_cut() -> None:
    """A body is redacted as the wire carries it (a non-ASCII secret included), before it
    is decoded or cut: a cut through the key cannot leave its first half."""
    secret = "clé-secrète-42"
    redact = Redactor.of(secret)
    body = b"x" * 10 + secret.encode() + b" end"
    assert redact.body(body) == b"x" * 10 + b"*** end"
    cut = redact.body(body)[:16]
    assert secret.encode()[:6] not in cut
    assert redact.body(b"clean") == b"clean"


# -- headers -----------------------------------------------------------------------------------


def test_headers_without_secrets_are_the_same_dict() -> None:
    """The common case copies nothing: every answer's headers pass through here."""
    headers = {"content-type": "application/json", "x-ratelimit-remaining": "9"}
    assert REDACT.headers(headers) is headers


def test_header_values_lose_the_key_and_credentials_keep_only_their_scheme() -> None:
    """An echoed key is starred in any header; Authorization and Proxy-Authorization, in any
    case, keep their scheme alone (a Basic credential is base64: no text search finds it)."""
    basic = base64.b64encode(b"proxy-user:p@ss-word").decode()
    headers = {
        "Authorization": f"Bearer {KEY}",
        "proxy-authorization": f"Basic {basic}",
        "x-echo": f"you sent {KEY}",
        "content-type": "text/plain",
    }
    assert REDACT.headers(headers) == {
        "Authorization": "Bearer ***",
        "proxy-authorization": "Basic ***",
        "x-echo": "you sent ***",
        "content-type": "text/plain",
    }
    assert headers["x-echo"] == f"you sent {KEY}"  # the caller's mapping is left as it was


def test_a_credential_header_is_hidden_even_with_nothing_else_to_hide() -> None:
    """Whoever's credential it is, and whatever the mapping: the answer is a new dict."""
    redact = Redactor.of()
    headers = MappingProxyType({"AUTHORIZATION": "token-of-someone", "a": "b"})
    assert redact.headers(headers) == {"AUTHORIZATION": "***", "a": "b"}
    assert type(redact.headers(MappingProxyType({"a": "b"}))) is dict


# -- exceptions --------------------------------------------------------------------------------


def test_describe_names_the_type_and_the_redacted_message() -> None:
    """``Type: message``, or the type alone for an empty message."""
    assert REDACT.describe(ValueError(f"bad {KEY}")) == "ValueError: bad ***"
    assert REDACT.describe(TimeoutError()) == "TimeoutError"


def test_describe_survives_an_exception_that_cannot_be_printed() -> None:
    """Its type is what is known; the describing does not fail in its turn."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert REDACT.describe(Unprintable()) == "Unprintable: <unprintable>"


class Quiet(Exception):
    """An exception whose str and repr show nothing of its args."""

    def __str__(self) -> str:
        return "quiet"

    def __repr__(self) -> str:
        return "Quiet()"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: ValueError(f"echo {KEY}"), id="message"),
        pytest.param(lambda: Quiet(1, {"Authorization": f"Bearer {KEY}"}), id="args-only"),
        pytest.param(lambda: _with(Quiet(), headers={"auth": KEY}), id="attribute"),
        pytest.param(lambda: _with(Quiet(), __notes__=[f"sent with {KEY}"]), id="note"),
        pytest.param(lambda: OSError("proxy http://proxy-user:p%40ss-word@x"), id="url-password"),
        pytest.param(lambda: _response_error(), id="aiohttp-response-error"),
    ],
)
def test_an_exception_carrying_a_secret_anywhere_is_cut(make: Callable[[], BaseException]) -> None:
    """In its message, its args alone, an attribute, a note or a URL; aiohttp's
    ClientResponseError always (it keeps the request's headers): the exception is dropped."""
    exc = make()
    assert REDACT.carries(exc)
    assert REDACT.exception(raised(exc)) is None


def _with(exc: BaseException, **attributes: object) -> BaseException:
    for name, value in attributes.items():
        setattr(exc, name, value)
    return exc


def _response_error() -> aiohttp.ClientResponseError:
    info = aiohttp.RequestInfo(
        URL("http://braze.test/x"), "POST", CIMultiDictProxy(CIMultiDict()), URL("http://b")
    )
    return aiohttp.ClientResponseError(info, (), status=400, message="bad")


def test_an_unprintable_exception_counts_as_carrying() -> None:
    """It cannot be checked, so it cannot ride along."""

    class Unprintable(Exception):
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert REDACT.carries(Unprintable())


def test_a_chain_loses_every_traceback_and_is_cut_at_the_first_carrier() -> None:
    """Cause of a cause, and a context: all kept but without tracebacks (frame locals hold
    the request's headers), down to the exception that shows the key, which is dropped with
    all below it."""
    deepest = raised(OSError("socket closed"))
    leaky = raised(RuntimeError(f"echoed {KEY}"), cause=deepest)
    middle = raised(ConnectionError("reset"), cause=leaky)
    top = raised(ValueError("failed"), cause=middle)
    top.__context__ = raised(KeyError("context"))
    assert all(e.__traceback__ is not None for e in (top, middle, top.__context__))

    clean = REDACT.exception(top)

    assert clean is top
    assert chain(top) == [top, middle, top.__context__]
    assert all(e.__traceback__ is None for e in chain(top))
    assert middle.__cause__ is None and middle.__context__ is None
    shown = "".join(traceback.format_exception(top))
    assert KEY not in shown and "failed" in shown and "reset" in shown


def test_a_chain_that_loops_is_walked_once() -> None:
    """A context pointing back up (possible when exceptions are re-raised) ends the walk."""
    first = raised(ValueError("a"))
    second = raised(ValueError("b"), cause=first)
    first.__context__ = second
    assert REDACT.exception(second) is second
    assert second.__cause__ is first and first.__context__ is None


def test_with_nothing_to_hide_a_chain_still_loses_its_tracebacks() -> None:
    """An empty redactor cuts nothing (even aiohttp's response error) but strips frames."""
    error = raised(ValueError("x"), cause=raised(_response_error()))
    assert Redactor.of().exception(error) is error
    assert isinstance(error.__cause__, aiohttp.ClientResponseError)
    assert error.__traceback__ is None and error.__cause__.__traceback__ is None


# -- the value itself --------------------------------------------------------------------------


def test_the_redactor_shows_no_secret_in_its_repr() -> None:
    """Only how many replacements it makes."""
    assert KEY not in repr(REDACT) and "p%40ss" not in repr(REDACT)
    assert repr(Redactor.of(KEY)) == "Redactor(1 secrets)"


def test_plus_adds_secrets_and_is_itself_when_it_adds_nothing() -> None:
    """A transport's redactor (its proxies) plus one request's key; the same value back when
    the key is empty or already known."""
    proxies = Redactor.of(urls=[PROXY])
    both = proxies.plus(KEY)
    assert both == REDACT
    assert both.text(f"{KEY} {PROXY}") == "*** http://***@proxy.internal:3128"
    assert proxies.plus("") is proxies and both.plus(KEY, urls=[PROXY]) is both


def test_a_password_in_a_urls_query_is_hidden_like_one_in_its_userinfo() -> None:
    """redis-py honours ``?password=`` (and ``username=``, ``ssl_password=``): the URL shows
    those values as stars, and each (raw, percent- or plus-decoded) shows nowhere else."""
    url = "redis://cache:6379/0?db=2&password=p%40ss+word&username=app&ssl_password=k3y"
    assert redact_url(url) == "redis://cache:6379/0?db=2&password=***&username=***&ssl_password=***"
    assert url_password(url) == "p%40ss+word"
    redact = Redactor.of(urls=[url])
    assert redact.text(f"at {url}") == f"at {redact_url(url)}"
    assert redact.text("p%40ss+word, p@ss word, k3y") == "***, ***, ***"
    assert redact_url("redis://u:pw@cache/0?password=x") == "redis://***@cache/0?password=***"


def test_redact_url_and_url_password() -> None:
    """The helpers a repr uses (RateLimits' Redis URL) and the redactor is built from."""
    assert redact_url("redis://app:s3cret@cache:6379/0") == "redis://***@cache:6379/0"
    assert redact_url("redis://cache:6379/0") == "redis://cache:6379/0"
    assert redact_url("redis://a:b@cache\u2100/0") == "<unparsable URL>"
    assert url_password("redis://app:s3cret@cache:6379/0") == "s3cret"
    assert url_password("redis://app@cache") is None


def test_a_redis_url_password_in_the_query_is_in_no_repr() -> None:
    """redis-py also reads a password (and an SSL key's password) from the URL's query:
    RateLimits' repr hides those values as it hides userinfo (before, the repr showed
    ``?password=...`` whole)."""
    password = "pw-QUERY-secret-7781"
    url = f"redis://cache.internal:6379/0?password={password}&ssl_password={password}x&db=1"
    limits = RateLimits(redis_url=url)
    shown = repr(limits) + str(limits)
    assert password not in shown
    assert "redis://cache.internal:6379/0?password=***&ssl_password=***&db=1" in repr(limits)
