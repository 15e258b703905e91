"""What finite jobs share: cancellation. A job raises JobCancelled when its `should_stop()` turns true."""


class JobCancelled(Exception):
    """The user cancelled the job; not an error."""


def check_cancel(should_stop) -> None:
    if should_stop is not None and should_stop():
        raise JobCancelled()
