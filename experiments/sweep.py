"""Run (or resume) a hyper-parameter sweep of a study spec; a thin wrapper over `detlab sweep`.

    python experiments/sweep.py --study experiments/studies/cla_hrsc_smoke.yaml --synth-images 24
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python experiments/sweep.py --study experiments/studies/cla_hrsc_smoke.yaml --synth-images 24

Run the same command again to continue a sweep whose driver was stopped. See docs/sweeps.md.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from detlab.quiet import silence

    silence(sys.argv[1:] if argv is None else argv)
    from detlab.commands.sweep import DESCRIPTION, add_arguments, run
    from detlab.errors import UserError

    parser = argparse.ArgumentParser(prog="experiments/sweep.py", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as err:
        print(f"sweep: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
