"""Environment rules: stages, promotion order, legal-entity limits, state overrides, pins,
sign-in settings, and secrets that must never be written in YAML."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path as FilePath
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from dwconf.diagnostics import Diagnostic, error, warning
from dwconf.git import Releases, release_tag
from dwconf.load.project import EnvSpec, Project, SolutionSpec
from dwconf.model.common import FOUR_PART
from dwconf.model.environment import AuthMethod, GatewayMethod, legal_entity_problem
from dwconf.redact import looks_generated
from dwconf.yaml import YamlPath

MAX_LEGAL_ENTITIES = 250
MAX_INITIAL_SYNC_LEGAL_ENTITIES = 40
ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def looks_secret(text: str) -> bool:
    """A JWT, or a long token-like string mixing letters, digits and symbols."""
    if JWT.search(text):
        return True
    if len(text) < 24 or " " in text or "://" in text or "@" in text:
        return False
    classes = sum(bool(re.search(p, text)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[~_.\-+/=]"))
    return classes >= 3 and not ENV_VAR.match(text)


def stages(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2801/DW2802: stage is one of the project's stages; promote_from an earlier one."""
    order = project.settings.stages
    m = env.model
    if m.stage not in order:
        yield error(
            "DW2801",
            f"stage '{m.stage}' is not one of the stages in dwconf.yaml ({', '.join(order)})",
            env.doc.span(("stage",)),
            "use one of the stages, or add it to stages: in dwconf.yaml",
        )
        return
    if m.promote_from is None:
        return
    if m.promote_from not in order or order.index(m.promote_from) >= order.index(m.stage):
        earlier = ", ".join(order[: order.index(m.stage)]) or "none"
        yield error(
            "DW2802",
            f"promote_from '{m.promote_from}' is not a stage before '{m.stage}'",
            env.doc.span(("promote_from",)),
            f"use an earlier stage ({earlier})",
        )


def file_name(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2811: environments/<name>.yaml holds the environment called <name>."""
    stem = PurePosixPath(env.doc.path).stem
    if stem != env.model.name:
        yield error(
            "DW2811",
            f"the environment in {env.doc.path} is named '{env.model.name}'",
            env.doc.span(("name",)),
            f"rename the file to environments/{env.model.name}.yaml, or set name: {stem}",
        )


def legal_entities(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2803/DW2804/DW2812/DW2819: legal-entity limits, duplicates and company IDs."""
    codes = env.model.link.legal_entities
    if len(codes) > MAX_LEGAL_ENTITIES:
        yield error(
            "DW2803",
            f"{len(codes)} legal entities linked; dual-write supports at most {MAX_LEGAL_ENTITIES}",
            env.doc.span(("link", "legal_entities")),
            "link fewer legal entities",
        )
    elif len(codes) > MAX_INITIAL_SYNC_LEGAL_ENTITIES and env.model.maps.initial_sync == "run":
        yield warning(
            "DW2804",
            f"{len(codes)} legal entities with initial sync; initial sync supports "
            f"{MAX_INITIAL_SYNC_LEGAL_ENTITIES}",
            env.doc.span(("link", "legal_entities")),
            "set maps.initial_sync: skip, or link 40 or fewer before the first run",
        )
    seen: set[str] = set()
    for k, code in enumerate(codes):
        problem = legal_entity_problem(code)
        if problem is not None:
            yield error(
                "DW2819", problem[0], env.doc.span(("link", "legal_entities", k)), problem[1]
            )
        elif code.upper() in seen:
            yield error(
                "DW2812",
                f"legal entity '{code}' is listed twice",
                env.doc.span(("link", "legal_entities", k)),
                "list each legal entity once",
            )
        seen.add(code.upper())


def pins(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2806/DW2807/DW2808/DW2814: pins name solutions, hold versions that were released, and
    pin dependencies too."""
    pinned = env.model.solutions
    releases = project.releases
    for folder, version in pinned.items():
        spec = project.solutions.get(folder)
        if spec is None:
            known = ", ".join(sorted(project.solutions)) or "none"
            yield error(
                "DW2806",
                f"'{folder}' is not a solution folder under solutions/",
                env.doc.span(("solutions", folder), key=True),
                f"pin one of: {known}",
            )
            continue
        if version != "workspace" and not FOUR_PART.match(str(version)):
            yield error(
                "DW2807",
                f"pin '{version}' for '{folder}' is neither a four-part version nor 'workspace'",
                env.doc.span(("solutions", folder)),
                "pin a released version such as 1.0.0.0, or 'workspace' for the working tree",
            )
        elif version != "workspace" and releases is not None:
            yield from _released(env, spec, str(version), releases)
        for dep in spec.model.depends_on if spec.model else []:
            if dep not in pinned:
                yield error(
                    "DW2808",
                    f"'{folder}' depends on '{dep}', which this environment does not pin",
                    env.doc.span(("solutions", folder), key=True),
                    f"add '{dep}' under solutions:",
                )


def _released(
    env: EnvSpec, spec: SolutionSpec, version: str, releases: Releases
) -> Iterator[Diagnostic]:
    """DW2814: a version pin names a release tag whose solution.yaml holds that version."""
    folder = spec.folder
    tag = release_tag(folder, version)
    where = env.doc.span(("solutions", folder))
    if not releases.in_git:
        yield error(
            "DW2814",
            f"pin {version} for '{folder}' reads the git tag {tag}, but the configuration is "
            "not in a git repository",
            where,
            "run dwconf in a clone of the repository, or pin 'workspace'",
        )
        return
    if spec.release is None:
        released = ", ".join(releases.versions(folder)) or "none yet"
        yield error(
            "DW2814",
            f"'{folder}' has no release {version} (no git tag {tag}); released: {released}",
            where,
            f"pin a released version, or release this one: dwconf release {folder}",
        )
    elif spec.model is not None and spec.model.version != version:
        yield error(
            "DW2814",
            f"the tag {tag} holds '{folder}' version {spec.model.version} in its solution.yaml, "
            f"not {version}",
            where,
            f"release tags are made by dwconf release; delete the tag (git tag -d {tag}) and "
            f"release {folder} again",
        )


def state_overrides(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2805: per-map state overrides name maps of the pinned solutions."""
    pinned = set(env.model.solutions)
    names = {m.model.name for m in project.maps() if m.solution in pinned}
    for name in env.model.maps.state:
        if name not in names:
            yield error(
                "DW2805",
                f"maps.state names '{name}', which no pinned solution contains",
                env.doc.span(("maps", "state", name), key=True),
                "use the exact name of a map in a pinned solution",
            )


def provider(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2813: a dynamics provider needs its URLs, tenant and credentials' variable names."""
    p = env.model.provider
    if p.type != "dynamics":
        return
    required = {
        "dataverse_url": p.dataverse_url,
        "gateway_url": p.gateway_url,
        "tenant_id": p.tenant_id,
    }
    for key, value in required.items():
        if not value:
            yield error(
                "DW2813",
                f"provider type dynamics needs '{key}'",
                env.doc.span(("provider",), key=True),
                f"add provider.{key}",
            )


def sign_in(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2815/DW2816: no gateway token for Dataverse; app-only for the gateway is unverified."""
    p = env.model.provider
    if p.type != "dynamics":
        return
    if p.auth.method is AuthMethod.TOKEN and not p.auth.client_id_env:
        yield error(
            "DW2815",
            "provider.auth.method token signs in to the gateway only, and Dataverse then has no "
            "sign-in of its own (a gateway token is never sent to Dataverse)",
            env.doc.span(("provider", "auth", "method")),
            "add client_id_env and client_secret_env (or a federated token) for Dataverse's "
            "application, or use method client_secret with gateway_auth: {method: token}",
        )
    gateway = p.gateway_auth
    if gateway is not None and gateway.method is GatewayMethod.APP_ONLY:
        yield warning(
            "DW2816",
            "gateway_auth.method app_only is unverified: nothing public shows the gateway "
            "accepting an application's token (Microsoft's client signs in as a user)",
            env.doc.span(("provider", "gateway_auth", "method")),
            "sign in as a user (method user with `dwconf login`, or refresh_token / "
            "username_password in pipelines); see docs/signin.md",
        )


_AUTH_VARIABLES = {
    "auth": ("client_id_env", "client_secret_env", "token_env", "token_file_env"),
    "gateway_auth": (
        "client_id_env",
        "refresh_token_env",
        "username_env",
        "password_env",
        "token_env",
    ),
}


LOOPBACK = {"127.0.0.1", "localhost", "::1"}  # plain http is allowed only to an emulator there
URL_KEYS = ("finops_url", "dataverse_url", "gateway_url", "authority")


def provider_urls(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2817: a dynamics provider's URLs are https URLs with a host (http only to loopback):
    what the provider checks when it connects, found before."""
    p = env.model.provider
    if p.type != "dynamics":
        return
    for key in URL_KEYS:
        value = getattr(p, key)
        if value is None:
            continue
        problem = _url_problem(str(value))
        if problem:
            yield error(
                "DW2817",
                f"provider.{key} {problem}",
                env.doc.span(("provider", key)),
                "write an https URL such as https://contoso.crm.dynamics.com (plain http only "
                "to an emulator on 127.0.0.1 or localhost)",
            )


def _url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not a URL with a host (https://host)"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        return "is a plain http URL: tokens are only sent over https"
    if any(c.isspace() for c in value.strip()):
        return "holds spaces"
    return None


def ca_file(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2818: the CA file a dynamics provider trusts exists and is a readable file (relative
    to the repository, as the provider reads it)."""
    configured = env.model.provider.ca_file
    if env.model.provider.type != "dynamics" or not configured:
        return
    path = FilePath(configured)
    path = path if path.is_absolute() else project.root / path
    if path.is_file() and os.access(path, os.R_OK):
        return
    what = "is not a file" if path.exists() else "does not exist"
    yield error(
        "DW2818",
        f"provider.ca_file {configured} {what}" + ("" if path.exists() else f" ({path})"),
        env.doc.span(("provider", "ca_file")),
        "point it at the PEM file of the CA that signed the service's certificate (the "
        "emulator writes ca.pem in its --data folder), or remove it to use the system's CAs",
    )


def secrets(project: Project, env: EnvSpec) -> Iterator[Diagnostic]:
    """DW2809/DW2810: auth names environment variables; no value looks like a secret. A value
    shaped like a name that reads like a generated secret is one too, unless a variable of
    that name is set (a pasted secret would otherwise be echoed as "variable … is not set")."""
    provider = env.model.provider
    for block, keys in _AUTH_VARIABLES.items():
        auth = getattr(provider, block)
        for key in keys if auth is not None else ():
            problem = _variable_problem(getattr(auth, key))
            if problem is None:
                continue
            yield error(
                "DW2809",
                f"provider.{block}.{key} {problem}",
                env.doc.span(("provider", block, key)),
                "write the variable's name (e.g. DWCONF_CLIENT_SECRET) and set its value in the "
                "pipeline; if a secret was committed, rotate it",
            )
    yield from _secret_strings(env, env.doc.data, ())


def _variable_problem(value: str | None) -> str | None:
    """What is wrong with a `*_env` value, never showing it; None when it names a variable."""
    if value is None:
        return None
    if ENV_VAR.match(value):
        if not looks_generated(value) or value in os.environ:
            return None
        return "does not name a variable that is set, and looks like a secret (not shown)"
    if looks_secret(value):
        return "must name an environment variable and this value looks like a secret (not shown)"
    return "must name an environment variable"


def _secret_strings(env: EnvSpec, data: Any, path: YamlPath) -> Iterator[Diagnostic]:
    if isinstance(data, dict):
        for key, value in data.items():
            if path in (("provider", "auth"), ("provider", "gateway_auth")):
                continue
            yield from _secret_strings(env, value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _secret_strings(env, value, (*path, i))
    elif isinstance(data, str) and JWT.search(data):
        yield error(
            "DW2810",
            "this value looks like a token or secret (not shown); secrets never go in YAML",
            env.doc.span(path),
            "remove it, name an environment variable instead, and rotate the secret",
        )
