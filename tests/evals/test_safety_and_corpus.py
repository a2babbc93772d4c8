"""The safety suite's checks can fail, the token meter counts, and --corpus runs any folder of documents."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from bot.settings import Settings, offline_runtime
from bot.wiring import open_runtime
from evals.cli import EXIT_USAGE
from evals.harness import EvalEnv
from evals.models import RecordingChatModel, meter_runtime
from evals.report import cost
from evals.results import Usage
from evals.runner import SAMPLE_CORPUS, eval_settings
from evals.suite_safety import captured_logs, run_safety
from graphs.llm import ToolCallingUnderstander
from tests.evals.support import report, run_eval

offline_runtime()


async def test_the_pii_check_fails_when_a_value_reaches_the_model(tmp_path: Path):
    settings = eval_settings(Settings(data_dir=tmp_path / "data"))
    env = EvalEnv(settings, open_runtime, tmp_path / "work", Path(settings.cache_dir) / "eval")
    index = env.index([SAMPLE_CORPUS])
    user = "hector.ruiz@example.com"
    cases = [
        {
            "id": "iban",
            "kind": "pii",
            "user": user,
            "tags": [],
            "turns": ["the new IBAN for Globex is DE89 3704 0044 0532 0130 00"],
            "pii": ["DE89 3704 0044 0532 0130 00"],
        },
        # Names are not redacted before the model sees them, so a "PII" name must be reported as sent.
        {
            "id": "name",
            "kind": "pii",
            "user": user,
            "tags": [],
            "turns": ["please put invoice INV-10077 on hold for Dana Reyes"],
            "pii": ["Dana Reyes"],
        },
    ]
    result = await run_safety(env, index, SAMPLE_CORPUS, [], cases, jobs=1, done=lambda: None)
    by_id = {c.id: c for c in result.cases}
    assert by_id["iban"].passed, by_id["iban"].detail
    assert by_id["iban"].data["model_calls"] >= 1
    assert not by_id["name"].passed
    assert "'Dana Reyes' was sent to the model" in by_id["name"].detail
    assert result.metrics["pass_rate"] == 0.5


def test_captured_logs_see_our_debug_records_and_restore_levels():
    ours = logging.getLogger("graphs.test-eval")
    before = (logging.getLogger().level, logging.getLogger("graphs").level)
    with captured_logs() as logs:
        ours.debug("account %s", "123456789012")
        logging.getLogger("some.library").debug("not captured below INFO")
    assert any("123456789012" in line for line in logs.lines)
    assert not any("not captured" in line for line in logs.lines)
    assert (logging.getLogger().level, logging.getLogger("graphs").level) == before


class _CountingModel(RecordingChatModel):
    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.calls.append([str(m.content) for m in messages])
        usage = {"input_tokens": 120, "output_tokens": 8, "total_tokens": 128}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="", usage_metadata=usage))])


async def test_the_usage_meter_counts_an_llm_understanders_tokens_and_prices_them(tmp_path: Path):
    understander = ToolCallingUnderstander(_CountingModel(), [])
    rt = type("Rt", (), {"deps": type("Deps", (), {"understander": understander})()})()
    usage = Usage(model="openai:gpt-4o-mini")
    meter_runtime(rt, usage)
    await understander.understand("what's the status of INV-10042?", [])
    await understander.understand("and INV-10056?", [])
    assert (usage.calls, usage.input_tokens, usage.output_tokens) == (2, 240, 16)
    usage.turns = 2
    figures = cost(usage)
    assert figures["tokens_per_1k_runs"] == 128_000.0
    # 240 × 0.15 + 16 × 0.60 = 45.6 USD per million → 0.0000456 per 2 turns → 0.0228 per 1,000 turns
    assert figures["usd_per_1k_runs"] == "0.0228"
    assert cost(Usage(model="nobody:unknown", turns=1, input_tokens=5))["usd_per_1k_runs"] is None


def test_corpus_and_dataset_run_the_knowledge_suite_over_any_folder(tmp_path: Path):
    corpus = tmp_path / "handbook"
    (corpus / "leave").mkdir(parents=True)
    (corpus / "leave" / "annual.md").write_text(
        "# Annual leave\n\nEvery employee at Quillfeather gets 27 days of annual leave per calendar year. "
        "Requests go through the Tallyho portal at least two weeks ahead.\n"
    )
    (corpus / "travel.md").write_text("# Travel\n\nTrain travel is booked in standard class through Wayfarer.\n")
    questions = tmp_path / "quill-questions.jsonl"
    rows = [
        {
            "id": "q-1",
            "question": "How many days of annual leave do employees get?",
            "expect": "answer",
            "expected_sources": ["leave/annual.md"],
            "facts": ["27 days"],
            "tags": [],
        },
        {
            "id": "q-2",
            "question": "What's the weather in Lisbon tomorrow?",
            "expect": "no_answer",
            "expected_sources": [],
            "facts": [],
            "tags": [],
        },
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    thresholds = tmp_path / "none.yaml"
    thresholds.write_text("metrics: {}\n")
    code, _ = run_eval(
        tmp_path,
        "--corpus",
        str(corpus),
        "--dataset",
        str(questions),
        "--thresholds",
        str(thresholds),
        "--out",
        str(tmp_path / "out"),
    )
    data = report(tmp_path / "out")
    suite = data["suites"]["knowledge_quill_questions"]
    assert [c["id"] for c in suite["cases"]] == ["q-1", "q-2"]
    assert suite["cases"][0]["data"]["kb_only"]["retrieved"][0] == "leave/annual.md"
    assert {"hit_at_5", "fact_recall", "no_answer_recall"} <= set(suite["metrics"])
    assert code in (0, 1)

    rows[0]["expected_sources"] = ["leave/missing.md"]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, text = run_eval(tmp_path, "--corpus", str(corpus), "--dataset", str(questions), "--out", str(tmp_path / "x"))
    assert code == EXIT_USAGE
    assert "leave/missing.md" in text
