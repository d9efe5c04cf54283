"""The audit log kept in a PostgreSQL table, for servers on several machines (`audit: {url: …}`).

Every process appends to one table, so `semantic-layer usage` sees the queries of all of them. The
table and its index are created on first use; its size is the database's to manage (delete old rows
as your retention asks). The table name is an identifier composed by psycopg, never pasted in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
from psycopg import sql

from .audit_record import COLUMNS, AuditRecord
from .errors import AuditLogError

log = logging.getLogger("semantic_layer")


class PostgresTable:
    def __init__(self, url: str, table: str):
        self.url = url
        self.table = table
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    @property
    def place(self) -> str:
        host = self.url.split("@")[-1]  # never the password
        return f"table {self.table} on {host}"

    def _name(self) -> sql.Composable:
        return sql.Identifier(*self.table.split("."))

    def found(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=10) as conn:
                row = conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone()
        except psycopg.Error as exc:
            raise AuditLogError(f"cannot read the audit log in {self.place}: {exc}") from None
        return row is not None and row[0] is not None

    def records(self, since: float) -> Iterator[AuditRecord]:
        if not self.found():
            return
        query = sql.SQL("SELECT {} FROM {} WHERE at >= %s ORDER BY at").format(sql.SQL(COLUMNS), self._name())
        try:
            with psycopg.connect(self.url, connect_timeout=10) as conn, conn.cursor() as cursor:
                cursor.execute(query, (since,))
                rows = cursor.fetchall()
        except psycopg.Error as exc:
            raise AuditLogError(f"cannot read the audit log in {self.place}: {exc}") from None
        yield from map(AuditRecord.from_row, rows)

    def write(self, batch: list[AuditRecord]) -> None:
        """Append a batch in one transaction; raises on failure (the connection is then closed)."""
        try:
            conn = self._connection()
            insert = sql.SQL("INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(
                self._name(), sql.SQL(COLUMNS)
            )
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(insert, [r.row() for r in batch])
        except psycopg.Error:
            self.close()
            raise

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self.url, connect_timeout=10, autocommit=True)
            name = self._name()
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (at double precision NOT NULL, source text NOT NULL, "
                    "roles text NOT NULL, metrics text NOT NULL, dimensions text NOT NULL, dashboard text, "
                    "duration_ms double precision NOT NULL, cached smallint NOT NULL)"
                ).format(name)
            )
            conn.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (at)").format(sql.Identifier(_index(self.table)), name)
            )
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error as exc:
                log.debug("closing the audit connection: %s", exc)
        self._conn = None


def _index(table: str) -> str:
    return table.split(".")[-1] + "_at"
