"""``openqq controller``'s options: flags, OPENQQ_* and the config file, as ``openqq run``'s,
split into the controller's own and every client's defaults."""

from __future__ import annotations

import json

import pytest

from openqq_sync.cli import build_parser
from openqq_sync.controller.command import load
from openqq_sync.controller.supervisor import valid_name, with_client


def parse(*argv: str):
    return build_parser().parse_args(["controller", *argv])


def test_defaults_are_the_originals():
    config, own, defaults = load(parse(), env={})
    assert (config.host, config.port, own["max_clients"]) == ("127.0.0.1", 4000, 100)
    assert config.threads == 232                      # two waiting check_events per client, and 32
    assert defaults == {}
    assert load(parse("--threads", "50"), env={})[0].threads == 50


def test_precedence_file_env_flags_and_the_split(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"max_clients": 7, "send-interval": 2, "port": 4100, "server": "http://127.0.0.1:1"}),
                    encoding="utf-8")
    env = {"OPENQQ_CONFIG": str(path), "OPENQQ_MAX_CLIENTS": "8", "OPENQQ_SERVER": "http://127.0.0.1:2",
           "OPENQQ_TOKEN": "t"}
    config, own, defaults = load(parse("--max-clients", "9", "--post-api", "http://127.0.0.1:3/p",
                                       "--log-level", "debug"), env=env)
    assert own["max_clients"] == 9 and config.port == 4100 and config.token == "t"
    assert config.post_api == "http://127.0.0.1:3/p"
    # Every client gets these; the controller's own options are not among them.
    assert defaults == {"send_interval": "2.0", "server": "http://127.0.0.1:2", "log_level": "debug"}
    ini = tmp_path / "c.ini"
    ini.write_text("[openqq]\nmax-clients = 3\nno_such_option = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no_such_option"):
        load(parse("--config", str(ini)), env={})


def test_client_names_and_post_api():
    assert valid_name("alice") and valid_name("测试_1") and valid_name("a.b@c-d")
    for bad in ("", ".hidden", "../x", "a/b", "a b", "x" * 65):
        assert not valid_name(bad)
    assert with_client("http://h/p?a=1&client=old", "bob") == "http://h/p?a=1&client=bob"
    assert with_client("http://h/p", "测试") == "http://h/p?client=%E6%B5%8B%E8%AF%95"


def test_serve_refuses_a_bad_post_api_and_an_open_host(tmp_path, capsys):
    from openqq_sync.controller.command import serve

    config, own, defaults = load(parse("--tmpdir", str(tmp_path), "--post-api", "ftp://x"), env={})
    assert serve(config) == 2 and "--post-api" in capsys.readouterr().err
    config, own, defaults = load(parse("--tmpdir", str(tmp_path), "--host", "0.0.0.0"), env={})
    assert serve(config) == 2 and "without a token" in capsys.readouterr().err
