"""``StubClient`` stands in for ``Client`` in the API and delivery tests: it offers nothing a
real Client lacks (its two recorders aside) and with the same kinds of values, so production
code never needs a fallback for it."""

from __future__ import annotations

import inspect

from openqq_sync import Client, Config
from openqq_sync.client.contacts import ContactStore
from stacks import StubClient

RECORDERS = {"stopped", "relogins"}


def test_stub_client_offers_only_what_a_real_client_offers(tmp_path):
    stub = StubClient()
    real = Client(Config(tmpdir=str(tmp_path), show_qrcode=False))
    public = {n for n in dir(stub) if not n.startswith("_")} - RECORDERS
    assert public - set(dir(real)) == set()
    assert isinstance(stub.contacts, ContactStore) and isinstance(real.contacts, ContactStore)
    assert stub.state == real.state == "init" and type(stub.state) is type(real.state)
    assert stub.qrcode is real.qrcode is None and stub.user is real.user is None
    assert isinstance(stub.pid, int) and isinstance(real.pid, int)
    for name in public:
        if callable(getattr(stub, name)):
            stub_params = list(inspect.signature(getattr(stub, name)).parameters)
            real_params = list(inspect.signature(getattr(real, name)).parameters)
            assert stub_params == real_params, name
