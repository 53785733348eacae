"""The results database (SQLAlchemy: SQLite by default, PostgreSQL by URL) and its queries."""
