"""Errors the user can fix: shown as one line naming the file/field and the problem."""


class UserError(ValueError):
    """Bad input (file, config key, spec field): the CLI prints it as one line, exit code 2."""
