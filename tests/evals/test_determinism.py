"""What the gate measures is reproducible across machines where that is cheap: the router's fit."""

from __future__ import annotations

import hashlib

import numpy as np
from threadpoolctl import threadpool_limits

from graphs.understanding.intents import IntentRouter, load_examples, mask_entities


def text_vectors(texts: list[str]) -> np.ndarray:
    """A fixed 384-d unit vector per text (the fit's input; the embedder's own spread is bench/eval_spread.py)."""
    out = np.stack(
        [
            np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:15], 16)).standard_normal(384)
            for t in texts
        ]
    )
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_the_router_fit_is_bit_identical_whatever_the_machine_s_blas_thread_count():
    texts, labels = [], []
    for name, items in sorted(load_examples().items()):
        texts += [mask_entities(t) for t in items]
        labels += [name] * len(items)
    fits = []
    for threads in (1, 2):  # a 1-core and a 2-core machine (OpenBLAS splits its sums by thread)
        with threadpool_limits(limits=threads, user_api="blas"):
            fits.append(IntentRouter._train(texts, labels, text_vectors))
    for key in ("w_dense", "w_grams", "bias"):
        assert np.array_equal(fits[0][key], fits[1][key]), key
