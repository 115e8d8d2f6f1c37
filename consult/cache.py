"""The shared cache, which never blocks or breaks a request, and the rate-limit counters on it.

`FailOpenRedisCache` is Django's Redis cache with three changes:

- one `redis.Redis` client and connection pool per server for the whole process (Django's
  own backend builds a client on every call and a pool per thread);
- short socket and connect timeouts (`CACHE_TIMEOUT_SECONDS`, 100 ms) and no retries;
- it fails open: when Redis errors or times out, a read finds nothing, a write is dropped and
  a counter counts nothing, and for `CACHE_RETRY_AFTER_SECONDS` the process does not ask
  Redis at all, so a frozen server costs one request one timeout, not every request several.
  The failures are logged at most once a minute, with how many there were.

`counters_hit` counts several events in one round trip: on Redis one pipeline of
INCR + EXPIRE per counter; with the database cache (production without Redis) one
INSERT … ON CONFLICT DO UPDATE … RETURNING on a table of counters, atomic as INCR is (the
cache's own rows hold pickled values that SQL cannot increment); in memory (development,
tests) with `add` and `incr`.
"""

import copy
import hashlib
import logging
import random
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import connections, router

from consult.rates import rate_parse

logger = logging.getLogger(__name__)

_SHARED_CLIENTS: dict = {}
_SHARED_CLIENTS_LOCK = threading.Lock()


class CacheBreaker:
    """After a failure, Redis is left alone for a moment; failures are logged once a minute."""

    LOG_EVERY_SECONDS = 60.0

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        self.open_until = 0.0
        self.failures = 0  # since the last log line
        self.logged_at = None

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def failed(self, operation: str, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self.open_until = now + settings.CACHE_RETRY_AFTER_SECONDS
            self.failures += 1
            if self.logged_at is not None and now - self.logged_at < self.LOG_EVERY_SECONDS:
                return
            failures, self.failures, self.logged_at = self.failures, 0, now
        logger.warning(
            "The cache failed %d time(s) since this was last logged (latest: %s, %s: %s); "
            "requests went on without it, as if under the rate limits.",
            failures,
            operation,
            type(error).__name__,
            error,
        )


breaker = CacheBreaker()


class _SharedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis client whose `redis.Redis` objects are shared by every thread."""

    def __init__(self, servers, **options):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeout = settings.CACHE_TIMEOUT_SECONDS
        # Which shared client serves this cache: the same servers and options, the same one.
        self._identity = repr((timeout, sorted(options.items())))
        options = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 0),
            **options,
        }
        super().__init__(servers, **options)
        self._errors = (redis.RedisError, OSError)

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        identity = (self._servers[index], self._identity)
        client = _SHARED_CLIENTS.get(identity)
        if client is None:
            with _SHARED_CLIENTS_LOCK:
                client = _SHARED_CLIENTS.get(identity)
                if client is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    client = _SHARED_CLIENTS[identity] = self._client(connection_pool=pool)
        return client


def _fail_open(default):
    """Run the cache operation unless Redis just failed; on an error, return `default`."""

    def decorate(method):
        name = method.__name__

        def guarded(self, *args, **kwargs):
            if breaker.is_open():
                return copy.copy(default)
            try:
                return method(self, *args, **kwargs)
            except self._cache._errors as error:
                breaker.failed(name, error)
                return copy.copy(default)

        guarded.__name__ = name
        guarded.__doc__ = method.__doc__
        return guarded

    return decorate


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache on one pooled client per process, failing open (see the module)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedClientRedisCacheClient

    @_fail_open(False)
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout, version)

    def get(self, key, default=None, version=None):
        if breaker.is_open():
            return default
        try:
            return super().get(key, default, version)
        except self._cache._errors as error:
            breaker.failed("get", error)
            return default

    @_fail_open(None)
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set(key, value, timeout, version)

    @_fail_open(False)
    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version)

    @_fail_open(False)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_fail_open({})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_fail_open(False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_fail_open(0)
    def incr(self, key, delta=1, version=None):
        return super().incr(key, delta, version)

    @_fail_open([])
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout, version)

    @_fail_open(None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)

    @_fail_open(False)
    def clear(self):
        """Delete this cache's keys only: the database may be the Celery broker's too."""
        client = self._cache.get_client(write=True)
        pattern = self.make_key("*")
        deleted = 0
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
        return bool(deleted)

    @_fail_open(None)
    def counters_hit(self, counters: list[tuple[str, int]]) -> list[int] | None:
        """INCR each key and let it expire after its seconds: one command, one round trip."""
        keys = [self.make_and_validate_key(key) for key, _seconds in counters]
        script = _counters_script(self._cache.get_client(write=True))
        return [int(count) for count in script(keys=keys, args=[s for _k, s in counters])]


# A window's counter is created with its expiry, in the same step, so it can never outlive it.
_COUNTERS_LUA = """
local counts = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  counts[i] = count
end
return counts
"""
_COUNTERS_SCRIPTS: dict = {}


def _counters_script(client):
    """The counting script of this client (EVALSHA; redis-py loads it again after a restart)."""
    script = _COUNTERS_SCRIPTS.get(id(client))
    if script is None:
        script = _COUNTERS_SCRIPTS[id(client)] = client.register_script(_COUNTERS_LUA)
    return script


# Rates --------------------------------------------------------------------------------


def counter_key(group: str, value: str, rate: str, *, now: float | None = None):
    """The key of the fixed window `now` falls into, and how long that key must live.

    The counted value (an address, a phone number, an email) goes in only as a digest.
    """
    count, seconds = rate_parse(rate)
    window = int((time.time() if now is None else now) // seconds)
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
    return f"rl:{group}:{count}/{seconds}s:{window}:{digest}", seconds + 1


def counters_hit(counters: list[tuple[str, int]], *, using: str = "default") -> list[int]:
    """Count one event on each (key, seconds) counter; the counts, in order.

    One round trip on Redis. When the cache fails (see `FailOpenRedisCache`) every count is
    0: the request goes on as if under every limit.
    """
    if not counters:
        return []
    cache = caches[using]
    if isinstance(cache, FailOpenRedisCache):
        counts = cache.counters_hit(counters)
        return counts if counts is not None else [0] * len(counters)
    if isinstance(cache, DatabaseCache):
        return _database_counters_hit(counters, router.db_for_write(cache.cache_model_class))
    # Memory (development, tests): add and incr, atomic under the cache's lock.
    counts = []
    for key, seconds in counters:
        cache.add(key, 0, seconds)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between the two calls: this is the window's first
            cache.set(key, 1, seconds)
            counts.append(1)
    return counts


# The counters of the database cache's deployments: created by comments migration 0012.
COUNTER_TABLE = "consult_rate_counter"


def _database_counters_hit(counters: list[tuple[str, int]], using: str) -> list[int]:
    """One statement for every counter, each row incremented under its own lock."""
    now = time.time()
    expiry = {}
    for key, seconds in counters:
        expiry.setdefault(key, now + seconds)
    connection = connections[using]
    table = connection.ops.quote_name(COUNTER_TABLE)
    rows = ", ".join(["(%s, 1, %s)"] * len(expiry))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (counter_key, hits, expires_at) VALUES {rows} "  # noqa: S608
            f"ON CONFLICT (counter_key) DO UPDATE SET hits = {table}.hits + 1 "
            "RETURNING counter_key, hits",
            [value for item in expiry.items() for value in item],
        )
        hits = dict(cursor.fetchall())
        # Each window has keys of its own: now and then, remove the windows that are over.
        if random.random() < 0.01:  # noqa: S311 - not a secret
            cursor.execute(f"DELETE FROM {table} WHERE expires_at < %s", [now])  # noqa: S608
    return [hits[key] for key, _seconds in counters]
