"""Reports of a real Client on the sandbox, seen by a post_api receiver over HTTP."""

from __future__ import annotations

import pytest

from stacks import LiveStack, eventually


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    stack = LiveStack(str(tmp_path_factory.mktemp("reports")), post_event=False)
    try:
        yield stack
    finally:
        stack.close()


def test_a_discussion_sends_report_names_the_accounts_member_entry_by_a_string_id(live):
    """As the original: the sender of a discussion send is the account's discussion-member
    entry, whose id is a JSON string (issue 13, item 4)."""
    d = live.world["discusses"][0]
    answer = live.get("/openqq/send_discuss_message", id=d["id"], content="讨论组 报告")
    assert answer["code"] == 0
    report = eventually(lambda: [b for b in live.posts("send_message") if b.get("content") == "讨论组 报告"])[0]
    me = live.get("/openqq/get_user_info")
    members = live.get("/openqq/get_discuss_info")
    entry = next(m for disc in members if disc["id"] == d["id"] for m in disc.get("member", [])
                 if str(m["id"]) == str(me["id"]))
    assert isinstance(report["sender_id"], str) and report["sender_id"] == entry["id"] == str(me["id"])
    assert report["type"] == "discuss_message" and report["class"] == "send" and report["code"] == 0
    # A friend send keeps its number, as the original's did.
    f = next(f for f in live.world["friends"] if f["uid"])
    assert live.get("/openqq/send_friend_message", uid=f["uid"], content="好友 报告")["code"] == 0
    friend_report = eventually(lambda: [b for b in live.posts("send_message") if b.get("content") == "好友 报告"])[0]
    assert friend_report["sender_id"] == me["id"] and isinstance(friend_report["sender_id"], int)
