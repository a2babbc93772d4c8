"""Grounded extractive answers with numbered citations, or an honest "not found" with who to ask."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge.chunking import split_sentences
from knowledge.compose import Composer
from knowledge.embedder import Embedder
from knowledge.errors import QuestionError, SectionUnavailable
from knowledge.extract import Analyzer, Question, phrases
from knowledge.index import LoadedIndex, open_index
from knowledge.retrieve import Retriever
from knowledge.routing import DEFAULT_CONTACTS, TeamRouter
from knowledge.section import STALE, FullSection, Sections, adds_material, make_ref, parse_ref
from knowledge.types import Answer, Chunk, Citation, Hit

MAX_QUESTION_CHARS = 4000
FOCUS_WORDS = 60
TOP_K = 8
SOURCES = 5  # citations per answer: the quoted passages first, then further retrieved documents
# The evidence score is a weighted blend of corpus-independent signals; where the line between "answered" and
# "not in the knowledge base" falls on it is calibrated per index at build time (knowledge/calibrate.py) and
# read from the manifest. Confidence is a logistic of the score's distance from that boundary.
W_DENSE = 5.65
W_COVERAGE = 2.83
W_NAME = 3.97  # a person's name or a record id/year that no retrieved passage mentions
W_WORD = 1.39  # a capitalised word (place, product) that no retrieved passage mentions
W_PAIR = 0.25  # a word pair of the question ("referral bonus") that no retrieved passage contains
LEGACY_BOUNDARY = 3.71  # an index built before calibration: the boundary fitted on the sample handbook
DEFAULT_MIN_CONFIDENCE = 0.5  # on the calibrated boundary


def _focus(text: str) -> str:
    """The ask of a long message: its last questions (or last sentences) up to FOCUS_WORDS words.

    The embedder reads 256 tokens and lexical coverage would be diluted by a long preamble.
    """
    if len(text.split()) <= FOCUS_WORDS:
        return text
    sentences = split_sentences(" ".join(text.split()))
    questions = [s for s in sentences if s.endswith("?")]
    kept: list[str] = []
    words = 0
    for sentence in reversed(questions or sentences):
        words += len(sentence.split())
        if kept and words > FOCUS_WORDS:
            break
        kept.insert(0, sentence)
    return " ".join(kept)


@dataclass(frozen=True)
class Evidence:
    """Signals that decide whether the retrieved passages answer the question."""

    dense: float
    coverage: float
    missing_names: tuple[str, ...]
    missing_words: tuple[str, ...]
    missing_pairs: int
    confidence: float
    score: float = 0.0  # before calibration (what calibrate.py measures)


@dataclass
class KnowledgeBase:
    """Searches one loaded index and builds answers. Safe to share between threads."""

    index: LoadedIndex
    embedder: Embedder
    min_confidence: float | None = None  # None: the index's calibrated boundary
    router: TeamRouter = field(default_factory=TeamRouter)
    analyzer: Analyzer = field(init=False, repr=False)
    composer: Composer = field(init=False, repr=False)
    sections: Sections = field(init=False, repr=False)  # "Show full section": by chunk id, built on load
    boundary: float = field(init=False)
    threshold: float = field(init=False)

    def __post_init__(self) -> None:
        retriever = self.index.retriever
        self.analyzer = Analyzer.from_texts(
            (f"{c.title} {c.heading} {c.text}" for c in retriever.chunks), retriever.stem_words
        )
        self.composer = Composer(self.analyzer)
        self.sections = Sections(retriever.chunks)
        calibration = self.index.manifest.get("calibration") or {}
        boundary = calibration.get("boundary")
        self.boundary = float(boundary) if isinstance(boundary, int | float) else LEGACY_BOUNDARY
        self.threshold = DEFAULT_MIN_CONFIDENCE if self.min_confidence is None else self.min_confidence

    @classmethod
    def open(
        cls,
        index_dir: Path,
        embedder: Embedder,
        *,
        min_confidence: float | None = None,
        contacts: dict[str, str] | None = None,
    ) -> KnowledgeBase:
        """Load the published index (IndexMissing / IndexCorrupt / IndexMismatch on failure)."""
        loaded = open_index(index_dir, embedder)
        router = TeamRouter(contacts=dict(contacts if contacts is not None else DEFAULT_CONTACTS))
        return cls(loaded, embedder, min_confidence, router)

    @property
    def retriever(self) -> Retriever:
        return self.index.retriever

    @property
    def version(self) -> str:
        return str(self.index.manifest.get("version", self.index.path.name))

    def _check(self, question: str) -> str:
        text = (question or "").strip()
        if not text:
            raise QuestionError("Please type a question.")
        if len(text) > MAX_QUESTION_CHARS:
            raise QuestionError(
                f"That question is too long ({len(text):,} characters); please keep it under "
                f"{MAX_QUESTION_CHARS:,} characters."
            )
        return _focus(text)

    def query_text(self, question: str) -> str:
        """The validated text that is embedded and searched (the ask of a long message). Callers that pass
        `query_vec` should embed this text, not the raw message."""
        return self._check(question)

    def search(self, question: str, k: int = 10, query_vec: np.ndarray | None = None) -> list[Hit]:
        """The k best chunks for the question (hybrid dense + BM25)."""
        text = self._check(question)
        vec = query_vec if query_vec is not None else self.embedder.encode_query(text)
        vec = np.asarray(vec, dtype=np.float32).reshape(-1)
        if vec.shape[0] != self.embedder.dim:
            raise ValueError(f"query_vec has {vec.shape[0]} dimensions; the index expects {self.embedder.dim}")
        return self.retriever.search(text, vec, k)

    def answer(self, question: str, *, query_vec: np.ndarray | None = None) -> Answer:
        """An extractive answer with [n] markers, or found=False with the team to ask."""
        text = self._check(question)
        hits = self.search(text, k=TOP_K, query_vec=query_vec)
        q = self.analyzer.question(text)
        evidence = self.evidence(q, hits)
        if not hits or evidence.confidence < self.threshold:
            in_scope = evidence.dense >= 0.3 or evidence.coverage >= 0.5
            message, team = self.router.decline(text, in_scope=in_scope)
            return Answer(text=message, confidence=evidence.confidence, found=False, team=team, hits=hits)
        body, citations, top = self._compose(q, hits)
        full = self.sections.of(top.id)
        more = make_ref(self.version, top.id) if adds_material(body, full.text) else None
        return Answer(
            text=body, citations=citations, confidence=evidence.confidence, found=True, hits=hits, section=more
        )

    def section(self, ref: str) -> FullSection:
        """The full section a reply's reference points to; SectionUnavailable (a message to show) when the
        reference is malformed, unknown, or from an index version that is no longer served."""
        version, chunk_id = parse_ref(ref)
        if version != self.version:
            raise SectionUnavailable(STALE)
        return self.sections.of(chunk_id)

    def evidence(self, q: Question, hits: list[Hit]) -> Evidence:
        """Confidence from the best passage's cosine, its coverage of the question, missing specifics."""
        if not hits:
            return Evidence(0.0, 0.0, (), (), 0, 0.0, -self.boundary)
        top = hits[:3]
        dense = max(h.dense for h in top)
        coverage = 0.0
        blobs = []
        pairs: set[tuple[str, str]] = set()
        for hit in top:
            chunk = hit.chunk
            blob = f"{chunk.title}. {chunk.heading}. {chunk.text}"
            blobs.append(blob)
            pairs |= phrases(blob, self.analyzer.stem)
            terms = {t for _, ts in self.analyzer.sentences(chunk.id, blob) for t in ts}
            coverage = max(coverage, self.analyzer.coverage(q, terms))
        joined = " ".join(blobs)
        names = tuple(self.analyzer.unsupported(q.names, joined))
        words = tuple(self.analyzer.unsupported(q.words, joined))
        missing_pairs = len(q.pairs - pairs)
        score = (
            W_DENSE * dense
            + W_COVERAGE * coverage
            - W_NAME * len(names)
            - W_WORD * len(words)
            - W_PAIR * min(missing_pairs, 3)
        )
        confidence = 1.0 / (1.0 + math.exp(-(score - self.boundary)))
        return Evidence(dense, coverage, names, words, missing_pairs, round(confidence, 4), score)

    def calibration_score(self, question: str, query_vec: np.ndarray) -> float:
        """The uncalibrated evidence score of one question (used by calibrate.py at build time)."""
        text = self._check(question)
        hits = self.retriever.search(text, np.asarray(query_vec, dtype=np.float32).reshape(-1), TOP_K)
        return self.evidence(self.analyzer.question(text), hits).score

    def _compose(self, q: Question, hits: list[Hit]) -> tuple[str, list[Citation], Chunk]:
        """The answer text, its citations, and the chunk of its first citation (the top quoted section)."""
        text, order = self.composer.compose(q, hits)
        citations = [self._citation(n, hits[h_idx]) for n, h_idx in enumerate(order, start=1)]
        # The next best retrieved documents follow as further reading: the answer is short, and a person who
        # needs more opens the section the quoted span may have missed.
        cited = {c.source for c in citations}
        for hit in hits[:SOURCES]:
            if len(citations) >= SOURCES:
                break
            if hit.chunk.source not in cited:
                cited.add(hit.chunk.source)
                citations.append(self._citation(len(citations) + 1, hit))
        return text, citations, hits[order[0]].chunk if order else hits[0].chunk

    @staticmethod
    def _citation(n: int, hit: Hit) -> Citation:
        chunk = hit.chunk
        return Citation(
            n=n,
            source=chunk.source,
            title=chunk.title,
            heading=chunk.heading,
            score=round(hit.score, 4),
            url=chunk.url,
        )
