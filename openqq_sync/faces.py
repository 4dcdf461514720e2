"""The QQ face table and the emoji table of SmartQQ (protocol document 8.3 and 7.5).

Data, and the parse of outgoing text into face segments; no I/O. Shared by the client,
its backends and the sandbox.

* ``FACES``: face id -> name, as in Mojo::Webqq Message/Face.pm. A face renders as
  ``[<name>]``; on receive, id 0 and unknown ids render as ``[表情]`` (``UNKNOWN_FACE``).
* ``FACE_IDS``: name -> face id, the reverse, used to parse ``[微笑]`` on send.
* ``EMOJI``: ``:name:`` -> Chinese name, as in Message/Emoji.pm; recognised on receive only,
  where ``:joy:`` renders as ``[高兴]``. ``EMOJI_PATTERN`` is the regex the original used.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

UNKNOWN_FACE = "[表情]"
EMOJI_PATTERN = r":[a-z0-9_]+:"

FACES: dict[int, str] = {
    0: "惊讶",
    1: "撇嘴",
    2: "色",
    3: "发呆",
    4: "得意",
    5: "流泪",
    6: "害羞",
    7: "闭嘴",
    8: "睡",
    9: "大哭",
    10: "尴尬",
    11: "发怒",
    12: "调皮",
    13: "呲牙",
    14: "微笑",
    21: "飞吻",
    23: "跳跳",
    25: "发抖",
    26: "怄火",
    27: "爱情",
    29: "足球",
    32: "西瓜",
    33: "玫瑰",
    34: "凋谢",
    36: "爱心",
    37: "心碎",
    38: "蛋糕",
    39: "礼物",
    42: "太阳",
    45: "月亮",
    46: "强",
    47: "弱",
    50: "难过",
    51: "酷",
    53: "抓狂",
    54: "吐",
    55: "惊恐",
    56: "流汗",
    57: "憨笑",
    58: "大兵",
    59: "猪头",
    62: "拥抱",
    63: "咖啡",
    64: "饭",
    71: "握手",
    72: "便便",
    73: "偷笑",
    74: "可爱",
    75: "白眼",
    76: "傲慢",
    77: "饥饿",
    78: "困",
    79: "奋斗",
    80: "咒骂",
    81: "疑问",
    82: "嘘",
    83: "晕",
    84: "折磨",
    85: "衰",
    86: "骷髅",
    87: "敲打",
    88: "再见",
    91: "闪电",
    92: "炸弹",
    93: "刀",
    95: "胜利",
    96: "冷汗",
    97: "擦汗",
    98: "抠鼻",
    99: "鼓掌",
    100: "糗大了",
    101: "坏笑",
    102: "左哼哼",
    103: "右哼哼",
    104: "哈欠",
    105: "鄙视",
    106: "委屈",
    107: "快哭了",
    108: "阴险",
    109: "亲亲",
    110: "吓",
    111: "可怜",
    112: "菜刀",
    113: "啤酒",
    114: "篮球",
    115: "乒乓",
    116: "示爱",
    117: "瓢虫",
    118: "抱拳",
    119: "勾引",
    120: "拳头",
    121: "差劲",
    122: "爱你",
    123: "NO",
    124: "OK",
    125: "转圈",
    126: "磕头",
    127: "回头",
    128: "跳绳",
    129: "挥手",
    130: "激动",
    131: "街舞",
    132: "献吻",
    133: "左太极",
    134: "右太极",
}

FACE_IDS: dict[str, int] = {name: face_id for face_id, name in FACES.items()}

EMOJI: dict[str, str] = {
    ":100:": "100分",
    ":1234:": "1234",
    ":grinning:": "笑嘻嘻",
    ":joy:": "高兴",
    ":smiley:": "微笑",
    ":emoji:": "失望",
    ":smirk:": "假笑",
    ":pensive:": "沉思",
    ":grin:": "露齿而笑",
    ":wink:": "眨眼",
    ":scream:": "尖叫",
    ":confounded:": "糊涂",
    ":kissing_closed_eyes:": "闭上眼睛亲吻",
    ":stuck_out_tongue_closed_eyes:": "闭眼吐舌头",
    ":relieved:": "放心",
    ":fearful:": "担心",
    ":mask:": "戴口罩",
    ":flushed:": "脸红",
    ":unamused:": "无趣",
    ":cold_sweat:": "冒冷汗",
    ":astonished:": "吃惊",
    ":sob:": "流泪",
    ":stuck_out_tongue_winking_eye:": "眨眼吐舌头",
    ":kissing_heart:": "飞吻",
    ":rage:": "愤怒",
    ":muscle:": "秀肌肉",
    ":punch:": "拳头猛击",
    ":thumbsup:": "竖起大拇指",
    ":point_up:": "竖起中指",
    ":clap:": "鼓掌",
    ":v:": "胜利",
    ":thumbsdown:": "大拇指向下",
    ":pray:": "祈祷",
    ":ok_hand:": "OK",
    ":point_left:": "向左指",
    ":point_right:": "向右指",
    ":point_up_2:": "向上指",
    ":point_down:": "向下指",
    ":eyes:": "大眼珠",
    ":nose:": "鼻子",
    ":lips:": "嘴唇",
    ":ear:": "耳朵",
    ":rice:": "米饭",
    ":spaghetti:": "意大利面",
    ":ramen:": "拉面",
    ":rice_ball:": "饭团",
    ":shaved_ice:": "冰沙",
    ":sushi:": "熟食",
    ":birthday:": "生日蛋糕",
    ":bread:": "面包",
    ":hamburger:": "汉堡包",
    ":egg:": "煎鸡蛋",
    ":fries:": "薯条",
    ":beer:": "一杯啤酒",
    ":beers:": "啤酒",
    ":cocktail:": "鸡尾酒",
    ":coffee:": "咖啡",
    ":apple:": "苹果",
    ":tangerine:": "蜜橘",
    ":strawberry:": "草莓",
    ":watermelon:": "西瓜",
    ":pill:": "胶囊",
    ":smoking:": "抽烟",
    ":christmas_tree:": "圣诞树",
    ":rose:": "玫瑰",
    ":tada:": "回头见",
    ":palm_tree:": "椰子树",
    ":gift_heart:": "心形礼物",
    ":ribbon:": "丝带",
    ":balloon:": "气球",
    ":shell:": "贝壳",
    ":ring:": "钻戒",
    ":bomb:": "炸弹",
    ":crown:": "皇冠",
    ":bell:": "铃铛",
    ":star:": "星星",
    ":sparkles:": "闪耀",
    ":dash:": "冲刺",
    ":sweat_drops:": "汗滴",
    ":fire:": "火焰",
    ":trophy:": "奖杯",
    ":moneybag:": "金钱袋",
    ":zzz:": "睡觉",
    ":zap:": "闪电",
    ":feet:": "脚印",
    ":shit:": "大便",
    ":syringe:": "注射器",
    ":hotsprings:": "温泉",
    ":mailbox:": "邮箱",
    ":key:": "钥匙",
    ":lock:": "锁",
    ":airplane:": "飞机",
    ":bullettrain_side:": "子弹头列车",
    ":red_car:": "红色小汽车",
    ":speedboat:": "快艇",
    ":bike:": "自行车",
    ":racehorse:": "赛马",
    ":rocket:": "火箭",
    ":bus:": "公交车",
    ":boat:": "帆船",
    ":woman:": "女人",
    ":man:": "男人",
    ":girl:": "女孩",
    ":boy:": "男孩",
    ":monkey_face:": "猴子脸",
    ":octopus:": "章鱼",
    ":pig:": "猪",
    ":baby_chick:": "小鸡",
    ":koala:": "考拉",
    ":cow:": "奶牛",
    ":chicken:": "鸡",
    ":frog:": "青蛙",
    ":ghost:": "鬼魂",
    ":skull:": "骷髅",
    ":bug:": "毛毛虫",
    ":tropical_fish:": "热带鱼",
    ":dog:": "狗狗",
    ":tiger:": "老虎",
    ":angel:": "天生",
    ":penguin:": "海豚",
    ":whale:": "鲸鱼",
    ":mouse:": "老鼠",
    ":womans_hat:": "女士帽子",
    ":dress:": "礼服",
    ":lipstick:": "唇膏",
    ":high_heel:": "高跟鞋",
    ":boot:": "长筒靴",
    ":closed_umbrella:": "雨伞",
    ":handbag:": "手提袋",
    ":bikini:": "比基尼",
    ":shirt:": "衬衫",
    ":shoe:": "鞋子",
    ":cloud:": "多云",
    ":sunny:": "晴天",
    ":umbrella:": "下雨",
    ":moon:": "弯月",
    ":snowman:": "雪人",
    ":o:": "圈",
    ":x:": "叉",
    ":grey_question:": "灰色问号",
    ":grey_exclamation:": "灰色感叹号",
    ":telephone:": "电话",
    ":camera:": "相机",
    ":iphone:": "手机",
    ":fax:": "传真机",
    ":computer:": "电脑",
    ":movie_camera:": "摄像机",
    ":microphone:": "麦克风",
    ":gun:": "手枪",
    ":cd:": "光盘",
    ":heartbeat:": "心动",
    ":clubs:": "梅花",
    ":mahjong:": "麻将牌",
    ":part_alternation_mark:": "衣架",
    ":slot_machine:": "投币机",
    ":traffic_light:": "红绿灯",
    ":construction:": "施工",
    ":guitar:": "吉他",
    ":barber:": "理发店",
    ":bath:": "浴缸",
    ":toilet:": "坐便器",
    ":house:": "房子",
    ":church:": "教堂",
    ":bank:": "银行",
    ":hospital:": "医院",
    ":hotel:": "旅店",
    ":atm:": "ATM",
    ":convenience_store:": "便利店",
    ":mens:": "男洗手间",
    ":womens:": "女洗手间",
}


# -- outgoing text -> segments (8.3), shared by every backend -------------------------

Segment = Dict[str, Any]

_BRACKETED = re.compile(r"\[([^\[\]]*)\]")


def text_segment(text: str) -> Segment:
    return {"type": "txt", "content": text}


def append_text(segments: List[Segment], text: str) -> None:
    # Unknown [..] and the text around it are one text run, as the original produced.
    if not text:
        return
    if segments and segments[-1]["type"] == "txt":
        segments[-1]["content"] += text
    else:
        segments.append(text_segment(text))


def face_parse(text: str) -> List[Segment]:
    """Split outgoing text into txt and face segments (8.3).

    Only ``[<face name>]`` is recognised; unknown bracketed text stays text, and emoji
    names are not converted on send.
    """
    segments: List[Segment] = []
    pos = 0
    for m in _BRACKETED.finditer(text):
        face_id = FACE_IDS.get(m.group(1))
        if face_id is None:
            continue
        append_text(segments, text[pos:m.start()])
        segments.append({"type": "face", "id": face_id, "content": "[%s]" % m.group(1)})
        pos = m.end()
    append_text(segments, text[pos:])
    return segments


def replace_comp_sign(text: str) -> str:
    """The outgoing angle-bracket replacement (8.2): ``<`` → ``＜``, ``>`` → ``＞``."""
    return text.replace("<", "\uff1c").replace(">", "\uff1e")
