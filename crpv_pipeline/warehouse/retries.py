"""Retrying the start of a warehouse transaction while the warehouse is briefly unavailable.

Belongs here: the retry policy (how many tries, how long to wait between them), parsing it from
its one-line setting (``CRPV_WAREHOUSE_RETRY``) and deciding which errors are worth another try.
Stays out: the loop itself and the messages people see (``engine.write_transaction``), and
anything after a transaction has started: a statement that fails inside a transaction rolls the
whole transaction back and is never retried here (a constraint violation is not transient).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from crpv_pipeline.settings import DEFAULT_RETRY

__all__ = ["DEFAULT_RETRY", "RetryPolicy", "is_transient", "parse_retry_policy"]

_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6  # primary result codes: another connection holds the lock


@dataclass(frozen=True)
class RetryPolicy:
    """How often the start of a transaction is tried: ``tries`` in all, waits doubling."""

    tries: int = 5
    first_delay: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.tries < 1 or self.first_delay < 0 or self.max_delay < self.first_delay:
            raise ValueError(
                f"retry policy {self.tries},{self.first_delay:g},{self.max_delay:g}: expected at"
                " least 1 try and 0 <= first wait <= longest wait"
            )

    def delays(self) -> list[float]:
        """The waits between tries, in seconds: one fewer than the tries."""
        return [min(self.first_delay * 2**i, self.max_delay) for i in range(self.tries - 1)]

    def __str__(self) -> str:
        return f"{self.tries},{self.first_delay:g},{self.max_delay:g}"


def parse_retry_policy(spec: str) -> RetryPolicy:
    """``TRIES[,FIRST_WAIT[,LONGEST_WAIT]]`` (seconds), e.g. ``5,0.5,8``; ``1`` never retries."""
    parts = [p.strip() for p in str(spec).split(",")]
    try:
        if not 1 <= len(parts) <= 3:
            raise ValueError
        tries = int(parts[0])
        first = float(parts[1]) if len(parts) > 1 else RetryPolicy.first_delay
        longest = float(parts[2]) if len(parts) > 2 else max(first, RetryPolicy.max_delay)
        return RetryPolicy(tries, first, longest)
    except ValueError as err:
        raise ValueError(
            f"warehouse retry {spec!r}: expected TRIES[,FIRST_WAIT[,LONGEST_WAIT]] in seconds,"
            f" for example {DEFAULT_RETRY} (1 to never retry)"
        ) from err


def is_transient(err: BaseException) -> bool:
    """Whether starting a transaction again may succeed where ``err`` failed.

    Only ``OperationalError`` qualifies (never an integrity or programming error). On SQLite,
    only a busy or locked database (another process is writing); other SQLite operational
    errors (a file that cannot be opened, a full disk) fail at once. On PostgreSQL every
    operational error at the start is retried: connection refused or reset, a server starting
    up or shutting down, too many connections, a serialization failure or deadlock. A wrong
    password or an unknown database also end up here (the driver does not tell them apart from
    a refused connection) and fail once the tries are spent.
    """
    if not isinstance(err, OperationalError):
        return False
    code = getattr(err.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return True
