"""Student-facing checks, one module per chapter (``dlcourse.checks.chNN_slug``).

Each check raises :class:`AssertionError` with a message that says what is wrong and
what the exercise asks for, never the answer itself. Visible test cells in the exercise
notebooks call these; hidden tests check the same properties with plain asserts.

Every check sets ``__tracebackhide__``: IPython and pytest then leave its frames out of the
traceback, so a student sees their own cell and the message, not the checks' internals.
"""
