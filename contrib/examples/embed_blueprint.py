"""Mount the Openqq API in an existing Flask app.

The host app keeps its own routes and error pages; the API answers under the prefix you
choose (here ``/qq``: ``/qq/openqq/get_user_info`` ...), with every rule of the standalone
server (403 ``api not found`` for unknown ``/qq/openqq/...`` paths, CORS, JSONP, token).

Run it against a sandbox::

    openqq sandbox --port 9000 &
    python contrib/examples/embed_blueprint.py --server http://127.0.0.1:9000 --port 8000
    curl http://127.0.0.1:8000/                      # the host app
    curl http://127.0.0.1:8000/qq/openqq/get_user_info
"""

from __future__ import annotations

import argparse
import logging

from flask import Flask

from openqq_sync import ApiServer, Client, Config, openqq_blueprint


def build(config: Config, prefix: str = "/qq"):
    """The host app with the API mounted; returns (app, client, blueprint).

    The blueprint connects to the client's signals when it is built, so build it before
    ``client.start()`` to see the login events in check_event and post_api.
    """
    client = Client(config)
    app = Flask(__name__)

    @app.route("/")
    def index():
        return "my existing app"

    bp = openqq_blueprint(client, config)
    app.register_blueprint(bp, url_prefix=prefix)
    return app, client, bp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", help="SmartQQ server (a sandbox URL); default: the real hosts")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--tmpdir", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO)
    kw = {"server": args.server}
    if args.tmpdir:
        kw["tmpdir"] = args.tmpdir
    config = Config(**kw)
    app, client, bp = build(config)
    server = ApiServer(app, host="127.0.0.1", port=args.port, threads=config.threads)
    client.start()
    try:
        server.serve_forever()          # Ctrl-C ends it
    finally:
        client.stop()
        bp.openqq.delivery.stop()


if __name__ == "__main__":
    main()
