"""Calibration: masters on disk, their validation reports in the cache, the reports' sync
from the CDB."""
