"""A deliberately messy legacy helpdesk in a real database, read through a SELECT-only role.

SQLite (a file, opened read-only), PostgreSQL (TEST_DATABASE_URL: a unique schema and a
role with USAGE + SELECT only) and MariaDB/MySQL (TEST_MYSQL_URL: a unique database and a
user with SELECT only). Everything is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

# The operator's query for the legacy table: text timestamps, padded CHAR ids, soft deletes.
# Timestamps are text in mixed formats, so new rows are found by the auto-increment `seq`.
TICKET_QUERY = (
    "SELECT ref AS id, title AS subject, descr AS body, opened AS created_at, "
    "email AS requester, first_reply AS first_response_at, closed AS resolved_at, seq "
    "FROM hd_ticket WHERE deleted = 0 -- soft-deleted rows are not tickets"
)
# A newer table with real timestamps and UUID keys: new rows are found by created_at.
EVENT_QUERY = "SELECT id, subject, body, created AS created_at FROM hd_event"

DDL = {
    "sqlite": [
        "CREATE TABLE hd_ticket (seq INTEGER PRIMARY KEY AUTOINCREMENT, ref TEXT, title TEXT,"
        " descr TEXT, opened TEXT, email TEXT, first_reply TEXT, closed TEXT,"
        " deleted INTEGER DEFAULT 0)",
        "CREATE TABLE hd_event (id TEXT PRIMARY KEY, created TIMESTAMP, subject TEXT, body TEXT)",
        "CREATE TABLE hd_secret (id INTEGER, note TEXT)",
    ],
    "postgresql": [
        "CREATE TABLE hd_ticket (seq SERIAL PRIMARY KEY, ref CHAR(12), title VARCHAR(300),"
        " descr TEXT, opened VARCHAR(60), email VARCHAR(200), first_reply VARCHAR(60),"
        " closed VARCHAR(60), deleted SMALLINT DEFAULT 0)",
        "CREATE TABLE hd_event (id UUID PRIMARY KEY, created TIMESTAMPTZ, subject TEXT, body TEXT)",
        "CREATE INDEX hd_event_created ON hd_event (created)",
        "CREATE TABLE hd_secret (id INTEGER, note TEXT)",
    ],
    "mysql": [
        "CREATE TABLE hd_ticket (seq INT AUTO_INCREMENT PRIMARY KEY, ref CHAR(12),"
        " title VARCHAR(300), descr LONGTEXT, opened VARCHAR(60), email VARCHAR(200),"
        " first_reply VARCHAR(60), closed VARCHAR(60), deleted TINYINT DEFAULT 0)"
        " CHARACTER SET utf8mb4",
        "CREATE TABLE hd_event (id CHAR(36) PRIMARY KEY, created DATETIME(6), subject TEXT,"
        " body LONGTEXT, INDEX (created)) CHARACTER SET utf8mb4",
        "CREATE TABLE hd_secret (id INT, note TEXT)",
    ],
}


class LegacyHelpdesk:
    """`admin` writes the fixture data (as the helpdesk app would); the bot gets `url`."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.suffix = uuid.uuid4().hex[:10]
        self.role = f"hd_ro_{self.suffix}"
        self.password = f"pw-{self.suffix}"
        self.url, self.admin = self._create(tmp_path)

    # --- setup / teardown ------------------------------------------------------------------

    def _create(self, tmp_path: Path) -> tuple[str, Engine]:
        if self.kind == "sqlite":
            path = tmp_path / "helpdesk.db"
            admin = create_engine(f"sqlite:///{path}")
            with admin.begin() as c:
                for ddl in DDL["sqlite"]:
                    c.execute(text(ddl))
            return f"sqlite:///file:{path}?mode=ro&uri=true", admin
        if self.kind == "postgresql":
            base = os.environ.get("TEST_DATABASE_URL")
            if not base:
                pytest.skip(
                    "PostgreSQL source tests need TEST_DATABASE_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
                )
            self.schema = f"hd_{self.suffix}"
            root = create_engine(base)
            with root.begin() as c:
                c.execute(text(f'CREATE SCHEMA "{self.schema}"'))
                c.execute(text(f"CREATE ROLE {self.role} LOGIN PASSWORD '{self.password}'"))
                c.execute(text(f'GRANT USAGE ON SCHEMA "{self.schema}" TO {self.role}'))
                c.execute(text(f'SET search_path TO "{self.schema}"'))
                for ddl in DDL["postgresql"]:
                    c.execute(text(ddl))
                c.execute(text(f"GRANT SELECT ON hd_ticket, hd_event TO {self.role}"))
            root.dispose()
            sep = "&" if "?" in base else "?"
            admin = create_engine(f"{base}{sep}options=-csearch_path%3D{self.schema}")
            url = make_url(base).set(username=self.role, password=self.password)
            ro = url.render_as_string(hide_password=False)
            sep = "&" if "?" in ro else "?"
            return f"{ro}{sep}options=-csearch_path%3D{self.schema}", admin
        base = os.environ.get("TEST_MYSQL_URL")
        if not base:
            pytest.skip(
                "MariaDB/MySQL source tests need TEST_MYSQL_URL "
                "(e.g. mysql+pymysql://root@127.0.0.1:3306/test)"
            )
        self.database = f"hd_{self.suffix}"
        root = create_engine(base)
        with root.begin() as c:
            c.execute(text(f"CREATE DATABASE `{self.database}` CHARACTER SET utf8mb4"))
            c.execute(text(f"CREATE USER '{self.role}'@'%' IDENTIFIED BY '{self.password}'"))
            c.execute(
                text(f"CREATE USER '{self.role}'@'localhost' IDENTIFIED BY '{self.password}'")
            )
        root.dispose()
        url = make_url(base).set(database=self.database, query={"charset": "utf8mb4"})
        admin = create_engine(url)
        with admin.begin() as c:
            for ddl in DDL["mysql"]:
                c.execute(text(ddl))
            for host in ("%", "localhost"):
                for table in ("hd_ticket", "hd_event"):
                    c.execute(
                        text(f"GRANT SELECT ON `{self.database}`.{table} TO '{self.role}'@'{host}'")
                    )
        ro = url.set(username=self.role, password=self.password)
        return ro.render_as_string(hide_password=False), admin

    def drop(self) -> None:
        self.admin.dispose()
        if self.kind == "postgresql":
            root = create_engine(os.environ["TEST_DATABASE_URL"])
            with root.begin() as c:
                c.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
                c.execute(text(f"DROP ROLE IF EXISTS {self.role}"))
            root.dispose()
        elif self.kind == "mysql":
            root = create_engine(os.environ["TEST_MYSQL_URL"])
            with root.begin() as c:
                c.execute(text(f"DROP DATABASE IF EXISTS `{self.database}`"))
                for host in ("%", "localhost"):
                    c.execute(text(f"DROP USER IF EXISTS '{self.role}'@'{host}'"))
            root.dispose()

    # --- what the helpdesk app does ----------------------------------------------------------

    def add_tickets(self, *rows: dict[str, Any]) -> None:
        columns = ("ref", "title", "descr", "opened", "email", "first_reply", "closed", "deleted")
        with self.admin.begin() as c:
            for row in rows:
                values = {k: row.get(k) for k in columns}
                values["deleted"] = values["deleted"] or 0
                c.execute(
                    text(
                        "INSERT INTO hd_ticket (ref, title, descr, opened, email, first_reply,"
                        " closed, deleted) VALUES (:ref, :title, :descr, :opened, :email,"
                        " :first_reply, :closed, :deleted)"
                    ),
                    values,
                )

    def add_events(self, *rows: dict[str, Any]) -> None:
        with self.admin.begin() as c:
            for row in rows:
                c.execute(
                    text(
                        "INSERT INTO hd_event (id, created, subject, body)"
                        " VALUES (:id, :created, :subject, :body)"
                    ),
                    {k: row.get(k) for k in ("id", "created", "subject", "body")},
                )

    def execute(self, sql: str, **params: Any) -> None:
        with self.admin.begin() as c:
            c.execute(text(sql), params)

    def revoke(self, table: str = "hd_ticket") -> None:
        """Take the role's SELECT away (a DBA's mistake), as the permission-denied fault."""
        if self.kind == "postgresql":
            self.execute(f"REVOKE SELECT ON {table} FROM {self.role}")
        elif self.kind == "mysql":
            for host in ("%", "localhost"):
                self.execute(
                    f"REVOKE SELECT ON `{self.database}`.{table} FROM '{self.role}'@'{host}'"
                )

    def grant(self, table: str = "hd_ticket") -> None:
        if self.kind == "postgresql":
            self.execute(f"GRANT SELECT ON {table} TO {self.role}")
        elif self.kind == "mysql":
            for host in ("%", "localhost"):
                self.execute(f"GRANT SELECT ON `{self.database}`.{table} TO '{self.role}'@'{host}'")
