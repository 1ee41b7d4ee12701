"""The ``zeebe-affinity`` console script.

Each subcommand lives in its own module under :mod:`zeebe_affinity_sync.commands` and exposes
``configure(parser)`` and ``run(args) -> int``. Only entry points install signal handlers and
configure logging; the library itself never does.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import List, Optional

#: subcommand -> (module, one-line help, extra needed to run it or None)
SUBCOMMANDS = {
    "engine": ("zeebe_affinity_sync.commands.engine", "run the embedded Zeebe engine", None),
    "hub": ("zeebe_affinity_sync.commands.hub", "run the affinity hub under gunicorn", "hub"),
    "demo": ("zeebe_affinity_sync.commands.demo", "run the end-to-end demo", "all"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zeebe-affinity",
        description="Start Zeebe processes from HTTP requests and answer with their outcome.",
    )
    parser.add_argument(
        "--log-level", default="INFO", help="logging level (DEBUG, INFO, WARNING; default INFO)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text, extra) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            sp.set_defaults(_missing=(exc, extra))
            continue
        module.configure(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    missing = getattr(args, "_missing", None)
    if missing is not None:
        exc, extra = missing
        hint = f'pip install "zeebe-affinity-sync[{extra}]"' if extra else "reinstall the package"
        print(f"zeebe-affinity {args.command}: cannot run: {exc}. Install it with: {hint}", file=sys.stderr)
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
