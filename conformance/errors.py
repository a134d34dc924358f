"""The harness's own errors: raised for bad input files or an unreachable receiver, they stop a
run with one clear line (exit 2) instead of a verdict."""


class ConformanceError(Exception):
    """Base for every error the CLI reports as a one-line harness error."""


class HarnessError(ConformanceError, RuntimeError):
    """The run cannot judge anything (simulator or receiver unreachable); one line."""
