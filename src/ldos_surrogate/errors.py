"""The one error type for bad input.

Every check of user input (files, arrays, config keys) raises `InputError` with a
message that names the offending file or key; the CLI prints it as one line.
"""


class InputError(ValueError):
    """Bad input: a missing or corrupt file, inconsistent arrays, an invalid config value."""
