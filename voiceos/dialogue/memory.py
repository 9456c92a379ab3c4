"""Long-term memory in SQLite: the user's name, facts they told, recent history.

Facts come from "remember that…" (source "told"), from things said in passing (source
"heard", see capture.py) or from a language model's reading of a turn (source "llm").
A fact with a key replaces older facts with the same key, so corrections win.

Every write is one committed transaction on a WAL database with synchronous=FULL, so
whatever a method has returned from survives a crash or `kill -9` of the process.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from voiceos import paths
from voiceos.dialogue.vocab import PETS, SYNONYMS, canonical

logger = logging.getLogger(__name__)

MAX_FACT_CHARS = 1000
MAX_FACTS = 500
"""The oldest facts beyond this are dropped, so memory stays bounded however long one talks."""
SOURCES = ("told", "heard", "llm")
MAX_TURN_CHARS = 4000
ROLES = ("user", "assistant")


def _wordset(text: str) -> frozenset[str]:
    """A set of words written as one string, which reads better than a long list literal."""
    return frozenset(text.split())


STOPWORDS = _wordset(
    """a about above after again all also am an and any are as at be because been before
    being both but by can could did do does doing done for from had has have having he her
    here hers him his how i i'd i'll i'm i've if in into is it it's its just me more most my
    myself no nor not now of off on once only or other our ours out over own really same she
    should so some such than that that's the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you you're your yours tell told remember know about said say thing things
    anything something everything please"""
)


class MemoryStoreError(Exception):
    """The memory database cannot be used. The message is one clear line."""


@dataclass(frozen=True)
class Fact:
    """Something the user asked to be remembered, in their own words."""

    id: int
    topic: str
    """A word or two saying what the fact is about, e.g. "sister"."""
    text: str
    created_s: float
    """Unix time when it was stored."""
    key: str = ""
    """Facts with the same key replace each other ("cat.name", "home"); "" never replaces."""
    value: str = ""
    """The short answer the fact gives: "Miso", "Porto"."""
    name: str = ""
    """A proper name the fact gives (a person's or pet's)."""
    source: str = "told"
    """ "told" (asked to remember), "heard" (said in passing) or "llm" (proposed by a model)."""


_FACT_COLUMNS = "id, topic, text, created_s, key, value, name, source"


@dataclass(frozen=True)
class Turn:
    """One line of the conversation history."""

    role: str
    """"user" or "assistant"."""
    text: str
    created_s: float


def keywords(text: str) -> list[str]:
    """The words recall matches on: lower-case, no stop words, plurals folded."""
    return list(_keywords(text))


@functools.lru_cache(maxsize=4096)  # recall() looks at every fact on every call
def _keywords(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for word in re.findall(r"[^\W_]+(?:['’][^\W_]+)?", text.lower()):
        word = word.replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if word in STOPWORDS or not word:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if word not in found:
            found.append(word)
    return tuple(found)


def topic_of(text: str) -> str:
    """Guess what a fact is about: "my sister is called Ana" -> "sister"."""
    owned = re.search(
        r"\bmy ((?:[^\W_]+ ){0,2}?[^\W_]+?)(?:['’]s)? (?:is|are|was|were|has|have|lives?|works?)\b",
        text.lower(),
    )
    if owned:
        return owned.group(1)
    words = [w for w in re.findall(r"[^\W_]+", text.lower()) if w not in STOPWORDS]
    return words[-1] if words else ""


MAX_NAMES = 20


class FactText(Protocol):
    @property
    def topic(self) -> str: ...

    @property
    def text(self) -> str: ...


def relevance(wanted: list[str], fact: FactText) -> int:
    """How well a fact matches query words (from `query_words`): a topic word counts double."""
    topic_words = _topic_words(fact.topic)
    text_words = {canonical(w) for w in keywords(fact.text)}
    return sum(2 if w in topic_words else 1 for w in wanted if w in topic_words | text_words)


def query_words(query: str) -> list[str]:
    """The words of a query that facts are matched on."""
    return [canonical(w) for w in keywords(query)]


def _fact_words(fact: Fact) -> set[str]:
    """Every word a fact can be found or forgotten by."""
    return _topic_words(fact.topic) | {canonical(w) for w in keywords(fact.text)}


def _topic_words(topic: str) -> set[str]:
    """The words a topic is found by: its own, canonical spellings and synonyms."""
    words = {canonical(w) for w in keywords(topic)}
    for word in list(words):
        words.update(SYNONYMS.get(word, ()))
    if words & PETS:
        words.update(("pet", "pets", "animal", "animals"))
    return words


def _proper_names(text: str, key: str) -> list[str]:
    """Capitalised runs of words in `text` ("New York", "Miso"); all of it for a name."""
    text = text.strip()
    if not text:
        return []
    if key.endswith(".name"):
        return [text]
    # In words kept as said, a capital at a sentence start proves nothing.
    start = r"(?<![.!?]\s)(?<!^)" if not key else ""
    runs = re.findall(start + r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*", text)
    days = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "I"}
    return [r for r in runs if r not in days and r.lower() not in STOPWORDS]


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE profile (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE facts (id INTEGER PRIMARY KEY, text TEXT NOT NULL, created_s REAL NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE turns (id INTEGER PRIMARY KEY, role TEXT NOT NULL, text TEXT NOT NULL,"
        " created_s REAL NOT NULL)"
    )


def _v2(conn: sqlite3.Connection) -> None:
    # Facts gained a topic so recall can weigh what a fact is about.
    conn.execute("ALTER TABLE facts ADD COLUMN topic TEXT NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT id, text FROM facts").fetchall()
    conn.executemany("UPDATE facts SET topic = ? WHERE id = ?", [(topic_of(t), i) for i, t in rows])


def _v3(conn: sqlite3.Connection) -> None:
    # Facts heard in passing: a key so corrections replace, the short value, a name, a source.
    for column in ("key", "value", "name"):
        conn.execute(f"ALTER TABLE facts ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE facts ADD COLUMN source TEXT NOT NULL DEFAULT 'told'")
    conn.execute("CREATE INDEX facts_key ON facts (key)")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3)
"""MIGRATIONS[n] takes a database from schema n to n + 1; append, never edit."""
SCHEMA_VERSION = len(MIGRATIONS)


class Memory:
    """The memory database at `path`. Call open() (or use `with`) before anything else.

    Usable from one thread at a time.
    """

    def __init__(self, path: Path, history_turns: int = 200, busy_timeout_s: float = 5.0) -> None:
        self.path = path
        self.history_turns = history_turns
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None

    # --- opening and closing -------------------------------------------------------------

    def open(self) -> None:
        """Create or open the database, migrate it and check it is intact."""
        if self._conn is not None:
            return
        self._prepare_file()
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            mode = self._journal_wal(conn)
            if mode != "wal":
                logger.warning("memory: journal mode is %s, not wal", mode)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA secure_delete = ON")  # deleted text is zeroed, not left behind
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
            self._migrate(conn)
        except (sqlite3.Error, MemoryStoreError) as exc:
            conn.close()
            if isinstance(exc, MemoryStoreError):
                raise
            raise self._error(exc) from None
        self._conn = conn
        logger.debug("memory opened at %s", self.path)

    def _journal_wal(self, conn: sqlite3.Connection) -> str:
        """Switch to WAL. SQLite answers "locked" at once here, without its busy handler,
        when another voiceos is creating the same new memory (1 in 7 of two starts at
        once), so this waits itself, as long as the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)  # the other side's first transaction takes milliseconds

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Memory:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _prepare_file(self) -> None:
        """Make the folder (0700) and an empty file (0600) before SQLite creates its own."""
        try:
            paths.ensure_private_dir(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
                    os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
        except OSError as exc:
            raise MemoryStoreError(
                f"cannot use {self.path} for memory: {exc.strerror or exc}"
                " (check the folder exists and is writable, or set memory.enabled = false)"
            ) from None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise MemoryStoreError(
                    f"{self.path} was written by a newer voiceos (memory schema {version}, this"
                    f" version knows up to {SCHEMA_VERSION}); upgrade voiceos to use it"
                )
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
                logger.info("memory: migrated %s to schema %d", self.path, step + 1)
            # PRAGMA user_version is part of this transaction: a crash leaves the old schema.
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _error(self, exc: sqlite3.Error) -> MemoryStoreError:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            why = "is locked by another program (is another voiceos running?)"
        elif "not a database" in text or "malformed" in text or "corrupt" in text:
            why = "is corrupt or not a voiceos memory file; move it away to start fresh"
        elif "readonly" in text or "unable to open" in text or "disk i/o" in text:
            why = "cannot be written (check permissions and free disk space)"
        else:
            why = f"failed: {exc}"
        return MemoryStoreError(f"memory database {self.path} {why}")

    # --- plumbing ------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("Memory used before open()")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; when this returns, the change is on disk."""
        conn = self._db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _purge_old_pages(self) -> None:
        """Copy the WAL into the main file and empty it, so deleted text leaves the WAL too."""
        try:
            busy = self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        if busy:  # another reader (a second voiceos) holds old pages until it lets go
            logger.warning("memory: old pages stay in the WAL until other readers finish")

    # --- the user's name -----------------------------------------------------------------

    def user_name(self) -> str | None:
        rows = self._rows("SELECT value FROM profile WHERE key = 'user_name'")
        return str(rows[0][0]) if rows else None

    def set_user_name(self, name: str | None) -> None:
        """Store the name; None or "" forgets it."""
        name = (name or "").strip()[:100]
        with self._write() as conn:
            if name:
                conn.execute(
                    "INSERT OR REPLACE INTO profile (key, value) VALUES ('user_name', ?)", (name,)
                )
            else:
                conn.execute("DELETE FROM profile WHERE key = 'user_name'")

    # --- facts ---------------------------------------------------------------------------

    def remember(self, text: str, topic: str | None = None) -> Fact:
        """Store a fact (the same text twice is kept once) and return it."""
        text = " ".join(text.split())[:MAX_FACT_CHARS]
        if not text:
            raise ValueError("nothing to remember")
        topic = (topic if topic is not None else topic_of(text)).strip().lower()
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {_FACT_COLUMNS} FROM facts WHERE lower(text) = lower(?) AND key = ''",
                (text,),
            ).fetchone()
            if row:
                return Fact(*row)
            return self._insert(conn, Fact(0, topic, text, time.time()))

    def keep(
        self,
        topic: str,
        key: str,
        text: str,
        value: str = "",
        name: str = "",
        source: str = "heard",
    ) -> Fact:
        """Store a structured fact, replacing every older fact with the same `key`."""
        text = " ".join(text.split())[:MAX_FACT_CHARS]
        if not text or not key:
            raise ValueError("a kept fact needs text and a key")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        fact = Fact(0, topic.strip().lower()[:100], text, time.time(), key[:200], value[:200],
                    name[:100], source)  # fmt: skip
        with self._write() as conn:
            conn.execute("DELETE FROM facts WHERE key = ?", (fact.key,))
            return self._insert(conn, fact)

    def _insert(self, conn: sqlite3.Connection, fact: Fact) -> Fact:
        cursor = conn.execute(
            "INSERT INTO facts (topic, text, created_s, key, value, name, source)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (fact.topic, fact.text, fact.created_s, fact.key, fact.value, fact.name, fact.source),
        )
        conn.execute(
            "DELETE FROM facts WHERE id <= (SELECT id FROM facts ORDER BY id DESC LIMIT 1"
            " OFFSET ?)",
            (MAX_FACTS,),
        )
        return Fact(int(cursor.lastrowid or 0), *dataclasses.astuple(fact)[1:])

    def facts(self) -> list[Fact]:
        """Every fact, oldest first."""
        rows = self._rows(f"SELECT {_FACT_COLUMNS} FROM facts ORDER BY id")
        return [Fact(*row) for row in rows]

    def names(self, limit: int = MAX_NAMES) -> list[str]:
        """Proper names the user told: their own first, then people, pets and places.

        Most recent first, without repeats, at most `limit`: what the speech recogniser is
        given as hints. Facts kept word for word ("remember that…") give their capitalised
        words.
        """
        found: list[str] = []
        own = self.user_name()
        if own:
            found.append(own)
        rows = self._rows(
            "SELECT name, value, key, text FROM facts WHERE name != '' OR key = ''"
            " OR key IN ('home', 'origin') OR key LIKE '%.home' OR key LIKE 'plan:%'"
            " ORDER BY id DESC LIMIT 200"
        )
        for name, value, key, text in rows:
            said = text if not key else value if not name or key.endswith(".home") else ""
            for candidate in (name, said):
                for part in _proper_names(candidate, key):
                    if part.lower() not in {f.lower() for f in found}:
                        found.append(part)
        return found[:limit]

    def recall(self, query: str) -> list[Fact]:
        """Facts sharing words with `query`, best first (a topic match counts double).

        A fact's topic brings its synonyms: "home" is found by "live", "work" by "job".
        """
        wanted = query_words(query)
        if not wanted:
            return []
        scored: list[tuple[int, int, Fact]] = []
        for fact in self.facts():
            score = relevance(wanted, fact)
            if score:
                scored.append((score, fact.id, fact))
        scored.sort(key=lambda item: (-item[0], -item[1]))
        return [fact for _, _, fact in scored]

    def forget(self, query: str) -> int:
        """Delete facts (and history lines) containing every word of `query`.

        "name" or "my name" forgets the user's name instead. Returns how many facts (or
        names) went.
        """
        wanted = keywords(query)
        if not wanted:
            return 0
        if wanted == ["name"]:
            had = self.user_name() is not None
            self.set_user_name(None)
            self._purge_old_pages()
            return int(had)
        want = {canonical(w) for w in wanted}
        doomed = [f.id for f in self.facts() if want <= _fact_words(f)]
        turns = [
            int(turn_id)
            for turn_id, text in self._rows("SELECT id, text FROM turns")
            if set(wanted) <= set(keywords(text))
        ]
        with self._write() as conn:
            conn.executemany("DELETE FROM facts WHERE id = ?", [(i,) for i in doomed])
            conn.executemany("DELETE FROM turns WHERE id = ?", [(i,) for i in turns])
        self._purge_old_pages()
        return len(doomed)

    def forget_all(self) -> None:
        """Delete the name, every fact and all history, then VACUUM so no trace stays on disk."""
        with self._write() as conn:
            for table in ("profile", "facts", "turns"):
                conn.execute(f"DELETE FROM {table}")
        try:
            self._db().execute("VACUUM")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        self._purge_old_pages()

    # --- history -------------------------------------------------------------------------

    def add_turn(self, role: str, text: str) -> None:
        """Append a line of history and drop the oldest beyond `history_turns`."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        text = text.strip()[:MAX_TURN_CHARS]
        with self._write() as conn:
            conn.execute(
                "INSERT INTO turns (role, text, created_s) VALUES (?, ?, ?)",
                (role, text, time.time()),
            )
            conn.execute(
                "DELETE FROM turns WHERE id < ("
                "SELECT id FROM turns ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (max(self.history_turns - 1, 0),),
            )

    def recent_turns(self, limit: int) -> list[Turn]:
        """The last `limit` turns, oldest first."""
        rows = self._rows(
            "SELECT role, text, created_s FROM turns ORDER BY id DESC LIMIT ?", (max(limit, 0),)
        )
        return [Turn(*row) for row in reversed(rows)]

    def turn_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM turns")[0][0])
