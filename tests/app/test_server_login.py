"""How the server is locked: loopback only without a login, passwords, or OAuth."""

import pytest
from panel.auth import GenericLoginHandler

from app.server import _login_options
from data_access.stores import Stores


def configure(workspace, text):
    path = workspace.config_path
    path.write_text(path.read_text() + text)
    return Stores.open(workspace.root)


def test_without_login_only_loopback(workspace):
    stores = Stores(workspace)
    try:
        assert _login_options(stores, "127.0.0.1") == {}
        with pytest.raises(ValueError, match="refusing to listen on 0.0.0.0 without a login"):
            _login_options(stores, "0.0.0.0")
    finally:
        stores.close()


def test_users_file_turns_on_the_password_login(workspace):
    text = workspace.config_path.read_text().replace('users_file = ""', 'users_file = "u.json"')
    workspace.config_path.write_text(text)
    stores = Stores.open(workspace.root)
    try:
        options = _login_options(stores, "0.0.0.0")
        assert type(options["auth_provider"]).__name__ == "WorkbenchAuthProvider"
        assert len(options["cookie_secret"]) == 64
    finally:
        stores.close()


def oauth_stores(workspace, provider: str) -> Stores:
    """The stores of ``workspace`` configured for the OAuth ``provider``."""
    text = workspace.config_path.read_text()
    text = text.replace('users_file = ""', 'users_file = "u.json"')
    text = text.replace('oauth_provider = ""', f'oauth_provider = "{provider}"')
    text = text.replace('oauth_key = ""', 'oauth_key = "gic-workbench"')
    text = text.replace("oauth_extra = []", 'oauth_extra = ["TOKEN_URL=https://sso.example/token"]')
    workspace.config_path.write_text(text)
    return Stores.open(workspace.root)


def test_oauth_needs_key_secret_and_users_file(workspace, monkeypatch):
    stores = oauth_stores(workspace, "generic")
    try:
        monkeypatch.delenv("GIC_OAUTH_SECRET", raising=False)
        with pytest.raises(ValueError, match=r"the secret in \$GIC_OAUTH_SECRET"):
            _login_options(stores, "0.0.0.0")
        monkeypatch.setenv("GIC_OAUTH_SECRET", "s3cret")
        options = _login_options(stores, "0.0.0.0")
        provider = options["auth_provider"]
        assert provider.provider_name == "generic" and options["oauth_secret"] == "s3cret"
        assert issubclass(provider.login_handler, GenericLoginHandler)
        assert options["oauth_extra_params"] == {"TOKEN_URL": "https://sso.example/token"}
        assert "oauth_provider" not in options  # Panel would build its own provider
    finally:
        stores.close()


def test_an_unknown_oauth_provider_is_named(workspace, monkeypatch):
    monkeypatch.setenv("GIC_OAUTH_SECRET", "s3cret")
    stores = oauth_stores(workspace, "myspace")
    try:
        with pytest.raises(ValueError, match=r"gic.toml: auth.oauth_provider: unknown .*'myspace'"):
            _login_options(stores, "0.0.0.0")
    finally:
        stores.close()
