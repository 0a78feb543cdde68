"""`dwconf emulator serve --env-file PATH --env NAME`: an environment file that points at the
running emulator, so `dwconf plan NAME` works at once (docs/emulator.md).

The file signs in without a person: an application for Dataverse (client secret) and a user
for the gateway (name and password), named by the variables `CREDENTIAL_VARIABLES`. The
emulator accepts whatever those variables hold; a variable that is not set gets a generated
value, kept in the data folder (mode 0600) so a restart keeps it, and printed as an `export`
line — throw-away credentials of a test server, never a real secret.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dwconf.emulator.config import (
    PASSWORD_VARIABLE,
    USERNAME_VARIABLE,
    Client,
    EmulatorConfig,
    User,
)
from dwconf.errors import DwconfError

CLIENT_ID_VARIABLE, SECRET_VARIABLE = "DWCONF_CLIENT_ID", "DWCONF_CLIENT_SECRET"
CREDENTIAL_VARIABLES = (CLIENT_ID_VARIABLE, SECRET_VARIABLE, USERNAME_VARIABLE, PASSWORD_VARIABLE)
KEPT_FILE = "emulator-credentials.json"  # generated values, private
STAGES = ("dev", "test", "prod")


@dataclass(frozen=True)
class Credentials:
    """The values of `CREDENTIAL_VARIABLES` the emulator accepts; `generated` names those
    dwconf made up (and prints), the others came from the environment."""

    values: dict[str, str]
    generated: tuple[str, ...]

    def exports(self) -> list[str]:
        return [f"export {n}={shlex.quote(self.values[n])}" for n in self.generated]


def _generate(name: str) -> str:
    if name == CLIENT_ID_VARIABLE:
        return str(uuid.uuid4())
    if name == USERNAME_VARIABLE:
        return "dual-write-admin@emulator.test"
    return secrets.token_urlsafe(24)


def _kept(folder: Path) -> dict[str, str]:
    try:
        found = json.loads((folder / KEPT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: str(v) for k, v in found.items() if k in CREDENTIAL_VARIABLES and v}


def credentials(environ: Mapping[str, str], folder: Path) -> Credentials:
    """The variables' values, else those generated before in `folder`, else new ones."""
    kept = _kept(folder)
    values: dict[str, str] = {}
    generated: list[str] = []
    for name in CREDENTIAL_VARIABLES:
        if environ.get(name):
            values[name] = environ[name]
            continue
        values[name] = kept.get(name) or _generate(name)
        generated.append(name)
    if generated:
        path = folder / KEPT_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({n: values[n] for n in generated}, out)
        os.chmod(path, 0o600)
    return Credentials(values, tuple(generated))


def accepting(config: EmulatorConfig, env: str, found: Credentials) -> EmulatorConfig:
    """`config` that also knows `env` (added when it has no environments file of its own)
    and accepts `found`'s application and user."""
    values = found.values
    client = Client(values[CLIENT_ID_VARIABLE], values[SECRET_VARIABLE])
    user = User(values[USERNAME_VARIABLE], values[PASSWORD_VARIABLE])
    return replace(
        config.with_environment(env),
        clients=(*config.clients, client),
        users=(*config.users, user),
    )


def _ca_path(ca_file: Path, env_file: Path) -> str:
    """The CA file relative to the repository when the environment file is in its
    `environments/` folder (dwconf reads `ca_file` relative to the repository), else absolute."""
    folder = env_file.resolve().parent
    if folder.name == "environments":
        try:
            return ca_file.resolve().relative_to(folder.parent).as_posix()
        except ValueError:
            pass
    return str(ca_file.resolve())


def provider(base_url: str, tenant: str, finops_host: str, env: str) -> dict[str, Any]:
    """The `provider:` block for the emulator's environment `env` (`write` adds `ca_file`)."""
    return {
        "type": "dynamics",
        "dataverse_url": f"{base_url}/env/{env}/dataverse",
        "gateway_url": f"{base_url}/env/{env}/gateway",
        "finops_url": f"https://{finops_host}",
        "authority": base_url,
        "tenant_id": tenant,
        "auth": {
            "method": "client_secret",
            "client_id_env": CLIENT_ID_VARIABLE,
            "client_secret_env": SECRET_VARIABLE,
        },
        "gateway_auth": {
            "method": "username_password",
            "username_env": USERNAME_VARIABLE,
            "password_env": PASSWORD_VARIABLE,
        },
    }


# A new file runs no solution, so `dwconf plan` has nothing to do until it names one.
NEW_FILE_TAIL = """\
# The dwconf solutions this environment runs (folders under solutions/) and the companies it
# links, as in your other environment files; until then `dwconf plan` has nothing to do:
# solutions:
#   my-solution: workspace
# link:
#   legal_entities: [USMF]
"""


def write(path: Path, env: str, block: Mapping[str, Any], ca_file: Path) -> None:
    """A new environment file, or an existing one with its `provider:` block replaced."""
    from dwconf.gitops.yamledit import replace_key
    from dwconf.package.yamlout import document
    from dwconf.yaml import load_plain

    at = list(block).index("tenant_id") + 1
    items = list(block.items())
    block = dict([*items[:at], ("ca_file", _ca_path(ca_file, path)), *items[at:]])
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DwconfError(f"cannot read {path}: {exc.strerror}") from exc
        current = load_plain(text)
        if isinstance(current, dict) and current.get("provider") == block:
            return  # already pointing here (a restart on the same port): left as it is
        written = replace_key(text, "provider", block, name=str(path))
    else:
        stage = env if env in STAGES else "dev"
        written = document({"name": env, "stage": stage, "provider": block}) + NEW_FILE_TAIL
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(written, encoding="utf-8")
    except OSError as exc:
        raise DwconfError(f"cannot write {path}: {exc.strerror}") from exc
