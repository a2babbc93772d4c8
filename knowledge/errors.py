"""Typed errors of the knowledge layer; each message is safe to show to the person running Deskhand."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base class: an expected problem with the knowledge index or a question."""


class IndexMissing(KnowledgeError):
    """No published index at the given directory."""

    def __init__(self, path: object) -> None:
        super().__init__(f"no knowledge index at {path}; build one with `deskhand index build`")


class IndexCorrupt(KnowledgeError):
    """The published index cannot be read or its files disagree with each other."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(
            f"the knowledge index at {path} is unreadable ({problem}); rebuild it with `deskhand index build`"
        )


class IndexMismatch(KnowledgeError):
    """The index was built with a different embedder than the one configured."""

    def __init__(self, built_with: str, configured: str) -> None:
        super().__init__(
            f"index was built with {built_with}, server is configured with {configured}; "
            "rebuild with `deskhand index build`"
        )


class IndexBusy(KnowledgeError):
    """Another build holds the index directory's lock."""

    def __init__(self, path: object) -> None:
        super().__init__(f"another `deskhand index build` is already writing {path}; try again when it ends")


class QuestionError(KnowledgeError, ValueError):
    """The question cannot be answered as typed (empty or too long)."""


class NoDocuments(KnowledgeError):
    """The sources hold nothing to index (empty, or only unsupported or unreadable files)."""

    def __init__(self, sources: object, reasons: list[str]) -> None:
        distinct = list(dict.fromkeys(reasons))
        why = "; ".join(distinct[:3]) + ("; …" if len(distinct) > 3 else "")
        what = f"{len(reasons)} files skipped ({why})" if reasons else "no files found"
        super().__init__(
            f"no documents to index in {sources}: {what}. Supported: Markdown, text, HTML, PDF, Word (.docx). "
            "The published index is unchanged"
        )


class SectionUnavailable(KnowledgeError):
    """A "show the full section" reference that the serving index cannot resolve (malformed, unknown, or from
    a version that is no longer the one served). The message is safe to show to the person who clicked."""
