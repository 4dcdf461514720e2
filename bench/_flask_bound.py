"""The bound for the OneBot sends row: the least any Flask route on waitress can cost.

``python -m bench._flask_bound PORT WS_URL``: a bare Flask app (no blueprint, no hooks, no
sender thread) on waitress with its default pool, two routes:

* ``/noop``: answers a fixed JSON object (what a request costs before any send);
* ``/send?user_id=&content=``: one raw ``send_msg`` round trip on one shared WebSocket
  (the floor's text and face), under a lock, then the answer (what a send costs with nothing of ours in it).

The sends row's floor has no HTTP request in it; these two rows show how much of it an HTTP
request through the framework the design fixes (Flask on waitress) takes by itself.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading

import flask
import waitress
from websockets.sync.client import connect


def make_app(ws_url: str) -> flask.Flask:
    app = flask.Flask("bench-flask-bound")
    ws = connect(ws_url, proxy=None, compression=None, max_size=None)
    lock = threading.Lock()
    echoes = itertools.count(1)

    @app.route("/noop")
    def noop() -> flask.Response:
        return flask.jsonify(code=0, status="success")

    @app.route("/send")
    def send() -> flask.Response:
        args = flask.request.args
        with lock:
            echo = str(next(echoes))
            ws.send(json.dumps({"action": "send_msg", "echo": echo, "params": {
                "message_type": "private", "user_id": int(args["user_id"]),
                "message": [{"type": "text", "data": {"text": args["content"]}},
                            {"type": "face", "data": {"id": "14"}}]}}, ensure_ascii=False))
            while True:
                answer = json.loads(ws.recv(10))
                if answer.get("echo") == echo:
                    break
        return flask.jsonify(code=0 if answer.get("status") == "ok" else -1,
                             id=(answer.get("data") or {}).get("message_id"))

    return app


def main() -> None:
    port, ws_url = int(sys.argv[1]), sys.argv[2]
    waitress.create_server(make_app(ws_url), host="127.0.0.1", port=port).run()


if __name__ == "__main__":
    main()
