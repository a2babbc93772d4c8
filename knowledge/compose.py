"""The answer text: the best-supported spans of the top passages (a paragraph, a whole list with its lead-in,
a table row with its header), short enough for a chat message, each followed by its [n] citation."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

from knowledge.chunking import split_sentences
from knowledge.extract import Analyzer, Question, sentence_score, terms
from knowledge.types import Hit

LIST_ITEM = re.compile(r"^(?:- |\d{1,3}\. )")
ANSWER_CHARS = 600  # a chat message: about a phone screen
ANSWER_CHUNKS = 4  # spans are drawn from this many of the best chunks
MAX_SPANS = 4
SAME_CHUNK_BONUS = 0.1
KEEP_RATIO = 0.6
CACHE_CHUNKS = 4096


@dataclass(frozen=True)
class Sentence:
    text: str
    terms: frozenset[str]


@dataclass(frozen=True)
class Line:
    """One block line of a chunk: a paragraph, a list item or a table row, split into sentences."""

    text: str
    sentences: tuple[Sentence, ...]
    item: bool  # a list item ("- " or "N. ")


@dataclass(frozen=True)
class Span:
    """Lines answered together: a paragraph, or a list with the line that introduces it."""

    lines: tuple[Line, ...]
    lead: bool  # the first line introduces the list that follows (kept whenever an item is quoted)

    @property
    def is_list(self) -> bool:
        return any(line.item for line in self.lines)


def spans_of(text: str, analyzer: Analyzer) -> list[Span]:
    """A chunk's answerable units: each sentence of a paragraph on its own; consecutive list items as one span
    together with the line just before them when it introduces them (ends with ':')."""
    lines: list[Line] = []
    for raw in text.split("\n"):
        raw = raw.strip()
        if not raw:
            continue
        sentences = tuple(Sentence(s, frozenset(terms(s, analyzer.stem))) for s in split_sentences(raw)) or (
            Sentence(raw, frozenset(terms(raw, analyzer.stem))),
        )
        lines.append(Line(raw, sentences, bool(LIST_ITEM.match(raw))))
    spans: list[Span] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.item:
            lead = i + 1 < len(lines) and lines[i + 1].item and line.text.endswith(":")
            if not lead:
                spans.extend(Span((Line(s.text, (s,), False),), lead=False) for s in line.sentences)
                i += 1
                continue
            if len(line.sentences) > 1:  # only the last sentence introduces the list
                spans.extend(Span((Line(s.text, (s,), False),), lead=False) for s in line.sentences[:-1])
                line = Line(line.sentences[-1].text, line.sentences[-1:], False)
            j = i + 1
        else:
            j = i
        while j < len(lines) and lines[j].item:
            j += 1
        items = tuple(lines[i + 1 : j]) if not lines[i].item else tuple(lines[i:j])
        spans.append(Span((line, *items), lead=True) if not lines[i].item else Span(items, lead=False))
        i = j
    return spans


@dataclass
class Composer:
    """Scores the spans of the top chunks against the question and writes the cited answer."""

    analyzer: Analyzer
    max_chars: int = ANSWER_CHARS
    _cache: OrderedDict[int, list[Span]] = field(default_factory=OrderedDict, repr=False)
    _lock: Lock = field(default_factory=Lock, repr=False)

    def spans(self, hit: Hit) -> list[Span]:
        key = hit.chunk.id
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        spans = spans_of(hit.chunk.text, self.analyzer)
        with self._lock:
            self._cache[key] = spans
            while len(self._cache) > CACHE_CHUNKS:
                self._cache.popitem(last=False)
        return spans

    def compose(self, q: Question, hits: list[Hit]) -> tuple[str, list[int]]:
        """(answer text with [n] markers, the hit indexes cited in [1], [2]... order)."""
        scored: list[tuple[float, int, int, str]] = []  # score, hit index, span position, rendered span
        best_fused = hits[0].score or 1.0
        for h_idx, hit in enumerate(hits[:ANSWER_CHUNKS]):
            heading = frozenset(terms(f"{hit.chunk.heading}", self.analyzer.stem))
            prior = 0.5 * (hit.score / best_fused) + 0.5 * max(hit.dense, 0.0)
            for pos, span in enumerate(self.spans(hit)):
                score, text = self._render(q, span, heading, prior)
                if text:
                    scored.append((score, h_idx, pos, text))
        if not scored:
            return hits[0].chunk.text[: self.max_chars], [0]
        top_chunk = max(scored, key=lambda c: c[0])[1]

        def adjusted(c: tuple[float, int, int, str]) -> float:
            return c[0] + (SAME_CHUNK_BONUS if c[1] == top_chunk else 0.0)

        ranked = sorted(scored, key=lambda c: -adjusted(c))
        best = adjusted(ranked[0])
        chosen = [ranked[0]]
        used = len(ranked[0][3])
        seen = set(ranked[0][3].split("\n"))
        for cand in ranked[1:]:
            if len(chosen) >= MAX_SPANS or adjusted(cand) < best * KEEP_RATIO:
                break
            lines = set(cand[3].split("\n"))
            if lines & seen or used + len(cand[3]) > self.max_chars:
                continue  # overlapping chunks repeat lines; a long extra span would crowd out the first
            seen |= lines
            used += len(cand[3])
            chosen.append(cand)
        order: list[int] = []
        for cand in chosen:
            if cand[1] not in order:
                order.append(cand[1])
        out = ""
        for n, h_idx in enumerate(order, start=1):
            spans = sorted((c for c in chosen if c[1] == h_idx), key=lambda c: c[2])
            for k, cand in enumerate(spans):
                multi_line = "\n" in cand[3]
                sep = "\n" if multi_line or "\n" in out.rsplit("]", 1)[-1] else " "
                out += (sep if out else "") + cand[3]
                last = k == len(spans) - 1
                if last or multi_line:
                    out += f" [{n}]"
        return out, order

    def _render(self, q: Question, span: Span, heading: frozenset[str], prior: float) -> tuple[float, str]:
        """The span's score (its best sentence, read under the heading and the list's lead-in) and its text,
        cut to the best lines/sentences when it is longer than a chat message allows."""
        lead_terms = frozenset().union(*(s.terms for s in span.lines[0].sentences)) if span.lead else frozenset()
        line_scores: list[float] = []
        sentence_scores: list[list[float]] = []
        for i, line in enumerate(span.lines):
            context = heading | (lead_terms if i > 0 else frozenset())
            scores = [sentence_score(self.analyzer, q, s.text, s.terms | context, prior) for s in line.sentences]
            sentence_scores.append(scores)
            line_scores.append(max(scores))
        score = max(line_scores)
        text = "\n".join(line.text for line in span.lines)
        if len(text) <= self.max_chars:
            return score, text
        if len(span.lines) == 1:  # a long paragraph: its best sentences, in order
            return score, self._best_sentences(span.lines[0], sentence_scores[0])
        keep = {0} if span.lead else set()
        used = len(span.lines[0].text) if span.lead else 0
        for i in sorted(range(len(span.lines)), key=lambda k: -line_scores[k]):
            if i in keep:
                continue
            size = len(span.lines[i].text) + 1
            if used + size > self.max_chars and len(keep) > (1 if span.lead else 0):
                continue
            keep.add(i)
            used += size
        lines = [span.lines[i].text for i in sorted(keep)]
        if len(lines) < len(span.lines):
            lines.append("…")
        return score, "\n".join(lines)[: self.max_chars * 2]

    def _best_sentences(self, line: Line, scores: list[float]) -> str:
        keep: list[int] = []
        used = 0
        for i in sorted(range(len(scores)), key=lambda k: -scores[k]):
            size = len(line.sentences[i].text) + 1
            if keep and used + size > self.max_chars:
                continue
            keep.append(i)
            used += size
        return " ".join(line.sentences[i].text for i in sorted(keep))
