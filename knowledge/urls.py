"""Where a person can open a cited section: front matter, a per-source base URL or the source's git remote,
plus the heading's anchor."""

from __future__ import annotations

import configparser
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import quote

_SCP_REMOTE = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")  # git@github.com:org/repo.git
_SLUG_DROP = re.compile(r"[^\w\- ]")


class SourceUrlError(ValueError):
    """A malformed DESKHAND_SOURCE_URLS value."""


def parse_source_urls(value: str) -> dict[str, str]:
    """`name=https://base/,other=https://…` → {name: base}; the name is a source folder's name."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, sep, url = part.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise SourceUrlError("expected name=https://base-url/ pairs separated by commas")
        out[name] = url
    return out


def slug(heading: str) -> str:
    """The anchor most site generators and GitHub give a heading: lower case, punctuation dropped, spaces to
    hyphens."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    return _SLUG_DROP.sub("", text).replace(" ", "-")


def _web_remote(url: str) -> str | None:
    url = url.strip()
    scp = _SCP_REMOTE.match(url)
    if scp and "://" not in url:
        url = f"https://{scp.group(1)}/{scp.group(2)}"
    elif url.startswith(("ssh://", "git://")):
        url = "https://" + url.split("://", 1)[1].split("@", 1)[-1]
    if not url.startswith(("http://", "https://")):
        return None
    url = re.sub(r"^(https?://)[^/@]+@", r"\1", url)  # never publish credentials embedded in a remote
    return url.removesuffix("/").removesuffix(".git")


def git_base(root: Path) -> str | None:
    """The web URL of `root` inside its git repository's origin (`…/blob/HEAD/<folder>/`), if any. Reads
    .git/config directly: a build must not need the git binary."""
    root = root.resolve()
    for repo in (root, *root.parents):
        config = repo / ".git" / "config"
        if config.is_file():
            break
    else:
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(config, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    sections = [s for s in parser.sections() if s.startswith("remote ")]
    sections.sort(key=lambda s: s != 'remote "origin"')
    for section in sections:
        web = _web_remote(parser.get(section, "url", fallback=""))
        if web:
            inside = root.relative_to(repo).as_posix()
            return f"{web}/blob/HEAD/" + (f"{quote(inside)}/" if inside != "." else "")
    return None


class UrlResolver:
    """Document and section URLs for one build, from the roots' base URLs (settings first, then git)."""

    def __init__(self, roots: Sequence[Path], source_urls: Mapping[str, str] | None = None) -> None:
        self.roots = [Path(r) for r in roots]
        configured = dict(source_urls or {})
        self.bases: list[tuple[Path, str | None, bool]] = []  # root, base URL, is a site (not a git blob)
        for root in self.roots:
            base = configured.get(root.name) or configured.get(str(root))
            self.bases.append((root, base, True) if base else (root, git_base(root), False))

    def _root_of(self, source: str) -> tuple[str, str | None, bool]:
        for root, base, site in self.bases:
            if (root / source).is_file():
                return source, base, site
            prefix = f"{root.name}/"
            if source.startswith(prefix) and (root / source[len(prefix) :]).is_file():
                return source[len(prefix) :], base, site
        return source, None, False

    def document(self, source: str, front_matter_url: str | None) -> str | None:
        rel, base, site = self._root_of(source)
        if front_matter_url and front_matter_url.startswith(("http://", "https://")):
            return front_matter_url
        if base is None:
            return None
        if front_matter_url and site:  # a permalink is relative to the published site
            return base.rstrip("/") + "/" + front_matter_url.lstrip("/")
        if site:  # page/path.md → https://site/page/path
            return base.rstrip("/") + "/" + quote(str(PurePosixPath(rel).with_suffix("")))
        return base + quote(rel)

    @staticmethod
    def section(document_url: str | None, heading: str) -> str | None:
        if not document_url:
            return None
        last = heading.split(" > ")[-1] if heading else ""
        anchor = slug(last)
        return f"{document_url.split('#', 1)[0]}#{anchor}" if anchor else document_url
