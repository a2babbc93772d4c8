"""OpenTelemetry traces over OTLP/HTTP, imported only when an endpoint is configured (the `otel` extra:
`pip install -e '.[otel]'` in the checkout). Plugs a tracer into `tools.tracing`; every span gets the request
id of the work in progress.

Export never slows a turn: spans are queued in memory and a background thread (the SDK's batch processor)
sends them with a bounded timeout; when the collector is down or slow the queue fills and spans are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from langgraph.errors import GraphBubbleUp
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from channels.context import current_request_id
from channels.coordination import redact_url
from tools import tracing
from tools.tracing import Attribute

log = logging.getLogger(__name__)
REQUEST_ID = "deskhand.request_id"
KINDS = {
    "internal": SpanKind.INTERNAL,
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "consumer": SpanKind.CONSUMER,
    "producer": SpanKind.PRODUCER,
}
MAX_QUEUE = 4096  # spans held while the collector is slow; beyond this they are dropped, never waited for
BATCH = 512
DELAY_MS = 1000


class RequestIdProcessor(SpanProcessor):
    """Stamps each span, when it starts, with the request id the logs, metrics and audit entries carry."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        rid = current_request_id()
        if rid:
            span.set_attribute(REQUEST_ID, rid)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class OtelTracer:
    """`tools.tracing.Tracer` over an SDK tracer. An interrupt (a pause for confirmation or approval) or a
    cancellation is not an error; any other exception marks the span failed with its type only (exception
    messages may hold personal data)."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def span(self, name: str, kind: str, attributes: Mapping[str, Attribute]) -> AbstractContextManager[Any]:
        return self._span(name, KINDS.get(kind, SpanKind.INTERNAL), attributes)

    @contextmanager
    def _span(self, name: str, kind: SpanKind, attributes: Mapping[str, Attribute]) -> Iterator[Any]:
        with self._tracer.start_as_current_span(
            name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                yield span
            except GraphBubbleUp:
                span.set_attribute("deskhand.interrupted", True)
                raise
            except asyncio.CancelledError:
                span.set_attribute("deskhand.cancelled", True)
                raise
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
                raise

    def set_attributes(self, attributes: Mapping[str, Attribute]) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(attributes)


class Tracing:
    """The installed tracer provider; `close()` flushes what is queued (bounded) and switches spans off."""

    def __init__(self, provider: TracerProvider, flush_timeout_s: float) -> None:
        self.provider, self.flush_timeout_s = provider, flush_timeout_s

    def close(self) -> None:
        tracing.install(None)
        self.provider.force_flush(int(self.flush_timeout_s * 1000))
        self.provider.shutdown()


def start_tracing(endpoint: str, service_name: str, timeout_s: float) -> Tracing:
    """Export spans to `endpoint` (the full OTLP/HTTP traces URL) as `service_name`, one request at most
    `timeout_s` (retries included), and install the tracer for `tools.tracing`."""
    resource = Resource.create(
        {"service.name": service_name, "service.instance.id": f"{socket.gethostname()}:{os.getpid()}"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(RequestIdProcessor())
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=timeout_s)
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter,
            max_queue_size=MAX_QUEUE,
            max_export_batch_size=BATCH,
            schedule_delay_millis=DELAY_MS,
            export_timeout_millis=timeout_s * 1000,
        )
    )
    tracing.install(OtelTracer(provider.get_tracer("deskhand")))
    log.info("tracing: exporting spans to %s as %s", redact_url(endpoint), service_name)
    return Tracing(provider, timeout_s)
