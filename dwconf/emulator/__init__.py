"""A local emulator of the live dual-write surfaces — Dataverse Web API subset, the dual-write
management gateway and the Entra token endpoint — over the live model (`dwconf.live`), with a
test-only API for seeding, out-of-band changes and fault injection (docs/emulator.md).

`create_app(config)` builds the ASGI application; `serve.serve` runs it in the foreground and
`serve.running` in a background thread for tests.
"""

from dwconf.emulator.app import create_app
from dwconf.emulator.config import Client, EmulatorConfig, EnvConfig, Federated, Limits

__all__ = ["Client", "EmulatorConfig", "EnvConfig", "Federated", "Limits", "create_app"]
