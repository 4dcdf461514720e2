import json

import pytest

from openqq_sync.backends.smartqq.codec import (
    decode_content,
    encode_content,
    entity_decode,
    face_parse,
    replace_comp_sign,
    safe_truncate,
)

FONT = ["font", {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "微软雅黑"}]


def test_face_parse_known_and_unknown_brackets():
    assert face_parse("hello [微笑] world [不是表情][NO]") == [
        {"type": "txt", "content": "hello "},
        {"type": "face", "id": 14, "content": "[微笑]"},
        {"type": "txt", "content": " world [不是表情]"},
        {"type": "face", "id": 123, "content": "[NO]"},
    ]


def test_face_parse_leaves_emoji_and_plain_text():
    assert face_parse(":joy: [[微笑]") == [
        {"type": "txt", "content": ":joy: ["},
        {"type": "face", "id": 14, "content": "[微笑]"},
    ]
    assert face_parse("") == []


def test_encode_content_font_last_raw_utf8():
    text = encode_content(face_parse("你好 [微笑] <&>"))
    assert text == ('["你好 ",["face",14]," <&>",'
                    '["font",{"name":"宋体","size":10,"style":[0,0,0],"color":"000000"}]]')
    assert json.loads(text)[-1][0] == "font"


def test_decode_example_of_section_7_5():
    text, segs = decode_content([FONT, "hi ", ["face", 14], "&lt;b&gt; :smile:"])
    assert text == "hi [微笑]<b> :smile:"
    assert [s["type"] for s in segs] == ["txt", "face", "txt"]


def test_decode_font_only_is_a_picture():
    assert decode_content([FONT]) == ("[图片]", [{"type": "txt", "content": "[图片]"}])


def test_decode_faces_zero_and_unknown_render_as_biaoqing():
    text, segs = decode_content([FONT, ["face", 0], ["face", 999], ["face", 13]])
    assert text == "[表情][表情][呲牙]"
    assert segs[0] == {"type": "face", "id": 0, "content": "[表情]"}


def test_decode_pictures_unknown_arrays_and_crlf():
    text, segs = decode_content([
        FONT, "a\r\nb",
        ["cface", {"name": "x.jpg", "file_id": 1, "key": "k", "server": "s:80"}],
        ["offpic", {"file_path": "/p"}], ["zzz", 1], 42,
    ])
    assert text == "a\nb[图片][图片][未识别内容][未识别内容]"
    assert segs[1] == {"type": "cface", "content": "[图片]", "name": "x.jpg", "file_id": 1,
                       "key": "k", "server": "s:80"}
    assert segs[2] == {"type": "offpic", "content": "[图片]", "file_path": "/p"}


def test_decode_emoji_split():
    text, segs = decode_content([FONT, "哈:joy:哈 :nope: 😀"])
    assert text == "哈[高兴]哈 :nope: 😀"
    assert segs == [
        {"type": "txt", "content": "哈"},
        {"type": "emoji", "id": ":joy:", "content": "[高兴]"},
        {"type": "txt", "content": "哈 :nope: 😀"},
    ]


def test_decode_first_element_dropped_whatever_it_is():
    assert decode_content(["not a font", "x"])[0] == "x"
    assert decode_content([]) == ("", [])
    assert decode_content(None) == ("", [])


@pytest.mark.parametrize("raw, decoded", [
    ("a&nbsp;b", "a b"),
    ("&amp;&lt;&gt;&quot;&#39;&apos;&#x4e2d;", "&<>\"''中"),
    ("plain 中文", "plain 中文"),
    (None, None),
])
def test_entity_decode(raw, decoded):
    assert entity_decode(raw) == decoded


def test_replace_comp_sign():
    assert replace_comp_sign("<b>&") == "＜b＞&"


@pytest.mark.parametrize("s, out", [
    ("short", "short"),
    ("a" * 21, "a" * 21),
    ("a" * 22, "a" * 21),
    ("中" * 7, "中" * 7),             # exactly 21 bytes
    ("中" * 8, "中" * 7),
    ("ab" + "中" * 7, "ab" + "中" * 6),  # 23 bytes -> cut inside the 7th 中
    ("a😀" * 5, "a😀" * 4 + "a"),     # 25 bytes -> 21, the next emoji would cross
    (None, None),
])
def test_safe_truncate(s, out):
    assert safe_truncate(s) == out
    if s is not None:
        assert len(safe_truncate(s).encode()) <= 21
