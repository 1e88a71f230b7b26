"""``lipalign doctor [--json]``: check this machine's LipAlign and DaVinci Resolve set-up, each check with its fix.

For the machine where "nothing happens after the click": DaVinci Resolve and its version, LipAlign's entry in
Resolve's Scripts folders, the Python Resolve runs it with, LipAlign's own environment (imports, face model,
decoding), the cache and render folders, and the configuration. Exit code 0 when everything LipAlign needs
passes, 1 when something needed fails (warnings do not count).
"""

from __future__ import annotations

import argparse

from core.commands.common import write_json
from core.doctor import doctor_record, format_checks, run_checks


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check the LipAlign and DaVinci Resolve set-up and say how to fix it",
                            description=__doc__)
    parser.add_argument("--json", action="store_true", help="print a lipalign.doctor/1 JSON record instead of lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checks = run_checks()
    record = doctor_record(checks)
    if args.json:
        write_json("-", record)
    else:
        print(format_checks(checks))
    return 0 if record["ok"] else 1
