"""告警设置 (§2.5): each category's rule and recipients, read by its officials, edited by 运维 and the
supervising bureau, validated field by field, locked optimistically and audited old → new."""
from __future__ import annotations


def test_a_category_never_configured_answers_its_default_rule(api, login):
    status, body = api.get("/api/alerts/settings/express", token=login("nanshajie"))
    assert status == 200
    assert (body["rule"], body["rule_name"], body["recipients"], body["version"], body["editable"]) == (
        "2d1", "两天一检", [], 0, False)
    assert [r["name"] for r in body["rules"]][:4] == ["一天一检", "两天一检", "三天一检", "三天两检"]


def test_the_supervising_bureau_edits_and_others_read(api, login):
    bureau = login("youzheng")
    assert api.get("/api/alerts/settings/express", token=bureau)[1]["editable"] is True
    status, body = api.put("/api/alerts/settings/express", token=bureau, body={
        "rule": "3d2", "version": 0,
        "recipients": [{"user_id": "zhangsan", "name": "张三", "town": "南沙街"}, {"user_id": "lisi", "name": "李四"}]})
    assert status == 200, body
    assert (body["rule_name"], body["version"], body["updated_by"]) == ("三天两检", 1, "区邮政管理局")
    assert body["recipients"] == [{"user_id": "zhangsan", "name": "张三", "town": "南沙街"},
                                  {"user_id": "lisi", "name": "李四", "town": ""}]
    town = api.get("/api/alerts/settings/express", token=login("nanshajie"))[1]
    assert town["rule"] == "3d2" and town["editable"] is False and len(town["recipients"]) == 2
    status, body = api.put("/api/alerts/settings/express", token=login("nanshajie"), body={"rule": "1d1", "version": 1})
    assert status == 403
    assert api.put("/api/alerts/settings/construction", token=bureau, body={"rule": "1d1"})[0] == 404  # not its category
    assert api.put("/api/alerts/settings/express", token=login("zhuanban"), body={"rule": "1d1", "version": 1})[0] == 403
    stale = api.put("/api/alerts/settings/express", token=login("admin"), body={"rule": "1d1", "version": 0})
    assert stale[0] == 409 and "已被他人修改" in stale[1]["message"]
    assert api.put("/api/alerts/settings/express", token=login("admin"), body={"rule": "1d1", "version": 1})[0] == 200
    events = [e for e in api.get("/api/audit", token=login("admin"))[1]["items"] if e["action"] == "修改告警设置"]
    assert len(events) == 2 and events[-1]["target"] == "两天一检；无推送人员 → 三天两检；张三（南沙街）、李四"


def test_every_bad_field_is_named(api, login):
    bureau = login("youzheng")
    cases = [
        ({"rule": "每天两检", "version": 0}, "rule", "检测频次"),
        ({"rule": "1d1", "version": "x"}, "version", "版本号"),
        ({"rule": "1d1", "recipients": "张三"}, "recipients", "列表"),
        ({"rule": "1d1", "recipients": [{"user_id": "张 三", "name": "张三"}]}, "recipients[0].user_id", "粤政易账号"),
        ({"rule": "1d1", "recipients": [{"user_id": "a", "name": "甲"}, {"user_id": "a", "name": "乙"}]},
         "recipients[1].user_id", "重复"),
        ({"rule": "1d1", "recipients": [{"user_id": "a", "name": ""}]}, "recipients[0].name", "不能为空"),
        ({"rule": "1d1", "recipients": [{"user_id": "a", "name": "甲", "town": "北京"}]}, "recipients[0].town", "镇街"),
        ({"rule": "1d1", "recipients": [{"user_id": f"u{n}", "name": "甲"} for n in range(51)]}, "recipients", "50"),
    ]
    for body, field, words in cases:
        status, answer = api.put("/api/alerts/settings/express", token=bureau, body=body)
        assert status == 400 and field in answer["fields"] and words in answer["message"], (body, answer)
    assert api.get("/api/alerts/settings/express", token=bureau)[1]["version"] == 0  # nothing saved
