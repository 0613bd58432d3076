"""Sub-commands of the `ldos-surrogate` console script, one module each.

Every module here defines `register(subparsers)` which adds its parser and sets
`func` to a callable taking the parsed namespace and returning an exit code.
"""
