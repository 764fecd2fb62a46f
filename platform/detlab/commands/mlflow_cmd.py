"""`detlab mlflow serve|ui|sync|status`: run a local tracking server or the UI over a local store;
send spooled records and list the runs that have some."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from detlab.errors import UserError
from detlab.foreground import serve_until_stopped, stop_on_sigterm


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("mlflow", help="MLflow tracking: serve a server or the UI, sync spooled records")
    sub = p.add_subparsers(dest="mlflow_command", required=True, metavar="ACTION")

    s = sub.add_parser("serve", help="run `mlflow server` (SQLite store, served artifacts) in the foreground")
    s.add_argument(
        "--dir",
        default="mlflow-server",
        help="where the store (mlflow.db) and artifacts live (default: ./mlflow-server)",
    )
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; anything else exposes an unauthenticated server)",
    )
    s.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 picks a free one)")
    s.set_defaults(func=serve)

    u = sub.add_parser(
        "ui", help="open MLflow's UI over a local store (127.0.0.1) and print the link to the latest runs"
    )
    u.add_argument(
        "--store", default=None, help="tracking store (default: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)"
    )
    u.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    u.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 picks a free one)")
    u.add_argument("--experiment", default=None, help="link to this experiment (default: the latest run's)")
    u.set_defaults(func=ui)

    y = sub.add_parser("sync", help="send what training left in the MLflow spools (idempotent)")
    y.add_argument(
        "--spool",
        default=None,
        help="spool directory (default: every spool of this machine: $DETLAB_MLFLOW_SPOOL or "
        "~/.cache/detlab/mlflow-spool, and those in run folders under the default train "
        "and sweep storage)",
    )
    y.add_argument("--tracking-uri", default=None, help="send there instead of the URI each run was recorded for")
    y.add_argument("--run", default=None, help="only this run id")
    y.set_defaults(func=sync)

    t = sub.add_parser("status", help="list the runs whose records are not yet delivered to MLflow")
    t.add_argument("--spool", default=None, help="only this spool directory (default: every spool, as sync)")
    t.set_defaults(func=status)


def serve(args: argparse.Namespace) -> int:
    from detlab.tracking.server import MlflowServer, is_loopback

    if not is_loopback(args.host):
        print(
            f"detlab: warning: binding to {args.host}: the MLflow server has no authentication and "
            f"anyone who can reach this address can read and change runs",
            file=sys.stderr,
        )
    if args.port:
        _check_port_free(args.host, args.port)
    server = MlflowServer(Path(args.dir), host=args.host, port=args.port or None)
    _start(server)

    def announce() -> None:
        print(f"MLflow server at {server.uri}  (store {server.backend_store_uri}, artifacts {server.artifacts_dir})")
        print(f"  use it with: export MLFLOW_TRACKING_URI={server.uri}")
        print("  Ctrl-C stops it", flush=True)

    return serve_until_stopped(server, announce, f"mlflow server exited; see {server.log_path}")


def _spools(args: argparse.Namespace) -> list[Path]:
    """--spool, or every spool of this machine (tracking/spools.py)."""
    from detlab.tracking.spools import all_spools

    if args.spool:
        spool = Path(args.spool).expanduser()
        if not spool.is_dir():
            raise UserError(f"--spool {spool}: no such directory")
        return [spool]
    return all_spools()


def sync(args: argparse.Namespace) -> int:
    from detlab.tracking.recorder import default_spool_dir
    from detlab.tracking.sync import sync_spool

    spools = _spools(args)
    if not spools:  # the default spool appears with the first recorder
        print(
            f"nothing to sync: no spool found ({default_spool_dir()} does not exist, and no run "
            f"folder under the default train and sweep storage has one)"
        )
        return 0
    reports = []
    for spool in spools:
        found = sync_spool(spool, tracking_uri=args.tracking_uri, run_id=args.run)
        for r in found:
            print(f"{r.line()}  [{spool}]")
        reports += [(spool, r) for r in found]
    if not reports:
        print(f"nothing to sync in {', '.join(map(str, spools))}")
        return 0
    sent = [r for _, r in reports if r.outcome == "sent"]
    print(
        f"sent {sum(r.sent_ops for r in sent)} records ({sum(r.metric_points for r in sent)} metric points) "
        f"of {len({r.run_id for r in sent})} run(s)"
    )
    down = [(spool, r) for spool, r in reports if r.outcome == "unreachable"]
    if down:
        raise UserError(
            f"MLflow at {down[0][1].tracking_uri} unreachable; {len(down)} session(s) kept in "
            f"{down[0][0]}; nothing is lost, run `detlab mlflow sync` again when it is back"
        )
    unsafe = [(spool, r, why) for spool, r in reports for why in r.unsafe]
    if unsafe:
        spool, r, why = unsafe[0]
        raise UserError(
            f"{spool}/{r.run_id}/{r.session}.jsonl: {why} ({len(unsafe)} unsafe entr"
            f"{'y' if len(unsafe) == 1 else 'ies'} refused; nothing outside the spool was read or written)"
        )
    return 1 if any(r.outcome in ("error", "busy") for _, r in reports) else 0


def status(args: argparse.Namespace) -> int:
    from detlab.tracking.spools import pending_runs

    spools = _spools(args)
    runs = pending_runs(spools)
    if not runs:
        where = ", ".join(map(str, spools)) or "no spool exists yet"
        print(f"every record is delivered ({where})")
        return 0
    for run in runs:
        print(run.line())
    print(f"{len(runs)} run(s) with undelivered records; send them with: detlab mlflow sync")
    return 0


def ui(args: argparse.Namespace) -> int:
    """`mlflow server` over the local store on 127.0.0.1, then the link to the latest runs."""
    from detlab.tracking.links import ui_base
    from detlab.tracking.server import MlflowServer, is_loopback
    from detlab.tracking.uri import is_local_store, resolve_tracking_uri

    store = resolve_tracking_uri(args.store)
    if not is_local_store(store):
        raise UserError(f"--store {store}: a tracking server has its own UI; open {store} in a browser")
    if store.startswith("sqlite:///") and not Path(store[len("sqlite:///") :]).is_file():
        raise UserError(f"--store {store}: no such database (train or sweep first, or give --store)")
    if not is_loopback(args.host):
        print(f"detlab: warning: binding to {args.host}: the MLflow UI has no authentication", file=sys.stderr)
    if args.port:
        _check_port_free(args.host, args.port)
    root = (
        Path(store[len("sqlite:///") :]).parent / "mlflow-ui"
        if store.startswith("sqlite:///")
        else Path.cwd() / "mlflow-ui"
    )
    server = MlflowServer(root, host=args.host, port=args.port or None, backend_store_uri=store)
    _start(server)

    def announce() -> None:
        print(f"MLflow UI at {server.uri}  (store {store}; Ctrl-C stops it)")
        print(_latest_links(store, ui_base(server.uri), args.experiment), flush=True)

    return serve_until_stopped(server, announce, f"mlflow ui exited; see {server.log_path}")


def _latest_links(store: str, base: str, experiment: str | None) -> str:
    """The runs table (and top-level run) of ``experiment``, else of the latest run's experiment."""
    from detlab.tracking.client import make_client
    from detlab.tracking.links import run_links, runs_table_url

    client = make_client(store)
    if experiment:
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise UserError(f"--experiment {experiment!r}: no such experiment in {store}")
        ids = [exp.experiment_id]
    else:
        ids = [e.experiment_id for e in client.search_experiments()]
    runs = (
        client.search_runs(ids, filter_string="", order_by=["attributes.start_time DESC"], max_results=50)
        if ids
        else []
    )
    top = next((r for r in runs if "mlflow.parentRunId" not in r.data.tags), runs[0] if runs else None)
    if top is None:
        return f"  no runs yet: {runs_table_url(base, ids[0])}" if ids else "  no experiments yet"
    table, run = run_links(store, top.info.run_id, local_ui=base, keep_view=True)
    return f"  runs table: {table}\n  latest run: {run} ({top.info.run_name})"


def _start(server) -> None:
    """Start ``server`` (Ctrl-C and SIGTERM stop it); a failure is one line naming its log."""
    from detlab.tracking.server import ServerError

    stop_on_sigterm()
    try:
        server.start()
    except ServerError as e:
        raise UserError(str(e).splitlines()[0] + f" (log: {server.log_path})") from e


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e} (choose another --port)") from None
