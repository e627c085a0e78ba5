import json
import stat

import pytest

from data_access.users import ROLES, User, UsersFile, UsersFileError, check_password, hash_password


def test_password_hash_round_trip():
    stored = hash_password("s3cret", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$") and "s3cret" not in stored
    assert check_password("s3cret", stored) and not check_password("other", stored)
    assert not check_password("s3cret", "plain-text")


def test_users_file_add_authenticate_and_roles(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.set("alice", "pw-a", ["approver"])
    users.set("bob", "pw-b", ["viewer"])
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600
    assert "pw-a" not in (tmp_path / "users.json").read_text()
    assert users.authenticate("alice", "pw-a") == User("alice", ("approver",))
    assert users.authenticate("alice", "wrong") is None and users.authenticate("eve", "x") is None
    alice, bob = users.users()
    assert alice.can("scientist") and alice.can("approver")
    assert bob.can("viewer") and not bob.can("scientist")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "expected a JSON object"),
        ('{"a": {"password": "x"}}', "user 'a' has no hashed"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_users_files_are_named(tmp_path, content, message):
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(UsersFileError, match=message):
        UsersFile(path).users()


def test_unknown_role_refused(tmp_path):
    with pytest.raises(UsersFileError, match="roles must be among"):
        UsersFile(tmp_path / "u.json").set("a", "b", ["admin"])
    path = tmp_path / "v.json"
    path.write_text(
        json.dumps({"a": {"password": hash_password("x", iterations=10), "roles": ["root"]}})
    )
    with pytest.raises(UsersFileError, match="unknown roles"):
        UsersFile(path).users()
    assert ROLES == ("viewer", "scientist", "approver")


def test_oauth_only_users_have_roles_but_no_password(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.set("carol@example.org", None, ["scientist"])
    assert users.user("carol@example.org") == User("carol@example.org", ("scientist",))
    assert users.authenticate("carol@example.org", "") is None


def test_every_answer_costs_one_hash_whether_the_user_exists_or_not(tmp_path, monkeypatch):
    import data_access.users as module

    users = UsersFile(tmp_path / "users.json")
    users.set("alice", "pw-a", ["approver"])
    users.set("carol@example.org", None, ["scientist"])
    checked = []
    real = module.check_password
    monkeypatch.setattr(module, "check_password", lambda p, s: checked.append(s) or real(p, s))
    for name in ("alice", "eve", "carol@example.org"):
        assert users.authenticate(name, "wrong") is None
    assert len(checked) == 3 and len({s.split("$")[1] for s in checked}) == 1  # same iterations
    assert users.authenticate("eve", "") is None  # the dummy hash matches no password


def test_each_change_gives_a_new_generation_and_remove_names_the_file(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.set("alice", "pw-a", ["approver"])
    first = users.generation("alice")
    users.set("alice", "pw-a", ["viewer"])
    assert first and users.generation("alice") not in (first, None)
    assert users.remove("alice") == User("alice", ("viewer",))
    assert users.generation("alice") is None and users.users() == []
    with pytest.raises(UsersFileError, match=r"users.json: no user 'alice'"):
        users.remove("alice")
