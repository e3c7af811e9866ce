"""Limits counted in the cache (Redis in production, shared by every worker), in fixed windows of time.

`cache.add` creates a window's counter only if absent and `cache.incr` is atomic in Redis, so concurrent requests
on different workers each get their own count. A cache outage lifts the limits for a while rather than refusing
the requests: the data is what matters.
"""

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from crm import clock
from crm.addresses import client_ip
from crm.views import login_locked_out

logger = logging.getLogger(__name__)


def _window(bucket: str, window: int) -> tuple[str, int, int]:
    now = int(clock.now().timestamp())
    start = now - now % window
    return f"ratelimit:{bucket}:{start}", start + window - now, window + 5


def rate_limit_hit(*, bucket: str, limit: int, window: int) -> int | None:
    """Count one request in a fixed window; None while within `limit`, else the seconds until the window ends."""
    key, seconds_left, timeout = _window(bucket, window)
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            count = cache.incr(key)
        except ValueError:  # the counter expired between add and incr: this request opens a new one
            cache.add(key, 1, timeout=timeout)
            count = 1
    except Exception:
        logger.warning("Rate limit %s not counted: the cache is unreachable", bucket, exc_info=True)
        return None
    return max(1, seconds_left) if count > limit else None


def rate_limit_hit_reading(
    *, bucket: str, limit: int, window: int, read: Sequence[str]
) -> tuple[int | None, tuple[object, ...]]:
    """`rate_limit_hit`, and the cache's values under the keys `read`, in one round trip to Redis (an API call's
    budget).

    A value is `MISSING` when its key is absent, and `UNREACHABLE` when the cache is (the limit is then lifted, as
    in `rate_limit_hit`). With a cache other than Redis (a development machine's memory) it takes more calls.
    """
    key, seconds_left, timeout = _window(bucket, window)
    try:
        client = _redis_client()
        if client is None:
            retry_after = rate_limit_hit(bucket=bucket, limit=limit, window=window)
            return retry_after, tuple(cache.get(name, MISSING) for name in read)
        raw_client, serializer = client
        counter = cache.make_and_validate_key(key)
        # A transaction: the counter is created with its expiry and counted at once (never left without expiry).
        pipe = raw_client.pipeline(transaction=True)
        pipe.set(counter, 0, ex=timeout, nx=True)
        pipe.incr(counter)
        for name in read:
            pipe.get(cache.make_and_validate_key(name))
        _created, count, *values = pipe.execute()
    except Exception:
        logger.warning("Rate limit %s not counted: the cache is unreachable", bucket, exc_info=True)
        return None, tuple(UNREACHABLE for _ in read)
    values = tuple(MISSING if value is None else serializer.loads(value) for value in values)
    return (max(1, seconds_left) if count > limit else None), values


# What `rate_limit_hit_reading` answers for a key it did not find, and for every key when the cache is away.
MISSING = object()
UNREACHABLE = object()


def _redis_client():
    """(redis client, the cache's serializer) when the cache is Django's Redis cache, else None."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    # Django makes a client object per call (on a shared pool of connections); one per backend will do.
    client = getattr(backend, "_crm_client", None)
    if client is None:
        client = backend._crm_client = backend._cache.get_client(write=True)
    return client, backend._cache._serializer


def rate_limit_reached(*, bucket: str, limit: int, window: int) -> int | None:
    """Without counting: the seconds until the window ends if `limit` counts were reached in it, else None."""
    key, seconds_left, _timeout = _window(bucket, window)
    try:
        count = cache.get(key) or 0
    except Exception:
        logger.warning("Rate limit %s not read: the cache is unreachable", bucket, exc_info=True)
        return None
    return max(1, seconds_left) if count >= limit else None


# --- Logins from one address --------------------------------------------------------------------------------------
# django-axes pauses a username at an address after a few wrong passwords (settings: AXES_*). On top of that, one
# address may fail LOGIN_ADDRESS_FAILURE_LIMIT times in a cool-off window across all usernames: a guesser trying a
# few passwords on every account ("spraying") is stopped too, while an office behind one address has room to spare.

LOGIN_PATHS = ("/login/", "/admin/login/")


def _login_bucket(request) -> str:
    return f"login-failures:{client_ip(request) or 'unknown'}"


def _login_window() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def login_failure_counted(sender, credentials=None, request=None, **kwargs) -> None:
    """Receiver of Django's `user_login_failed`: one more failure for the request's address."""
    if request is not None:
        rate_limit_hit(
            bucket=_login_bucket(request), limit=settings.LOGIN_ADDRESS_FAILURE_LIMIT, window=_login_window()
        )


class LoginAddressLimitMiddleware:
    """Refuses a login POST (429, the locked-out page) from an address that failed too often across usernames."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in LOGIN_PATHS:
            seconds = rate_limit_reached(
                bucket=_login_bucket(request), limit=settings.LOGIN_ADDRESS_FAILURE_LIMIT, window=_login_window()
            )
            if seconds is not None:
                return login_locked_out(request, None, None, retry_after=seconds)
        return self.get_response(request)
