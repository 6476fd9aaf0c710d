"""Line-aware YAML reading: every mapping and list remembers where it stood in its file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem


class LineDict(dict):  # type: ignore[type-arg]
    """A YAML mapping that knows its own line and the line of each key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self.key_lines: dict[str, int] = {}


class LineList(list):  # type: ignore[type-arg]
    """A YAML sequence that knows its own line and the line of each item."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.line = 0
        self.item_lines: list[int] = []


# libyaml's parser (when PyYAML has it) reads our content several times faster; the
# constructors below are the same either way, and both keep line marks.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """A safe loader that builds LineDict/LineList so errors can name the line."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (the first one, line {out.key_lines[str(key)]}, would be lost)",
                key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


# YAML 1.2 booleans: only true/false. Editors write `yes:` and `no:` as plain words.
_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def line_of(node: Any, key: str | None = None) -> int | None:
    """Line of a key in a mapping (or of the node itself), if known."""
    if key is not None and isinstance(node, LineDict):
        return node.key_lines.get(key, node.line)
    return getattr(node, "line", None)


def read_yaml(path: Path, problems: list[Problem], display: str) -> Any:
    """Parse one file; on failure record a located problem and return None."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(display, None, "file is missing", "restore it from version control"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, None, f"cannot be read: {exc}", "save it as UTF-8 text"))
        return None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        problems.append(Problem(display, line, f"is not valid YAML: {exc.problem}",
                                "check indentation and quoting on that line"))
    except yaml.YAMLError as exc:
        problems.append(Problem(display, None, f"is not valid YAML: {exc}", "fix the YAML syntax"))
    return None
