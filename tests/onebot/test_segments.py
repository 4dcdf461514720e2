"""OneBot message segments <-> Openqq content (pure functions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openqq_sync.backends.onebot.segments import outgoing, parse_cq, parse_message, render, to_cq
from openqq_sync.faces_nt import NT_FACE_IDS, NT_FACES

# Chinese text, brackets, CQ-looking text and the CQ escape characters, mixed.
_ALPHABET = st.sampled_from(list("你好世界微笑群abc []&#;,=:CQ\n") + ["[微笑]", "[赞]", "[足球]", "[CQ:at,qq=1]"])
_TEXT = st.lists(_ALPHABET, max_size=30).map("".join)
_FACE_NAMES = st.sampled_from(sorted(NT_FACE_IDS))


def test_smile_is_nt_face_14_both_ways():
    assert outgoing("你好[微笑]") == [{"type": "text", "data": {"text": "你好"}},
                                    {"type": "face", "data": {"id": "14"}}]
    content, raw = render([{"type": "face", "data": {"id": "14"}}])
    assert content == "[微笑]"
    assert raw == [{"type": "face", "id": 14, "content": "[微笑]"}]


def test_faces_go_by_name_not_by_smartqq_id():
    # SmartQQ 74 is 可爱; in QQ NT 可爱 is 21 and 74 is 太阳.
    assert outgoing("[可爱]") == [{"type": "face", "data": {"id": "21"}}]
    assert render([{"type": "face", "data": {"id": 74}}])[0] == "[太阳]"
    # A name only SmartQQ had stays text; an id QQ NT does not know renders [表情].
    assert outgoing("[足球]") == [{"type": "text", "data": {"text": "[足球]"}}]
    assert render([{"type": "face", "data": {"id": "9999"}}])[0] == "[表情]"
    assert render([{"type": "face", "data": {"id": "x"}}])[0] == "[表情]"


def test_reused_names_send_the_lowest_id():
    assert NT_FACES[452] == "微笑"
    assert outgoing("[微笑]")[0]["data"]["id"] == "14"
    assert render([{"type": "face", "data": {"id": "452"}}])[0] == "[微笑]"


def test_at_image_reply_and_others_render_as_text_forms():
    message = [
        {"type": "reply", "data": {"id": "123"}},
        {"type": "at", "data": {"qq": "10001"}},
        {"type": "text", "data": {"text": " 看\r\n这个"}},
        {"type": "image", "data": {"file": "a.jpg", "url": "http://x/a.jpg"}},
        {"type": "at", "data": {"qq": "all"}},
        {"type": "at", "data": {"qq": "10002", "name": "小明"}},
        {"type": "record", "data": {"file": "v.amr"}},
        {"type": "weird_new_type", "data": {}},
    ]
    content, raw = render(message, name_of={"10001": "张三"}.get)
    assert content == "@张三 看\n这个[图片]@全体成员@小明[语音][未识别内容]"
    assert raw[0] == {"type": "reply", "content": "", "data": {"id": "123"}}
    assert raw[3]["data"]["url"] == "http://x/a.jpg"
    # Without a name anywhere, the QQ number.
    assert render([{"type": "at", "data": {"qq": "42"}}])[0] == "@42"


def test_cq_string_form_is_accepted():
    content, _ = render("你好[CQ:face,id=14]&#91;不是表情&#93;[CQ:image,file=a&#44;b.jpg]")
    assert content == "你好[微笑][不是表情][图片]"
    assert parse_cq("[CQ:image,file=a&#44;b.jpg]") == [{"type": "image", "data": {"file": "a,b.jpg"}}]


def test_malformed_input_never_raises():
    assert render(None) == ("", [])
    assert render(42) == ("", [])
    assert render([1, "x", {"type": 3}, {"type": "text"}, {"type": "text", "data": "bad"}]) == ("", [])
    assert render({"type": "text", "data": {"text": "单个"}})[0] == "单个"
    assert parse_cq("[CQ:]半个[CQ:face") == [{"type": "text", "data": {"text": "[CQ:]半个[CQ:face"}}]


def test_cq_typed_by_a_user_is_sent_as_text():
    assert outgoing("[CQ:at,qq=all]") == [{"type": "text", "data": {"text": "[CQ:at,qq=all]"}}]
    assert outgoing("") == []


@given(_TEXT)
def test_content_round_trips_through_segments(text):
    # send then receive: the same text, whatever faces and brackets it holds
    segments = outgoing(text)
    assert render(segments)[0] == text.replace("\r\n", "\n")
    # and through the CQ string form a server may echo it in
    assert render(to_cq(segments))[0] == text.replace("\r\n", "\n")


@given(st.lists(st.one_of(
    _TEXT.filter(bool).map(lambda t: {"type": "text", "data": {"text": t}}),
    _FACE_NAMES.map(lambda n: {"type": "face", "data": {"id": str(NT_FACE_IDS[n])}}),
    st.builds(lambda f, u: {"type": "image", "data": {"file": f, "url": u}}, _TEXT, _TEXT),
    st.builds(lambda q: {"type": "at", "data": {"qq": q}}, st.from_regex(r"[1-9][0-9]{4,10}", fullmatch=True)),
), max_size=8))
def test_cq_string_round_trips(segments):
    # adjacent texts merge in a CQ string: compare with them merged
    merged = []
    for seg in segments:
        if merged and seg["type"] == "text" and merged[-1]["type"] == "text":
            merged[-1] = {"type": "text", "data": {"text": merged[-1]["data"]["text"] + seg["data"]["text"]}}
        else:
            merged.append(seg)
    assert parse_cq(to_cq(segments)) == merged
    assert parse_message(to_cq(segments)) == merged


@given(_FACE_NAMES, _TEXT)
def test_every_nt_name_round_trips(name, text):
    content = text + "[%s]" % name
    assert render(outgoing(content))[0] == content


def test_the_sandbox_face_and_the_client_agree_on_every_face():
    # Two tables of the same facts (the sandbox imports nothing from backends/): a face the
    # sandbox sends must read back as the same name here.
    from openqq_sync.faces import FACE_IDS
    from openqq_sync.sandbox.onebot.faces import NT_FACE_IDS as SANDBOX_IDS

    assert {n: i for n, i in NT_FACE_IDS.items() if n in FACE_IDS} == SANDBOX_IDS
