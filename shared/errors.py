"""The four kinds of failure, treated the same way by the runtime everywhere.

- `NoWork`: nothing to do for this input; the offset is committed and counted as skipped.
- `TransientError`: may succeed later (network, broker, database); retried with capped
  backoff, then dead-lettered.
- `DataError`: this input will always fail; the handler should turn it into an outcome
  (FAILED, INCOMPLETE) where it can. One that escapes the handler is dead-lettered at once.
- `ConfigError`: a deployment mistake; the service stops and never dead-letters it.
"""


class PhoenixError(Exception):
    """Base of every error phoenix raises on purpose."""


class NoWork(PhoenixError):
    """There is nothing to do for this input."""


class TransientError(PhoenixError):
    """A failure that may go away when retried."""


class DataError(PhoenixError):
    """This input can never be processed as it is."""


class ConfigError(PhoenixError):
    """The service is configured wrongly and must stop."""
