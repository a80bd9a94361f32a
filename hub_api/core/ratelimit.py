"""Login throttling: a sliding window of failed attempts per (e-mail, client address).

Kept in process memory: one hub_api replica per database is the deployment unit (see the Helm
chart); with several replicas each enforces its own window, which still bounds guessing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class LoginRateLimiter:
    def __init__(
        self,
        *,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        attempts = self._failures[key]
        while attempts and attempts[0] <= now - self.window_seconds:
            attempts.popleft()
        return attempts

    def retry_after(self, *, email: str, client: str) -> int | None:
        """Seconds until another attempt is allowed, or ``None`` if allowed now."""
        key = (email.lower(), client)
        with self._lock:
            now = self._clock()
            attempts = self._prune(key, now)
            if len(attempts) < self.max_failures:
                return None
            return max(1, math.ceil(attempts[0] + self.window_seconds - now))

    def record_failure(self, *, email: str, client: str) -> None:
        with self._lock:
            self._failures[(email.lower(), client)].append(self._clock())

    def reset(self, *, email: str, client: str) -> None:
        with self._lock:
            self._failures.pop((email.lower(), client), None)
