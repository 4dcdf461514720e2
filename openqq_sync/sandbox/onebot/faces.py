"""QQ NT face ids for the names of the SmartQQ face table (``openqq_sync/faces.py``).

OneBot v11 servers hook the QQ NT client, whose face ids differ from SmartQQ's, so faces
cross between the two faces of the sandbox by name (onebot.md 3.2). The ids are the lowest
NT id per name in QQ NT's system face table; SmartQQ names without an NT face are left out.
"""

from __future__ import annotations

from typing import Dict

NT_FACE_IDS: Dict[str, int] = {
    "惊讶": 0, "撇嘴": 1, "色": 2, "发呆": 3, "得意": 4, "流泪": 5, "害羞": 6, "闭嘴": 7, "睡": 8, "大哭": 9,
    "尴尬": 10, "发怒": 11, "调皮": 12, "呲牙": 13, "微笑": 14, "飞吻": 85, "跳跳": 43, "发抖": 41, "怄火": 86,
    "爱情": 42, "西瓜": 89, "玫瑰": 63, "凋谢": 64, "爱心": 66, "心碎": 67, "蛋糕": 53, "太阳": 74, "月亮": 75,
    "难过": 15, "酷": 16, "抓狂": 18, "吐": 19, "惊恐": 26, "流汗": 27, "憨笑": 28, "猪头": 46, "拥抱": 49,
    "咖啡": 60, "握手": 78, "便便": 59, "偷笑": 20, "可爱": 21, "白眼": 22, "傲慢": 23, "饥饿": 24, "困": 25,
    "奋斗": 30, "咒骂": 31, "疑问": 32, "嘘": 33, "晕": 34, "折磨": 35, "衰": 36, "骷髅": 37, "敲打": 38, "再见": 39,
    "炸弹": 55, "刀": 56, "胜利": 79, "冷汗": 96, "擦汗": 97, "抠鼻": 98, "鼓掌": 99, "糗大了": 100, "坏笑": 101,
    "左哼哼": 102, "右哼哼": 103, "哈欠": 104, "鄙视": 105, "委屈": 106, "快哭了": 107, "阴险": 108, "亲亲": 360,
    "吓": 110, "可怜": 111, "菜刀": 112, "篮球": 114, "示爱": 116, "抱拳": 118, "勾引": 119, "拳头": 120,
    "差劲": 121, "爱你": 122, "NO": 123, "OK": 124, "转圈": 125, "挥手": 129,
}

NT_FACE_NAMES: Dict[int, str] = {i: name for name, i in NT_FACE_IDS.items()}
