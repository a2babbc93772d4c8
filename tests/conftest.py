"""Shared fixtures: a real SCIM server on 127.0.0.1, PostgreSQL schemas, Redis and SQLite URLs."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote
from wsgiref.simple_server import WSGIRequestHandler, make_server

import psycopg
import pytest
import redis
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import load_default_provider

from tools.directory_data import DirectoryData, load_directory_data
from tools.scim_store import seeded_storage

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "tools" / "sample_data"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/deskhand_test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_scim_server(data: DirectoryData, token: str | None = None) -> Iterator[str]:
    """A scim2-server (threaded WSGI, in-memory storage seeded with `data`) on a free 127.0.0.1 port.

    Yields its base URL, e.g. http://127.0.0.1:43127/v2; with `token`, requests need that bearer token.
    """
    app = BearerTokenApplication(seeded_storage(data), load_default_provider(), bearer_tokens=[token] if token else [])
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="scim-test-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests that configure logging in-process (`bot.cli.main`, `configure_cli_logging`): put the root
    logger's handlers and level back and stop capturing warnings, so no later test inherits them."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.fixture(scope="session")
def sample_data_dir() -> Path:
    """tools/sample_data: the Larkspur Analytics directory.yaml and ledger.yaml."""
    return SAMPLE_DATA


@pytest.fixture(scope="session")
def directory_data(sample_data_dir: Path) -> DirectoryData:
    return load_directory_data(sample_data_dir / "directory.yaml")


@pytest.fixture(scope="session")
def scim_server_url(directory_data: DirectoryData) -> Iterator[str]:
    """A real scim2-server shared by the session, seeded from tools/sample_data/directory.yaml.

    Shared state: tests that write should create their own people (unique e-mails) or use
    `make_scim_server` for a private server.
    """
    with running_scim_server(directory_data) as url:
        yield url


@pytest.fixture
def make_scim_server(directory_data: DirectoryData) -> Iterator[Callable[..., str]]:
    """Start private seeded SCIM servers for one test: `make_scim_server(token=None, data=None) -> url`."""
    stack: list[Any] = []

    def start(token: str | None = None, data: DirectoryData | None = None) -> str:
        ctx = running_scim_server(data or directory_data, token)
        stack.append(ctx)
        return ctx.__enter__()

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq options that put every connection in `schema` (psycopg and SQLAlchemy honour it)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema(base_url: str, prefix: str = "t") -> Iterator[str]:
    """A fresh schema in the test database (dropped afterwards); yields a URL pointing into it."""
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable for the tests ({type(exc).__name__}); "
            "start it with scripts/services.sh or set DESKHAND_TEST_DATABASE_URL"
        )
    try:
        yield with_search_path(base_url, schema)
    finally:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    return os.environ.get("DESKHAND_TEST_DATABASE_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def pg_url(pg_base_url: str) -> Iterator[str]:
    """PostgreSQL URL into a schema unique to this session (parallel runs never collide)."""
    with postgres_schema(pg_base_url, "s") as url:
        yield url


@pytest.fixture
def fresh_pg_url(pg_base_url: str) -> Iterator[str]:
    """PostgreSQL URL into a schema unique to this test, dropped afterwards."""
    with postgres_schema(pg_base_url, "f") as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis (db 15 by default); fails early with a clear message when it is down."""
    url = os.environ.get("DESKHAND_TEST_REDIS_URL", DEFAULT_REDIS)
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis is not reachable for the tests ({type(exc).__name__}); "
            "start it with scripts/services.sh or set DESKHAND_TEST_REDIS_URL"
        )
    finally:
        client.close()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in this test's temporary folder."""
    return f"sqlite:///{tmp_path / 'deskhand.db'}"


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The real embedding model, loaded once per test session (offline)."""
    from bot.settings import offline_runtime
    from knowledge.embedder import load_embedder

    offline_runtime()
    return load_embedder()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    """The sample handbook indexed once per session."""
    from bot.settings import DEFAULT_CORPUS
    from knowledge.index import build_index

    out = tmp_path_factory.mktemp("sample-index")
    build_index([DEFAULT_CORPUS], out, embedder, progress=False)
    return out
