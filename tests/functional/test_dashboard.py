"""The head's home (§2.4.2): each bucket's list, ordered by the latest sampling time on the server."""
from __future__ import annotations

from tests.functional.test_feeds import NAT_HEADER, drop, feed, stamp
from tests.functional.test_staff import HEAD, district, id_number, person  # noqa: F401 - fixture


def bucket(api, token, key, **query):
    params = "&".join(f"{k}={v}" for k, v in {"bucket": key, **query}.items())
    status, body = api.get(f"/api/dashboard/people?{params}", token=token)
    assert status == 200, body
    return body


def test_each_bucket_lists_the_newest_sample_first_across_enterprises_and_pages(api, aws, district, head_login):
    token = head_login(HEAD)
    express, site = district["express"]["id"], district["site"]["id"]
    # registered in this order; sampled in another (hours ago), so neither order can pass for the other
    people = [("甲", express, 20), ("乙", express, 2), ("丙", express, 10), ("丁", site, 5),
              ("戊", express, 30), ("己", express, 40), ("庚", site, None), ("辛", express, None)]
    for n, (name, ent, _) in enumerate(people, start=1):
        assert api.post("/api/staff", token=token, body=person(ent, n, name=name))[0] == 201
    drop("feeds/nat/today.csv", (NAT_HEADER + "".join(
        f"{id_number(n)},{name},{stamp(hours)},{stamp(hours - 1)},阴性,南沙街采样点\n"
        for n, (name, _, hours) in enumerate(people, start=1) if hours is not None)).encode())
    assert feed(aws) == 1

    names = lambda body: [i["name"] for i in body["items"]]  # noqa: E731
    h24 = bucket(api, token, "h24")
    assert names(h24) == ["乙", "丁", "丙", "甲"] and h24["total"] == 4
    sampled = [i["health"]["last_sampled_at"] for i in h24["items"]]
    assert sampled == sorted(sampled, reverse=True)
    # the order holds across pages: the server sorts before it cuts the page
    assert names(bucket(api, token, "h24", page=1, page_size=3)) == ["乙", "丁", "丙"]
    assert names(bucket(api, token, "h24", page=2, page_size=3)) == ["甲"]
    assert names(bucket(api, token, "h48")) == ["戊", "己"]
    # one enterprise only
    assert names(bucket(api, token, "h24", enterprise_id=express)) == ["乙", "丙", "甲"]
    # 未匹配 has no sampling time: newest registered first
    assert names(bucket(api, token, "unmatched")) == ["辛", "庚"]
