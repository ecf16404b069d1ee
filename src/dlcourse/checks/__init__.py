"""Student-facing checks, one module per chapter (``dlcourse.checks.chNN_slug``).

Each check raises :class:`AssertionError` with a message that says what is wrong and
what the exercise asks for, never the answer itself. Visible test cells in the exercise
notebooks call these; hidden tests call them again on other inputs.
"""
