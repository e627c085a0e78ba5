"""``gic users add/remove/list``: the users file, and the sessions a change ends."""

from __future__ import annotations

import pytest

from app.cli import main
from data_access.sessions import SessionStore
from data_access.users import UsersFile


@pytest.fixture
def ws(workspace, monkeypatch):
    text = workspace.config_path.read_text().replace('users_file = ""', 'users_file = "u.json"')
    workspace.config_path.write_text(text)
    monkeypatch.setenv("PW", "s3cret")
    return workspace


def gic(ws, *args) -> int:
    return main(["--workspace", str(ws.root), "users", *args])


def test_remove_ends_the_sessions_and_an_unknown_user_is_named(ws, capsys):
    assert gic(ws, "add", "alice", "--role", "scientist", "--password-env", "PW") == 0
    users, sessions = UsersFile(ws.root / "u.json"), SessionStore.for_workspace(ws)
    session_id = sessions.open("alice", users.generation("alice"), days=1)
    assert gic(ws, "remove", "alice") == 0
    assert "alice removed" in capsys.readouterr().out and users.user("alice") is None
    assert sessions.check(session_id, users) is None
    assert gic(ws, "remove", "alice") == 2
    assert "u.json: no user 'alice'" in capsys.readouterr().err


def test_new_roles_end_the_sessions(ws, capsys):
    gic(ws, "add", "bob", "--role", "viewer", "--oauth-only")
    users, sessions = UsersFile(ws.root / "u.json"), SessionStore.for_workspace(ws)
    session_id = sessions.open("bob", users.generation("bob"), days=1)
    assert gic(ws, "add", "bob", "--role", "approver", "--oauth-only") == 0
    out = capsys.readouterr().out
    assert "bob: approver" in out and "1 login session ended" in out
    assert sessions.check(session_id, users) is None
    assert gic(ws, "list", "--format", "csv") == 0
    assert "bob,approver" in capsys.readouterr().out
