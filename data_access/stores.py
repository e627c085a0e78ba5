"""Every data-access object of a workspace, opened once and shared by the pages.

The server and the notebooks build one :class:`Stores` per workspace; views take the
store they need (``TelemetryExplorer(stores.status)``), so the same view runs in both.
"""

from __future__ import annotations

from functools import cached_property

from data_access.alerts.store import AlertStore
from data_access.cache import Cache
from data_access.calibration.impact import MasterImpact
from data_access.calibration.store import CalibrationStore
from data_access.frame_quality import QualityStore
from data_access.gp2.runs import ReprocessStore
from data_access.notifications import Notifier
from data_access.products.store import ProductStore
from data_access.telemetry.store import StatusStore
from data_access.users import UsersFile
from data_access.workspace import Workspace


class Stores:
    """The workspace, its cache and one store per capability, created on first use.

    Parameters
    ----------
    workspace : Workspace
    read_only : bool, optional
        Attach the lake for reading only (any number of processes open it at once, either way).
    at : int or None, optional
        Read the cache as it was at this lake snapshot (read only; the ``lake_snapshot`` a
        product version, an approval, a promotion or a certification recorded), else at the
        workspace's :attr:`~data_access.workspace.Workspace.at`.
    """

    def __init__(
        self, workspace: Workspace, *, read_only: bool = False, at: int | None = None
    ) -> None:
        self.workspace = workspace
        self.cache: Cache = workspace.cache(read_only=read_only or at is not None, at=at)

    @classmethod
    def open(cls, root, *, read_only: bool = False, at: int | None = None) -> Stores:
        """Open the workspace at ``root`` (a :class:`Workspace`, or its folder: see
        :meth:`Workspace.open`) and its cache (as it was at snapshot ``at``, when given)."""
        workspace = root if isinstance(root, Workspace) else Workspace.open(root)
        return cls(workspace, read_only=read_only, at=at)

    @cached_property
    def status(self) -> StatusStore:
        return StatusStore(self.cache, batch_files=self.workspace.config.telemetry.batch_files)

    @cached_property
    def alerts(self) -> AlertStore:
        return AlertStore.from_workspace(self.workspace, self.cache)

    @cached_property
    def calibration(self) -> CalibrationStore:
        return CalibrationStore.from_workspace(self.workspace, self.cache)

    @cached_property
    def impact(self) -> MasterImpact:
        """Where each master went: :mod:`data_access.calibration.impact`."""
        return MasterImpact(self.cache, self.calibration.files)

    @cached_property
    def products(self) -> ProductStore:
        store = ProductStore.from_workspace(self.workspace, self.cache)
        store.pushes.notifier = Notifier.from_workspace(self.workspace)
        store.quality = self.quality
        return store

    @cached_property
    def quality(self) -> QualityStore:
        """The image quality of the science frames, judged against ``[quality]``."""
        return QualityStore.from_workspace(self.workspace, self.cache)

    @cached_property
    def reprocess(self) -> ReprocessStore:
        """Frames to reprocess and the Reprocess page's runs (files only)."""
        return ReprocessStore.from_workspace(self.workspace)

    @cached_property
    def users(self) -> UsersFile | None:
        """The users file when ``auth.users_file`` is set, else None (single-user mode)."""
        name = self.workspace.config.auth.users_file
        return UsersFile(self.workspace.root / name) if name else None

    def close(self) -> None:
        self.cache.close()
