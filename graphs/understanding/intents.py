"""Intent routing without an LLM: a classifier over embeddings of the example utterances in intents.yaml."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphs.understanding.intent_examples import CONVERSATION_INTENTS, DEFAULT_INTENTS, load_examples
from graphs.understanding.patterns import EMAIL, INVOICE

__all__ = ["CONVERSATION_INTENTS", "DEFAULT_INTENTS", "IntentGuess", "IntentRouter", "load_examples", "mask_entities"]

AFFINITY_BONUS = 0.5  # relative boost of an intent for each of its entity kinds present
MODEL_VERSION = 2


@dataclass(frozen=True)
class IntentGuess:
    name: str
    confidence: float  # 0..1
    similarity: float  # margin over the runner-up
    runner_up: str


def char_ngrams(text: str, low: int = 2, high: int = 5) -> list[str]:
    """Character n-grams of each word padded with spaces (the "char_wb" scheme), lower-cased."""
    grams: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
            if len(padded) <= n:
                break  # a short word is its own (single) n-gram
    return grams


def mask_entities(text: str) -> str:
    """Replace values that vary per request (e-mails, invoice numbers) with stable tokens, so the router
    learns the request's shape rather than its particular values. The invoice pattern is the slot
    extractor's: every invoice number a slot can hold is masked the same way."""
    text = EMAIL.sub(" someone@email ", text)
    return INVOICE.sub(" invoice INV ", text)


class IntentRouter:
    """A linear classifier over each example's sentence embedding and its character n-grams.

    The embedding carries meaning ("take the hold off" ≈ "release"), the n-grams carry the verbs and
    typos that MiniLM blurs (hold/release, add/remove). Trained at start-up from the YAML examples
    (deterministic, about a second) and cached in `cache_dir` by a hash of the examples.
    """

    def __init__(
        self,
        examples: dict[str, list[str]],
        embed: Callable[[list[str]], np.ndarray],
        *,
        cache_dir: Path | None = None,
        embedder_name: str = "",
    ) -> None:
        texts, labels = [], []
        for name, items in sorted(examples.items()):
            for text in items:
                texts.append(mask_entities(text))
                labels.append(name)
        self.intents = sorted(examples)
        key = hashlib.sha256(json.dumps([embedder_name, texts, labels, MODEL_VERSION]).encode()).hexdigest()[:16]
        path = cache_dir / f"router-{key}.npz" if cache_dir else None
        model = self._load(path)
        if model is None:
            model = self._train(texts, labels, embed)
            self._save(path, model)
        self._w_dense, self._w_grams, self._bias, self._idf = (
            model["w_dense"],
            model["w_grams"],
            model["bias"],
            model["idf"],
        )
        self._vocab: dict[str, int] = json.loads(str(model["vocab"]))
        classes = [str(c) for c in model["classes"]]
        self._order = np.array([classes.index(i) for i in self.intents])

    def probabilities(self, masked_text: str, vector: np.ndarray) -> np.ndarray:
        """P(intent) in `self.intents` order: softmax of the linear model over [embedding, tf-idf n-grams]."""
        counts: dict[int, int] = {}
        for gram in char_ngrams(masked_text):
            index = self._vocab.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        logits = self._w_dense @ vector.astype(np.float64) + self._bias
        if counts:
            idx = np.fromiter(counts, dtype=np.int64)
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self._idf[idx]
            weights /= np.linalg.norm(weights)
            logits = logits + self._w_grams[:, idx] @ weights
        logits -= logits.max()
        probs = np.exp(logits)
        return np.asarray(probs[self._order] / probs.sum())

    @staticmethod
    def _train(texts: list[str], labels: list[str], embed: Callable[[list[str]], np.ndarray]) -> dict[str, Any]:
        """Fit with scikit-learn (imported only here), keep plain arrays: loading them needs numpy only."""
        from scipy.sparse import csr_matrix, hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits  # a scikit-learn dependency

        ngrams = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True)
        grams = ngrams.fit_transform(texts)
        dense = np.asarray(embed(texts), dtype=np.float32)
        features = hstack([csr_matrix(dense), grams]).tocsr()
        # One BLAS thread: the sums are split the same way on every machine whatever its core count, and on
        # a busy 2-core machine the fit is ~5x faster than with two threads fighting (bench/eval_spread.py).
        with threadpool_limits(limits=1, user_api="blas"):
            classifier = LogisticRegression(C=20.0, max_iter=3000).fit(features, labels)
        coef = np.asarray(classifier.coef_, dtype=np.float64)
        return {
            "w_dense": coef[:, : dense.shape[1]],
            "w_grams": coef[:, dense.shape[1] :],
            "bias": np.asarray(classifier.intercept_, dtype=np.float64),
            "idf": np.asarray(ngrams.idf_, dtype=np.float64),
            "vocab": np.array(json.dumps({k: int(v) for k, v in ngrams.vocabulary_.items()})),
            "classes": np.array([str(c) for c in classifier.classes_]),
        }

    @staticmethod
    def _load(path: Path | None) -> dict[str, Any] | None:
        if path is None or not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError, KeyError):
            return None  # a damaged or outdated cache is rebuilt

    @staticmethod
    def _save(path: Path | None, model: dict[str, Any]) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **model)
        tmp.replace(path)

    def classify(
        self,
        masked_text: str,
        vector: np.ndarray,
        entities: Sequence[str] = (),
        affinity: Mapping[str, Sequence[str]] | None = None,
    ) -> IntentGuess:
        """`vector` is the embedding of `masked_text` (see `mask_entities`); `entities` are the entity kinds
        found in the message and `affinity` each intent's kinds (a soft prior, never a rule)."""
        scores = self.probabilities(masked_text, vector)
        for intent, kinds in (affinity or {}).items():
            if intent in self.intents:
                for kind in entities:
                    if kind in kinds:
                        scores[self.intents.index(intent)] *= 1 + AFFINITY_BONUS
        scores = scores / scores.sum()
        order = np.argsort(scores)[::-1]
        top, second = int(order[0]), int(order[1])
        return IntentGuess(
            name=self.intents[top],
            confidence=round(float(scores[top]), 3),
            similarity=round(float(scores[top] - scores[second]), 3),
            runner_up=self.intents[second],
        )
