"""The masters folder alone, without a cache: unique names in the history, the link in force,
names from headers kept inside their folder."""

import os

from data_access.calibration.masters import MASTER_LINK, MasterFiles, replace_link
from tests.data_access.calibration.test_store import make_master


def test_keep_names_each_master_once_and_in_force_follows_the_link(tmp_path):
    files = MasterFiles(tmp_path / "masters")
    assert files.in_force("bias", "DDRAGO1", "NONE") is None
    master = make_master(1000, "2025-03-05")
    first = files.keep(master, "bias", "DDRAGO1", "NONE", "bias_20250305.fits")
    second = files.keep(master, "bias", "DDRAGO1", "NONE", "bias_20250305.fits")
    assert (first.name, second.name) == ("bias_20250305.fits", "bias_20250305_v2.fits")
    folder = files.folder("bias", "DDRAGO1", "NONE")
    replace_link(folder / MASTER_LINK, second)
    assert files.in_force("bias", "DDRAGO1", "NONE") == second.resolve()
    assert files.link_target(folder, MASTER_LINK) == "DDRAGO1/NONE/bias/history/" + second.name
    assert not os.path.isabs(os.readlink(folder / MASTER_LINK))
    data, header = files.read(second)
    assert data.shape == master.data.shape and header["CALTYPE"] == "bias"


def test_header_names_cannot_leave_the_masters_folder(tmp_path):
    files = MasterFiles(tmp_path / "masters")
    folder = files.folder("bias", "../../etc", "..")
    assert folder.resolve().is_relative_to((tmp_path / "masters").resolve())
