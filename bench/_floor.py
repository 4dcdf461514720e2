"""The floor for read scenarios: a minimal waitress app answering fixed bytes from memory.

``python -m bench._floor PORT MANIFEST [THREADS]`` where MANIFEST is a JSON file
``{"/path?query": "<file with the body>"}``; Content-Type as the API sends it. THREADS
(default 8) is the worker pool, as many threads as the read scenario's clients.
"""

from __future__ import annotations

import json
import sys

import waitress


def make_app(bodies):
    def app(environ, start_response):
        key = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            key += "?" + environ["QUERY_STRING"]
        body = bodies.get(key)
        if body is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/json;charset=UTF-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app


def main() -> None:
    port, manifest = int(sys.argv[1]), sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    with open(manifest) as f:
        paths = json.load(f)
    bodies = {}
    for path, file in paths.items():
        with open(file, "rb") as b:
            bodies[path] = b.read()
    waitress.create_server(make_app(bodies), host="127.0.0.1", port=port, threads=threads).run()


if __name__ == "__main__":
    main()
