"""SmartQQ: the first backend. Everything here speaks SmartQQ's wire; the core never imports it.

* ``transport`` (+ ``routing``): the one HTTP chokepoint, shared cookie jar, routing of
  ``*.qq.com`` to a stand-in server, abort of a held request;
* ``login`` (the steps), ``qrlogin`` (the decision tree of 5.2) and the ``Credentials``;
* ``contacts``, ``ext``: contact fetchers mapped to plain records; kick and shutup;
* ``poll``: one poll2 call classified into items or typed errors;
* ``send``: the send endpoints, sess signatures, the send status table;
* ``codec``, ``hashes``, ``_wire``: pure helpers (no I/O);
* ``backend``: :class:`SmartQQBackend`, the :class:`~openqq_sync.backends.Backend` itself.

Imports ``errors``, ``config``, ``model`` and ``faces`` from the package; never ``web`` or
``sandbox``.
"""

from .backend import SmartQQBackend

__all__ = ["SmartQQBackend"]
