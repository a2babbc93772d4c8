"""Plain result types of the knowledge layer (no FAISS or numpy types cross this boundary)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Converted:
    """A document converted to light Markdown: "#" headings, one block per line pair, list markers kept."""

    title: str | None  # None when the document names no title of its own
    text: str
    url: str | None = None  # from front matter (`url`, `permalink`), absolute or site-relative


@dataclass(frozen=True)
class Chunk:
    """One indexed passage with the metadata a citation needs."""

    id: int
    source: str  # path relative to the source root, e.g. "onboarding/first-week.md"
    title: str  # document title
    heading: str  # heading path joined with " > "
    text: str
    doc_hash: str
    chunk_hash: str
    url: str | None = None  # where a person can open the section (document URL + heading anchor)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score, higher is better
    dense: float = 0.0  # cosine similarity of the query with the chunk
    rank: int = 0
    lexical: float = 0.0  # BM25 score relative to the best BM25 score of the query (0..1)


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    heading: str
    score: float
    url: str | None = None


@dataclass(frozen=True)
class Answer:
    """An extractive answer. `found` is False when the knowledge base does not answer it."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    confidence: float = 0.0
    found: bool = False
    team: str | None = None  # who to ask when not found ("HR", "Accounts Payable", ...)
    hits: list[Hit] = field(default_factory=list)
    section: str | None = None  # "<index version>:<chunk id>" of the top cited section when the text left some out
