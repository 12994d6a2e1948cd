"""A bounded wait for a condition to come true, for every end-to-end test."""
import time


def wait_until(predicate, timeout: float, what: str, poll: float = 0.2):
    """The first truthy value of `predicate()` within `timeout` seconds; a predicate that
    raises OSError or ValueError (a server that is down, a half-written file) counts as no."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)
