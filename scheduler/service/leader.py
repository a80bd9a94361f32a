"""One scheduler leader at a time.

PostgreSQL: a session-level advisory lock held on a dedicated connection (released by the
server if the leader's connection dies). SQLite (local, one machine): an ``flock`` on a file
next to the database. A second instance waits until the lock is free.
"""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

ADVISORY_LOCK_KEY = 0x41584855  # "AXHU"


class LeaderLock:
    def __init__(self, engine: Engine, *, lock_file: Path, key: int = ADVISORY_LOCK_KEY) -> None:
        self.engine = engine
        self.lock_file = lock_file
        self.key = key
        self._connection: Any = None
        self._file: IO[str] | None = None

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        if self.is_postgres:
            connection = self.engine.connect()
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar()
            )
            connection.commit()
            if got:
                self._connection = connection
            else:
                connection.close()
            return got
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_file.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def acquire(self, *, poll_s: float = 1.0, stop: Any = None) -> bool:
        """Wait until this instance leads (or ``stop`` is set); returns whether it leads."""
        while not (stop is not None and stop.is_set()):
            if self.try_acquire():
                return True
            time.sleep(poll_s)
        return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
