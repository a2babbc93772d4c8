"""'Show the full section' of a shortened answer: the reference in the reply resolved against the serving index."""

from __future__ import annotations

import asyncio
import logging

from channels.base import SectionText
from graphs.context import KnowledgePort
from knowledge.errors import KnowledgeError, SectionUnavailable

log = logging.getLogger(__name__)
UNAVAILABLE = "I could not open that section just now. Please ask the question again."
SECTION_TIMEOUT_S = 10.0


async def full_section(knowledge: KnowledgePort, ref: str) -> SectionText:
    """The section's text, or found=False with a message for the clicker (a bad or stale reference, or an
    index that cannot be read): never an exception."""
    try:
        section = await asyncio.wait_for(asyncio.to_thread(knowledge.section, str(ref or "")), SECTION_TIMEOUT_S)
    except SectionUnavailable as exc:
        return SectionText(found=False, text=str(exc))
    except (KnowledgeError, TimeoutError) as exc:
        log.warning("full section %r not shown: %s", ref[:80] if isinstance(ref, str) else ref, type(exc).__name__)
        return SectionText(found=False, text=UNAVAILABLE)
    return SectionText(True, section.text, section.title, section.heading, section.url)
