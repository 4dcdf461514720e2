"""Many accounts on one machine: the original's Controller API over one ``openqq run``
process per account (``openqq controller``; docs/controller.md).

``command`` (the CLI and ``serve``), ``app`` (the Flask app), ``supervisor`` (the
processes), ``state`` (the tmpdir files).
"""
