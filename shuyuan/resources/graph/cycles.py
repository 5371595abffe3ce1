"""Cycle search over prerequisite edges (plain Python over an adjacency mapping).

The graph is small per subject (hundreds to a few thousand points), so the actions load the
prerequisite edges once and walk them here rather than in SQL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def adjacency(edges: Iterable[tuple[N, N]]) -> dict[N, list[N]]:
    """``{source: [targets]}`` of ``edges``."""
    out: dict[N, list[N]] = {}
    for source, target in edges:
        out.setdefault(source, []).append(target)
    return out


def find_path(graph: Mapping[N, Iterable[N]], start: N, goal: N) -> list[N] | None:
    """The shortest path ``start`` → … → ``goal`` along ``graph``, or None (breadth first)."""
    if start == goal:
        return [start]
    parents: dict[N, N] = {}
    seen = {start}
    queue: deque[N] = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, ()):
            if nxt in seen:
                continue
            parents[nxt] = node
            if nxt == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return path[::-1]
            seen.add(nxt)
            queue.append(nxt)
    return None


def cycle_if_added(graph: Mapping[N, Iterable[N]], source: N, target: N) -> list[N] | None:
    """The cycle that adding ``source`` → ``target`` would close, as ``[source, target, …,
    source]``, or None. It exists when ``target`` already reaches ``source``."""
    path = find_path(graph, target, source)
    if path is None:
        return None
    return [source, *path]


def strongly_connected(graph: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """Tarjan's strongly connected components (iterative, so deep graphs do not recurse)."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    on_stack: set[N] = set()
    stack: list[N] = []
    components: list[list[N]] = []
    counter = 0
    nodes = list(graph)
    for targets in list(graph.values()):
        nodes.extend(t for t in targets if t not in graph)
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[N, list[N], int]] = [(root, list(graph.get(root, ())), 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, succ, i = work[-1]
            if i < len(succ):
                work[-1] = (node, succ, i + 1)
                nxt = succ[i]
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, list(graph.get(nxt, ())), 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[N] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def find_cycles(graph: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """One cycle ``[a, b, …, a]`` for every group of nodes that reach each other (each strongly
    connected component with more than one node, or a node with an edge to itself)."""
    cycles: list[list[N]] = []
    for component in strongly_connected(graph):
        members = set(component)
        if len(component) == 1:
            node = component[0]
            if node in set(graph.get(node, ())):
                cycles.append([node, node])
            continue
        inner = {n: [t for t in graph.get(n, ()) if t in members] for n in members}
        start = min(component, key=str)
        # Some successor of start inside the component reaches start again.
        for nxt in inner[start]:
            path = find_path(inner, nxt, start)
            if path is not None:
                cycles.append([start, *path])
                break
    return cycles


def ancestors_with_depth(
    reverse_graph: Mapping[N, Iterable[N]], starts: Iterable[N], depth: int
) -> dict[N, int]:
    """Nodes reachable from ``starts`` along ``reverse_graph`` within ``depth`` steps, each with
    its shortest distance (the starts themselves are left out unless reached from another)."""
    starts = list(starts)
    result: dict[N, int] = {}
    frontier = list(dict.fromkeys(starts))
    seen = set(frontier)
    for distance in range(1, depth + 1):
        nxt: list[N] = []
        for node in frontier:
            for parent in reverse_graph.get(node, ()):
                if parent not in seen:
                    seen.add(parent)
                    result[parent] = distance
                    nxt.append(parent)
        if not nxt:
            break
        frontier = nxt
    return result
