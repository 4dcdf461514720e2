"""The OneBot actions the backend runs: contact fetches, sends, group admin.

Each function takes ``call`` (a :meth:`Connection.call`, or anything with its signature)
and returns Openqq records or statuses; nothing here keeps state. Thread-safe as ``call``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, List, Sequence, Tuple

from .. import SendResult
from .connection import ActionFailed, ActionTimeout, ConnectionLost
from .mapping import Record, friend_records, group_record, member_record, user_record
from .segments import outgoing

__all__ = [
    "fetch_user",
    "fetch_friends",
    "fetch_groups",
    "fetch_members",
    "send",
    "shutup",
    "kick",
]

log = logging.getLogger(__name__)

Call = Callable[..., Any]

SENT_OK = SendResult(0, "发送成功", "发送正常")
#: No answer in time: the message may be out, so it is final (never sent twice).
FAIL_NO_ANSWER = SendResult(-1, "发送失败", "服务端无响应(可能已发出,不重发)", final=True,
                            session_suspect=True)
#: The connection ended before the frame went out: nothing was sent, a retry is safe.
FAIL_NOT_CONNECTED = SendResult(-1, "发送失败", "未连接到OneBot服务端")
RETCODE_TIMEOUT = 1200


# -- contacts -----------------------------------------------------------------------------
def fetch_user(call: Call) -> Record:
    """The account: ``get_login_info``, its profile (``get_stranger_info``, optional) and
    ``get_status`` (optional; online assumed when the server lacks it)."""
    login = call("get_login_info")
    if not isinstance(login, dict):
        raise ActionFailed("get_login_info", None, "answer without data")
    try:
        profile = call("get_stranger_info", {"user_id": login.get("user_id")})
    except ActionFailed as e:
        log.debug("no profile of the account: %s", e)
        profile = None
    try:
        status = call("get_status")
        online = bool(status.get("online", True)) if isinstance(status, dict) else True
    except ActionFailed:
        online = True
    return user_record(login, profile if isinstance(profile, dict) else None, online)


def fetch_friends(call: Call) -> List[Record]:
    """Friends with their category (``get_friends_with_category``, NapCat and LLBot), or
    without (``get_friend_list``) where the server lacks the extension."""
    try:
        return friend_records(call("get_friends_with_category"))
    except ActionFailed as e:
        log.debug("get_friends_with_category not served (%s): friends without categories", e)
    return friend_records(call("get_friend_list"))


def fetch_groups(call: Call) -> List[Record]:
    """The groups (``get_group_list``), without the account's role and the owner: those
    come with the members (:func:`~.mapping.group_roles`)."""
    return [group_record(g) for g in call("get_group_list") or [] if isinstance(g, dict)]


def fetch_members(call: Call, group_id: Any) -> List[Record]:
    """One group's members (``get_group_member_list``)."""
    answer = call("get_group_member_list", {"group_id": int(group_id)})
    return [member_record(m) for m in answer or [] if isinstance(m, dict)]


# -- sends ----------------------------------------------------------------------------------
def send(call: Call, kind: str, content: str, *, user_id: Any = None,
         group_id: Any = None) -> Tuple[SendResult, Any]:
    """Send ``content`` (Openqq text) as a ``kind`` message: ``(result, message_id)``, the
    server's message id None unless sent. Never raises for the outcome.

    ``friend_message`` -> ``send_private_msg``; ``group_message`` -> ``send_group_msg``;
    ``sess_message`` -> ``send_private_msg`` with the ``group_id`` (a group temporary
    session on NapCat). A failed answer is final with ``code`` = the retcode and the
    server's wording; retcode 1200 (NapCat's "Timeout ... sendMsg", risk control) and a
    missing answer are final too: the message may be out, and resending it could be
    seen twice or get the account restricted. Only a send that never left may be retried.

    :raises ValueError: a kind OneBot cannot send (discussions).
    """
    message = outgoing(content)
    if kind == "group_message":
        action, params = "send_group_msg", {"group_id": int(group_id), "message": message}
    elif kind == "friend_message":
        action, params = "send_private_msg", {"user_id": int(user_id), "message": message}
    elif kind == "sess_message":
        action, params = "send_private_msg", {"user_id": int(user_id), "group_id": int(group_id),
                                              "message": message}
    else:
        raise ValueError(f"OneBot cannot send a {kind}")
    try:
        data = call(action, params)
    except ActionFailed as e:
        wording = e.wording or "服务端拒绝"
        if e.retcode == RETCODE_TIMEOUT:
            wording = "服务端发送超时(可能已发出,不重发): " + wording
        code = e.retcode if isinstance(e.retcode, int) and e.retcode != 0 else -1
        # Timeouts in a row are a sign the account is gone even when the server's status
        # still says online: enough of them make the core reconnect and check (relogin).
        return SendResult(code, "发送失败", wording, final=True,
                          session_suspect=e.retcode == RETCODE_TIMEOUT), None
    except ActionTimeout:
        return FAIL_NO_ANSWER, None
    except ConnectionLost as e:
        # A loss after the frame went out leaves the send unknown: final, like a timeout.
        return (FAIL_NO_ANSWER if e.sent else FAIL_NOT_CONNECTED), None
    return SENT_OK, data.get("message_id") if isinstance(data, dict) else None


# -- group admin ------------------------------------------------------------------------------
def shutup(call: Call, group_id: Any, user_ids: Sequence[Any], seconds: int) -> bool:
    """Mute members for ``seconds`` (``set_group_ban``, one call per member; the duration
    is always passed: NapCat's default is 0, which lifts a ban). True if every call ran."""
    ok = True
    for uid in user_ids:
        try:
            call("set_group_ban", {"group_id": int(group_id), "user_id": int(uid), "duration": int(seconds)})
        except (ActionFailed, ActionTimeout, ConnectionLost) as e:
            log.error("shutup of %s in group %s failed: %s", uid, group_id, e)
            ok = False
    return ok


def kick(call: Call, group_id: Any, user_ids: Sequence[Any]) -> List[Any]:
    """Remove members (``set_group_kick``, not blocking re-joins); returns the ids removed."""
    done = []
    for uid in user_ids:
        try:
            call("set_group_kick", {"group_id": int(group_id), "user_id": int(uid), "reject_add_request": False})
        except (ActionFailed, ActionTimeout, ConnectionLost) as e:
            log.error("kick of %s from group %s failed: %s", uid, group_id, e)
            continue
        done.append(uid)
    return done
