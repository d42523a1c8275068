"""What a sync reads besides the store, loaded (and so checked) before anything is written: the
employee, assignment and leave files and every target's mapping, checked against its plugin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from punchbridge.config import Config
from punchbridge.config.datafiles import read_assignments, read_employees, read_leaves
from punchbridge.errors import ConfigError
from punchbridge.mapping.files import load_mapping
from punchbridge.plugin_api.registry import PluginRegistry, target_column_problems

__all__ = ["SyncInputs", "target_column_problems", "with_received_leaves"]


@dataclass
class SyncInputs:
    """Everything a sync reads besides the store; loaded (and so checked) before anything is written."""

    employees: pd.DataFrame
    assignments: pd.DataFrame | None
    leaves: pd.DataFrame | None
    mappings: dict[str, Any]

    @classmethod
    def load(cls, config: Config, registry: PluginRegistry) -> SyncInputs:
        """Read the employee, assignment and leave files and every target's mapping."""
        employees = read_employees(config.employees, config.rules)
        mappings = {name: load_mapping(t.mapping, registry.transforms) for name, t in config.targets.items()}
        ConfigError.collect(target_column_problems(config, registry, mappings))
        return cls(
            employees=employees,
            assignments=read_assignments(config.assignments, employees, config.rules) if config.assignments else None,
            leaves=read_leaves(config.leaves, employees) if config.leaves else None,
            mappings=mappings,
        )


def with_received_leaves(
    from_file: pd.DataFrame | None, received: pd.DataFrame, employees: pd.DataFrame
) -> pd.DataFrame | None:
    """The leaves file plus leaves approved in the cloud (`leave.approved` webhooks, kept in the store).

    The file wins: a received leave for an employee and date the file already covers is left out, so
    an operator's correction in the file is never overridden. Received leaves of employees not in the
    employees file are left out too (they have no days to apply to).
    """
    if received is None or len(received) == 0:
        return from_file
    known = set(employees["employee_id"].astype(str))
    received = received[received["employee_id"].astype(str).isin(known)]
    if from_file is not None and len(from_file):
        covered = set(zip(from_file["employee_id"].astype(str), from_file["date"].astype(str), strict=True))
        keys = zip(received["employee_id"].astype(str), received["date"].astype(str), strict=True)
        received = received.loc[np.fromiter((key not in covered for key in keys), dtype=bool, count=len(received))]
        combined = pd.concat([from_file, received[list(from_file.columns)]], ignore_index=True)
    else:
        combined = received.reset_index(drop=True)
    return combined if len(combined) else from_file
