"""The few-shot track's ranked tables from the record index: the frames `tfmeta.records.frames.tables`
makes from whole records, made from parts that change one at a time.

Tables are listed from the groups the index files records under (`describe`: a record's table key and
profile, and its entry key), counted in the index, with no record read; a table's records are listed when
it is shown. Its frame is then made of
- one part per entry: its records combined across seeds (`tables.combine_seeds`) and its row's cells
  (`tables.row_cells`), made again only when one of its records, or a record's trust label, changes;
- one part per pair of neighbouring entries: the comparison behind the verdict (`verdicts.compare_many`)
  and whether the two tie in rank, made again only when one of the two entries changes. Per-episode
  accuracies are read for these pairs only;
- what depends on the whole table, redone each time from those parts: the ranks, Holm's correction over
  the neighbour gaps, and the entry names (`tables.variants`, `tables.entry_labels`).
Parts are kept in this process and in the index of the folder they come from (`RecordIndex.remember`), so
a new record costs its own entry and its two neighbour pairs. The frames equal `tables.table_frame`'s
(the tests compare them); where a table's accuracies are not all counts of one number of queries, the
frame is made by `tables.table_frame` itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from record_index import RecordIndex

from tfmeta.records import verdicts
from tfmeta.records.entries import entry_key
from tfmeta.records.frames import tables
from tfmeta.records.frames.tables import Table, TableKey

Entry = tuple[Path, dict]
SMOKE = "smoke"


def describe(record: dict) -> tuple[str, str, str]:
    """The group, entry and tag an index files a few-shot record under: its table key, its entry key (as
    text: records are grouped by it, never read from it) and its profile."""
    key = json.dumps(dataclasses.astuple(tables.table_key(record)))
    return key, json.dumps(entry_key(record)), record["profile"]


@dataclasses.dataclass(frozen=True)
class Member:
    """One record of an entry, as the index lists it."""

    index: RecordIndex
    name: str
    sha256: str
    label: str


@dataclasses.dataclass
class Part:
    """One entry of a table, combined across seeds, with its row's cells (gap and variant left blank)."""

    index: RecordIndex
    digest: str
    path: Path
    record: dict
    cells: dict
    members: list[str]  # its records' names, in the order of its per-episode rows (by seed)
    queries: int
    counts: bool  # its accuracies are counts out of `queries`

    def arrays(self) -> np.ndarray:
        """Its per-episode accuracies, one row per seed."""
        found = self.index.episodes(self.members)
        return np.stack([found[name] for name in self.members])

    def stored(self) -> dict:
        return {
            "path": self.path.name, "record": self.record, "cells": self.cells, "members": self.members,
            "queries": self.queries, "counts": self.counts,
        }  # fmt: skip


class Parts:
    """Entries and neighbour pairs made before: in this process (the latest `limit` of each), then in the
    indexes. Thread-safe: the app's sessions share one."""

    def __init__(self, limit: int = 200_000, frames: int = 64):
        self.limit, self.frames = limit, frames
        self._entries: OrderedDict[str, Part] = OrderedDict()
        self._pairs: OrderedDict[str, tuple[bool, verdicts.Comparison]] = OrderedDict()
        self._frames: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def frame(self, parts: list[Part], make) -> pd.DataFrame:
        """The frame of a table of `parts` (best first), made by `make()` unless a table of the same
        parts was made before: a table no record of which changed is not made again."""
        key = tuple(part.digest for part in parts)
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
        made = make()
        with self._lock:
            _keep(self._frames, key, made, self.frames)
        return made

    def entries(self, groups: list[list[Member]]) -> list[Part]:
        """The parts of the entries whose records are `groups` (one folder each)."""
        digests = [_digest(group) for group in groups]
        with self._lock:
            found = {d: self._entries[d] for d in digests if d in self._entries}
        missing = defaultdict(list)
        for digest, group in zip(digests, groups, strict=True):
            if digest not in found:
                missing[group[0].index].append((digest, group))
        for index, wanted in missing.items():
            stored = index.derived(f"entry:{digest}" for digest, _ in wanted)
            made = {}
            for digest, group in wanted:
                value = stored.get(f"entry:{digest}")
                if value is not None:
                    found[digest] = _part(index, digest, value)
                else:
                    found[digest] = made[digest] = _combined(index, digest, group)
            index.remember({f"entry:{d}": part.stored() for d, part in made.items()})
        with self._lock:
            for digest in digests:
                _keep(self._entries, digest, found[digest], self.limit)
        return [found[digest] for digest in digests]

    def pairs(self, parts: list[Part], queries: int) -> list[tuple[bool, verdicts.Comparison]]:
        """For each neighbouring pair of `parts` (a table's, best first): whether they tie in rank and the
        comparison of the upper with the lower, counted out of `queries`."""
        keys = [f"pair:{a.digest}:{b.digest}:{queries}" for a, b in zip(parts, parts[1:], strict=False)]
        with self._lock:
            found = {k: self._pairs[k] for k in keys if k in self._pairs}
        by_index = defaultdict(list)
        for position, key in enumerate(keys):
            if key not in found:
                by_index[parts[position].index].append((position, key))
        for index, wanted in by_index.items():
            stored = index.derived(key for _, key in wanted)
            for _, key in wanted:
                if key in stored:
                    found[key] = _restored(stored[key])
            todo = [(position, key) for position, key in wanted if key not in found]
            made = _compare(parts, [position for position, _ in todo], queries)
            for (_, key), value in zip(todo, made, strict=True):
                found[key] = value
            index.remember({key: _storable(*value) for (_, key), value in zip(todo, made, strict=True)})
        with self._lock:
            for key in keys:
                _keep(self._pairs, key, found[key], self.limit)
        return [found[key] for key in keys]


def _keep(cache: OrderedDict, key: str, value, limit: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)


def _digest(group: list[Member]) -> str:
    """What an entry's part is made from: its folder and its records' names, bytes and trust labels."""
    members = sorted((m.name, m.sha256, m.label) for m in group)
    text = json.dumps([str(group[0].index.directory), members])
    return hashlib.sha256(text.encode()).hexdigest()


def _combined(index: RecordIndex, digest: str, group: list[Member]) -> Part:
    """An entry's part made from its records (read with their per-episode accuracies)."""
    records = index.summaries([m.name for m in group], episodes=True)
    members = [(index.directory / m.name, records[m.name]) for m in group]
    ((path, combined),) = tables.combine_seeds(members)
    cells = tables.row_cells(path, combined, "", "")
    arrays = tables.seed_episodes(combined)
    queries = verdicts.query_count(combined)
    try:
        verdicts.correct_counts(arrays, queries)
        counts = True
    except ValueError:
        counts = False
    record = {k: v for k, v in combined.items() if k not in ("per_episode", "seed_episodes")}
    names = [seed["record"] for seed in combined["seeds"]]
    return Part(index, digest, path, record, cells, names, queries, counts)


def _part(index: RecordIndex, digest: str, value: dict) -> Part:
    return Part(
        index, digest, index.directory / value["path"], value["record"], value["cells"], value["members"],
        value["queries"], value["counts"],
    )  # fmt: skip


def _compare(parts: list[Part], positions: list[int], queries: int) -> list[tuple[bool, verdicts.Comparison]]:
    """Tie and comparison of each pair (parts[i], parts[i + 1]) for i in `positions`."""
    if not positions:
        return []
    used = sorted({i for p in positions for i in (p, p + 1)})
    arrays = {i: parts[i].arrays() for i in used}
    order = {i: n for n, i in enumerate(used)}
    compared = verdicts.compare_many(
        [arrays[i] for i in used], [(order[p], order[p + 1]) for p in positions], queries=queries
    )
    made = []
    for p, comparison in zip(positions, compared, strict=True):
        pair = [_with_arrays(parts[i], arrays[i]) for i in (p, p + 1)]
        made.append((tables.ranks(pair)[1] == 1, comparison))
    return made


def _with_arrays(part: Part, arrays: np.ndarray) -> Entry:
    return part.path, {**part.record, "seed_episodes": list(arrays)}


def _storable(tied: bool, comparison: verdicts.Comparison) -> dict:
    return {"tied": tied, "comparison": dataclasses.asdict(comparison)}


def _restored(value: dict) -> tuple[bool, verdicts.Comparison]:
    fields = value["comparison"]
    return value["tied"], verdicts.Comparison(**{**fields, "components": tuple(fields["components"])})


class RankedTable:
    """One ranked table of the index: its key, its size and where its records are (groups of the indexes,
    of verified records or of the others); made when asked, its entries' records, its entries (best first,
    as `Table.entries` without per-episode values) and its frame."""

    def __init__(self, key: TableKey, size: int, sources: dict, verified: bool, without, parts: Parts):
        self.key, self.size, self._sources, self._parts = key, size, sources, parts
        self._verified, self._without = verified, without

    @cached_property
    def groups(self) -> list[list[Member]]:
        """Each entry's records, as `tables.group_tables` groups them: by folder and entry key."""
        entries: dict[tuple, list[Member]] = defaultdict(list)
        for index, groups in self._sources.items():
            for name, sha256, label, entry in index.members(groups, self._verified, self._without):
                entries[(index.directory, entry)].append(Member(index, name, sha256, label))
        return list(entries.values())

    @cached_property
    def ranked(self) -> list[Part]:
        made = self._parts.entries(self.groups)
        return sorted(made, key=lambda part: tables._ranking_key((part.path, part.record)))

    @property
    def entries(self) -> list[Entry]:
        return [(part.path, part.record) for part in self.ranked]

    def frame(self) -> pd.DataFrame:
        """`Table.frame()` of this table (a copy of it: the table keeps its own)."""
        return self._frame.copy()

    @cached_property
    def _frame(self) -> pd.DataFrame:
        return self._parts.frame(self.ranked, self._made)

    def _made(self) -> pd.DataFrame:
        parts = self.ranked
        queries = parts[0].queries
        if not all(part.counts and part.queries == queries for part in parts):
            entries = [_with_arrays(part, part.arrays()) for part in parts]
            return tables.table_frame(entries)
        pairs = self._parts.pairs(parts, queries)
        ranks = [1]
        for position, (tied, _) in enumerate(pairs, start=1):
            ranks.append(ranks[-1] if tied else position + 1)
        gaps = [*verdicts.holm([comparison for _, comparison in pairs]), None]
        records = [part.record for part in parts]
        rows = []
        for rank, part, gap, variant, name in zip(
            ranks, parts, gaps, tables.variants(records), tables.entry_labels(records), strict=True
        ):
            cells = {**part.cells, "Variant": variant, "Gap to next": tables.gap_label(gap)}
            rows.append({"Rank": rank, "Entry": name, **cells})
        return pd.DataFrame(rows)

    def table(self) -> Table:
        """As a `Table` (entries without per-episode values)."""
        return Table(self.key, self.entries)


class Board:
    """The few-shot records of the app's folders as the few-shot page shows them: how many entries each
    table has, from the indexes' counts; records are read only for the tables a page shows."""

    def __init__(self, indexes: Iterable[RecordIndex], parts: Parts):
        self._indexes, self._parts = list(indexes), parts
        self._counts = {None: self._count(None)}
        self._tables: dict[bool, tuple] = {}

    @property
    def empty(self) -> bool:
        return not self._counts[None]

    def _count(self, without: str | None) -> list[tuple]:
        return [(index, *group) for index in self._indexes for group in index.groups(without)]

    def tables(self, smoke: bool) -> tuple[list[RankedTable], list[RankedTable], bool]:
        """The verified records' tables, the others' (ranked apart), and whether only smoke-profile
        records were there to show, shown then whatever `smoke` says."""
        if smoke not in self._tables:
            without = None if smoke else SMOKE
            counts = self._counts.setdefault(without, self._count(without))
            only_smoke = not counts and not self.empty
            if only_smoke:
                without, counts = None, self._counts[None]
            grouped = [self._grouped(counts, verified, without) for verified in (True, False)]
            self._tables[smoke] = (*grouped, only_smoke)
        return self._tables[smoke]

    def _grouped(self, counts: list[tuple], verified: bool, without: str | None) -> list[RankedTable]:
        """As `tables.group_tables` groups records: by table key (an entry never spans two folders)."""
        sizes: dict[str, int] = defaultdict(int)
        sources: dict[str, dict] = defaultdict(lambda: defaultdict(list))
        for index, group, is_verified, count in counts:
            if is_verified == verified:
                sizes[group] += count
                sources[group][index].append(group)
        made = [
            RankedTable(
                TableKey(*json.loads(group)), size, dict(sources[group]), verified, without, self._parts
            )
            for group, size in sizes.items()
        ]
        # `_table_order` reads a table's key and how many entries it has.
        return sorted(
            made, key=lambda t: tables._table_order(SimpleNamespace(key=t.key, entries=range(t.size)))
        )
