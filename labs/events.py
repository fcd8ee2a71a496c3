"""The events a lab emits, as plain dataclasses (no torch here).

A lab writes them as JSON lines (`python -m labs run NAME --json`); the app
reads them back with `from_json`. Every event carries a `type` tag so the
reader never guesses.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Started:
    """First event of every run: what runs, where, with which parameters."""

    lab: str
    params: dict[str, Any]
    device: str
    seed: int
    type: str = "started"


@dataclass
class Progress:
    done: float
    total: float
    label: str = ""
    type: str = "progress"


@dataclass
class Metric:
    """One point of a curve: `chart` groups series drawn on the same axes."""

    chart: str
    series: str
    x: float
    y: float
    x_label: str = "step"
    y_label: str = ""
    type: str = "metric"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    type: str = "table"


@dataclass
class Text:
    """Markdown explanation shown between the numbers."""

    markdown: str
    type: str = "text"


@dataclass
class Heatmap:
    title: str
    values: list[list[float]]
    row_labels: list[str] = field(default_factory=list)
    col_labels: list[str] = field(default_factory=list)
    type: str = "heatmap"


@dataclass
class TraceStep:
    """One step of a traced computation: what it does, shapes, and values."""

    index: int
    name: str
    description: str
    shapes: dict[str, list[int]]
    values: dict[str, Any]
    type: str = "trace"


@dataclass
class Result:
    """The last event of a successful run: the summary that is stored."""

    summary: dict[str, Any]
    type: str = "result"


@dataclass
class Failed:
    """The last event of a failed run. `kind` is exception, oom, timeout or cancelled."""

    kind: str
    message: str
    type: str = "failed"


EVENT_TYPES: dict[str, type] = {
    cls.type: cls
    for cls in (Started, Progress, Metric, Table, Text, Heatmap, TraceStep, Result, Failed)
}

Event = Started | Progress | Metric | Table | Text | Heatmap | TraceStep | Result | Failed


def format_value(value: Any, list_sep: str = ", ", sig: int = 4) -> str:
    """One value as a reader sees it, wherever lab values are shown: a result, a
    parameter, a trace scalar, a heatmap's scale, a chart's axis, a predict card's
    measured answer. Floats keep `sig` significant digits; whole ones read whole.

    Numbers read together (a matrix, a table column) go through
    `labs.render.number_format` instead, which gives them one format so that they
    line up; it shows anything that is not a finite number the way this does.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "-∞" if value < 0 else "∞"
        if value.is_integer() and abs(value) < 1e7:
            return str(int(value))  # 20000.0 reads 20000, not 2e+04
        return f"{value:.{sig}g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v, list_sep, sig)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, dict) for v in value):
            # records (an exercise's checks, a lab's per-unit findings): a table above
            # shows them; here, how many
            return f"{len(value)} record{'s' if len(value) != 1 else ''} (shown above)"
        if value and all(isinstance(v, list | tuple) for v in value):
            # pairs such as (token, probability) read as pairs: "dog 0.4729, ran 0.1386"
            return ", ".join(format_value(v, " ", sig) for v in value)
        return list_sep.join(format_value(v, list_sep, sig) for v in value)
    return str(value)


def to_json(event: Event) -> str:
    return json.dumps(asdict(event), separators=(",", ":"), allow_nan=True)


def from_json(line: str) -> Event:
    """Parse one JSON line; a ValueError says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a JSON event: {exc}") from None
    if not isinstance(data, dict) or data.get("type") not in EVENT_TYPES:
        raise ValueError(f"unknown event type: {str(line)[:80]!r}")
    cls = EVENT_TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{data['type']} event has unknown fields: {sorted(unknown)}")
    return cls(**data)
