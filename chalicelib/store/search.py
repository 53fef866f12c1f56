"""The staff search index (services/search/index.py): one item per (term, staff record), keyed so that
one Query answers a search in the caller's scope, and one manifest item per staff record.

A term item:
    term       "<h>#<category>"          h = keyed hash of the term (rules/search.py), never the text
    at         "<created_at>#<enterprise_id>#<person_key>"   newest first; names the record to fetch
    town       the enterprise's town (a filter when a scope holds some towns of a category)
    town_term  "<h>#<category>#<town>"   by-town: a 镇街, or any caller narrowed to one town
    head_term  "<h>#<hp>"                by-head: a head's own enterprises (hp = keyed hash of the 负责人电话)

A manifest item (term "doc#<enterprise_id>#<person_key>", at "~") lists the hashes the record's term
items were written with, its category, town and head, so that a change or a delete removes exactly the
items written before — even when the record itself already changed (a retried import, a crash between
the record's write and the index's). It carries no GSI key, so the indexes never hold it.
"""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.base import LazyTableName

MANIFEST_AT = "~"


def manifest_key(enterprise_id: str, person_key: str) -> str:
    return f"doc#{enterprise_id}#{person_key}"


class SearchByTown(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-town"
        projection = KeysOnlyProjection()

    town_term = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)


class SearchByHead(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-head"
        projection = KeysOnlyProjection()

    head_term = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)


class SearchEntry(Model):
    class Meta(metaclass=LazyTableName):
        base_name = "staff-search"
        billing_mode = "PAY_PER_REQUEST"

    term = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)
    town = UnicodeAttribute(null=True)
    town_term = UnicodeAttribute(null=True)
    head_term = UnicodeAttribute(null=True)
    # the manifest's own
    hashes = UnicodeSetAttribute(null=True)
    category = UnicodeAttribute(null=True)
    head = UnicodeAttribute(null=True)
    version = UnicodeAttribute(null=True)  # the person-key ring's version the hashes were made with
    created = UnicodeAttribute(null=True)  # the term items' `at`

    by_town = SearchByTown()
    by_head = SearchByHead()
