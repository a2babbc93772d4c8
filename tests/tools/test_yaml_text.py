"""The start-up YAML files are parsed by one helper, with libyaml's C safe loader when PyYAML has it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import tools.yaml_text
from bot.settings import DEFAULT_CONTACTS, DEFAULT_POLICY
from bot.wiring_llm import DEFAULT_PRICES
from graphs.contacts import Contacts
from graphs.governance.policy import Policy
from graphs.llm.usage import Prices
from graphs.llm.verify import VOCABULARY, load_vocabulary
from graphs.understanding.intent_examples import DEFAULT_INTENTS, load_examples
from graphs.understanding.lexicon import LEXICON_FILE, lexicon
from graphs.understanding.privacy import TOPICS_FILE, private_topics
from tools.data_files import load_yaml_model
from tools.directory_data import DirectoryData
from tools.yaml_text import parse_yaml

SAMPLE_DIRECTORY = Path(__file__).resolve().parents[2] / "tools" / "sample_data" / "directory.yaml"
STARTUP_FILES = [DEFAULT_POLICY, DEFAULT_CONTACTS, DEFAULT_PRICES, VOCABULARY, DEFAULT_INTENTS, LEXICON_FILE,
                 TOPICS_FILE, SAMPLE_DIRECTORY]  # fmt: skip
LOADS: list[tuple[Path, Callable[[Path], Any]]] = [
    (DEFAULT_POLICY, Policy.load),
    (DEFAULT_CONTACTS, Contacts.load),
    (DEFAULT_PRICES, Prices.load),
    (VOCABULARY, load_vocabulary),
    (DEFAULT_INTENTS, load_examples),
    (LEXICON_FILE, lexicon.__wrapped__),  # past the cache, so the file is read again
    (TOPICS_FILE, private_topics.__wrapped__),
    (SAMPLE_DIRECTORY, lambda p: load_yaml_model(p, DirectoryData)),
]


def test_the_c_loader_is_used_when_pyyaml_has_it() -> None:
    assert yaml.__with_libyaml__  # the venv's PyYAML is built with libyaml
    assert tools.yaml_text.LOADER is yaml.CSafeLoader


@pytest.fixture
def without_libyaml(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delattr(yaml, "CSafeLoader")
    importlib.reload(tools.yaml_text)
    yield
    monkeypatch.undo()
    importlib.reload(tools.yaml_text)


def test_without_libyaml_the_python_safe_loader_reads_the_same(without_libyaml: None) -> None:
    assert tools.yaml_text.LOADER is yaml.SafeLoader
    assert tools.yaml_text.parse_yaml("a: [1, 2]") == {"a": [1, 2]}


@pytest.mark.parametrize("path", STARTUP_FILES, ids=lambda p: p.name)
def test_each_start_up_file_reads_as_safe_load_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert parse_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize(("path", "load"), LOADS, ids=[p.name for p, _ in LOADS])
def test_each_start_up_loader_parses_through_the_helper(
    path: Path, load: Callable[[Path], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []

    class Recording(tools.yaml_text.LOADER):  # type: ignore[name-defined, misc]
        def __init__(self, stream: Any) -> None:
            read.append(stream if isinstance(stream, str) else stream.decode())
            super().__init__(stream)

    monkeypatch.setattr(tools.yaml_text, "LOADER", Recording)
    load(path)
    assert read == [path.read_text(encoding="utf-8")]


@pytest.mark.parametrize("text", ["!!python/object/apply:os.system ['true']", "x: !!python/name:os.system"])
def test_python_tags_are_refused(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        parse_yaml(text)


def test_errors_keep_their_line_mark() -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        parse_yaml("a: 1\nb: [2\nc: 3\n")
    mark = getattr(caught.value, "problem_mark", None)
    assert mark is not None and mark.line >= 1
