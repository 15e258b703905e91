"""The one base class of the errors whose message is a whole sentence for the student.

A bad image, a refused weights file, an expression that does not parse, a checkpoint of another model:
these are expected, their message says what is wrong and what to do, and a traceback would only hide it.
The job runner logs them as one line and shows the message as it is; any other exception is a bug, shown
with its type and logged with its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An expected failure; str(error) is the sentence to show."""
