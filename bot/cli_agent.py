"""CLI commands that talk to the agent: `ask` and `chat` (`approvals` is in `bot.cli_approvals`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channels.base import InboundMessage
from channels.local import reply_to_json, reply_to_text, section_to_text

if TYPE_CHECKING:
    from bot.settings import Settings

MORE_HINT = "(Shortened: type /more for the full section.)"
NO_MORE = "The last answer showed its whole section; there is nothing more to show."
REASON_NEEDED = "Please give a reason: /reject ID --as EMAIL REASON (the requester sees it)."
CHAT_HELP = """Commands:
  /help                              this help
  /approvals                         pending approvals
  /approve ID --as EMAIL [comment]   approve as EMAIL (the requester sees the comment)
  /reject ID --as EMAIL REASON       reject as EMAIL; the reason is required and shown to the requester
  (or ask "what's waiting for me?" to list what you may decide)
  /more                              the full section the last answer was shortened from
  /new                               start a new conversation
  /quit                              leave (Ctrl-D works too)
Anything else is a question or request for Deskhand."""


def _message(text: str, user: str | None, conversation: str) -> InboundMessage:
    return InboundMessage(
        channel="local",
        conversation_key=f"local:{conversation}",
        user_id=user or "anonymous",
        user_email=user,
        text=text,
        conversation_ref={"conversation": conversation},
    )


def _runtime(settings: Settings, *, lazy_models: bool = False) -> Any:
    from bot.wiring import open_runtime

    return open_runtime(settings, lazy_models=lazy_models)


def _fail(exc: Exception) -> int:
    """Expected start-up failures (no index, bad policy file…) as one clear line."""
    print(f"deskhand: {exc}", file=sys.stderr)
    return 2


async def _identify(rt: Any, user: str | None) -> str | None:
    if not user:
        return None
    return await rt.agent.identify(user) or user.lower()


async def _ask(args: argparse.Namespace, settings: Settings) -> int:
    conversation = args.conversation or secrets.token_hex(6)
    async with _runtime(settings) as rt:
        user = await _identify(rt, args.user)
        await rt.agent.expire_due()
        if args.batch:
            for line in args.batch_lines:
                reply = await rt.agent.handle(_message(line, user, args.conversation or secrets.token_hex(6)))
                print(json.dumps(reply_to_json(reply)), flush=True)
            return 0
        question = " ".join(args.question)
        reply = await rt.agent.handle(_message(question, user, conversation))
        if args.json:
            out = reply_to_json(reply)
            out["conversation"] = conversation
            print(json.dumps(out))
        else:
            print(reply_to_text(reply))
            if not args.conversation and reply.route in ("clarify", "confirm"):
                print(f'\n(continue with: deskhand ask --conversation {conversation} --user {user} "...")')
        return 0 if reply.route != "error" else 1


class BatchFileError(ValueError):
    """The --batch file cannot be read as questions; the message says which file and line."""


def _batch_lines(path: Path) -> list[str]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise BatchFileError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise BatchFileError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                raise BatchFileError(f"{path} line {number}: not valid JSON") from None
            line = str(record.get("question", "") if isinstance(record, dict) else "").strip()
        out.append(line)
    return out


def cmd_ask(args: argparse.Namespace, settings_fn: Callable[[argparse.Namespace], Settings]) -> int:
    if not args.batch and not " ".join(args.question).strip():
        print('deskhand: please give a question, e.g. deskhand ask "how many PTO days do I get?"', file=sys.stderr)
        return 2
    if args.batch:
        try:  # read before the model loads: a bad file fails in a moment, not after seconds
            args.batch_lines = _batch_lines(Path(args.batch))
        except BatchFileError as exc:
            return _fail(exc)
    settings = settings_fn(args)
    try:
        return asyncio.run(_ask(args, settings))
    except _expected_errors() as exc:
        return _fail(exc)


def _expected_errors() -> tuple[type[Exception], ...]:
    from bot.cli_approvals import decide_errors
    from knowledge.embedder import EmbedderUnavailable
    from knowledge.errors import KnowledgeError

    return (KnowledgeError, EmbedderUnavailable, *decide_errors())


# -- chat ---------------------------------------------------------------------------------------
async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    with contextlib.suppress(ImportError):  # line editing and history for input(), where available
        import readline  # noqa: F401
    conversation = args.conversation or secrets.token_hex(6)
    print("Loading Deskhand…", flush=True)
    async with _runtime(settings) as rt:
        user = await _identify(rt, args.user)
        print(f"Deskhand is ready. You are {user or 'anonymous'}. Type /help for commands, /quit to leave.")
        last_section: str | None = None  # the last answer's full-section reference, for /more
        while True:
            await rt.agent.expire_due()
            for note in rt.local_outbox.drain(conversation):
                print(f"\n[update] {note['text']}\n")
            try:
                text = await asyncio.to_thread(input, "you> ")
            except EOFError:
                print()
                return 0
            text = text.strip()
            if not text:
                continue
            if text.split()[0].lower() == "/more":
                print("\n" + (await _more(rt, last_section)) + "\n")
                continue
            if text.startswith("/"):
                done, conversation = await _chat_command(rt, text, conversation)
                if done:
                    return 0
                continue
            reply = await rt.agent.handle(_message(text, user, conversation))
            last_section = reply.section
            print("\n" + reply_to_text(reply) + ("\n" + MORE_HINT if reply.section else "") + "\n")


async def _more(rt: Any, ref: str | None) -> str:
    """`/more`: the full section of the last answer, when it was shortened."""
    if not ref:
        return NO_MORE
    return section_to_text(await rt.agent.full_section(ref))


async def _chat_command(rt: Any, text: str, conversation: str) -> tuple[bool, str]:
    parts = text.split()
    cmd = parts[0].lower()
    if cmd in ("/quit", "/exit", "/q"):
        return True, conversation
    if cmd == "/help":
        print(CHAT_HELP)
    elif cmd == "/new":
        conversation = secrets.token_hex(6)
        print("Started a new conversation.")
    elif cmd == "/approvals":
        from bot.cli_approvals import print_approvals

        print_approvals(await asyncio.to_thread(rt.approvals.list, "pending"))
    elif cmd == "/reject" and len(parts) == 4 and parts[2] == "--as":
        print(REASON_NEEDED)
    elif cmd in ("/approve", "/reject") and len(parts) >= 4 and parts[2] == "--as":
        outcome = await rt.agent.decide(parts[1], await _identify(rt, parts[3]), cmd == "/approve", " ".join(parts[4:]))
        print(outcome.message)
        for note in rt.local_outbox.drain(conversation):
            print(f"[update] {note['text']}")
    else:
        print("I didn't understand that command.\n" + CHAT_HELP)
    return False, conversation


def cmd_chat(args: argparse.Namespace, settings_fn: Callable[[argparse.Namespace], Settings]) -> int:
    settings = settings_fn(args)
    try:
        return asyncio.run(_chat(args, settings))
    except _expected_errors() as exc:
        return _fail(exc)


def register(
    sub: Any,
    settings_fn: Callable[[argparse.Namespace], Settings],
    add_common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser(
        "ask",
        help="answer one question or request and exit",
        description="Ask Deskhand one question (or run one request) and print the reply.",
    )
    p.add_argument("question", nargs="*", help="the question or request")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (answer, citations, confidence, route, full_section…)",
    )
    p.add_argument("--user", metavar="EMAIL", help="who is asking (the directory identity used by the policy)")
    p.add_argument("--conversation", metavar="ID", help="continue a conversation (follow-ups, clarifications)")
    p.add_argument(
        "--batch",
        metavar="FILE",
        help="answer every line of FILE (text or JSONL with 'question') "
        "in one warm process; prints one JSON object per line",
    )
    add_common(p)
    p.set_defaults(func=lambda a: cmd_ask(a, settings_fn))

    p = sub.add_parser(
        "chat",
        help="terminal chat with Deskhand",
        description="Interactive terminal chat. " + CHAT_HELP.replace("\n", " "),
    )
    p.add_argument("--user", metavar="EMAIL", help="who you are (e.g. bob.martin@example.com)")
    p.add_argument("--conversation", metavar="ID", help="resume a conversation")
    add_common(p)
    p.set_defaults(func=lambda a: cmd_chat(a, settings_fn))
