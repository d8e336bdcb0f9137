"""Fieldwork rounds of the metric run with this application (services, CLI, the frozen guard).

The pure computation lives in ``metrics.fieldwork``; this package stores rounds, checks who
may do what, and publishes frozen rounds as ordinary metric rounds.
"""

from . import guard as guard  # registers the frozen-round check on every session
