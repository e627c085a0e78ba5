import stat

import pytest

from app.commands.config import markdown_reference
from data_access.config import (
    Config,
    ConfigError,
    config_from_dict,
    default_config_text,
    describe_config,
    load_config,
)
from data_access.workspace import Workspace
from tests.conftest import REPO


def test_default_file_reads_back_as_defaults(tmp_path):
    path = tmp_path / "gic.toml"
    path.write_text(default_config_text())
    assert load_config(path) == Config()


def test_workspace_writes_config_readable_by_owner_only(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    mode = stat.S_IMODE(ws.config_path.stat().st_mode)
    assert mode == 0o600
    assert ws.config == Config()


def test_unknown_key_is_named_with_the_file(tmp_path):
    path = tmp_path / "gic.toml"
    path.write_text("[telemetry]\nstale_after = 3\n")
    with pytest.raises(ConfigError, match=r"gic.toml: unknown key 'stale_after' in \[telemetry\]"):
        load_config(path)


def test_wrong_type_is_named(tmp_path):
    path = tmp_path / "gic.toml"
    path.write_text('[server]\nport = "5006"\n')
    with pytest.raises(ConfigError, match=r"server.port must be a int"):
        load_config(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "gic.toml"
    path.write_text("[server\n")
    with pytest.raises(ConfigError, match="gic.toml: not valid TOML"):
        load_config(path)


def test_nested_sections_and_int_for_float():
    config = config_from_dict({"cdb": {"http": {"timeout_s": 3}}, "server": {"port": 1234}})
    assert config.cdb.http.timeout_s == 3.0
    assert config.server.port == 1234


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    missing = [name for name, _, _ in describe_config() if f"`{name}`" not in readme]
    assert not missing, f"settings missing from the README's reference: {missing}"
    assert markdown_reference() in readme, (
        "README's settings table is stale: run tools/update-readme-settings"
    )
