"""`dwconf emulator serve`: the local emulator of the dual-write HTTP surfaces, for tests."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import click

from dwconf.cli import boundary, console
from dwconf.errors import DwconfError

# The emulator's own dependencies: the `emulator` extra (pyproject.toml), not installed by
# a plain `pip install dwconf`.
EMULATOR_MODULES = ("starlette", "uvicorn", "trustme")


@click.group("emulator")
def emulator_group() -> None:
    """A local emulator of Dataverse, the dual-write gateway and Entra (for tests).

    It serves the live environment model over the real paths, bodies and status codes, plus a
    test-only API under /_emulator/ (unprotected: keep it on loopback). See docs/emulator.md.

    \b
    Examples:
      dwconf emulator serve --port 8765
      dwconf emulator serve --port 8765 --data .dwconf/emulator --env-file environments/dev.yaml
    """


@emulator_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the environment files (default: a temporary folder, removed at exit).",
)
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Seed file for new environments (default: the packaged seed).",
)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a generated CA (msal needs https).")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write an environment file pointing at the emulator (implies --tls); an existing "
    "file keeps everything but its provider block.",
)
@click.option(
    "--env",
    "env_name",
    default=None,
    help="An environment to serve besides the configured ones; the one --env-file points "
    "at (and its name in the file)  [default: dev]",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Emulator configuration: environments, clients, token lifetime, throttling.",
)
@click.option(
    "--replay",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Serve a recording made by `dwconf probe ENV --record DIR` (reads only).",
)
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str,
    port: int,
    data: Path | None,
    seed: Path | None,
    tls: bool,
    env_file: Path | None,
    env_name: str | None,
    config_file: Path | None,
    replay: Path | None,
) -> None:
    """Run the emulator until interrupted (Ctrl-C or SIGTERM); prints its URLs on start.

    With --env-file it writes an environment file for it, so `dwconf plan ENV` works at once:
    Dataverse signs in with a client secret, the gateway with a user's name and password,
    from DWCONF_CLIENT_ID, DWCONF_CLIENT_SECRET, DWCONF_GATEWAY_USERNAME and
    DWCONF_GATEWAY_PASSWORD; the emulator accepts what they hold and prints an `export`
    line for each one that is not set (a throw-away value, kept in --data).

    \b
    Examples:
      dwconf emulator serve --port 8765
      dwconf emulator serve --tls --config emulator.yaml --data .dwconf/emulator
      dwconf emulator serve --port 8765 --data .dwconf/emulator --env-file environments/dev.yaml
      dwconf emulator serve --tls --env emu --env-file environments/emu.yaml
      dwconf emulator serve --tls --replay fixtures/prod   # a recorded environment
    """

    def body() -> int:
        missing = [m for m in EMULATOR_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise DwconfError(
                f"the emulator needs {', '.join(missing)} (not installed)",
                "install dwconf with its emulator extra: pip install 'dwconf[emulator]'",
            )
        from dwconf.emulator import config, serve

        if host not in ("127.0.0.1", "localhost", "::1"):
            console.problem(
                f"listening on {host}: the test API under /_emulator/ is unprotected",
                "use the default 127.0.0.1 unless you know why not",
            )
        settings = config.load(config_file)
        if env_name is not None:
            settings = settings.with_environment(env_name)
        wanted = serve.EnvFile(env_file, env_name or "dev") if env_file is not None else None
        if replay is not None:
            settings = replace(settings, replay=replay)
        serve.serve(
            settings,
            host=host,
            port=port,
            data_dir=data,
            seed=seed,
            tls=tls,
            env_file=wanted,
            announce=console.plain,
        )
        return 0

    ctx.exit(boundary.run(body))
