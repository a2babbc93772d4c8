"""Every model call goes through here: a budget check, the provider's circuit breaker, one overall
time-out, retries with jittered backoff on 429/5xx/connection errors honouring Retry-After (tenacity),
and token usage reported per call. A failure raises `LLMUnavailable`; callers fall back offline."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from graphs.llm.breaker import Breakers
from graphs.llm.models import ModelConfig
from tools.tracing import annotate, span

log = logging.getLogger(__name__)
RETRY_STATUSES = {408, 409, 429}
RECENT_FAILURES = 1024  # turns remembered for the fast-fail below (oldest dropped first)


class LLMUnavailable(Exception):
    """The model did not answer in time (or may not be asked); `reason` says why, for the record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class UsageEvent:
    model: str
    purpose: str  # understand | answer | check
    user: str | None
    input_tokens: int
    output_tokens: int
    latency_ms: float


Gate = Callable[[str | None], Awaitable[str | None]]  # user -> a reason to refuse, or None
Sink = Callable[[UsageEvent], Awaitable[None]]


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return int(status) if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    status = status_of(exc)
    if status is not None:
        return status in RETRY_STATUSES or status >= 500
    name = type(exc).__name__
    return isinstance(exc, TimeoutError | ConnectionError) or "Timeout" in name or "Connection" in name


def retry_after_s(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def _reason(exc: BaseException) -> str:
    status = status_of(exc)
    if status is not None:
        return f"http_{status}"
    return "timeout" if "Timeout" in type(exc).__name__ or isinstance(exc, TimeoutError) else "connection"


class LLMClient:
    """One configured chat model with the resilience rules around it."""

    def __init__(
        self,
        model: BaseChatModel,
        config: ModelConfig,
        breakers: Breakers,
        *,
        gate: Gate | None = None,
        sink: Sink | None = None,
    ) -> None:
        self.model, self.config, self.breakers = model, config, breakers
        self.gate, self.sink = gate, sink
        self._jitter = wait_random_exponential(multiplier=0.2, max=4.0)
        self.callbacks: list[Any] = []  # LangChain callback handlers (e.g. the eval suite's token meter)
        # A turn makes up to two calls (tool choice, answer); after one failed, the next of the same turn
        # fails at once, so a turn never waits twice for a dead provider.
        self._failed_turns: dict[str, float] = {}

    @property
    def breaker(self) -> Any:
        return self.breakers.get(self.config.provider)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = retry_after_s(exc) if exc is not None else None
        return max(self._jitter(state), after or 0.0)

    def _retrying(self, deadline: float) -> AsyncRetrying:
        def stop(state: RetryCallState) -> bool:
            # Give up early when the next wait (e.g. a long Retry-After) would overrun the time budget.
            over_budget = time.monotonic() + state.upcoming_sleep >= deadline
            return state.attempt_number > self.config.max_retries or over_budget

        return AsyncRetrying(retry=retry_if_exception(is_retryable), wait=self._wait, stop=stop, reraise=True)

    async def _admit(self, user: str | None, turn: str | None) -> None:
        if self.gate is not None:
            try:
                refused = await self.gate(user)
            except Exception:  # a failing budget check must not fail the turn: answer offline instead
                log.exception("the LLM budget check failed")
                refused = "budget check failed"
            if refused:
                raise LLMUnavailable(refused)
        if turn is not None and turn in self._failed_turns:
            raise LLMUnavailable("failed earlier in this turn")
        if not self.breaker.allow():
            raise LLMUnavailable("breaker_open")

    def _failed(self, turn: str | None) -> None:
        self.breaker.failure()
        if turn is not None:
            self._failed_turns[turn] = time.monotonic()
            while len(self._failed_turns) > RECENT_FAILURES:
                self._failed_turns.pop(next(iter(self._failed_turns)))

    async def _record(self, purpose: str, user: str | None, message: BaseMessage | None, started: float) -> None:
        meta = getattr(message, "usage_metadata", None) or {}
        annotate(
            **{
                "gen_ai.usage.input_tokens": meta.get("input_tokens"),
                "gen_ai.usage.output_tokens": meta.get("output_tokens"),
            }
        )
        if self.sink is None:
            return
        event = UsageEvent(
            model=self.config.model,
            purpose=purpose,
            user=user,
            input_tokens=int(meta.get("input_tokens", 0)),
            output_tokens=int(meta.get("output_tokens", 0)),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        try:
            await self.sink(event)
        except Exception:  # the answer matters more than its bookkeeping
            log.exception("recording LLM usage failed")

    async def invoke(
        self,
        messages: Sequence[BaseMessage],
        *,
        runnable: Any = None,
        purpose: str,
        user: str | None,
        turn: str | None = None,
    ) -> AIMessage:
        """One completion from the model (or `runnable`, e.g. the model with tools bound); LLMUnavailable on
        any failure."""
        with self._span(purpose, streamed=False):
            return await self._invoke(messages, runnable, purpose, user, turn)

    def _span(self, purpose: str, *, streamed: bool) -> AbstractContextManager[Any]:
        attributes = {"gen_ai.system": self.config.provider, "gen_ai.request.model": self.config.model}
        return span(f"llm {purpose}", "client", purpose=purpose, streamed=streamed, **attributes)

    async def _invoke(
        self, messages: Sequence[BaseMessage], runnable: Any, purpose: str, user: str | None, turn: str | None
    ) -> AIMessage:
        await self._admit(user, turn)
        runnable = runnable if runnable is not None else self.model
        started, deadline = time.perf_counter(), time.monotonic() + self.config.timeout_s
        try:
            async with asyncio.timeout(self.config.timeout_s):
                async for attempt in self._retrying(deadline):
                    with attempt:
                        result = await runnable.ainvoke(list(messages), config={"callbacks": self.callbacks})
        except LLMUnavailable:
            raise
        except Exception as exc:
            self._failed(turn)
            log.warning("model call failed (%s): %s", self.config.provider, _reason(exc))
            raise LLMUnavailable(_reason(exc)) from None
        self.breaker.success()
        await self._record(purpose, user, result, started)
        return result  # type: ignore[no-any-return]

    async def stream(
        self, messages: Sequence[BaseMessage], *, purpose: str, user: str | None, turn: str | None = None
    ) -> AsyncIterator[str]:
        """Text deltas as they arrive. Retries happen only before the first delta; the whole stream shares
        the one time budget. LLMUnavailable on failure (callers keep what was verified so far)."""
        with self._span(purpose, streamed=True):
            async for text in self._stream(messages, purpose, user, turn):
                yield text

    async def _stream(
        self, messages: Sequence[BaseMessage], purpose: str, user: str | None, turn: str | None
    ) -> AsyncIterator[str]:
        await self._admit(user, turn)
        started, deadline = time.perf_counter(), time.monotonic() + self.config.timeout_s
        total: AIMessageChunk | None = None
        delivered = False
        attempt = 0
        while True:
            iterator = self.model.astream(list(messages), config={"callbacks": self.callbacks}).__aiter__()
            try:
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("stream over budget")
                    try:
                        chunk = await asyncio.wait_for(iterator.__anext__(), remaining)
                    except StopAsyncIteration:
                        break
                    total = chunk if total is None else total + chunk  # type: ignore[assignment]
                    text = chunk.text if isinstance(chunk.text, str) else ""
                    if text:
                        delivered = True
                        yield text
                break
            except Exception as exc:
                await _close(iterator)
                attempt += 1
                wait = max(retry_after_s(exc) or 0.0, random.uniform(0.0, 0.2 * 2**attempt))  # jittered
                retry = not delivered and is_retryable(exc) and attempt <= self.config.max_retries
                if retry and time.monotonic() + wait < deadline:
                    await asyncio.sleep(wait)  # backoff before the next attempt, inside the budget
                    continue
                self._failed(turn)
                log.warning("model stream failed (%s): %s", self.config.provider, _reason(exc))
                raise LLMUnavailable(_reason(exc)) from None
        self.breaker.success()
        await self._record(purpose, user, total, started)


async def _close(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:
            log.debug("closing a broken stream failed", exc_info=True)
