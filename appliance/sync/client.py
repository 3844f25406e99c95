"""The device's HTTP client for the central backend: one requests.Session, one attempt per call.

Every call has a timeout and an overall deadline, verifies TLS (optionally with the job centre's own
CA), sends the bearer token, reads at most a bounded answer, and ends in a result or a BackendError
that says whether trying again later can help. ``Backoff`` spaces the attempts of the callers.
"""

# Why requests: the standard client for Python, well kept, with connection pooling, proxies and TLS
# verification against a CA bundle; its timeouts cover connecting and every read, and we add a
# deadline for the whole answer so a server dripping bytes cannot hold a thread for ever.
import json
import socket
import threading
import time
import weakref
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from appliance.domain.errors import ApplianceError

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a day of 5,000 appointments is about 1.5 MB
MAX_RETRY_AFTER_S = 3600.0  # the document's upper bound for Retry-After


class BackendError(ApplianceError):
    """A call to the backend did not succeed; ``transient`` says whether a later attempt may."""

    transient = True

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        *,
        where: tuple[str, ...] = (),
        server_date: datetime | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after
        self.where = where  # the `where` of the answer's details: what in the request was refused
        self.server_date = server_date


class BackendUnreachable(BackendError, ConnectionError):
    """No answer: the connection failed, was cut, or timed out."""


class BackendUnavailable(BackendError):
    """The backend answered 429, 503 or another 5xx: it asks to be tried again later."""


class BadAnswer(BackendError, ValueError):
    """The backend answered, but not as the protocol says (truncated, not JSON, too large)."""


class BackendRefused(BackendError):
    """The backend refused the request (401, 403, 404, 409, 410, 413, 415, 422): sending it again
    unchanged would be refused again."""

    transient = False


class _BearerAuth(requests.auth.AuthBase):
    """The token as a header; set as the session's auth so no ~/.netrc can replace it."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self):
        return "_BearerAuth('********')"


class Answer:
    """A successful answer: status, headers, the parsed JSON body (None for 304) and the server's clock."""

    def __init__(self, status: int, headers, body, server_date: datetime | None):
        self.status, self.headers, self.body, self.server_date = status, headers, body, server_date


class BackendClient:
    """Calls the backend at ``base_url`` (the document's server, without /v1) as one device."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        timeout: float = 10.0,
        verify_tls: bool = True,
        ca_bundle=None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        on_answer=None,
    ):
        base = base_url.rstrip("/")
        # The document's paths start with /v1; a url that names it too means the same server.
        self.base_url = base[:-3] if base.endswith("/v1") else base
        parts = urlsplit(self.base_url)
        self.where = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes
        self._on_answer = on_answer or (lambda answer, sent_at, received_at: None)
        self.session = requests.Session()
        self._connections: weakref.WeakSet = weakref.WeakSet()
        self._connections_lock = threading.Lock()
        adapter = _TrackingAdapter(self._connections, self._connections_lock)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if token:
            self.session.auth = _BearerAuth(token)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "entrance-appliance"})
        # Given with every request: a session's verify would lose to REQUESTS_CA_BUNDLE from the environment.
        self._verify = (str(ca_bundle) if ca_bundle else True) if verify_tls else False

    def close(self) -> None:
        """Closes the session and cuts any call in flight (a long poll), which then fails at once."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.session.close()

    def call(
        self, method: str, path: str, *, params=None, json_body=None, headers=None, timeout: float | None = None
    ) -> Answer:
        """One attempt. Returns the Answer of a 2xx or 304; raises a BackendError otherwise."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout + self.timeout
        data = None
        send_headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            send_headers["Content-Type"] = "application/json"
        where = f"{method} {path}"
        sent_at = time.monotonic()  # a round trip, measured where no clock jump can distort it
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=send_headers,
                timeout=(self.timeout, timeout),
                stream=True,
                allow_redirects=False,
                verify=self._verify,
            )
        except requests.Timeout:
            raise BackendUnreachable(f"{where}: no answer within {timeout:g} s") from None
        except requests.exceptions.SSLError as error:
            raise BackendUnreachable(f"{where}: TLS failed ({_reason(error)}): check [backend] ca_bundle") from None
        except requests.RequestException as error:
            raise BackendUnreachable(f"{where}: {_reason(error)}") from None
        with response:
            raw = self._read(response, deadline, where)
        received_at = time.monotonic()
        server_date = _http_date(response.headers.get("Date"))
        status = response.status_code
        if status == 304:
            answer = Answer(status, response.headers, None, server_date)
        elif 200 <= status < 300:
            answer = Answer(status, response.headers, _parse_json(raw, where), server_date)
        else:
            answer = None
        # The clock check wants every dated answer, errors included: a 401 still tells the time.
        self._on_answer(Answer(status, response.headers, None, server_date), sent_at, received_at)
        if answer is not None:
            return answer
        raise _refusal(where, status, response.headers, raw, server_date)

    def _read(self, response, deadline: float, where: str) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_answer_bytes:
            raise BadAnswer(
                f"{where}: the answer has {declared} bytes; at most {self.max_answer_bytes} are taken",
                response.status_code,
            )
        body = bytearray()
        try:
            for chunk in response.iter_content(65536):
                body += chunk
                if len(body) > self.max_answer_bytes:
                    raise BadAnswer(
                        f"{where}: the answer is larger than {self.max_answer_bytes} bytes", response.status_code
                    )
                if time.monotonic() > deadline:
                    raise BackendUnreachable(f"{where}: the answer did not arrive in time")
        except requests.RequestException as error:
            # A cut connection or a Content-Length the server did not keep: a truncated answer.
            raise BackendUnreachable(f"{where}: the answer was cut off ({_reason(error)})") from None
        return bytes(body)


class _TrackingAdapter(HTTPAdapter):
    """Keeps the connections it opens in ``registry``, so ``BackendClient.close`` can cut one in use."""

    def __init__(self, registry: weakref.WeakSet, lock: threading.Lock):
        self._registry, self._lock = registry, lock
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        registry, lock = self._registry, self._lock

        def tracked(base):
            class Tracked(base):
                def connect(self):
                    super().connect()
                    with lock:
                        registry.add(self)

            return Tracked

        self.poolmanager.pool_classes_by_scheme = {
            "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": tracked(HTTPConnection)}),
            "https": type("Pool", (HTTPSConnectionPool,), {"ConnectionCls": tracked(HTTPSConnection)}),
        }


def retry_after_seconds(
    value: str | None, server_date: datetime | None = None, now: datetime | None = None
) -> float | None:
    """A Retry-After header in seconds: delay-seconds, or an HTTP date taken against the answer's
    own Date when it has one (the device's clock may be wrong); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    moment = _http_date(value)
    if moment is None:
        return None
    reference = server_date or now or datetime.now(UTC)
    return min(max(0.0, (moment - reference).total_seconds()), MAX_RETRY_AFTER_S)


def _refusal(where: str, status: int, headers, raw: bytes, server_date) -> BackendError:
    code, message, details = None, raw[:200].decode("utf-8", "replace").strip(), ()
    try:
        body = json.loads(raw)
        if isinstance(body, dict):
            code, message = str(body.get("error") or "")[:40] or None, str(body.get("message") or message)[:300]
            if isinstance(body.get("details"), list):
                details = tuple(str(d.get("where"))[:300] for d in body["details"][:20] if isinstance(d, dict))
    except ValueError:
        pass
    text = f"{where}: {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status in (429, 503) or status >= 500:
        return BackendUnavailable(text, status, code, retry_after_seconds(headers.get("Retry-After"), server_date))
    return BackendRefused(text, status, code, where=details, server_date=server_date)


def _parse_json(raw: bytes, where: str):
    if not raw.strip():
        raise BadAnswer(f"{where}: the answer has no body")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadAnswer(f"{where}: the answer is not valid JSON (truncated?): {str(error)[:120]}") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reason(error: Exception) -> str:
    """The innermost cause of a requests error, short: 'Connection refused', 'Read timed out'."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    text = str(error)
    for marker in ("] ", "): "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    return text.strip("')\" ")[:160] or type(error).__name__
