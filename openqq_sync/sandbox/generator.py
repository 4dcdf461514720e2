"""The seeded world generator: the account, friends, groups with members, discussions.

Everything here is keyed by stable numbers (QQ numbers, group numbers, discussion keys);
the session ids the SmartQQ protocol uses are derived per login in ``world.py``. The same
``(size, seed)`` always yields the same world. Names deliberately contain Chinese, emoji,
spaces and XML-special characters (``<``, ``&``, ``"``), never a single quote (ptlogin
answers quote their fields with it).

Plain data, no I/O; not thread-safe by itself (``SandboxWorld`` guards it with its lock).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple, TypeVar

WORLD_SIZES = ("small", "medium", "large")
# medium sits at a quarter of large, so the login benchmark can tell linear growth from worse.

# Member roles inside a group (ext endpoints) and the account's role per group.
OWNER, ADMIN, MEMBER = "owner", "admin", "member"
ROLE_OF_ACCOUNT = {OWNER: "create", ADMIN: "manage", MEMBER: "attend"}

_SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋"
             "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙"
             "万段雷钱汤尹黎易常武乔贺赖龚文")
_GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉斌宇浩凯健俊帆帅"
          "旭宁龙林欢阳建国晓小云飞雪梅")
_LATIN = ["Tom", "Alice", "Bob", "Kitty", "Leo", "Mia", "Jack", "Lucy", "Perl Monk", "Pythonista", "Neo", "Zoe"]
_EMOJI = ["😀", "🐱", "🌸", "🍵", "🚀", "⭐", "🐼", "🎮", "🍺", "❤️", "🔥", "🌙"]
_TOPICS = ["Perl", "Python", "篮球", "摄影", "读书", "游戏", "旅行", "美食", "骑行", "音乐", "考研", "租房"]
_GROUP_SUFFIX = ["学习交流", "爱好者", "同好会", "群", " 讨论区", "小分队", "俱乐部"]
_CITIES = [("中国", "北京", ""), ("中国", "上海", ""), ("中国", "广东", "深圳"), ("中国", "浙江", "杭州"),
           ("中国", "四川", "成都"), ("", "", "")]

FONT = {"size": 10, "color": "000000", "style": [0, 0, 0], "name": "微软雅黑"}


@dataclass
class Account:
    qq: int
    nick: str
    lnick: str
    gender: str
    face: int
    birthday: Tuple[int, int, int]
    province: str
    city: str


@dataclass
class Friend:
    qq: int
    nick: str
    category: int
    markname: Optional[str] = None
    face: int = 0
    gender: str = "unknown"
    is_vip: int = 0
    vip_level: int = 0
    status: Optional[str] = None      # None = offline (absent from get_online_buddies2)
    client_type: int = 1
    lnick: str = ""


class Member:
    """One group member. Slotted: the large world holds 100,000 of them."""

    __slots__ = ("qq", "nick", "card", "role", "gender", "join_time", "last_speak_time", "stat")

    def __init__(self, qq: int, nick: str, card: Optional[str], role: str, gender: str,
                 join_time: int, last_speak_time: int, stat: int) -> None:
        self.qq = qq
        self.nick = nick
        self.card = card
        self.role = role
        self.gender = gender
        self.join_time = join_time
        self.last_speak_time = last_speak_time
        self.stat = stat


@dataclass
class Group:
    number: int                   # the real group number (API `uid`, ext `gc`)
    serial: int                   # stable small number; ids and codes are derived from it
    name: str
    memo: str
    createtime: int
    members: Dict[int, Member]    # qq -> Member, in join order
    markname: Optional[str] = None
    level: int = 0
    face: int = 0

    @property
    def owner(self) -> int:
        for m in self.members.values():
            if m.role == OWNER:
                return m.qq
        return 0


@dataclass
class Discuss:
    key: str                      # stable key: d1, d2, ...
    serial: int
    name: str
    owner: int
    members: Dict[int, str]       # qq -> nick


@dataclass
class WorldData:
    size: str
    seed: int
    account: Account
    categories: Dict[int, str]    # index -> name (index 0 is the default 我的好友)
    friends: Dict[int, Friend]    # qq -> Friend
    groups: Dict[int, Group]      # group number -> Group
    discusses: Dict[str, Discuss]  # key -> Discuss
    next_serial: Dict[str, int] = field(default_factory=dict)
    _qq_pool: Optional[random.Random] = None

    def new_qq(self) -> int:
        """A QQ number no one in the world has (for contacts added at run time)."""
        rng = self._qq_pool or random.Random("%s-new" % self.seed)
        self._qq_pool = rng
        taken = self.friends.keys() | {self.account.qq}
        while True:
            qq = rng.randrange(100_000_000, 2_000_000_000)
            if qq not in taken and not any(qq in g.members for g in self.groups.values()):
                return qq

    def new_serial(self, kind: str) -> int:
        n = self.next_serial.get(kind, 1)
        self.next_serial[kind] = n + 1
        return n


_T = TypeVar("_T")


class _Names:
    """Name factory over one Random; every pattern avoids single quotes."""

    def __init__(self, rng: random.Random) -> None:
        self.rand = rng.random

    def pick(self, seq: Sequence[_T]) -> _T:  # rng.choice is 3x slower, and the large world picks ~500,000 times
        return seq[int(self.rand() * len(seq))]

    def chinese(self) -> str:
        p = self.pick
        return p(_SURNAMES) + p(_GIVEN) + (p(_GIVEN) if self.rand() < 0.6 else "")

    def nick(self) -> str:
        p = self.pick
        x = self.rand()
        if x < 0.50:
            return self.chinese()
        if x < 0.62:
            return p(_LATIN)
        if x < 0.74:
            return self.chinese() + p(_EMOJI)
        if x < 0.84:
            return "%s %s" % (p(_LATIN), self.chinese())
        if x < 0.89:
            return "%s<%s>" % (self.chinese(), p(_LATIN))
        if x < 0.94:
            return "%s & %s" % (p(_LATIN), self.chinese())
        return '"%s"' % self.chinese()

    def group_name(self) -> str:
        p = self.pick
        x = self.rand()
        base = p(_TOPICS) + p(_GROUP_SUFFIX)
        if x < 0.6:
            return base
        if x < 0.75:
            return base + " " + p(_EMOJI)
        if x < 0.85:
            return "<%s> & 朋友" % p(_TOPICS)
        return '"%s" 群' % base


def generate(size: str = "small", seed: int = 1) -> WorldData:
    """Build the world for ``size`` (``small`` or ``large``) and ``seed``; deterministic.

    The large world (100,000 members) takes about a second: members are slotted objects,
    their nicks and cards come from seeded pools, and every draw uses ``random()`` directly.
    """
    if size not in WORLD_SIZES:
        raise ValueError("unknown world %r (choose from %s)" % (size, ", ".join(WORLD_SIZES)))
    rng = random.Random("openqq-sandbox:%s:%s" % (size, seed))
    R = rng.random
    names = _Names(rng)
    pick = names.pick
    used: Set[int] = set()

    def qq() -> int:
        while True:
            n = 10_000_000 + int(R() * 1_990_000_000)
            if n not in used:
                used.add(n)
                return n

    account = Account(qq=qq(), nick="小灰 Sandbox", lnick="在沙盒里 & 测试 <bot>", gender="male",
                      face=int(R() * 600), birthday=(1990, 1 + int(R() * 12), 1 + int(R() * 28)),
                      province="北京", city="海淀")
    if size == "small":
        categories = {0: "我的好友", 1: "朋友", 2: "同事 & 同学"}
        n_friends, group_sizes, n_discuss, disc_size = 20, [5, 12, 20, 35, 50], 2, (3, 6)
    else:
        categories = {0: "我的好友", 1: "朋友", 2: "同事 & 同学", 3: "家人", 4: "<游戏>", 5: "网友 🌐",
                      6: "客户", 7: "\"黑名单\""}
        if size == "medium":
            n_friends, group_sizes, n_discuss, disc_size = (
                500, _large_group_sizes(rng, n=50, total=25_000), 25, (3, 20))
        else:
            n_friends, group_sizes, n_discuss, disc_size = 2000, _large_group_sizes(rng), 100, (3, 20)
    nick_pool = [names.nick() for _ in range(min(5000, 50 + sum(group_sizes) // 4))]
    card_pool = ["群名片" + names.chinese() for _ in range(len(nick_pool) // 2)]
    genders = ("male", "female", "unknown")

    friends: Dict[int, Friend] = {}
    for _ in range(n_friends):
        f = Friend(qq=qq(), nick=names.nick(), category=int(R() * len(categories)),
                   face=int(R() * 600), gender=pick(genders))
        if R() < 0.3:
            f.markname = "备注" + names.chinese()
        if R() < 0.1:
            f.is_vip, f.vip_level = 1, 1 + int(R() * 7)
        if R() < 0.4:
            f.status = pick(("online", "online", "away", "busy"))
            f.client_type = pick((1, 21, 24, 41))
        f.lnick = pick(("", "今天也要加油", "Hello & <world>"))
        friends[f.qq] = f
    friend_list = list(friends.values())

    groups: Dict[int, Group] = {}
    group_names: Set[str] = set()
    base_time = 1_400_000_000
    stats = (10, 10, 20, 30, 50)
    for serial, n_members in enumerate(group_sizes, start=1):
        number = 100_000 + int(R() * 999_000_000)
        while number in groups:
            number += 1
        # The account's role cycles owner, admin, member, member, ... (owner/admin of some).
        my_role = (OWNER, ADMIN, MEMBER, MEMBER)[(serial - 1) % 4]
        members: Dict[int, Member] = {}
        n_admins = min(3, max(0, n_members // 10))
        roles = [OWNER] + [ADMIN] * n_admins
        me_slot = {OWNER: 0, ADMIN: 1}.get(my_role, len(roles) + int(R() * max(1, n_members - len(roles))))
        for i in range(n_members):
            role = roles[i] if i < len(roles) else MEMBER
            if i == me_slot:
                m_qq, nick, gender = account.qq, account.nick, account.gender
            elif R() < 0.3:
                fr = pick(friend_list)
                if fr.qq in members:
                    m_qq, nick, gender = qq(), pick(nick_pool), "unknown"
                else:
                    m_qq, nick, gender = fr.qq, fr.nick, fr.gender
            else:
                m_qq, nick, gender = qq(), pick(nick_pool), pick(genders)
            members[m_qq] = Member(m_qq, nick, pick(card_pool) if R() < 0.3 else None, role, gender,
                                   base_time + int(R() * 50_000_000), base_time + int(R() * 80_000_000),
                                   pick(stats))
        # Real accounts rarely hold two groups of one name, and the ext list matches groups
        # by name (6.7): a world full of twins would leave most groups without QQ numbers.
        name = names.group_name()
        if name in group_names:
            name = "%s %d" % (name, serial)
        group_names.add(name)
        g = Group(number=number, serial=serial, name=name, memo="群公告: 欢迎 & <新人>",
                  createtime=base_time + int(R() * 10_000_000), members=members, level=int(R() * 6))
        if R() < 0.2:
            g.markname = "我的" + g.name
        groups[number] = g

    discusses: Dict[str, Discuss] = {}
    for serial in range(1, n_discuss + 1):
        key = "d%d" % serial
        people = {account.qq: account.nick}
        for _ in range(disc_size[0] - 1 + int(R() * (disc_size[1] - disc_size[0] + 1))):
            if R() < 0.6:
                fr = pick(friend_list)
                people[fr.qq] = fr.nick
            else:
                people[qq()] = names.nick()
        owner = pick(list(people))
        discusses[key] = Discuss(key=key, serial=serial, name=pick(("周末", "项目", "<聚餐>", "旅行 & 计划"))
                                 + " 讨论组%d" % serial, owner=owner, members=people)

    data = WorldData(size=size, seed=seed, account=account, categories=categories, friends=friends,
                     groups=groups, discusses=discusses)
    data.next_serial = {"group": len(groups) + 1, "discuss": n_discuss + 1}
    return data


def _large_group_sizes(rng: random.Random, n: int = 200, total: int = 100_000,
                       lo: int = 10, hi: int = 2000) -> List[int]:
    """``n`` sizes in ``[lo, hi]`` summing to ``total``; the first is ``hi`` (the big group)."""
    rest = [math.exp(rng.uniform(math.log(lo), math.log(hi))) for _ in range(n - 1)]
    scale = (total - hi) / sum(rest)
    sizes = [hi] + [min(hi, max(lo, int(x * scale))) for x in rest]
    diff = total - sum(sizes)
    i = 1
    while diff:
        step = 1 if diff > 0 else -1
        if lo <= sizes[i] + step <= hi:
            sizes[i] += step
            diff -= step
        i = i % (n - 1) + 1
    return sizes
