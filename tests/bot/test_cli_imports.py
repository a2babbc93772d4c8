"""Commands that do not need the model never import it (checked in a fresh process per command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL_STACK = ("torch", "onnxruntime", "faiss", "sentence_transformers", "transformers")
# What the quickest commands must not load either (each costs a second or more at import).
FRAMEWORKS = ("langgraph", "scim2_models", "botbuilder", "sqlalchemy")
# What the approval and audit read commands must not load: they read the database and nothing else
# (issue 9: each under a second; `approvals list` took 5-25 s importing the agent, SCIM and LLM stacks).
AGENT_STACK = (
    "langgraph",
    "langchain_core",
    "scim2_models",
    "scim2_client",
    "scim2_server",
    "botbuilder",
    "aiohttp",
    "httpx",
    "numpy",
    "procrastinate",
    "alembic",  # the schema is checked with one query once it is current
)

PROBE = """
import json, sys
from bot.cli import main
sys.argv = ["deskhand", *sys.argv[1:]]
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("\\nLOADED " + json.dumps(sorted(m.split(".")[0] for m in sys.modules)))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DESKHAND_DATA_DIR": str(tmp_path / "data"),
        "DESKHAND_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    for name in ("DATABASE_URL", "REDIS_URL", "SLACK_BOT_TOKEN", "MICROSOFT_APP_ID"):
        env.pop(name, None)
    return env


def _loaded(args: list[str], tmp_path: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "Traceback" not in done.stderr, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED "))
    return set(json.loads(line.removeprefix("LOADED ")))


@pytest.mark.parametrize(
    "args",
    [
        ["approvals", "list"],
        ["approvals", "list", "--status", "all", "--json"],
        ["approvals", "show", "apr_missing"],
        ["approvals", "decide", "apr_missing", "--as", "alice.nguyen@example.com", "--approve"],
        ["audit", "verify"],
        ["audit", "tail", "-n", "3"],
    ],
    ids=" ".join,
)
def test_approval_and_audit_commands_do_not_load_the_model(args: list[str], tmp_path: Path) -> None:
    loaded = _loaded(args, tmp_path)
    assert not loaded & set(MODEL_STACK), sorted(loaded & set(MODEL_STACK))


@pytest.mark.parametrize(
    "args",
    [
        ["approvals", "list"],
        ["approvals", "list", "--status", "all", "--json"],
        ["approvals", "show", "apr_missing"],
        ["approvals", "decide", "apr_missing", "--as", "alice.nguyen@example.com", "--approve"],
        ["audit", "verify"],
        ["audit", "tail", "-n", "3"],
    ],
    ids=" ".join,
)
def test_read_commands_load_only_the_database_layer(args: list[str], tmp_path: Path) -> None:
    # The first command in a new data folder creates the SQLite schema (Alembic); every later one reads.
    created = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"], cwd=tmp_path, env=_env(tmp_path), capture_output=True
    )
    assert created.returncode == 0, created.stderr
    loaded = _loaded(args, tmp_path)
    assert not loaded & set(AGENT_STACK), sorted(loaded & set(AGENT_STACK))
    assert "sqlalchemy" in loaded  # it did read the database


@pytest.mark.parametrize("args", [["--help"], ["config"], ["index", "status"], ["approvals", "--help"]], ids=" ".join)
def test_help_config_and_index_status_load_no_framework(args: list[str], tmp_path: Path) -> None:
    loaded = _loaded(args, tmp_path)
    assert not loaded & set(MODEL_STACK + FRAMEWORKS), sorted(loaded & set(MODEL_STACK + FRAMEWORKS))
    # Nor numpy (the index status reads the manifest alone) or rich (plain lines only).
    assert not loaded & {"numpy", "rich"}, sorted(loaded & {"numpy", "rich"})


@pytest.mark.parametrize("args", [["--help"], ["approvals", "--help"], ["audit", "tail", "--help"]], ids=" ".join)
def test_help_reads_no_settings(args: list[str], tmp_path: Path) -> None:
    # Settings (pydantic-settings and pydantic, ~0.1-0.2 s) load once a command runs, not to print its usage.
    loaded = _loaded(args, tmp_path)
    assert not loaded & {"pydantic_settings", "pydantic"}, sorted(loaded & {"pydantic_settings", "pydantic"})


def test_the_heavy_commands_still_have_their_full_help(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--help"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "--slack-socket-mode" in done.stdout


# -- deciding an existing approval ------------------------------------------------------------------
# Deciding re-checks eligibility against the directory and may run the action, so it loads the policy and
# the tools; never the model, the router or LangGraph (issue 9: it took 3.8 s opening the whole agent). The
# embedded directory is read from its snapshot file: the SCIM libraries (0.6 s or more to import) load only
# when the action run uses the directory, and a payment hold does not. Its behaviour through the agent is
# covered in tests/graphs/agent/test_agent_approvals.py.
NOT_FOR_DECIDING = (*MODEL_STACK, "langgraph", "langchain_core", "langchain", "langsmith", "numpy", "botbuilder")
SCIM = ("scim2_client", "scim2_models", "scim2_server")
CAROL, DAN = "carol.diaz@example.com", "dan.okafor@example.com"  # AP leads: a hold needs both (four eyes)
HECTOR = "hector.ruiz@example.com"  # AP clerk: requests holds


async def _request(data: Path, tool: str, args: dict[str, object], requester: str) -> str:
    """A pending approval as the agent records it: the policy's approvers, bound to the facts it saw."""
    from datetime import timedelta

    from tests.sample_world import sample_world

    async with sample_world(data) as world:
        approval, _ = await world.request(tool, args, requester, conversation="imports", ttl=timedelta(hours=1))
        return str(approval.id)


def _decided(args: list[str], tmp_path: Path) -> tuple[dict[str, object], set[str]]:
    """The command's JSON outcome, and every module it loaded (full dotted names)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace('m.split(".")[0]', "m"), *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    outcome = json.loads(next(x for x in lines if x.startswith("{")))
    loaded = json.loads(next(x for x in lines if x.startswith("LOADED ")).removeprefix("LOADED "))
    return outcome, set(loaded)


async def test_deciding_an_approval_loads_neither_the_model_nor_the_agent_graph(tmp_path: Path) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"], cwd=tmp_path, env=_env(tmp_path), capture_output=True
    )
    assert created.returncode == 0, created.stderr
    data = tmp_path / "data"
    rejected = await _request(data, "hold_payment", {"invoice_id": "INV-10042", "reason": "check"}, HECTOR)
    held = await _request(
        data, "hold_payment", {"invoice_id": "INV-10077", "reason": "dispute"}, "hector.ruiz@example.com"
    )
    steps = [  # (command, accepted, status, whether the AP tools' client may load: only to run the hold)
        (["approvals", "decide", rejected, "--as", DAN, "--reject", "--reason", "duplicate"], True, "rejected", False),
        (["approvals", "decide", held, "--as", CAROL, "--approve"], True, "pending", False),  # first of two
        (["approvals", "decide", held, "--as", DAN, "--approve"], True, "executed", True),  # completes: the hold runs
        (["approvals", "decide", held, "--as", DAN, "--approve"], False, "executed", False),  # single use
    ]
    for args, accepted, status, runs in steps:
        outcome, modules = _decided(args, tmp_path)
        loaded = {m.split(".")[0] for m in modules}
        assert (outcome["accepted"], outcome["status"]) == (accepted, status), (args, outcome)
        assert not loaded & set(NOT_FOR_DECIDING), (args, sorted(loaded & set(NOT_FOR_DECIDING)))
        assert not loaded & set(SCIM), (args, sorted(loaded & set(SCIM)))
        assert ("tools.ledger" in modules) == runs, args
    verified = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"], cwd=tmp_path, env=_env(tmp_path), capture_output=True
    )
    assert verified.returncode == 0, verified.stdout


async def test_deciding_reads_the_directory_as_it_is_now_and_opens_scim_only_to_run_a_directory_action(
    tmp_path: Path,
) -> None:
    """The re-check reads the embedded directory's snapshot, so a change made by another process counts at
    once; an approved directory action still runs, through the SCIM client it opens then."""
    from datetime import timedelta

    from bot.settings import DEFAULT_SAMPLE_DATA
    from tests.sample_world import sample_world
    from tools.directory import build_directory

    created = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"], cwd=tmp_path, env=_env(tmp_path), capture_output=True
    )
    assert created.returncode == 0, created.stderr
    data = tmp_path / "data"
    hold = await _request(data, "hold_payment", {"invoice_id": "INV-10077", "reason": "dispute"}, HECTOR)
    async with sample_world(data) as world:  # a group whose owners alone decide who joins
        joining, req = await world.request(
            "add_to_group",
            {"email": HECTOR, "group": "engineering"},
            "frank.li@example.com",
            conversation="x",
            ttl=timedelta(hours=1),
        )
    assert req.required == 1 and req.approvers
    other_process = build_directory(None, None, data, DEFAULT_SAMPLE_DATA)
    try:
        await other_process.deactivate_user(CAROL)
    finally:
        await other_process.aclose()

    refused, modules = _decided(["approvals", "decide", hold, "--as", CAROL, "--approve"], tmp_path)
    assert (refused["accepted"], refused["status"]) == (False, "pending") and "no longer active" in str(refused)
    assert not {m.split(".")[0] for m in modules} & set(SCIM)

    approver = req.approvers[0]
    ran, modules = _decided(["approvals", "decide", joining.id, "--as", approver, "--approve"], tmp_path)
    assert (ran["accepted"], ran["status"]) == (True, "executed"), ran
    assert "scim2_client" in {m.split(".")[0] for m in modules}  # the action used the directory
    after = build_directory(None, None, data, DEFAULT_SAMPLE_DATA)
    try:
        assert HECTOR in await after.group_members("engineering")
    finally:
        await after.aclose()
