"""What the page shows when something goes wrong: a clear message, never a traceback or a server path.

* An :class:`~xaiscope.errors.XaiscopeError` (a bad file, a missing model...) is the user's to fix: its problem
  and hint are shown as they are (user text escaped, see :mod:`xaiscope.app.text`).
* Anything else is a fault of the server: it is logged on the server with its traceback under a short reference
  (``xaiscope-ref 1a2b3c4d``), and the page shows only that reference and what to do, so an administrator can find
  the traceback with ``grep 1a2b3c4d`` in the server's log.

:func:`guarded` wraps the whole page script; Streamlit's own control-flow exceptions (``st.stop``, reruns) derive
from ``BaseException`` and pass through untouched.
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Callable

import streamlit as st

from xaiscope.app.text import plain
from xaiscope.errors import XaiscopeError

#: The server log's logger; its records go to the server's stderr (where ``xaiscope app`` writes its log).
log = logging.getLogger("xaiscope.app")
if not log.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def show_error(error: XaiscopeError) -> None:
    """The problem and what to do, in an error box; user-controlled text shown literally."""
    body = plain(error.problem)
    if error.hint:
        body += f"\n\n**What to do:** {plain(error.hint)}"
    st.error(body)


def report_unexpected(error: BaseException) -> str:
    """Log ``error`` with its traceback under a new reference and show a short message with that reference.

    Returns:
        The reference (8 hexadecimal digits), as written in the log line ``xaiscope-ref <reference>``.
    """
    reference = secrets.token_hex(4)
    log.error("xaiscope-ref %s: unexpected %s while serving the page", reference, type(error).__name__,
              exc_info=(type(error), error, error.__traceback__))
    st.error(f"Something went wrong on the server (reference **{reference}**). Nothing you did caused it. The page "
             "still works: try again, or change the input or the settings.\n\n**What to do:** if it happens again, "
             f"give the server's administrator the reference {reference}; the details are in the server's log.")
    return reference


def guarded(page: Callable[[], None]) -> None:
    """Run ``page``, turning any error that escapes it into a message (see the module docstring)."""
    try:
        page()
    except XaiscopeError as error:
        show_error(error)
    except Exception as error:  # every other fault: logged with its traceback, shown by reference only
        report_unexpected(error)
