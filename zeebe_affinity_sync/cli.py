"""The ``zeebe-affinity`` console script.

Each subcommand lives in its own module under :mod:`zeebe_affinity_sync.commands` and exposes
``configure(parser)`` and ``run(args) -> int``. Those modules import only the core install at
module level and their extras (Flask, gunicorn...) inside ``run``, so building the parser (and
``zeebe-affinity engine``, which needs no extra) works on a core install. Before a subcommand runs,
the modules its extra provides are looked up (without importing them); a missing one gets an
install hint instead of a traceback.

Only entry points install signal handlers and configure logging; the library itself never does.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from typing import Dict, List, Optional, Tuple


class Subcommand:
    """One subcommand: its module, its help line, and the extra it needs (if any).

    Args:
        module: Dotted module with ``configure(parser)`` and ``run(args) -> int``.
        help_text: One-line help.
        extra: The ``pip install "zeebe-affinity-sync[<extra>]"`` that provides ``requires``.
        requires: Top-level modules ``run`` imports from that extra.
    """

    def __init__(self, module: str, help_text: str, extra: Optional[str] = None,
                 requires: Tuple[str, ...] = ()) -> None:
        self.module = module
        self.help_text = help_text
        self.extra = extra
        self.requires = requires

    def missing(self) -> List[str]:
        """The required modules that are not installed."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]


#: the hub's extra, by top-level module name (see setup.cfg)
_HUB_MODULES = ("flask", "flask_sock", "simple_websocket", "gunicorn", "prometheus_client")

SUBCOMMANDS: Dict[str, Subcommand] = {
    "engine": Subcommand("zeebe_affinity_sync.commands.engine", "run the embedded Zeebe engine"),
    "hub": Subcommand("zeebe_affinity_sync.commands.hub", "run the affinity hub under gunicorn",
                      "hub", _HUB_MODULES),
    "demo": Subcommand("zeebe_affinity_sync.commands.demo", "run the end-to-end demo",
                       "all", _HUB_MODULES),
}


def install_hint(command: str, subcommand: Subcommand, missing: List[str]) -> str:
    """What to print when ``command`` cannot run because ``missing`` modules are not installed."""
    extra = subcommand.extra or "all"
    return (
        f"zeebe-affinity {command}: cannot run: {', '.join(missing)} not installed. "
        f'Install it with: pip install "zeebe-affinity-sync[{extra}]"'
    )


LOG_LEVEL_HELP = "logging level: DEBUG, INFO, WARNING or ERROR (default INFO)"


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        raise argparse.ArgumentTypeError(f"{text!r} is not a logging level: use DEBUG, INFO, WARNING or ERROR")
    return level


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zeebe-affinity",
        description="Start Zeebe processes from HTTP requests and answer with their outcome.",
    )
    parser.add_argument("--log-level", default="INFO", type=_log_level, help=LOG_LEVEL_HELP)
    # Also accepted after the subcommand (``zeebe-affinity hub --log-level DEBUG``): SUPPRESS
    # leaves the top-level value alone unless the subcommand's own flag is given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=argparse.SUPPRESS, type=_log_level, help=LOG_LEVEL_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, spec in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=spec.help_text, description=spec.help_text, parents=[common])
        module = importlib.import_module(spec.module)  # core imports only: never fails on extras
        module.configure(sp)
        sp.set_defaults(_run=module.run, _spec=spec)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    missing = args._spec.missing()
    if missing:
        print(install_hint(args.command, args._spec, missing), file=sys.stderr)
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
