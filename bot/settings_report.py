"""Reporting on settings without revealing them: which variable a validation error names, warnings for
`DESKHAND_*` variables no setting reads, and the effective configuration with secrets masked."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings


def env_name(loc: tuple[Any, ...]) -> str:
    """The environment variable behind an error location (a field name, or already an alias like PORT)."""
    names = {
        "database_url": "DATABASE_URL",
        "redis_url": "REDIS_URL",
        "sentry_dsn": "SENTRY_DSN",
        "port": "PORT",
        "insecure_no_auth": "DESKHAND_TEAMS_INSECURE_NO_AUTH",
    }
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if not parts:
        return "configuration"
    if parts[-1].isupper():  # pydantic reports a field read through an alias by the alias itself
        return parts[-1]
    if parts[0] in ("slack", "teams") and len(parts) > 1:
        prefix = "SLACK_" if parts[0] == "slack" else "MICROSOFT_"
        return names.get(parts[1], prefix + parts[1].upper())
    return names.get(parts[0], "DESKHAND_" + parts[0].upper())


# Read by scripts/*.sh (`DESKHAND_EXTRAS=llm scripts/run.sh`) and the tests, not by a setting: no warning.
SCRIPT_VARIABLES = frozenset({"DESKHAND_EXTRAS", "DESKHAND_EVAL_OUT", "DESKHAND_SHARED_CORPORA"})


def unknown_variables(environ: Mapping[str, str], known: set[str]) -> list[str]:
    """A warning for each `DESKHAND_*` name no setting reads, naming the closest valid one (a typo
    would otherwise be ignored silently). `DESKHAND_TEST_*` belong to the test suite, `SCRIPT_VARIABLES` to the
    scripts and tests."""
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("DESKHAND_") or upper.startswith("DESKHAND_TEST_") or upper in known | SCRIPT_VARIABLES:
            continue
        bare = upper.removeprefix("DESKHAND_")
        close = [bare] if bare in known else difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{name} is not a Deskhand setting and is ignored{hint}")
    return warnings


def masked(settings: BaseSettings) -> dict[str, Any]:
    """The effective configuration as plain data with every secret masked."""

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "********" if value.get_secret_value() else ""
        if isinstance(value, BaseSettings):
            return {k: walk(getattr(value, k)) for k in type(value).model_fields}
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, StrEnum):
            return value.value
        return value

    data = walk(settings)
    url = data.get("database_url")
    if url and "@" in url:  # a password may sit in the URL
        scheme, rest = url.split("://", 1)
        data["database_url"] = f"{scheme}://********@{rest.split('@', 1)[1]}"
    return data
