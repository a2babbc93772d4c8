"""Parsing the YAML files read at start-up (policy, intents, lexicon, privacy topics, contacts, sample
data): with libyaml's C loader when PyYAML was built with it, the pure-Python safe loader otherwise. Both
build only plain values (no Python objects) and raise the same `yaml.YAMLError`s with line marks."""

from __future__ import annotations

from typing import Any

import yaml

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str | bytes) -> Any:
    """The document in `text`, as `yaml.safe_load` reads it."""
    return yaml.load(text, Loader=LOADER)  # noqa: S506 - LOADER is a safe loader
