"""The governance store: SQLAlchemy Core tables on SQLite (default) or PostgreSQL."""

from governance.store.database import Store, create_store_engine, init_schema

__all__ = ["Store", "create_store_engine", "init_schema"]
