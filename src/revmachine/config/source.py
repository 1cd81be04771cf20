"""YAML that remembers where things were written, so every error can point at a line.

PyYAML composes a node tree whose nodes carry their start marks; we construct the plain
Python data from that same tree and, alongside, index the line of every key and every list
item by its path (`("transitions", 3, "to")`). Pydantic reports errors by path too, so a
path is all an error needs to find its line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

PathKey = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    """The text is not YAML; `line` is 1-based (None when the parser gave no position)."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


@dataclass(frozen=True)
class SourceDocument:
    """A parsed YAML file: its data and the 1-based line of each path within it."""

    file: str
    data: Any
    lines: Mapping[PathKey, int]
    duplicate_keys: Sequence[tuple[PathKey, int]] = field(default=())

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest part of `loc` written in the file.

        Elements of `loc` that are not in the file are skipped: pydantic inserts union tags
        (`("when", 0, "person", "field", "at_lest")`), and a missing key is reported at its
        parent, where the user has to add it.
        """
        best: tuple[int, int, int | None] = (0, -1, self.lines.get(()))
        target = tuple(loc)

        def search(prefix: PathKey, start: int, matched: int, last: int) -> None:
            nonlocal best
            if (matched, last) > best[:2]:
                best = (matched, last, self.lines[prefix])
            for j in range(start, len(target)):
                candidate = (*prefix, target[j])
                if candidate in self.lines:
                    search(candidate, j + 1, matched + 1, j)

        search((), 0, 0, -1)
        return best[2]


def parse_yaml(text: str, file: str) -> SourceDocument:
    """Parse one YAML document (an empty file reads as an empty mapping)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise YamlSyntaxError(file, line, message or "not valid YAML") from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(file, None, str(exc)) from exc
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {(): 1}
    duplicates: list[tuple[PathKey, int]] = []
    if node is not None:
        _index(node, (), lines, duplicates)
    return SourceDocument(file, data, lines, tuple(duplicates))


def _index(
    node: yaml.Node,
    path: PathKey,
    lines: dict[PathKey, int],
    duplicates: list[tuple[PathKey, int]],
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                duplicates.append((child, key_node.start_mark.line + 1))
                continue
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines, duplicates)
