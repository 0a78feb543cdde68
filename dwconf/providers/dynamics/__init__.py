"""The dynamics provider: dwconf's client of a real dual-write environment pair — the Dataverse
Web API, the dual-write management gateway and Entra ID (ARCHITECTURE §4, live-api.md).

- `http` — the transport: httpx, retries with `Retry-After`, a per-host concurrency cap, timeouts;
- `auth`, `federated` — tokens through msal (client secret, workload identity / GitHub OIDC)
  or a pre-acquired bearer, cached per resource;
- `settings` — the environment file's `provider:` block, checked; the tuning knobs;
- `dataverse`, `batch`, `gateway` — the two planes' clients; `errors` — their failures;
- `wire` — the shapes of the answers (models of Microsoft's client's structs), checked on read;
- `reader`, `cache`, `shapes` — a whole environment as one `LiveState`, with map definitions
  cached content-addressed under `<repo>/.dwconf/cache/`;
- `solutions`, `maps`, `locks` — solution imports, map versions and lifecycle (as Microsoft's
  client runs it), dwconf's lease and deployment records;
- `provider` — `DynamicsProvider`, the `LiveWriter`;
- `probe` — `dwconf probe`: each read checked once, its answers kept for `--record`.
"""

from dwconf.providers.dynamics.provider import DynamicsProvider
from dwconf.providers.dynamics.settings import Settings, Tuning, settings_for

__all__ = ["DynamicsProvider", "Settings", "Tuning", "settings_for"]
