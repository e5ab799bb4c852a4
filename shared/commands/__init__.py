"""Sub-commands of `phoenix`: each module here exposes `register(subparsers)`.

A command sets `run=<callable(args) -> int>` on its parser with `set_defaults`.
"""
