"""SmartQQ over ``requests``: everything that speaks the wire, nothing that runs threads.

* ``transport`` (+ ``routing``): the one HTTP chokepoint, shared cookie jar, routing of
  ``*.qq.com`` to a stand-in server, abort of a held request;
* ``login``: the login steps and the ``Credentials`` snapshot;
* ``contacts``, ``ext``: contact fetchers mapped to plain records; kick and shutup;
* ``poll``: one poll2 call classified into items or typed errors;
* ``send``: the send endpoints, sess signatures, the send status table;
* ``codec``, ``hashes``, ``errors``: pure helpers (no I/O).

Imports ``errors``, ``config`` and ``faces`` from the package; never ``web`` or ``sandbox``.
"""
