"""Tools that are not services: the night simulator and the local stand-in for the observatory archive.

`shared/` is what the services share; nothing under `services/` imports `tools/`.
"""
