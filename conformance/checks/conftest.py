"""Loads the checklist's pytest plugin for runs of this folder only (``pytest conformance/checks --target=…``)."""

from conformance.plugin import *  # noqa: F403  (hooks and the ``checklist`` fixture, by name, as pytest finds them)
