"""Helpers for the emulator tests: an HTTP client per plane, hand-written solution zips (written
from live-api.md §5, independently of the emulator's own zip writer) and map definitions."""

from __future__ import annotations

import base64
import functools
import io
import json
import ssl
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.sax.saxutils import escape

import httpx

from dwconf.emulator.serve import Running

CLIENT_ID = "11111111-aaaa-4bbb-8ccc-000000000001"
SECRET = "not-a-real-secret-but-long-enough"
FEDERATED_CLIENT = "11111111-aaaa-4bbb-8ccc-000000000002"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_SUBJECT = "repo:contoso/dual-write:ref:refs/heads/main"
USERNAME = "dual-write-admin@contoso.example"  # the test user who signs in to the gateway
PASSWORD = "not-a-real-password-either"
DATA_INTEGRATOR = "2e49aa60-1bd3-43b6-8ab6-03ada3d9f08b"  # the gateway's public client
API = "/api/data/v9.2"
GW = "/api/DualWriteManagement/1.0"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="xml" ContentType="application/octet-stream" />'
    "</Types>"
)
CURRENCIES = "Currencies (transactioncurrencies)"
COMPANIES = "Legal entities (cdm_companies)"
CUSTOMERS = "Customers V3 (accounts)"


def definition(name: str, version: str = "1.0.0.0", **extra: Any) -> dict[str, Any]:
    """A canonical dwconf map definition (the live model's form)."""
    finops, _, rest = name.partition(" (")
    base: dict[str, Any] = {
        "name": name,
        "version": version,
        "finops_entity": finops,
        "dataverse_table": rest.rstrip(")"),
        "description": None,
        "depends_on": [],
        "integration_key": [],
        "filters": {"finops": None, "dataverse": None},
        "initial_sync": {"master": "dataverse"},
        "fields": [
            {
                "finops": "CODE",
                "dataverse": "msdyn_code",
                "direction": "both",
                "default": None,
                "value_map": None,
            }
        ],
    }
    base.update(extra)
    return base


def _direction(code: str) -> int:
    return {"both": 3, "to_dataverse": 1, "to_finops": 2}[code]


def _mapping(d: dict[str, Any]) -> str:
    fields = []
    for f in d["fields"]:
        transforms: list[dict[str, Any]] = []
        if f["value_map"]:
            transforms.append({"transformType": "ValueMap", "valueMap": f["value_map"]})
        if f["default"] is not None:
            transforms.append({"transformType": "Default", "defaultValue": f["default"]})
        fields.append(
            {
                "syncDirection": str(_direction(f["direction"])),  # some records carry a string
                "sourceField": f["finops"],
                "destinationField": f["dataverse"],
                "valueTransforms": transforms,
            }
        )
    leg = {
        "id": "001",
        "sourceSchema": d["finops_entity"],
        "destinationSchema": d["dataverse_table"],
        "sourceEnvironmentType": "AX",
        "destinationEnvironmentType": "CRM",
        "sourceFilter": d["filters"]["finops"],
        "reversedSourceFilter": d["filters"]["dataverse"],
        "fieldMappings": fields,
    }
    return json.dumps({"name": d["name"], "description": d["description"], "legs": [leg]})


def _properties(d: dict[str, Any]) -> str:
    """dwconf's extras (dwconf/package/shapes.py: `properties_document`)."""
    extras = {
        "format": 1,
        "dependsOn": d["depends_on"],
        "integrationKey": d["integration_key"],
        "initialSyncMaster": d["initial_sync"]["master"],
    }
    return json.dumps({"dwconf": extras})


def solution_zip(
    unique_name: str,
    version: str,
    maps: list[dict[str, Any]],
    *,
    publisher: str = "contoso",
    prefix: str = "cnt",
    requires: dict[str, str] | None = None,
    managed: bool = False,
    ids: dict[str, str] | None = None,
) -> bytes:
    """A solution zip as Dataverse exports one: solution.xml and customizations.xml."""
    missing = "".join(
        f'<MissingDependency><Required type="solution" solution="{n} ({v})" /></MissingDependency>'
        for n, v in (requires or {}).items()
    )
    manifest = (
        '<?xml version="1.0" encoding="utf-8"?><ImportExportXml version="9.2.24.5"><SolutionManifest>'
        f"<UniqueName>{unique_name}</UniqueName>"
        f'<LocalizedNames><LocalizedName description="{unique_name} maps" languagecode="1033" /></LocalizedNames>'
        f"<Version>{version}</Version><Managed>{int(managed)}</Managed>"
        f"<Publisher><UniqueName>{publisher}</UniqueName>"
        f'<LocalizedNames><LocalizedName description="Contoso" languagecode="1033" /></LocalizedNames>'
        f"<CustomizationPrefix>{prefix}</CustomizationPrefix>"
        "<CustomizationOptionValuePrefix>10000</CustomizationOptionValuePrefix></Publisher>"
        f"<RootComponents /><MissingDependencies>{missing}</MissingDependencies>"
        "</SolutionManifest></ImportExportXml>"
    )
    records = ""
    for d in maps:
        row_id = (ids or {}).get(d["name"], "")
        records += (
            f'<msdyn_dualwriteentitymap msdyn_dualwriteentitymapid="{row_id}">'
            "<iscustomizable>1</iscustomizable>"
            f"<msdyn_name>{prefix}_[{d['dataverse_table']} - {d['finops_entity']}]</msdyn_name>"
            f"<msdyn_displayname>{escape(d['name'])}</msdyn_displayname>"
            f"<msdyn_mapping>{escape(_mapping(d))}</msdyn_mapping>"
            f"<msdyn_properties>{escape(_properties(d))}</msdyn_properties>"
            f"<msdyn_version>{d['version']}</msdyn_version>"
            "<statecode>0</statecode><statuscode>1</statuscode>"
            "</msdyn_dualwriteentitymap>"
        )
    customizations = (
        '<?xml version="1.0" encoding="utf-8"?><ImportExportXml><Entities /><Roles />'
        f"<msdyn_dualwriteentitymaps>{records}</msdyn_dualwriteentitymaps>"
        "<Languages><Language>1033</Language></Languages></ImportExportXml>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("solution.xml", manifest)
        archive.writestr("customizations.xml", customizations)
    return buffer.getvalue()


def import_body(data: bytes) -> dict[str, Any]:
    return {
        "CustomizationFile": base64.b64encode(data).decode("ascii"),
        "OverwriteUnmanagedCustomizations": False,
        "PublishWorkflows": True,
    }


CONTOSO_MAPS = [
    definition(CURRENCIES, integration_key=["isocurrencycode"], initial_sync={"master": "finops"}),
    definition(COMPANIES),
    definition(CUSTOMERS, depends_on=[CURRENCIES, COMPANIES]),
    definition(
        CUSTOMERS,
        version="1.0.0.5",
        depends_on=[CURRENCIES, COMPANIES],
        filters={"finops": None, "dataverse": "statecode eq 0"},
        fields=[
            {"finops": "CUSTOMERACCOUNT", "dataverse": "accountnumber", "direction": "both", "default": None, "value_map": None},
            {"finops": "ONHOLDSTATUS", "dataverse": "msdyn_onholdstatus", "direction": "to_dataverse", "default": None,
             "value_map": {"no": 806380000, "all": 806380002}},
            {"finops": None, "dataverse": "customertypecode", "direction": "to_dataverse", "default": 3, "value_map": None},
        ],
    ),
]  # fmt: skip


@functools.cache
def _default_context() -> ssl.SSLContext:
    """One SSL context for every client: building one per httpx.Client is slow."""
    return ssl.create_default_context()


class Api:
    """HTTP clients for one running emulator: tokens, Dataverse, gateway and the test API."""

    def __init__(self, running: Running, verify: Any = None) -> None:
        self.running = running
        self.verify = verify if verify is not None else _default_context()
        self.http = httpx.Client(verify=verify, timeout=10)
        self._tokens: dict[str, str] = {}
        self._clients: dict[str, httpx.Client] = {}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self.http.close()

    def token_response(self, resource: str, **form: str) -> httpx.Response:
        data = {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "scope": f"{resource}/.default",
            **form,
        }
        return self.http.post(self.running.token_url(), data=data)

    def user_token_response(self, resource: str, **form: str) -> httpx.Response:
        """The password grant for the test user, through the gateway's public client."""
        data = {
            "grant_type": "password",
            "client_id": DATA_INTEGRATOR,
            "username": USERNAME,
            "password": PASSWORD,
            "scope": f"{resource}/.default openid profile offline_access",
            **form,
        }
        return self.http.post(self.running.token_url(), data=data)

    def token(self, resource: str) -> str:
        """An application's token for Dataverse, the test user's for the gateway (which takes
        no app-only token)."""
        if resource not in self._tokens:
            gateway = "/gateway" in resource or resource.lower() == "https://integratorapp.com"
            response = (self.user_token_response if gateway else self.token_response)(resource)
            assert response.status_code == 200, response.text
            self._tokens[resource] = response.json()["access_token"]
        return self._tokens[resource]

    def _client(self, resource: str, base: str) -> httpx.Client:
        """One client per base URL, reused (making an SSL context per client is slow)."""
        if base not in self._clients:
            headers = {
                "Authorization": f"Bearer {self.token(resource)}",
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
            }
            self._clients[base] = httpx.Client(
                base_url=base, headers=headers, verify=self.verify, timeout=10
            )
        return self._clients[base]

    @contextmanager
    def dataverse(self, env: str = "dev") -> Iterator[httpx.Client]:
        url = self.running.dataverse_url(env)
        yield self._client(url, url + API)

    @contextmanager
    def gateway(self, env: str = "dev") -> Iterator[httpx.Client]:
        url = self.running.gateway_url(env)
        yield self._client(url, url)

    def test_api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, f"{self.running.base_url}/_emulator{path}", **kwargs)

    def state(self, env: str = "dev") -> dict[str, Any]:
        response = self.test_api("GET", f"/env/{env}/state")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def import_contoso(self, env: str = "dev", apply: bool = True) -> None:
        """Import the test solution through Dataverse and apply it through the gateway."""
        data = solution_zip(
            "contoso_Maps", "1.0.0.0", CONTOSO_MAPS, requires={"DualWriteCore": "1.0.0.0"}
        )
        with self.dataverse(env) as dv:
            response = dv.post("/ImportSolution", json=import_body(data))
            assert response.status_code == 204, response.text
        if apply:
            with self.gateway(env) as gw:
                cid = self.test_api("GET", "").json()["environments"][env]["cid"]
                body = {"action": "2", "solutions": [{"criteria": {"uniquename": "contoso_Maps"}}]}
                started = gw.post(f"{GW}/SolutionAware/{cid}/RestoreTemplates", json=body)
                assert started.status_code == 200, started.text
                request_id = started.json()["requestId"]
                wait_for(
                    lambda: (
                        gw.get(f"{GW}/SolutionAware/{cid}/Status/{request_id}").json()["state"]
                        != "1"
                    )
                )


def t_name(name: str) -> str:
    """A map's `detail.tName` (`<Dataverse set> - <F&O entity>`): DWMap has no other name."""
    finops, _, rest = name.partition(" (")
    return f"{rest.rstrip(')')} - {finops}"


def named(maps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """DWMaps by dwconf map name, for the maps of these helpers."""
    names = {t_name(n): n for n in (CURRENCIES, COMPANIES, CUSTOMERS)}
    return {names.get(m["detail"]["tName"], m["detail"]["tName"]): m for m in maps}


def wait_for(condition: Any, attempts: int = 20) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")
