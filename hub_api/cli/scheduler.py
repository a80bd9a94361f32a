"""``axhub scheduler``: the scheduler service (one leader at a time)."""

from __future__ import annotations

import signal
import socket
import threading
from typing import Annotated

import typer

from hub_api.core.config import get_settings
from hub_api.core.db import build_engine
from hub_api.ops.config import get_ops_settings

app = typer.Typer(help="The GPU scheduler service.", no_args_is_help=True)


@app.command("run")
def run(
    once: Annotated[bool, typer.Option(help="Run one pass and exit")] = False,
    ray_address: Annotated[str | None, typer.Option(help="Ray dashboard URL")] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve the scheduler's Prometheus metrics on this port")
    ] = None,
) -> None:
    """Lead (or wait to lead) and schedule queued jobs onto the Ray cluster."""
    from scheduler.executors.ray_jobs import RayJobExecutor
    from scheduler.service.leader import LeaderLock
    from scheduler.service.metrics import PassObserver
    from scheduler.service.runner import SchedulerService

    settings = get_settings()
    if ray_address:
        settings = settings.model_copy(update={"ray_address": ray_address})
    engine = build_engine(settings.database_url)
    observer = PassObserver.from_settings(engine, get_ops_settings(), node_id=socket.gethostname())
    if metrics_port and not once:
        observer.metrics.serve(metrics_port)
    service = SchedulerService(
        engine=engine,
        executor=RayJobExecutor(settings.ray_address),
        settings=settings,
        observer=observer,
    )
    if once:
        report = service.run_pass()
        typer.echo(
            f"started {report.started}, finished {report.finished}, "
            f"preempted {report.preempted}, waiting {report.waiting}"
        )
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    lock = LeaderLock(engine, lock_file=settings.data_dir / "scheduler.lock")
    typer.echo("waiting for leadership…")
    if not lock.acquire(stop=stop):
        return
    typer.echo(f"leading; policy {settings.scheduler_policy}, Ray at {settings.ray_address}")
    try:
        service.run_forever(stop)
    finally:
        lock.release()
