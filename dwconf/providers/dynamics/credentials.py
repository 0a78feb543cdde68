"""The provider's credential: an application for Dataverse (`auth`), a user for the gateway
(`signin`), routed by resource so a gateway token never goes to Dataverse.
"""

from __future__ import annotations

from collections.abc import Mapping

from dwconf.providers.dynamics.auth import Credential, Routed, dataverse_credential
from dwconf.providers.dynamics.settings import Settings
from dwconf.providers.dynamics.signin import gateway_credential
from dwconf.providers.dynamics.transport import Transport


def credential_for(
    settings: Settings, environ: Mapping[str, str], transport: Transport
) -> Credential:
    """Both planes' sign-ins as the environment file describes them; a missing variable is
    named now, before any request."""
    dataverse = dataverse_credential(settings, environ, transport)
    gateway = gateway_credential(settings, environ, transport, dataverse)
    return Routed(gateway, dataverse, settings.gateway_resource)
