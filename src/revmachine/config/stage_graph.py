"""The revenue model as a graph of stages, and the shape checks that need one.

A stage nobody can reach is dead configuration; a group of stages that pass people around
without any transition leading out (and no success among them) is a trap where people
circle forever; an inventory stage with no way out is where people get stuck.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    transition: int  # index in `transitions:`, to point errors at the rule


@dataclass(frozen=True)
class StageGraph:
    stages: tuple[str, ...]
    edges: tuple[Edge, ...]

    def successors(self, stage: str) -> list[str]:
        return [e.target for e in self.edges if e.source == stage]

    def reachable_from(self, entry: str) -> set[str]:
        seen = {entry}
        frontier = [entry]
        while frontier:
            for target in self.successors(frontier.pop()):
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        return seen

    def components(self) -> list[list[str]]:
        """Strongly connected components (Tarjan), each in stage order."""
        order = {s: i for i, s in enumerate(self.stages)}
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []

        def visit(stage: str) -> None:
            index[stage] = low[stage] = len(index)
            stack.append(stage)
            on_stack.add(stage)
            for target in self.successors(stage):
                if target not in index:
                    visit(target)
                    low[stage] = min(low[stage], low[target])
                elif target in on_stack:
                    low[stage] = min(low[stage], index[target])
            if low[stage] == index[stage]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == stage:
                        break
                found.append(sorted(component, key=order.__getitem__))

        for stage in self.stages:
            if stage not in index:
                visit(stage)
        return found

    def traps(self, successes: Iterable[str]) -> list[list[str]]:
        """Cycles with no transition out of them and no success stage inside."""
        goal = set(successes)
        result = []
        for component in self.components():
            members = set(component)
            cyclic = len(component) > 1 or component[0] in self.successors(component[0])
            if not cyclic or members & goal:
                continue
            if all(e.target in members for e in self.edges if e.source in members):
                result.append(component)
        return result

    def first_edge_within(self, members: Iterable[str]) -> Edge | None:
        inside = set(members)
        candidates = [e for e in self.edges if e.source in inside and e.target in inside]
        return min(candidates, key=lambda e: e.transition) if candidates else None
