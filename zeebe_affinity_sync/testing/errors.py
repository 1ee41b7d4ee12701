"""The errors of the testing toolkit.

::

    AssertionError
    └── ProcessAssertionError      an assertion or a stepwise command did not hold (pytest shows it
                                   as a test failure with the message: path, active elements...)
    ZeebeAffinityError
    └── EngineBusyError (+ TimeoutError)
        └── TestEngineBusy             wait_for_idle() ran out of time (mocks included); names what is busy
"""
from __future__ import annotations

from ..errors import EngineBusyError

__all__ = ["ProcessAssertionError", "TestEngineBusy"]


class ProcessAssertionError(AssertionError):
    """A process assertion did not hold, or a stepwise command found nothing to act on."""


class TestEngineBusy(EngineBusyError):
    """The engine (or its mocks) still had work after the timeout."""

    __test__ = False  # not a test class, whatever pytest's name patterns say
