"""Loads the checklist's pytest plugin for runs of this folder only (``pytest conformance/checks --target=…``), so
installing the package adds no options to other pytest runs; ``-p conformance.plugin`` loads it too (from another
repository: ``pytest -p conformance.plugin --pyargs conformance.checks --target=…``)."""

from __future__ import annotations

import pytest

from conformance import plugin


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # Registering here replays pytest_addoption for the plugin (a historic hook): its options exist before parsing.
    if not pluginmanager.is_registered(plugin):
        pluginmanager.register(plugin, "conformance.plugin")
