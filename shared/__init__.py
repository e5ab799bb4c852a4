"""Code every phoenix service uses: contracts, bus runtime, settings, telemetry, storage."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("phoenix")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
