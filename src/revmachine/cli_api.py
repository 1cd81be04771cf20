"""Commands of the HTTP API: `serve`, and `keys create / list / revoke`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from revmachine.cli_support import (
    DbOption,
    WorkspaceOption,
    console,
    err,
    now,
    open_store,
    open_workspace,
)
from revmachine.services.keys import Role

keys_app = typer.Typer(help="API keys: who may call the HTTP API, in which role.")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) over the workspace's store."""
    import uvicorn

    from revmachine.api import create_app

    ws = open_workspace(workspace)
    store = open_store(db)
    app = create_app(store, ws)
    console.print(
        f"revmachine API on http://{host}:{port} (docs at /docs), store {store.dialect}, "
        f"model {ws.version}"
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for (shown in `keys list`).")],
    role: Annotated[Role, typer.Option(help="admin, marketing, sales or executive.")],
    rep: Annotated[
        str | None, typer.Option(help="Sales keys: the rep's email (their leads and queue).")
    ] = None,
    rate: Annotated[
        int | None, typer.Option(help="Requests per minute (default: the server's).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Create a key and print its client id and secret (the secret is shown only now)."""
    from revmachine.services.keys import KeyProblem, create_key

    store = open_store(db)
    try:
        new = create_key(
            store, name=name, role=role, rep_email=rep, rate_per_minute=rate, now=now()
        )
    except KeyProblem as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"client_id: {new.key.client_id}", markup=False, highlight=False)
    console.print(f"secret:    {new.secret}", markup=False, highlight=False)
    err.print(
        "Keep the secret now: it is stored only as a hash. Use it as "
        "'Authorization: Bearer SECRET', or with the client id for a Marketo-style token."
    )


@keys_app.command("list")
def list_command(db: DbOption = None) -> None:
    """Every key, with its role and whether it is revoked (never the secrets)."""
    from revmachine.services.keys import list_keys

    table = Table(title="API keys")
    for column in ("client_id", "name", "role", "rep", "rate/min", "created", "revoked"):
        table.add_column(column)
    for k in list_keys(open_store(db)):
        table.add_row(
            k.client_id,
            k.name,
            k.role.value,
            str(k.rep_id or ""),
            str(k.rate_per_minute or "default"),
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    client_id: Annotated[str, typer.Argument(help="The key's client id.")],
    db: DbOption = None,
) -> None:
    """Revoke a key and every access token it was given."""
    from revmachine.services.keys import revoke_key

    if not revoke_key(open_store(db), client_id, now=now()):
        err.print(f"No live key with client id {client_id!r}")
        raise typer.Exit(1)
    console.print(f"revoked {client_id}")
