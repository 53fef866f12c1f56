"""The districts a deployment serves and their towns (街道 and 镇), as data — not as code.

`districts.json` (next to this module; DISTRICTS_FILE names another) lists a city's districts, each with
its towns in the order the district's own tables print them. The setting DISTRICTS (comma-separated names, default the first
district of the file: 南沙区) says which of them this deployment serves; a second district is that one
setting away (`make run DISTRICTS=南沙区,番禺区`). Everything that used to read a fixed list of ten towns
asks here: the town a record names must be one of the served towns, a town belongs to exactly one
district, and a district official, bureau or town sees only its own district's part (access/scope.py).

A town's name is its identity in every stored record (enterprises, partitions, roster files), so names
must be unique across the served districts: a second district's catch-all is "其他（番禺区）", never a
second "其他". The check runs when the list is first read and names the duplicate.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SOURCE = Path(__file__).with_name("districts.json")


class GeographyError(RuntimeError):
    """DISTRICTS or the districts file cannot be served as they are: the stage is misconfigured."""


@dataclass(frozen=True)
class Geography:
    city: str
    districts: tuple[str, ...]
    towns_by_district: dict[str, tuple[str, ...]]
    district_by_town: dict[str, str]

    @property
    def towns(self) -> tuple[str, ...]:
        return tuple(t for d in self.districts for t in self.towns_by_district[d])

    @property
    def single(self) -> bool:
        return len(self.districts) == 1

    @property
    def area(self) -> str:
        """What 'everything' is called on screens and in files: 全区 for one district, 全市 for several."""
        return "全区" if self.single else "全市"


def current() -> Geography:
    return _load(os.environ.get("DISTRICTS", ""), os.environ.get("DISTRICTS_FILE", ""))


@lru_cache(maxsize=4)
def _load(setting: str, source: str) -> Geography:
    data = json.loads(Path(source or SOURCE).read_text(encoding="utf-8"))
    known = {d["name"]: tuple(d["towns"]) for d in data["districts"]}
    every = [d["name"] for d in data["districts"]]
    wanted = [name.strip() for name in setting.replace("，", ",").split(",") if name.strip()] or every[:1]
    if wanted == ["*"]:  # every district of the file: a whole city
        wanted = every
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise GeographyError(f"DISTRICTS 所列的区不在区划文件中：{'、'.join(unknown)}")
    by_town: dict[str, str] = {}
    for district in wanted:
        for town in known[district]:
            if town in by_town:
                raise GeographyError(f"镇街“{town}”同时属于{by_town[town]}和{district}：各区的镇街名称须各不相同")
            by_town[town] = district
    return Geography(city=data.get("city", ""), districts=tuple(dict.fromkeys(wanted)),
                     towns_by_district={d: known[d] for d in wanted}, district_by_town=by_town)


def towns() -> tuple[str, ...]:
    """Every served town, district by district, each district's in its own order."""
    return current().towns


def districts() -> tuple[str, ...]:
    return current().districts


def towns_of(district: str) -> tuple[str, ...]:
    return current().towns_by_district.get(district, ())


def district_of(town: str) -> str | None:
    return current().district_by_town.get(town)


def is_town(town: str) -> bool:
    return town in current().district_by_town


def is_district(name: str) -> bool:
    return name in current().towns_by_district


def order(town: str) -> int:
    """A town's place in tables: its district's, then its own within the district (unknown ones last)."""
    served = towns()
    return served.index(town) if town in served else len(served)


def reach_key(district: str, category: str) -> str:
    """The partition of one category in one district (the staff and enterprise `by-reach` indexes)."""
    return f"{district}#{category}"


def reach_of(town: str, category: str) -> str:
    """The by-reach partition of a record in `town`; a town no longer served keeps a partition of its own
    name so nothing is lost (it is listed again when its district is served)."""
    return reach_key(district_of(town) or f"?{town}", category)
