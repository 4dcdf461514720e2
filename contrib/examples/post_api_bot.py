"""A post_api receiver that answers: the bot behind ``openqq run --post-api URL``.

* a friend (or temporary) message ``ping`` is answered ``pong``; any other friend message
  gets ``收到: <text>``;
* a group message containing ``禁言我`` mutes its sender for 60 seconds (``shutup``);
* everything else is answered with an empty body (no reply).

With ``--secret`` it checks ``X-Openqq-Signature-256`` (timestamped, replays older than
five minutes refused) and answers 401 to unsigned or forged posts::

    python contrib/examples/post_api_bot.py --port 8080 --secret s3cret &
    openqq demo --post-api http://127.0.0.1:8080/post --post-secret s3cret
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import time
from typing import Any, Dict, Optional

from flask import Flask, Response, jsonify, request

MAX_AGE = 300


def verify(secret: str, body: bytes, timestamp: Optional[str], signature: Optional[str],
           now: Optional[float] = None) -> bool:
    """True when ``signature`` is ``sha256=HMAC(secret, "<timestamp>.<body>")`` and recent."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((now or time.time()) - int(timestamp)) > MAX_AGE:
        return False
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), signature)


def answer(post: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The bot's decision for one report (None = no reply)."""
    if post.get("post_type") != "receive_message":
        return None
    text = str(post.get("content") or "")
    kind = post.get("type")
    if kind in ("friend_message", "sess_message"):
        return {"reply": "pong" if text.strip() == "ping" else f"收到: {text}"}
    if kind == "group_message" and "禁言我" in text:
        return {"reply": "好的, 安静 60 秒", "shutup": 1, "shutup_time": 60}
    return None


def create_bot_app(secret: Optional[str] = None) -> Flask:
    app = Flask(__name__)
    app.config["received"] = []          # what arrived (tests and curious users)

    @app.post("/post")
    def post() -> Response:
        body = request.get_data()
        if secret and not verify(secret, body, request.headers.get("X-Openqq-Timestamp"),
                                 request.headers.get("X-Openqq-Signature-256")):
            return Response("bad signature", status=401)
        data = request.get_json(silent=True) or {}
        app.config["received"].append(data)
        decision = answer(data)
        return jsonify(decision) if decision else Response("", status=200)

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--secret")
    args = ap.parse_args()
    from waitress import serve
    serve(create_bot_app(args.secret), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
