"""The shared fixtures in tests/conftest.py give isolated, working services."""

from __future__ import annotations

import httpx2
import psycopg
import redis


def test_pg_url_is_an_isolated_schema(pg_url: str, fresh_pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        session_schema = conn.execute("SELECT current_schema()").fetchone()
    with psycopg.connect(fresh_pg_url) as conn:
        conn.execute("CREATE TABLE probe (id int)")
        test_schema = conn.execute("SELECT current_schema()").fetchone()
    assert session_schema and test_schema
    assert session_schema[0] != test_schema[0]
    assert session_schema[0] != "public" and test_schema[0] != "public"


def test_redis_url_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping()
    finally:
        client.close()


def test_scim_server_url_serves_the_sample_directory(scim_server_url: str) -> None:
    response = httpx2.get(f"{scim_server_url}/Users", params={"filter": 'userName eq "kate.novak@example.com"'})
    assert response.status_code == 200
    assert response.json()["totalResults"] == 1
    assert httpx2.get(f"{scim_server_url}/Groups").json()["totalResults"] == 9
