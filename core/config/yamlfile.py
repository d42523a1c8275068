"""YAML files that remember where every value came from, so errors can name the line.

The loader is PyYAML's safe loader with three changes a configuration needs: `18:00` stays the
string "18:00" (YAML 1.1 would read it as the base-60 integer 1080); a date such as `2025-10-01` stays
text until the configuration model validates it, so an impossible one (`2025-13-45`, `2025-02-30`) is
reported with its file, line and field instead of failing inside the YAML parser; and a key given
twice in one mapping is an error instead of silently keeping the last value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from punchbridge.errors import ConfigError, Problem

__all__ = ["YamlDocument", "load_yaml", "problems_from_validation", "validate_document"]

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class _Loader(yaml.SafeLoader):
    """Safe loader without YAML 1.1 sexagesimal numbers (so `09:30` is a time, not 570) and without
    implicit timestamps (dates stay text: the models validate them, with the line)."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if not (tag.endswith((":int", ":float")) and ":" in regexp.pattern.replace("(?:", ""))
        and not tag.endswith(":timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


@dataclass
class YamlDocument:
    """A parsed YAML file: its data, and the line of every value by its path in the data."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the value at `loc`, or of its nearest enclosing value that has one."""
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


def load_yaml(path: str | Path) -> YamlDocument:
    """Read and parse a YAML file; raise `ConfigError` with the line for any syntax problem."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(Problem(name, "file not found")) from None
    except IsADirectoryError:
        raise ConfigError(Problem(name, "is a directory, expected a YAML file")) from None
    except OSError as exc:
        raise ConfigError(Problem(name, f"cannot be read: {exc.strerror}")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(Problem(name, "is not UTF-8 text (save it as UTF-8)", line=line)) from None
    last_line = text.count("\n") + 1
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        doc = YamlDocument(path=path, data=None)
        if node is None:
            raise ConfigError(Problem(name, "the file is empty"))
        doc.data = _build(loader, node, (), doc, name, {})
        return doc
    except yaml.reader.ReaderError as exc:
        raise ConfigError(
            Problem(
                name,
                f"contains a character YAML does not allow ({exc.reason})",
                line=text[: exc.position].count("\n") + 1,
            )
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = min(exc.problem_mark.line + 1, last_line) if exc.problem_mark else None
        raise ConfigError(Problem(name, f"YAML syntax: {exc.problem}", line=mark)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(name, f"YAML syntax: {exc}")) from None
    finally:
        if loader is not None:
            loader.dispose()


def _build(loader: _Loader, node: yaml.Node, loc: Loc, doc: YamlDocument, name: str, built: dict[int, Any]) -> Any:
    doc.lines[loc] = node.start_mark.line + 1
    if id(node) in built:  # an alias: share the value already built (linear, even for alias bombs)
        return built[id(node)]
    built[id(node)] = _build_new(loader, node, loc, doc, name, built)
    return built[id(node)]


def _build_new(loader: _Loader, node: yaml.Node, loc: Loc, doc: YamlDocument, name: str, built: dict[int, Any]) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise ConfigError(
                    Problem(name, "a mapping key must be a plain value", line=key_node.start_mark.line + 1)
                )
            if key in result:
                raise ConfigError(
                    Problem(
                        name,
                        f"key {key!r} appears twice in the same mapping",
                        line=key_node.start_mark.line + 1,
                        field=_dotted((*loc, key)),
                    )
                )
            result[key] = _build(loader, value_node, (*loc, key), doc, name, built)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*loc, i), doc, name, built) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def problems_from_validation(exc: ValidationError, doc: YamlDocument, prefix: Loc = ()) -> list[Problem]:
    """Turn a pydantic `ValidationError` into problems that name the file, line and field path."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *(p for p in err["loc"] if not _is_union_tag(p)))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling against the documentation)"
        elif err["type"] == "missing":
            message = "required setting is missing"
        problems.append(Problem(file=str(doc.path), message=message, line=doc.line_of(loc), field=_dotted(loc)))
    return problems


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the member type name of a union to `loc`; it is noise for a consultant.
    return isinstance(part, str) and ("[" in part or part in {"function-after", "function-before"})


def validate_document(model: type[M], doc: YamlDocument, data: Any = None) -> M:
    """Validate `doc.data` (or `data`) against `model`; raise `ConfigError` listing every problem."""
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, doc)) from None
