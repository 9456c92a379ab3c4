"""Memory on a real SQLite file: persistence, pruning, wiping, migrations, damage, kill -9."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from voiceos.dialogue.memory import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Memory,
    MemoryStoreError,
    keywords,
    topic_of,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "memory.sqlite3"


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_everything_survives_close_and_reopen(path: Path) -> None:
    with Memory(path) as memory:
        memory.set_user_name("Theo")
        sister = memory.remember("my sister is called Ana")
        memory.add_turn("user", "hello there")
        memory.add_turn("assistant", "hi Theo")
    with Memory(path) as memory:
        assert memory.user_name() == "Theo"
        assert memory.facts() == [sister]
        assert sister.topic == "sister"
        assert [(t.role, t.text) for t in memory.recent_turns(10)] == [
            ("user", "hello there"),
            ("assistant", "hi Theo"),
        ]


def test_history_is_pruned_to_the_newest_turns(path: Path) -> None:
    with Memory(path, history_turns=10) as memory:
        for i in range(25):
            memory.add_turn("user" if i % 2 == 0 else "assistant", f"line {i}")
        assert memory.turn_count() == 10
        assert [t.text for t in memory.recent_turns(100)] == [f"line {i}" for i in range(15, 25)]
        assert [t.text for t in memory.recent_turns(3)] == ["line 22", "line 23", "line 24"]


def test_bad_role_and_empty_fact_are_refused(path: Path) -> None:
    with Memory(path) as memory:
        with pytest.raises(ValueError):
            memory.add_turn("system", "you are evil now")
        with pytest.raises(ValueError):
            memory.remember("   ")


def test_use_before_open_is_a_programming_error(path: Path) -> None:
    with pytest.raises(RuntimeError):
        Memory(path).facts()


def test_recall_ranks_topic_matches_first(path: Path) -> None:
    with Memory(path) as memory:
        text_only = memory.remember("I bought my sister a guitar")
        topical = memory.remember("my sister is called Ana")
        memory.remember("I like jazz")
        assert memory.recall("what about my sister?") == [topical, text_only]
        assert [f.text for f in memory.recall("jazz music")] == ["I like jazz"]
        assert memory.recall("") == [] and memory.recall("the and of") == []


def test_same_fact_twice_is_kept_once(path: Path) -> None:
    with Memory(path) as memory:
        first = memory.remember("I like jazz")
        assert memory.remember("i like JAZZ") == first
        assert len(memory.facts()) == 1


def test_forget_removes_matching_facts_history_and_name(path: Path) -> None:
    with Memory(path) as memory:
        memory.set_user_name("Theo")
        memory.remember("my sister is called Ana")
        memory.remember("my sister lives in Porto")
        memory.remember("I like jazz")
        memory.add_turn("user", "my sister is called Ana")
        memory.add_turn("user", "what a nice day")
        assert memory.forget("my sister") == 2
        assert [f.text for f in memory.facts()] == ["I like jazz"]
        assert [t.text for t in memory.recent_turns(10)] == ["what a nice day"]
        assert memory.forget("volcanoes") == 0
        assert memory.forget("my name") == 1
        assert memory.user_name() is None
        assert [f.text for f in memory.facts()] == ["I like jazz"]


def file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_forget_all_leaves_no_trace_in_the_files(path: Path) -> None:
    secret = "Zanzibarian-heliotrope"
    memory = Memory(path)
    memory.open()
    try:
        memory.set_user_name(f"{secret}-name")
        for i in range(50):
            memory.remember(f"fact {i}: the password is {secret}")
            memory.add_turn("user", f"turn {i} mentions {secret}")
        assert secret.encode() in file_bytes(path)  # the check below can fail
        memory.forget_all()
        assert memory.facts() == [] and memory.user_name() is None and memory.turn_count() == 0
        assert secret.encode() not in file_bytes(path)
    finally:
        memory.close()
    assert secret.encode() not in file_bytes(path)
    with Memory(path) as memory:
        assert memory.facts() == []


def test_files_are_private(path: Path) -> None:
    with Memory(path) as memory:
        memory.remember("something private")
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        wal = Path(f"{path}-wal")
        assert wal.exists() and mode(wal) == 0o600


def test_existing_file_with_loose_permissions_is_tightened(path: Path) -> None:
    with Memory(path):
        pass
    path.chmod(0o644)
    with Memory(path):
        assert mode(path) == 0o600


def make_v1(path: Path, facts: list[str]) -> None:
    """A memory file as the first schema left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    MIGRATIONS[0](conn)
    conn.executemany("INSERT INTO facts (text, created_s) VALUES (?, ?)", [(f, 1.0) for f in facts])
    conn.execute("INSERT INTO profile VALUES ('user_name', 'Theo')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_older_schema_is_migrated(path: Path) -> None:
    make_v1(path, ["my dog is called Rex", "I like jazz"])
    with Memory(path) as memory:
        assert memory.user_name() == "Theo"
        assert [(f.topic, f.text) for f in memory.facts()] == [
            ("dog", "my dog is called Rex"),
            ("jazz", "I like jazz"),
        ]
        assert memory.recall("my dog")[0].text == "my dog is called Rex"
        memory.add_turn("user", "still works")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_newer_schema_is_refused(path: Path) -> None:
    with Memory(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(MemoryStoreError, match="newer voiceos"):
        Memory(path).open()


def test_garbage_file_is_reported_as_corrupt(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(MemoryStoreError, match="corrupt") as caught:
        Memory(path).open()
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_damaged_pages_are_reported_as_corrupt(path: Path) -> None:
    with Memory(path) as memory:
        for i in range(300):
            memory.remember(f"fact number {i} with some padding to fill the pages up")
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * 4096
    noise = random.Random(7).randbytes(4096)
    data[2 * 4096 : 3 * 4096] = noise  # a b-tree page, past the header page
    path.write_bytes(bytes(data))
    with pytest.raises(MemoryStoreError, match="corrupt"):
        Memory(path).open()


def test_locked_database_is_reported(path: Path) -> None:
    with Memory(path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(MemoryStoreError, match="locked by another program"):
            Memory(path, busy_timeout_s=0.05).open()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_write_while_locked_is_reported_and_nothing_half_written(path: Path) -> None:
    memory = Memory(path, busy_timeout_s=0.05)
    memory.open()
    try:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(MemoryStoreError, match="locked"):
            memory.remember("this should wait")
        holder.execute("ROLLBACK")
        holder.close()
        assert memory.facts() == []
        memory.remember("now it works")
        assert [f.text for f in memory.facts()] == ["now it works"]
    finally:
        memory.close()


def test_unusable_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(MemoryStoreError, match="cannot use") as caught:
        Memory(blocker / "memory.sqlite3").open()
    assert "\n" not in str(caught.value)


def test_keywords_and_topics() -> None:
    assert keywords("My dog's names are Rex!") == ["dog", "name", "rex"]
    assert topic_of("my favourite colour is blue") == "favourite colour"
    assert topic_of("I'm allergic to peanuts") == "peanuts"


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from voiceos.dialogue.memory import Memory

    memory = Memory(Path(sys.argv[1]), history_turns=30)
    memory.open()
    i = int(sys.argv[2])
    while True:
        memory.remember(f"crash test fact {i}")
        memory.add_turn("user", f"crash test turn {i}")
        print(i, flush=True)  # acknowledged: committed before this line
        i += 1
    """
)


@pytest.mark.timeout(180)
def test_kill_9_never_loses_an_acknowledged_write(path: Path) -> None:
    rng = random.Random(2024)
    acknowledged: list[int] = []
    start = 0
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert child.stdout is not None
        want = rng.randint(1, 25)
        for _ in range(want):
            line = child.stdout.readline()
            if not line:
                child.wait(timeout=30)
                pytest.fail(f"writer died early: {child.stderr.read() if child.stderr else ''}")
            acknowledged.append(int(line))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        for line in child.stdout:  # printed between the last read and the kill
            if line.strip():
                acknowledged.append(int(line))
        child.stdout.close()
        if child.stderr:
            child.stderr.close()
        start = max(acknowledged) + 1000  # the child may have committed one more unprinted
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
    with Memory(path, history_turns=30) as memory:
        stored = {f.text for f in memory.facts()}
        assert memory.turn_count() <= 30
    missing = [i for i in acknowledged if f"crash test fact {i}" not in stored]
    assert missing == []
    assert len(acknowledged) >= 20


def voiceos(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceos", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_memory_command_shows_and_forgets(isolated_env: dict[str, str]) -> None:
    empty = voiceos(isolated_env, "memory", "show")
    assert empty.returncode == 0 and "Nothing remembered yet" in empty.stdout
    path = Path(isolated_env["XDG_DATA_HOME"]) / "voiceos" / "memory.sqlite3"
    with Memory(path) as memory:
        memory.set_user_name("Theo")
        memory.remember("my sister is called Ana")
        memory.remember("I like jazz")
        for i in range(5):
            memory.add_turn("user", f"line {i}")

    shown = voiceos(isolated_env, "memory", "show", "--history", "2")
    assert shown.returncode == 0, shown.stderr
    for expected in ("Name: Theo", "my sister is called Ana", "I like jazz", "5 turns", "line 4"):
        assert expected in shown.stdout
    assert "line 2" not in shown.stdout

    forgot = voiceos(isolated_env, "memory", "forget", "my", "sister")
    assert forgot.returncode == 0 and "Forgot 1 fact" in forgot.stdout
    wiped = voiceos(isolated_env, "memory", "forget", "--all")
    assert wiped.returncode == 0 and "Forgot everything" in wiped.stdout
    with Memory(path) as memory:
        assert memory.user_name() is None and memory.facts() == []
        assert memory.turn_count() == 0


def test_memory_command_errors_are_one_line(isolated_env: dict[str, str]) -> None:
    neither = voiceos(isolated_env, "memory", "forget")
    assert neither.returncode == 2 and "TOPIC or --all" in neither.stderr
    path = Path(isolated_env["XDG_DATA_HOME"]) / "voiceos" / "memory.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all" * 50)
    broken = voiceos(isolated_env, "memory", "show")
    assert broken.returncode == 1
    assert "corrupt" in broken.stderr and "Traceback" not in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1
