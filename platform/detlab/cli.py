"""`detlab` command line: one sub-command module per job, each with `add_parser`."""

from __future__ import annotations

import argparse
import importlib
import sys

from detlab.errors import UserError, os_error_line
from detlab.quiet import silence

# Each module in detlab.commands defines `add_parser(subparsers)`, which registers
# its sub-command and sets `func` (called with the parsed args, returns an exit code).
COMMAND_MODULES = [
    "evaluate",
    "data",
    "mlflow_cmd",
    "train",
    "sweep",
    "ablate",
    "report",
    "test",
    "predict",
    "model",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="detlab", description="Refined-Det experimentation platform: data, evaluation, training, sweeps, reports."
    )
    parser.add_argument(
        "--verbose",
        dest="show_library_noise",
        action="store_true",
        help="also show third-party warnings (torch's CUDA_HOME note, mmcv's v2.0 notice) "
        "that are filtered by default (same as DETLAB_VERBOSE=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"detlab.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    silence(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"detlab: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a read-only output folder: the user's to fix
        line = os_error_line(err)
        if line is None:
            raise
        print(f"detlab: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
