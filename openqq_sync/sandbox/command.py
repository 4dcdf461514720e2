"""`openqq sandbox`: placeholder until the sandbox lands (owned by the sandbox area)."""


def add_parser(sub):
    p = sub.add_parser("sandbox", help="run the SmartQQ sandbox server")
    p.set_defaults(func=lambda args: print("sandbox not built yet") or 1)
    return p
