"""The Dataverse subset over real HTTP: paging, query options, error bodies, ETags and 412,
the create-only lease, deployment records, solution import/export and atomic `$batch`."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from typing import Any

import httpx

from tests.emulator.helpers import (
    CONTOSO_MAPS,
    CUSTOMERS,
    Api,
    definition,
    import_body,
    solution_zip,
)

LEASE = "/dwconf_leases(dwconf_name='lock')"


def _records(dv: httpx.Client, count: int) -> list[str]:
    ids = []
    for index in range(count):
        body = {
            "dwconf_who": "ci",
            "dwconf_planhash": f"hash-{index}",
            "dwconf_desired": {"n": index},
        }
        response = dv.post("/dwconf_deploymentrecords", json=body)
        assert response.status_code == 204, response.text
        ids.append(response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")"))
    return ids


def test_paging_follows_next_link_without_duplicates_or_omissions(api: Api) -> None:
    with api.dataverse() as dv:
        created = _records(dv, 23)
        seen: list[str] = []
        pages = 0
        url: str | None = "/dwconf_deploymentrecords?$select=dwconf_planhash"
        while url:
            response = dv.get(url, headers={"Prefer": "odata.maxpagesize=5"})
            assert response.status_code == 200
            assert response.headers["Preference-Applied"] == "odata.maxpagesize=5"
            body = response.json()
            assert len(body["value"]) <= 5
            seen += [row["dwconf_deploymentrecordid"] for row in body["value"]]
            url = body.get("@odata.nextLink")
            assert url is None or ("$skiptoken=" in url and "$skip=" not in url)
            pages += 1
    assert pages == 5
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))


def test_skip_is_refused_with_the_odata_error_body(api: Api) -> None:
    with api.dataverse() as dv:
        response = dv.get("/solutions?$skip=5")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json; odata.metadata=minimal"
    assert response.headers["OData-Version"] == "4.0"
    assert response.json() == {
        "error": {"code": "0x80060888", "message": "The query parameter $skip is not supported"}
    }


def test_select_filter_orderby_count_and_expand(api: Api) -> None:
    with api.dataverse() as dv:
        response = dv.get(
            "/solutions",
            params={
                "$select": "uniquename,version",
                "$filter": "startswith(uniquename,'msdyn_') and ismanaged eq true",
                "$orderby": "uniquename desc",
                "$count": "true",
                "$expand": "publisherid($select=uniquename)",
            },
        )
        assert response.status_code == 200, response.text
        rows = response.json()["value"]
        names = [r["uniquename"] for r in rows]
        assert names == sorted(names, reverse=True) and all(n.startswith("msdyn_") for n in names)
        assert response.json()["@odata.count"] == len(rows)
        assert set(rows[0]) == {"@odata.etag", "solutionid", "uniquename", "version", "publisherid"}
        assert rows[0]["publisherid"]["uniquename"] == "microsoftdynamics"
        unknown = dv.get("/solutions", params={"$filter": "nosuchcolumn eq 1"})
        assert unknown.status_code == 400
        assert "nosuchcolumn" in unknown.json()["error"]["message"]
        core = dv.get("/solutions(uniquename='DualWriteCore')")
        assert core.status_code == 200 and core.json()["uniquename"] == "DualWriteCore"


def test_missing_record_is_404_with_error_code(api: Api) -> None:
    with api.dataverse() as dv:
        response = dv.get(f"/solutions({uuid.uuid4()})")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "0x80040217"
        assert dv.get("/nosuchset").status_code == 404


def test_etags_304_and_412_on_deployment_records(api: Api) -> None:
    with api.dataverse() as dv:
        record = _records(dv, 1)[0]
        first = dv.get(f"/dwconf_deploymentrecords({record})")
        tag = first.json()["@odata.etag"]
        assert first.headers["ETag"] == tag and tag.startswith('W/"')
        assert (
            dv.get(
                f"/dwconf_deploymentrecords({record})", headers={"If-None-Match": tag}
            ).status_code
            == 304
        )
        updated = dv.patch(
            f"/dwconf_deploymentrecords({record})",
            json={"dwconf_status": "failed"},
            headers={"If-Match": tag},
        )
        assert updated.status_code == 204
        stale = dv.patch(
            f"/dwconf_deploymentrecords({record})",
            json={"dwconf_status": "succeeded"},
            headers={"If-Match": tag},
        )
        assert stale.status_code == 412
        assert stale.json()["error"]["message"] == (
            "The version of the existing record doesn't match the RowVersion property provided."
        )
    assert api.state()["state"]["records"][0]["status"] == "failed"


def _lease(owner: str, ttl: float = 60) -> dict[str, Any]:
    return {"dwconf_owner": owner, "dwconf_operation": "apply", "dwconf_ttlseconds": ttl}


def test_lease_is_create_only_then_written_only_at_its_current_version(api: Api) -> None:
    with api.dataverse() as dv:
        created = dv.patch(
            LEASE,
            json=_lease("alice"),
            headers={"If-None-Match": "*", "Prefer": "return=representation"},
        )
        assert created.status_code == 201, created.text
        tag = created.json()["@odata.etag"]
        taken = dv.patch(LEASE, json=_lease("bob"), headers={"If-None-Match": "*"})
        assert taken.status_code == 412
        assert (
            taken.json()["error"]["message"] == "A record with matching key values already exists."
        )
        renewed = dv.patch(LEASE, json=_lease("alice", 120), headers={"If-Match": tag})
        assert renewed.status_code == 204
        stale = dv.patch(LEASE, json=_lease("bob"), headers={"If-Match": tag})
        assert stale.status_code == 412
        current = dv.get(LEASE).json()
        # A plain table judges versions, not expiry: whoever writes at the current version
        # overwrites the row (dwconf decides a take-over itself, by the service's Date header).
        etag_now = {"If-Match": current["@odata.etag"]}
        overwritten = dv.patch(LEASE, json=_lease("bob"), headers=etag_now)
        assert overwritten.status_code == 204, overwritten.text
        assert dv.get(LEASE).json()["dwconf_owner"] == "bob"
        lease_id = dv.get(LEASE).json()["dwconf_leaseid"]
        assert (
            dv.delete(f"/dwconf_leases({lease_id})", headers={"If-Match": tag}).status_code == 412
        )
        assert dv.delete(f"/dwconf_leases({lease_id})").status_code == 204
        assert dv.get("/dwconf_leases").json()["value"] == []


def test_a_lease_stores_the_expiry_it_is_sent_and_a_refused_overwrite_keeps_the_row(
    api: Api,
) -> None:
    with api.dataverse() as dv:
        held = {"If-None-Match": "*", "Prefer": "return=representation"}
        sent = {**_lease("alice"), "dwconf_expireson": "2999-01-01T00:00:00Z"}
        created = dv.patch(LEASE, json=sent, headers=held)
        assert created.status_code == 201, created.text
        assert created.json()["dwconf_expireson"] == "2999-01-01T00:00:00Z"
        etag_now = {"If-Match": created.json()["@odata.etag"]}
        past = {**_lease("bob"), "dwconf_expireson": "2000-01-01T00:00:00Z"}
        refused = dv.patch(LEASE, json=past, headers=etag_now)
        assert refused.status_code == 400, refused.text
        nameless = dv.patch(LEASE, json={"dwconf_owner": "", "dwconf_ttlseconds": 60})
        assert nameless.status_code == 400, nameless.text
        kept = dv.get(LEASE).json()
        assert (kept["dwconf_owner"], kept["dwconf_leaseid"]) == (
            "alice",
            created.json()["dwconf_leaseid"],
        )


def _batch(parts: list[str], boundary: str = "batch_1") -> tuple[bytes, str]:
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/mixed; boundary={boundary}"


def _change_set(requests: list[str], boundary: str = "changeset_1") -> str:
    inner = ""
    for index, request in enumerate(requests, start=1):
        inner += (
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: {index}\r\n\r\n{request}\r\n"
        )
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}--{boundary}--"


def _request(method: str, url: str, body: str = "", headers: str = "") -> str:
    content = "Content-Type: application/json; type=entry\r\n" if body else ""
    return f"{method} {url} HTTP/1.1\r\n{content}{headers}\r\n{body}"


def test_batch_change_set_failing_midway_changes_nothing(api: Api) -> None:
    with api.dataverse() as dv:
        record = _records(dv, 1)[0]
        root = str(dv.base_url).rstrip("/")
        parts = [
            _change_set(
                [
                    _request(
                        "POST", f"{root}/dwconf_deploymentrecords", '{"dwconf_who": "batch-1"}'
                    ),
                    _request(
                        "PATCH",
                        f"/api/data/v9.2/dwconf_deploymentrecords({record})",
                        '{"dwconf_status": "x"}',
                    ),
                    _request("PATCH", LEASE, '{"dwconf_owner": "batch"}', 'If-Match: W/"1"\r\n'),
                    _request("POST", "dwconf_deploymentrecords", '{"dwconf_who": "batch-2"}'),
                ]
            )
        ]
        body, content_type = _batch(parts)
        before = api.state()["fingerprint"], api.state()["state"]["records"]
        response = dv.post("/$batch", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 404  # the lease PATCH: If-Match on a missing row
        assert response.headers["Content-Type"].startswith(
            "multipart/mixed; boundary=batchresponse_"
        )
        assert b"changesetresponse_" in response.content and b"HTTP/1.1 404" in response.content
        assert b"HTTP/1.1 204" not in response.content
    after = api.state()
    assert (after["fingerprint"], after["state"]["records"]) == before


def test_batch_runs_change_sets_and_content_id_references(api: Api) -> None:
    with api.dataverse() as dv:
        parts = [
            _change_set(
                [
                    _request(
                        "POST", "/api/data/v9.2/dwconf_deploymentrecords", '{"dwconf_who": "one"}'
                    ),
                    _request("PATCH", "$1", '{"dwconf_status": "failed"}'),
                ]
            ),
            "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            + _request(
                "GET",
                "/api/data/v9.2/dwconf_deploymentrecords?$select=dwconf_who",
                headers="Accept: application/json\r\n",
            ),
        ]
        body, content_type = _batch(parts, "batch_abc")
        response = dv.post("/$batch", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    text = response.text
    assert (
        text.count("HTTP/1.1 204") == 2 and "HTTP/1.1 200" in text and '"dwconf_who": "one"' in text
    )
    records = api.state()["state"]["records"]
    assert [(r["who"], r["status"]) for r in records] == [("one", "failed")]
    nested, content_type = _batch(
        ["Content-Type: application/http\r\n\r\n" + _request("POST", "/api/data/v9.2/$batch")]
    )
    with api.dataverse() as dv:
        assert (
            dv.post("/$batch", content=nested, headers={"Content-Type": content_type}).status_code
            == 400
        )


def test_import_solution_creates_solution_and_map_rows(api: Api) -> None:
    data = solution_zip(
        "contoso_Maps", "1.0.0.0", CONTOSO_MAPS, requires={"DualWriteCore": "1.0.0.0"}
    )
    with api.dataverse() as dv:
        assert dv.post("/ImportSolution", json=import_body(data)).status_code == 204
        solution = dv.get("/solutions(uniquename='contoso_Maps')").json()
        assert (solution["version"], solution["ismanaged"], solution["friendlyname"]) == (
            "1.0.0.0",
            False,
            "contoso_Maps maps",
        )
        publisher = dv.get(f"/publishers({solution['_publisherid_value']})").json()
        assert publisher["customizationprefix"] == "cnt"
        rows = dv.get(
            "/msdyn_dualwriteentitymaps",
            params={"$filter": f"solutionid eq {solution['solutionid']}"},
        ).json()["value"]
    assert sorted((r["msdyn_displayname"], r["msdyn_version"]) for r in rows) == sorted(
        (m["name"], m["version"]) for m in CONTOSO_MAPS
    )
    assert "cnt_[accounts - Customers V3]" in {r["msdyn_name"] for r in rows}
    installed = next(
        s for s in api.state()["state"]["solutions"] if s["unique_name"] == "contoso_Maps"
    )
    carried = {(m["name"], m["version"]): m["definition"] for m in installed["maps"]}
    assert carried[(CUSTOMERS, "1.0.0.5")] == CONTOSO_MAPS[3]


def test_import_refusal_has_the_live_message(api: Api) -> None:
    data = solution_zip(
        "contoso_More",
        "1.0.0.0",
        [definition("Units (uoms)")],
        requires={"contoso_Base": "2.0.0.0"},
    )
    with api.dataverse() as dv:
        response = dv.post("/ImportSolution", json=import_body(data))
        assert response.status_code == 400
        assert response.json()["error"]["message"] == (
            "The following solution cannot be imported: contoso_More. Some dependencies are "
            "missing: solution 'contoso_Base' version '2.0.0.0' or later is required."
        )
        broken = dv.post("/ImportSolution", json=import_body(b"not a zip"))
        assert broken.status_code == 400 and broken.json()["error"]["code"] == "0x80048060"


def test_import_solution_async_completes_when_polled(api: Api) -> None:
    data = solution_zip("contoso_Maps", "1.0.0.0", CONTOSO_MAPS)
    with api.dataverse() as dv:
        started = dv.post("/ImportSolutionAsync", json=import_body(data))
        assert started.status_code == 200
        operation = started.json()["AsyncOperationId"]
        assert dv.get("/solutions(uniquename='contoso_Maps')").status_code == 404
        first = dv.get(f"/asyncoperations({operation})").json()
        assert (first["statecode"], first["statuscode"]) == (2, 20)  # dev needs two polls
        second = dv.get(f"/asyncoperations({operation})").json()
        assert (second["statecode"], second["statuscode"]) == (3, 30)
        assert dv.get("/solutions(uniquename='contoso_Maps')").status_code == 200
        job = dv.get(f"/importjobs({started.json()['ImportJobKey']})").json()
        assert job["progress"] == 100.0 and 'result="success"' in job["data"]


def test_export_solution_round_trips(api: Api) -> None:
    row_id = str(uuid.uuid4())
    data = solution_zip("contoso_Maps", "1.0.0.0", CONTOSO_MAPS, ids={CUSTOMERS: row_id})
    with api.dataverse() as dv:
        dv.post("/ImportSolution", json=import_body(data))
        exported = dv.post(
            "/ExportSolution", json={"SolutionName": "contoso_Maps", "Managed": True}
        )
        assert exported.status_code == 200
        archive = zipfile.ZipFile(
            io.BytesIO(base64.b64decode(exported.json()["ExportSolutionFile"]))
        )
        assert {"solution.xml", "customizations.xml"} <= set(archive.namelist())
        assert b"<Managed>1</Managed>" in archive.read("solution.xml")
        assert row_id.encode() in archive.read("customizations.xml")
        before = api.state()["state"]["solutions"]
        assert (
            dv.post(
                "/ImportSolution",
                json=import_body(base64.b64decode(exported.json()["ExportSolutionFile"])),
            ).status_code
            == 204
        )
        assert dv.post("/ExportSolution", json={"SolutionName": "nope"}).status_code == 404
    after = api.state()["state"]["solutions"]
    mine = [s for s in after if s["unique_name"] == "contoso_Maps"]
    assert mine[0]["maps"] == next(s for s in before if s["unique_name"] == "contoso_Maps")["maps"]


def test_map_rows_take_etags_and_412(api: Api) -> None:
    api.import_contoso(apply=False)
    with api.dataverse() as dv:
        rows = dv.get(
            "/msdyn_dualwriteentitymaps", params={"$filter": "msdyn_version eq '1.0.0.5'"}
        ).json()["value"]
        row = rows[0]
        changed = CONTOSO_MAPS[3] | {"description": "edited"}
        edited = json.loads(row["msdyn_mapping"]) | {"description": "edited"}
        body = {"msdyn_mapping": json.dumps(edited)}
        ok = dv.patch(
            f"/msdyn_dualwriteentitymaps({row['msdyn_dualwriteentitymapid']})",
            json=body,
            headers={"If-Match": row["@odata.etag"]},
        )
        assert ok.status_code == 204, ok.text
        stale = dv.patch(
            f"/msdyn_dualwriteentitymaps({row['msdyn_dualwriteentitymapid']})",
            json=body,
            headers={"If-Match": row["@odata.etag"]},
        )
        assert stale.status_code == 412
    installed = next(
        s for s in api.state()["state"]["solutions"] if s["unique_name"] == "contoso_Maps"
    )
    assert next(m for m in installed["maps"] if m["version"] == "1.0.0.5")["definition"] == changed


def test_map_rows_created_in_a_named_solution_and_deleted(api: Api) -> None:
    api.import_contoso(apply=False)
    with api.dataverse() as dv:
        template = dv.get(
            "/msdyn_dualwriteentitymaps", params={"$filter": "msdyn_version eq '1.0.0.5'"}
        ).json()["value"][0]
        body = {k: template[k] for k in ("msdyn_mapping", "msdyn_properties", "msdyn_displayname")}
        body["msdyn_version"] = "1.0.0.6"
        refused = dv.post("/msdyn_dualwriteentitymaps", json=body)
        assert (
            refused.status_code == 400
            and "MSCRM.SolutionUniqueName" in refused.json()["error"]["message"]
        )
        created = dv.post(
            "/msdyn_dualwriteentitymaps", json=body,
            headers={"MSCRM.SolutionUniqueName": "contoso_Maps", "Prefer": "return=representation"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        assert created.json()["msdyn_version"] == "1.0.0.6"
        row_id = created.json()["msdyn_dualwriteentitymapid"]
        assert (
            dv.delete(
                f"/msdyn_dualwriteentitymaps({row_id})", headers={"If-Match": 'W/"1"'}
            ).status_code
            == 412
        )
        assert dv.delete(f"/msdyn_dualwriteentitymaps({row_id})").status_code == 204
        assert dv.get(f"/msdyn_dualwriteentitymaps({row_id})").status_code == 404


def test_zips_of_dwconf_package_import_and_export_unchanged(api: Api) -> None:
    from dwconf.desired import canonical_map
    from dwconf.model import Solution, TableMap
    from dwconf.package import solution_zip as package_zip

    solution = Solution.model_validate(
        {"unique_name": "contoso_Package", "version": "1.2.0.0", "display_name": "Contoso package",
         "publisher": {"unique_name": "contoso", "prefix": "cnt", "option_value_prefix": 10000},
         "requires": {"DualWriteCore": ">=1.0.0.0"}}
    )  # fmt: skip
    maps = [TableMap.model_validate(d) for d in CONTOSO_MAPS[:3]]
    data = package_zip.build(solution, maps, managed=True)
    with api.dataverse() as dv:
        assert dv.post("/ImportSolution", json=import_body(data)).status_code == 204, "import"
        exported = dv.post(
            "/ExportSolution", json={"SolutionName": "contoso_Package", "Managed": True}
        )
    installed = next(
        s for s in api.state()["state"]["solutions"] if s["unique_name"] == "contoso_Package"
    )
    assert {m["name"]: m["definition"] for m in installed["maps"]} == {
        m.name: canonical_map(m) for m in maps
    }
    assert installed["requires"] == {"DualWriteCore": "1.0.0.0"}
    back = package_zip.read(base64.b64decode(exported.json()["ExportSolutionFile"]))
    assert back.solution == solution and back.managed
    assert sorted(back.maps, key=lambda m: m.name) == sorted(maps, key=lambda m: m.name)
