"""`dwconf login ENV` and `dwconf logout ENV`: a user's sign-in to an environment's dual-write
gateway (docs/signin.md). The code to enter and the progress go to stderr; the one line that
says who signed in goes to stdout."""

from __future__ import annotations

import os
from pathlib import Path

import click

from dwconf.cli import boundary, console, params
from dwconf.model.environment import GatewayMethod
from dwconf.planning import load_environment
from dwconf.providers.dynamics import signin
from dwconf.providers.dynamics.settings import Settings, settings_for


def _say(text: str) -> None:
    console.err.print(text, markup=False)


def _settings(root: Path, name: str) -> Settings | None:
    env = load_environment(root, name)
    if env.provider.type != "dynamics":
        console.plain(f"{name}: provider '{env.provider.type}' needs no sign-in.")
        return None
    return settings_for(root, env, os.environ)


def _kept(found: signin.SignedIn) -> str:
    if found.encrypted:
        return f"kept encrypted by the system keyring (marker file {found.cache})"
    return (
        f"kept in {found.cache}, a plain file only you can read (no keyring here; "
        "see docs/signin.md)"
    )


def run_login(*, root: Path, name: str, device_code: bool) -> int:
    settings = _settings(root, name)
    if settings is None:
        return 0
    method = settings.gateway_auth.method
    transport = signin.transport_for(settings)
    try:
        if method is GatewayMethod.USER:
            found = signin.login(settings, os.environ, transport, device_code=device_code, say=_say)
            _say(f"{name}: sign-in {_kept(found)}; each run renews it silently.")
            console.plain(f"{name}: signed in to the gateway as {found.username}")
            return 0
        if method is GatewayMethod.APP_ONLY:
            _say(f"warning: {name} signs in to the gateway as an application (unverified).")
        credential = signin.gateway_credential(settings, os.environ, transport)
        who = signin.token_user(credential.token(settings.gateway_resource))
    finally:
        transport.close()
    _say(f"{name}: method {method.value} signs in on every run; nothing is kept.")
    console.plain(f"{name}: the gateway sign-in works (as {who})")
    return 0


def run_logout(*, root: Path, name: str) -> int:
    settings = _settings(root, name)
    if settings is None:
        return 0
    if settings.gateway_auth.method is not GatewayMethod.USER:
        method = settings.gateway_auth.method.value
        console.plain(f"{name}: method {method} keeps no sign-in; nothing to forget.")
        return 0
    removed = signin.logout(settings, os.environ)
    if removed is None:
        console.plain(f"{name}: nobody was signed in.")
    else:
        console.plain(f"{name}: signed out ({removed} removed).")
    return 0


@click.command("login")
@params.ENV
@click.option(
    "--device-code",
    is_flag=True,
    help="Sign in with a code entered on another device, even where a browser could open.",
)
@click.pass_context
def login_command(ctx: click.Context, env: str, device_code: bool) -> None:
    """Sign in to ENV's dual-write gateway as a user.

    The gateway takes a user's sign-in (the Data Integrator app, as Microsoft's own tool
    does). With gateway_auth method `user` (the default) this signs in once, by a code
    entered at a Microsoft page (printed here) or in the system browser, and keeps the
    sign-in in your cache folder; every later run renews it silently. With another method
    (refresh_token, username_password, token, app_only) it checks that the sign-in works.
    Dataverse keeps its own sign-in (provider.auth). See docs/signin.md.

    \b
    Examples:
      dwconf login test                  browser where there is one, else a device code
      dwconf login prod --device-code    print a code to enter on any device
      dwconf logout prod                 forget the sign-in
    """
    ctx.exit(boundary.run(lambda: run_login(root=ctx.obj, name=env, device_code=device_code)))


@click.command("logout")
@params.ENV
@click.pass_context
def logout_command(ctx: click.Context, env: str) -> None:
    """Forget the gateway sign-in `dwconf login ENV` kept.

    \b
    Examples:
      dwconf logout prod
      dwconf logout test && dwconf login test --device-code   sign in again as someone else
    """
    ctx.exit(boundary.run(lambda: run_logout(root=ctx.obj, name=env)))
