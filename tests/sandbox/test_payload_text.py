"""The large answers written as text are byte for byte what the dict builders encode to."""

from __future__ import annotations

import pytest

from openqq_sync.sandbox import SandboxWorld
from openqq_sync.sandbox import _payloads as P

from ._smartqq import R_QINFO, R_S


def _same_bytes(w: SandboxWorld, g) -> int:
    checked = 0
    for number in list(w.data.groups):
        assert w.read(P.group_detail_text, g, number) == P.dumps(w.read(P.group_detail, g, number))
        assert w.read(P.ext_members_text, g, number) == P.dumps(w.read(P.ext_members, g, number))
        checked += 1
    return checked


@pytest.mark.parametrize("size", ["small", "medium"])
def test_text_answers_equal_the_encoded_dicts(size):
    w = SandboxWorld(size, 5)
    g = w.complete_qr_login("x")
    assert _same_bytes(w, g) == len(w.data.groups)


def test_text_answers_follow_world_changes():
    w = SandboxWorld("small", 2)
    g = w.complete_qr_login("x")
    grp = max(w.data.groups.values(), key=lambda x: len(x.members))
    some = [m for m in grp.members.values() if m.qq != w.data.account.qq][:3]
    w.rename_group_member(grp.number, some[0].qq, name='"引号" & <tag> \\ 反斜杠 😀', card="名片 & <b>")
    w.rename_group_member(grp.number, some[1].qq, card=None, role="admin")
    w.add_group_member(grp.number, "新人\t制表", card="卡\n片")
    w.rename_group(grp.number, name="改名 <群>", markname="备注 & 群")
    _same_bytes(w, g)
    text = w.read(P.group_detail_text, g, grp.number)
    assert '"nick":"&quot;引号&quot; &amp; &lt;tag&gt; \\\\ 反斜杠 😀"' in text
    assert "\\t" in text and "\\n" in w.read(P.ext_members_text, g, grp.number)


def test_group_answers_over_http_are_the_encoded_dicts(sandbox, walker):
    w = sandbox.world
    g = w.grant
    for number in w.data.groups:
        code = g.ids.to_id("code", number)
        r = walker.get("https://s.web2.qq.com/api/get_group_info_ext2", R_S, gcode=code,
                       vfwebqq=walker.vfwebqq, t=1)
        assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert r.content == P.dumps({"retcode": 0, "result": w.read(P.group_detail, g, number)}).encode()
        r = walker.ext("http://qinfo.clt.qq.com/cgi-bin/qun_info/get_group_members", R_QINFO,
                       gc=number, u=w.data.account.qq)
        assert r.content == P.dumps(w.read(P.ext_members, g, number)).encode()
