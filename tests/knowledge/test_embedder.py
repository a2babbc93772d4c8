"""The default embedder is deterministic and batch-independent: a text's vector does not depend on what else
is embedded with it (the index build embeds in batches, a question is embedded alone)."""

from __future__ import annotations

import numpy as np

from knowledge.embedder import Embedder

TEXTS = [
    "How many vacation days do new employees get?",
    "Expense reports are due within 30 days of purchase; attach every receipt over $25.",
    "VPN",
    " ".join(["The on-call engineer acknowledges a page within fifteen minutes and opens an incident."] * 12),
]


def test_default_backend_is_fp32_onnx(embedder: Embedder) -> None:
    assert embedder.name.endswith("/onnx"), embedder.name


def test_a_text_alone_and_in_a_batch_gets_the_same_vector(embedder: Embedder) -> None:
    alone = np.vstack([embedder.encode_query(t) for t in TEXTS])
    batched = embedder.encode(TEXTS, batch_size=len(TEXTS))
    # Other neighbours, other padding length, another position in the batch.
    shuffled = embedder.encode([*reversed(TEXTS), "an unrelated filler sentence " * 30], batch_size=8)
    assert np.abs(alone - batched).max() < 1e-5
    assert np.abs(alone - shuffled[: len(TEXTS)][::-1]).max() < 1e-5
    # Different texts still get clearly different vectors (the check above could not pass on a constant).
    assert float(alone[0] @ alone[2]) < 0.9
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)


def test_the_same_text_twice_is_bit_identical(embedder: Embedder) -> None:
    first = embedder.encode(TEXTS)
    again = embedder.encode(TEXTS)
    assert np.array_equal(first, again)
