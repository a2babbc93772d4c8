"""The SQL database every component shares: engine, declarative base and Alembic migrations."""
