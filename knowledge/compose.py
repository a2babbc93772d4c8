"""The answer text: the best-supported spans of the top passages (a sentence of a paragraph, a whole list with its
lead-in, a table's rows with their header), short enough for a chat message, each followed by its [n] citation.
A span too long for the room left is cut to its best lines (a list keeps its lead-in) rather than dropped."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from threading import Lock

from knowledge.chunking import split_sentences
from knowledge.extract import Analyzer, Question, sentence_score, terms
from knowledge.types import Hit

LIST_ITEM = re.compile(r"^(?:- |\d{1,3}\. )")
TABLE_CELL = re.compile(r"^([^:;]{1,60}): \S")
ANSWER_CHARS = 600  # a chat message: about a phone screen
ANSWER_CHUNKS = 6  # spans are drawn from this many of the best chunks
MAX_SPANS = 4
SAME_CHUNK_BONUS = 0.1
KEEP_RATIO = 0.6
CACHE_CHUNKS = 4096
ELLIPSIS = "…"


@dataclass(frozen=True)
class Sentence:
    text: str
    terms: frozenset[str]


@dataclass(frozen=True)
class Line:
    """One block line of a chunk: a paragraph, a list item or a table row, split into sentences."""

    text: str
    sentences: tuple[Sentence, ...]
    group: str = ""  # "list" for a list item ("- " or "N. "), "row:<first column>" for a table row, "" else

    @property
    def item(self) -> bool:
        return bool(self.group)


@dataclass(frozen=True)
class Span:
    """Lines answered together: a paragraph, or a list (or a table's rows) with the line that introduces it."""

    lines: tuple[Line, ...]
    lead: bool  # the first line introduces the list that follows (kept whenever an item is quoted)

    @property
    def is_list(self) -> bool:
        return any(line.item for line in self.lines)


def _group(line: str) -> str:
    """Which kind of grouped line this is: a list item, or a table row as ingestion writes it ("Header: value;
    Header: value."), keyed by its first column's header so that consecutive rows of one table group."""
    if LIST_ITEM.match(line):
        return "list"
    cells = line.split("; ")
    first = TABLE_CELL.match(cells[0])
    if len(cells) >= 2 and first and TABLE_CELL.match(cells[1]):
        return "row:" + first.group(1)
    return ""


def spans_of(text: str, analyzer: Analyzer) -> list[Span]:
    """A chunk's answerable units: each sentence of a paragraph on its own; consecutive list items, and
    consecutive rows of one table, as one span together with the line just before them when it introduces
    them (ends with ':'). A lone table row stays a unit of its own (it carries its header)."""
    lines: list[Line] = []
    for raw in text.split("\n"):
        raw = raw.strip()
        if not raw:
            continue
        sentences = tuple(Sentence(s, frozenset(terms(s, analyzer.stem))) for s in split_sentences(raw)) or (
            Sentence(raw, frozenset(terms(raw, analyzer.stem))),
        )
        lines.append(Line(raw, sentences, _group(raw)))
    lines = [_ungroup_lone_row(lines, i) for i in range(len(lines))]
    spans: list[Span] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.item:
            lead = i + 1 < len(lines) and lines[i + 1].item and line.text.endswith(":")
            if not lead:
                spans.extend(Span((Line(s.text, (s,)),), lead=False) for s in line.sentences)
                i += 1
                continue
            if len(line.sentences) > 1:  # only the last sentence introduces the list
                spans.extend(Span((Line(s.text, (s,)),), lead=False) for s in line.sentences[:-1])
                line = Line(line.sentences[-1].text, line.sentences[-1:])
            first = i + 1
        else:
            first = i
        j = first + 1
        while j < len(lines) and lines[j].group == lines[first].group:
            j += 1
        items = tuple(lines[first:j])
        spans.append(Span((line, *items), lead=True) if first > i else Span(items, lead=False))
        i = j
    return spans


def _ungroup_lone_row(lines: list[Line], i: int) -> Line:
    """A row-shaped line with no neighbour of the same table is read as a paragraph."""
    line = lines[i]
    if not line.group.startswith("row:"):
        return line
    if any(0 <= k < len(lines) and lines[k].group == line.group for k in (i - 1, i + 1)):
        return line
    return Line(line.text, line.sentences)


@dataclass(frozen=True)
class Candidate:
    """A scored span of one of the top chunks, with the text it would be quoted as."""

    score: float
    hit: int  # index of the chunk among the hits
    pos: int  # the span's position in its chunk
    span: Span
    sentences: tuple[tuple[float, ...], ...]  # each line's sentence scores
    text: str


def _lines(text: str) -> set[str]:
    return {line for line in text.split("\n") if line != ELLIPSIS}


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
        scored: list[Candidate] = []
        best_fused = hits[0].score or 1.0
        for h_idx, hit in enumerate(hits[:ANSWER_CHUNKS]):
            heading = frozenset(terms(f"{hit.chunk.heading}", self.analyzer.stem))
            prior = 0.5 * (hit.score / best_fused) + 0.5 * max(hit.dense, 0.0)
            for pos, span in enumerate(self.spans(hit)):
                cand = self._score(q, span, heading, prior, h_idx, pos)
                if cand.text:
                    scored.append(cand)
        if not scored:
            return hits[0].chunk.text[: self.max_chars], [0]
        top_chunk = max(scored, key=lambda c: c.score).hit

        def adjusted(c: Candidate) -> float:
            return c.score + (SAME_CHUNK_BONUS if c.hit == top_chunk else 0.0)

        ranked = sorted(scored, key=lambda c: -adjusted(c))
        best = adjusted(ranked[0])
        chosen = [ranked[0]]
        used = len(ranked[0].text)
        seen = _lines(ranked[0].text)
        for cand in ranked[1:]:
            if len(chosen) >= MAX_SPANS or adjusted(cand) < best * KEEP_RATIO:
                break
            if used + len(cand.text) > self.max_chars:
                # A long span that no longer fits whole is cut to its best lines/sentences in the room left,
                # rather than dropped: the line that made it score is usually the fact the first span lacks.
                cand = replace(cand, text=self._fit(cand, self.max_chars - used))
                if not cand.text:
                    continue
            lines = _lines(cand.text)
            if lines & seen:
                continue  # overlapping chunks repeat lines
            seen |= lines
            used += len(cand.text)
            chosen.append(cand)
        order: list[int] = []
        for cand in chosen:
            if cand.hit not in order:
                order.append(cand.hit)
        out = ""
        for n, h_idx in enumerate(order, start=1):
            spans = sorted((c for c in chosen if c.hit == h_idx), key=lambda c: c.pos)
            for k, cand in enumerate(spans):
                multi_line = "\n" in cand.text
                sep = "\n" if multi_line or "\n" in out.rsplit("]", 1)[-1] else " "
                out += (sep if out else "") + cand.text
                last = k == len(spans) - 1
                if last or multi_line:
                    out += f" [{n}]"
        return out, order

    def _score(self, q: Question, span: Span, heading: frozenset[str], prior: float, hit: int, pos: int) -> Candidate:
        """The span's score (its best sentence, read under the heading and the list's lead-in) and its text,
        cut to its best lines/sentences when it is longer than a chat message allows."""
        lead_terms = frozenset().union(*(s.terms for s in span.lines[0].sentences)) if span.lead else frozenset()
        sentence_scores: list[tuple[float, ...]] = []
        for i, line in enumerate(span.lines):
            context = heading | (lead_terms if i > 0 else frozenset())
            sentence_scores.append(
                tuple(sentence_score(self.analyzer, q, s.text, s.terms | context, prior) for s in line.sentences)
            )
        cand = Candidate(max(max(s) for s in sentence_scores), hit, pos, span, tuple(sentence_scores), "")
        return replace(cand, text=self._fit(cand, self.max_chars))

    def _fit(self, cand: Candidate, budget: int) -> str:
        """The span's text within `budget` characters: whole when it fits; else a paragraph's best sentences
        in order, or a list's lead-in and best items in order (then "…"). "" when not even its best part fits."""
        span = cand.span
        text = "\n".join(line.text for line in span.lines)
        if len(text) <= budget:
            return text
        if len(span.lines) == 1:
            return self._best_sentences(span.lines[0], cand.sentences[0], budget)
        line_scores = [max(s) for s in cand.sentences]
        keep = {0} if span.lead else set()
        used = len(span.lines[0].text) if span.lead else 0
        for i in sorted(range(len(span.lines)), key=lambda k: -line_scores[k]):
            if i in keep:
                continue
            size = len(span.lines[i].text) + 1
            if used + size > budget:
                if len(keep) > (1 if span.lead else 0):
                    continue
                if budget < self.max_chars:
                    return ""  # the best item alone does not fit in the room left
            keep.add(i)
            used += size
        lines = [span.lines[i].text for i in sorted(keep)]
        if len(lines) < len(span.lines):
            lines.append(ELLIPSIS)
        return "\n".join(lines)[: self.max_chars * 2]

    def _best_sentences(self, line: Line, scores: tuple[float, ...], budget: int) -> str:
        keep: list[int] = []
        used = 0
        for i in sorted(range(len(scores)), key=lambda k: -scores[k]):
            size = len(line.sentences[i].text) + 1
            if used + size > budget and (keep or budget < self.max_chars):
                continue
            keep.append(i)
            used += size
        return " ".join(line.sentences[i].text for i in sorted(keep))
