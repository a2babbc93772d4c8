"""The query-vector cache: one turn's embedding kept for its knowledge answer, bounded, and forgotten."""

from __future__ import annotations

import numpy as np

from graphs.query_vectors import QueryVectors


def test_a_vector_is_peeked_then_taken_once() -> None:
    cache = QueryVectors()
    vec = np.ones(4, dtype=np.float32)
    cache.keep("r1", vec)
    assert cache.peek("r1") is vec and len(cache) == 1
    assert cache.take("r1") is vec
    assert cache.take("r1") is None and len(cache) == 0


def test_forgetting_an_unknown_request_is_harmless() -> None:
    cache = QueryVectors()
    cache.forget("never-seen")
    assert len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_oldest() -> None:
    cache = QueryVectors(max_entries=3)
    for i in range(5):
        cache.keep(f"r{i}", np.full(2, i, dtype=np.float32))
    assert len(cache) == 3
    assert cache.peek("r0") is None and cache.peek("r1") is None
    assert [float(cache.take(f"r{i}")[0]) for i in (2, 3, 4)] == [2.0, 3.0, 4.0]  # type: ignore[index]


def test_each_cache_is_its_own() -> None:
    first, second = QueryVectors(), QueryVectors()
    first.keep("r", np.zeros(2, dtype=np.float32))
    assert second.peek("r") is None
