"""The roster's marks: a rebuild is skipped only when it surely began after the write that marked it.

S3 keeps a mark's LastModified to the second; a build that began in that same second may have read the
registry before the write. Found in the logs as "roster */*: 0 of 2 rebuilt" right after a feed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.services.health import roster


def test_a_mark_in_the_same_second_as_a_build_that_began_before_it_rebuilds(aws, monkeypatch):
    began = datetime(2026, 12, 8, 2, 0, 0, 700_000, tzinfo=timezone.utc)
    monkeypatch.setattr(roster, "now", lambda: began)
    assert roster.rebuild("express", "南沙街")
    # a write at 02:00:00.900 marks the partition; S3 says the mark was made at 02:00:00
    assert roster.rebuild("express", "南沙街", unless_built_after=began.replace(microsecond=0))


def test_a_mark_older_than_the_build_skips_it(aws, monkeypatch):
    began = datetime(2026, 12, 8, 2, 0, 5, 100_000, tzinfo=timezone.utc)
    monkeypatch.setattr(roster, "now", lambda: began)
    assert roster.rebuild("express", "南沙街")
    assert not roster.rebuild("express", "南沙街", unless_built_after=(began - timedelta(seconds=2)).replace(microsecond=0))
