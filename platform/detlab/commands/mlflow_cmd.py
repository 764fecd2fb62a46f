"""`detlab mlflow serve|sync`: run a local tracking server; send spooled records."""
from __future__ import annotations

import argparse
import signal
import socket
import sys
from pathlib import Path

from detlab.errors import UserError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("mlflow", help="MLflow tracking: serve a local server, sync spooled records")
    sub = p.add_subparsers(dest="mlflow_command", required=True, metavar="ACTION")

    s = sub.add_parser("serve", help="run `mlflow server` (SQLite store, served artifacts) in the foreground")
    s.add_argument("--dir", default="mlflow-server",
                   help="where the store (mlflow.db) and artifacts live (default: ./mlflow-server)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; anything else exposes an unauthenticated server)")
    s.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 picks a free one)")
    s.set_defaults(func=serve)

    y = sub.add_parser("sync", help="send what training left in the MLflow spool (idempotent)")
    y.add_argument("--spool", default=None,
                   help="spool directory (default: $DETLAB_MLFLOW_SPOOL or ~/.cache/detlab/mlflow-spool)")
    y.add_argument("--tracking-uri", default=None,
                   help="send there instead of the URI each run was recorded for")
    y.add_argument("--run", default=None, help="only this run id")
    y.set_defaults(func=sync)


def serve(args: argparse.Namespace) -> int:
    from detlab.tracking.server import MlflowServer, ServerError, is_loopback

    if not is_loopback(args.host):
        print(f"detlab: warning: binding to {args.host}: the MLflow server has no authentication and "
              f"anyone who can reach this address can read and change runs", file=sys.stderr)
    if args.port:
        _check_port_free(args.host, args.port)
    server = MlflowServer(Path(args.dir), host=args.host, port=args.port or None)
    # SIGTERM (e.g. from a supervisor) stops the server group like Ctrl-C does
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.start()
    except ServerError as e:
        raise UserError(str(e).splitlines()[0] + f" (log: {server.log_path})") from e
    print(f"MLflow server at {server.uri}  (store {server.backend_store_uri}, artifacts {server.artifacts_dir})")
    print(f"  use it with: export MLFLOW_TRACKING_URI={server.uri}")
    print("  Ctrl-C stops it", flush=True)
    try:
        code = server.wait()
        raise UserError(f"mlflow server exited with code {code}; see {server.log_path}")
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def sync(args: argparse.Namespace) -> int:
    from detlab.tracking.recorder import default_spool_dir
    from detlab.tracking.sync import sync_spool

    spool = Path(args.spool).expanduser() if args.spool else default_spool_dir()
    if args.spool and not spool.is_dir():
        raise UserError(f"--spool {spool}: no such directory")
    if not spool.exists():  # the default spool appears with the first recorder
        print(f"nothing to sync: {spool} does not exist")
        return 0
    reports = sync_spool(spool, tracking_uri=args.tracking_uri, run_id=args.run)
    if not reports:
        print(f"nothing to sync in {spool}")
        return 0
    for r in reports:
        print(r.line())
    down = [r for r in reports if r.outcome == "unreachable"]
    if down:
        raise UserError(f"MLflow at {down[0].tracking_uri} unreachable; {len(down)} session(s) kept in "
                        f"{spool}; nothing is lost, run `detlab mlflow sync` again when it is back")
    unsafe = [(r, why) for r in reports for why in r.unsafe]
    if unsafe:
        r, why = unsafe[0]
        raise UserError(f"{spool}/{r.run_id}/{r.session}.jsonl: {why} ({len(unsafe)} unsafe entr"
                        f"{'y' if len(unsafe) == 1 else 'ies'} refused; nothing outside the spool was read or written)")
    return 1 if any(r.outcome in ("error", "busy") for r in reports) else 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e} (choose another --port)")
