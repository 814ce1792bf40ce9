"""Shared pytest setup."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Caches (e.g. detections) go to a per-test temporary folder, never the user's ~/.cache.
    Subprocesses inherit it through the environment."""
    monkeypatch.setenv("CMANET_CACHE_DIR", str(tmp_path_factory.mktemp("cmanet-cache")))
