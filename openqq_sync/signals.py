"""The client's blinker signals, named exactly as the original's events.

Every signal is sent with the owning :class:`~openqq_sync.client.Client` as sender, so a
receiver can listen to one account only with ``signal.connect(fn, sender=client)``.
Receivers run on the emitting thread (usually the protocol thread): they must enqueue and
return, never do network I/O (see DESIGN.md).
"""

from blinker import Namespace

_signals = Namespace()

state_change = _signals.signal("state_change", doc="kwargs: old (str), new (str)")
login = _signals.signal("login", doc="kwargs: is_scan (int: 1 after a QR scan, 0 restored from cookies)")
stop = _signals.signal("stop", doc="no kwargs; the client has stopped")
relogin = _signals.signal("relogin", doc="no kwargs; a relogin completed")
input_qrcode = _signals.signal("input_qrcode", doc="kwargs: path (str), data (bytes, PNG)")
qrcode_expire = _signals.signal("qrcode_expire", doc="kwargs: count (int)")
receive_message = _signals.signal("receive_message", doc="kwargs: msg (Message, class recv)")
send_message = _signals.signal("send_message", doc="kwargs: msg (Message, class send, completed)")

new_friend = _signals.signal("new_friend", doc="kwargs: friend")
lose_friend = _signals.signal("lose_friend", doc="kwargs: friend")
new_group = _signals.signal("new_group", doc="kwargs: group")
lose_group = _signals.signal("lose_group", doc="kwargs: group")
new_group_member = _signals.signal("new_group_member", doc="kwargs: member, group")
lose_group_member = _signals.signal("lose_group_member", doc="kwargs: member, group")
new_discuss = _signals.signal("new_discuss", doc="kwargs: discuss")
lose_discuss = _signals.signal("lose_discuss", doc="kwargs: discuss")
new_discuss_member = _signals.signal("new_discuss_member", doc="kwargs: member, discuss")
lose_discuss_member = _signals.signal("lose_discuss_member", doc="kwargs: member, discuss")

_PROPERTY_DOC = "kwargs: obj, property (str), old, new"
friend_property_change = _signals.signal("friend_property_change", doc=_PROPERTY_DOC)
group_property_change = _signals.signal("group_property_change", doc=_PROPERTY_DOC)
group_member_property_change = _signals.signal("group_member_property_change", doc=_PROPERTY_DOC)
discuss_property_change = _signals.signal("discuss_property_change", doc=_PROPERTY_DOC)
discuss_member_property_change = _signals.signal("discuss_member_property_change", doc=_PROPERTY_DOC)
user_property_change = _signals.signal("user_property_change", doc=_PROPERTY_DOC)

#: Contact-diff events, in the order DESIGN.md lists them; delivery code iterates this.
CONTACT_EVENTS = (
    new_friend, lose_friend, new_group, lose_group, new_group_member, lose_group_member,
    new_discuss, lose_discuss, new_discuss_member, lose_discuss_member,
    friend_property_change, group_property_change, group_member_property_change,
    discuss_property_change, discuss_member_property_change, user_property_change,
)
