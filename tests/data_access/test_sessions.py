"""Login sessions: opened, checked against the users file, expired, ended."""

import json
import stat
import threading

import pytest

from data_access.sessions import SessionsFileError, SessionStore
from data_access.users import UsersFile


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users(tmp_path) -> UsersFile:
    users = UsersFile(tmp_path / "users.json")
    users.set("alice", "pw", ["approver"])
    users.set("bob", None, ["viewer"])
    return users


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(tmp_path, clock) -> SessionStore:
    return SessionStore(tmp_path / "secrets" / "sessions.json", clock=clock)


def _open(sessions: SessionStore, users: UsersFile, name: str, days: float = 1.0) -> str:
    return sessions.open(name, users.generation(name), days=days)


def test_a_session_names_its_user_and_the_file_keeps_no_usable_id(sessions, users):
    session_id = _open(sessions, users, "alice")
    assert len(session_id) >= 40 and sessions.check(session_id, users) == "alice"
    assert sessions.check("not-a-session", users) is None
    text = sessions.path.read_text()
    assert session_id not in text and "alice" in text  # only its SHA-256 is stored
    assert stat.S_IMODE(sessions.path.stat().st_mode) == 0o600
    assert _open(sessions, users, "alice") != session_id  # random, one per login


def test_a_session_expires_and_expired_ones_leave_the_file(sessions, users, clock):
    old = _open(sessions, users, "alice", days=0.5)
    clock.now += 0.5 * 86400
    assert sessions.check(old, users) is None
    _open(sessions, users, "bob")
    assert len(json.loads(sessions.path.read_text())) == 1


def test_changing_or_removing_a_user_ends_their_sessions(sessions, users):
    alice, bob = _open(sessions, users, "alice"), _open(sessions, users, "bob")
    users.set("alice", "pw", ["viewer"])  # her role changed
    assert sessions.check(alice, users) is None and sessions.check(bob, users) == "bob"
    users.remove("bob")
    assert sessions.check(bob, users) is None
    users.set("bob", None, ["viewer"])  # added again: a new entry, the old session stays ended
    assert sessions.check(bob, users) is None


def test_logout_and_end_user(sessions, users):
    first, second = _open(sessions, users, "alice"), _open(sessions, users, "alice")
    bob = _open(sessions, users, "bob")
    sessions.end(first)
    sessions.end("never-opened")
    assert sessions.check(first, users) is None and sessions.check(second, users) == "alice"
    assert sessions.end_user("alice") == 1 and sessions.check(second, users) is None
    assert sessions.check(bob, users) == "bob"


def test_concurrent_logins_all_kept(tmp_path, users):
    store = SessionStore(tmp_path / "sessions.json")
    opened: list[str] = []

    def login() -> None:
        for _ in range(10):
            opened.append(_open(store, users, "alice"))

    threads = [threading.Thread(target=login) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(store.check(session_id, users) == "alice" for session_id in opened)


def test_a_bad_sessions_file_is_named(sessions, users):
    sessions.path.parent.mkdir(parents=True)
    sessions.path.write_text("[1, 2]")
    with pytest.raises(SessionsFileError, match="sessions.json: expected a JSON object"):
        _open(sessions, users, "alice")
