"""The JSON record of a model file, checked field by field against one schema.

Explicit code rather than a JSON Schema validator: the schema is small, the checks include
ranges and finiteness, and a core dependency for it would be heavier than the check. The
schema is ``SCHEMA`` below: a Python type (``int`` means an integer, ``float`` any finite
number), a tuple of choices, ``None`` (null allowed), a dict of fields, ``[item]`` for a list
of items, or ``{str: value}`` for an object of any keys. Fields marked ``optional(...)`` may be
missing; fields the schema does not name are ignored (nothing reads them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class optional:  # lower case: it reads like a type in the schema
    kind: Any


NUMBER = float
TEXT_MAX = 10_000  # characters in any string
LIST_MAX = 100_000  # items in any list
KEYS_MAX = 1_000  # keys in any object

SCHEMA: dict[str, Any] = {
    "format": str,
    "format_version": int,
    "preset": optional((str, None)),
    "image_shape": [int],
    "classes": [(int, str)],
    "architecture": {
        "layers": [{"type": str, str: (int, float, str, bool, [int])}],
        "cost": (str, {"type": str, "config": optional({str: (int, float, str, bool)})}),
        "dtype": optional(str),
    },
    "calibration": optional({"temperature": NUMBER, "fitted_on": optional(str)}),
    "dataset": optional({"name": str, "files": {str: str}, "n_train": int, "n_val": int, "n_test": int}),
    "training": optional(
        {
            "command": optional((str, None)),
            "seed": int,
            "epochs": int,
            "epochs_run": int,
            "resumed_from_epoch": optional((int, None)),
            "best_epoch": optional((int, None)),
            "batch_size": int,
            "optimizer": {"type": str, "lr": NUMBER, str: (int, float, bool, str)},
            "schedule": str,
            "augment": optional(({str: (int, float)}, None)),
            "seconds": NUMBER,
            "handwriting_version": optional(str),
            "numpy_version": optional(str),
            "machine": optional(str),
            "finished": optional(str),
        }
    ),
    "metrics": optional({str: NUMBER}),
    "history": optional({str: [NUMBER]}),
}


def check(record: Any, schema: Any = SCHEMA, where: str = "record") -> None:
    """Raise ValueError naming the first field of ``record`` that does not fit ``schema``."""
    if isinstance(schema, optional):
        schema = schema.kind
    if isinstance(schema, tuple):  # one of several kinds
        errors = []
        for choice in schema:
            try:
                return check(record, choice, where)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(errors[0] if len(errors) == 1 else f"{where} is of none of the kinds allowed")
    if schema is None:
        if record is not None:
            raise ValueError(f"{where} must be null")
    elif schema is int:
        if not isinstance(record, int) or isinstance(record, bool) or abs(record) > 2**53:
            raise ValueError(f"{where} must be a whole number")
    elif schema is float:
        if not isinstance(record, (int, float)) or isinstance(record, bool) or not math.isfinite(record):
            raise ValueError(f"{where} must be a finite number")
    elif schema in (str, bool):
        if not isinstance(record, schema) or (schema is str and len(record) > TEXT_MAX):
            raise ValueError(f"{where} must be {'a string' if schema is str else 'true or false'}")
    elif isinstance(schema, list):
        if not isinstance(record, list) or len(record) > LIST_MAX:
            raise ValueError(f"{where} must be a list of at most {LIST_MAX:,} items")
        for i, item in enumerate(record):
            check(item, schema[0], f"{where}[{i}]")
    else:
        _check_object(record, schema, where)


def _check_object(record: Any, schema: dict[Any, Any], where: str) -> None:
    if not isinstance(record, dict) or len(record) > KEYS_MAX:
        raise ValueError(f"{where} must be an object")
    named = {k: v for k, v in schema.items() if k is not str}
    for key, kind in named.items():
        if key in record:
            check(record[key], kind, f"{where}.{key}")
        elif not isinstance(kind, optional):
            raise ValueError(f"{where}.{key} is missing")
    if str in schema:  # any other key, each value of this kind
        for key, value in record.items():
            if key not in named:
                check(key, str, f"a key of {where}")
                check(value, schema[str], f"{where}.{key}")
