"""`deskhand eval --llm`: the suites once more in LLM mode, against the scripted OpenAI-compatible test
server started in-process; the report shows both modes side by side, and every request the server
received is checked for personal values from the directory and the ledger (the target is none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evals.gate import flat_metrics
from evals.results import SuiteResult
from tools.directory_data import load_directory_data
from tools.ledger_data import load_ledger_data

SCRIPTED_MODEL = "openai:scripted-eval"


@dataclass
class LLMRun:
    suites: list[SuiteResult] = field(default_factory=list)
    requests: int = 0
    leaks: list[str] = field(default_factory=list)  # personal values found in what left the process
    paths: dict[str, int] = field(default_factory=dict)


def personal_values(sample_data: Path) -> list[str]:
    """Names, e-mails and phone numbers of the directory's people and the ledger's vendor contacts."""
    directory = load_directory_data(sample_data / "directory.yaml")
    ledger = load_ledger_data(sample_data / "ledger.yaml")
    values = [p.email for p in directory.people]
    values += [f"{p.given_name} {p.family_name}" for p in directory.people]
    for vendor in ledger.vendors:
        values += [v for v in (vendor.contact.name, vendor.contact.email, vendor.contact.phone) if v]
    return sorted(set(values))


@asynccontextmanager
async def scripted_server() -> AsyncIterator[Any]:
    """The test server with the quoting model (needs the source checkout: it lives under tests/)."""
    try:
        from tests.emulators.openai_api import OpenAIEmulator
        from tests.emulators.scripted_model import quoting_responder
    except ImportError as exc:  # an installed package without the tests folder
        raise RuntimeError("deskhand eval --llm needs the source checkout (tests/emulators)") from exc
    server = OpenAIEmulator(quoting_responder)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def llm_settings(settings: Any, server: Any) -> Any:
    from tests.emulators.openai_api import API_KEY

    return settings.model_copy(
        update={
            "llm_model": SCRIPTED_MODEL,
            "llm_base_url": server.base_url,
            "llm_api_key": _secret(API_KEY),
        }
    )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def check_requests(server: Any, values: list[str]) -> tuple[int, list[str]]:
    sent = server.book.sent_text()
    return len(server.requests), [v for v in values if v in sent]


def side_by_side(offline: list[SuiteResult], llm: LLMRun) -> list[tuple[str, float | None, float | None]]:
    a, b = flat_metrics(offline), flat_metrics(llm.suites)
    return [(name, a.get(name), b.get(name)) for name in sorted(set(a) | set(b))]


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def markdown(offline: list[SuiteResult], llm: LLMRun) -> str:
    lines = [
        "## Offline engine vs LLM mode",
        "",
        f"LLM mode ran against the scripted OpenAI-compatible test server ({SCRIPTED_MODEL}): "
        f"{llm.requests} requests; personal values from the directory or ledger in them: "
        f"**{len(llm.leaks)}**" + (f" ({', '.join(llm.leaks)})" if llm.leaks else "") + ".",
        "",
        "| metric | offline | LLM mode | Δ |",
        "|---|---:|---:|---:|",
    ]
    for name, a, b in side_by_side(offline, llm):
        delta = "" if a is None or b is None else _fmt(round(b - a, 4))
        lines.append(f"| {name} | {_fmt(a)} | {_fmt(b)} | {delta} |")
    return "\n".join(lines) + "\n"


def print_side_by_side(offline: list[SuiteResult], llm: LLMRun, console: Console) -> None:
    table = Table(title="offline engine vs LLM mode (scripted server)")
    for col in ("metric", "offline", "LLM mode"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, a, b in side_by_side(offline, llm):
        table.add_row(name, _fmt(a), _fmt(b))
    console.print(table)
    mark = "[green]0[/]" if not llm.leaks else f"[bold red]{len(llm.leaks)}[/]"
    console.print(f"LLM requests: {llm.requests} · personal values sent: {mark}")
