"""The Dataverse solution actions: `ImportSolution`, `ImportSolutionAsync` (with its
`asyncoperations` row and `importjobs` row) and `ExportSolution` (live-api.md §2, §6.2).

An async import runs when its operation has been polled as often as the environment's `polls`
setting says (`GET asyncoperations(<id>)`), so clients have to wait for it like for the real one.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import quoteattr

from dwconf.emulator.dataverse import odata, solution_zip
from dwconf.emulator.dataverse.request import (
    IMPORT_FAILED,
    VALIDATION,
    DvError,
    DvRequest,
    live_error,
)
from dwconf.emulator.dataverse.tables import publisher_info
from dwconf.emulator.registry import EnvHandle, iso
from dwconf.emulator.reply import Reply
from dwconf.live import LiveError
from dwconf.live.errors import SolutionNotFound

Action = Callable[[EnvHandle, DvRequest], Reply]
IMPORT_OPERATION_TYPE = 103
SUCCEEDED, FAILED = 30, 31


def _payload(request: DvRequest) -> tuple[dict[str, Any], bytes]:
    body = request.json()
    encoded = body.get("CustomizationFile")
    if not isinstance(encoded, str) or not encoded:
        raise DvError(400, VALIDATION, "CustomizationFile is required.")
    try:
        return body, base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DvError(400, VALIDATION, "CustomizationFile is not base64.") from exc


def _remember(handle: EnvHandle, parsed: solution_zip.SolutionFile) -> None:
    publisher = parsed.publisher
    handle.side["publishers"][publisher.unique_name] = {
        "friendlyname": publisher.friendly_name,
        "customizationprefix": publisher.prefix,
        "customizationoptionvalueprefix": publisher.option_value_prefix,
    }
    handle.side["solutions"][parsed.package.unique_name] = {
        "friendlyname": parsed.friendly_name,
        "description": parsed.description,
    }
    for (name, version), row_id in parsed.map_ids.items():
        handle.side["map_ids"][f"{name}|{version}"] = row_id
    handle.save()


def import_zip(handle: EnvHandle, data: bytes) -> str:
    """Import a solution zip; returns its unique name. DvError with the refusal otherwise."""
    try:
        parsed = solution_zip.read(data)
    except solution_zip.SolutionZipError as exc:
        raise DvError(400, IMPORT_FAILED, str(exc)) from exc
    try:
        handle.env.import_solution(parsed.package)
    except LiveError as exc:
        raise live_error(exc, IMPORT_FAILED) from exc
    _remember(handle, parsed)
    return parsed.package.unique_name


def _job(handle: EnvHandle, job_id: str, solution: str, error: str | None) -> None:
    now = iso(handle.env.now())
    result = "failure" if error else "success"
    detail = f" errortext={quoteattr(error)}" if error else ""
    handle.side["import_jobs"][job_id] = {
        "importjobid": job_id,
        "solutionname": solution,
        "progress": 100.0,
        "startedon": now,
        "completedon": now,
        "data": f'<importexportxml><solutionManifests><solutionManifest result="{result}"'
        f"{detail} /></solutionManifests></importexportxml>",
    }
    handle.save()


def _import(handle: EnvHandle, request: DvRequest) -> Reply:
    body, data = _payload(request)
    job_id = str(body.get("ImportJobId") or "")
    try:
        name = import_zip(handle, data)
    except DvError as exc:
        if job_id:
            _job(handle, job_id, "", exc.message)
        raise
    if job_id:
        _job(handle, job_id, name, None)
    return odata.empty(204)


def _import_async(handle: EnvHandle, request: DvRequest) -> Reply:
    body, data = _payload(request)
    operation_id = str(uuid.uuid4())
    job_id = str(body.get("ImportJobId") or uuid.uuid4())
    handle.pending[operation_id] = data
    handle.side["async_ops"][operation_id] = {
        "asyncoperationid": operation_id,
        "name": "Import Solution",
        "operationtype": IMPORT_OPERATION_TYPE,
        "statecode": 0,
        "statuscode": 0,
        "message": None,
        "friendlymessage": None,
        "createdon": iso(handle.env.now()),
        "completedon": None,
        "_job": job_id,
        "_remaining": handle.config.polls,
    }
    handle.save()
    context = f"{request.root}/$metadata#Microsoft.Dynamics.CRM.ImportSolutionAsyncResponse"
    return odata.json_reply(
        200, {"@odata.context": context, "AsyncOperationId": operation_id, "ImportJobKey": job_id}
    )


def _finish(handle: EnvHandle, operation_id: str, operation: dict[str, Any]) -> None:
    data = handle.pending.pop(operation_id, None)
    error: str | None = "The emulator restarted before the import ran." if data is None else None
    name = ""
    if data is not None:
        try:
            name = import_zip(handle, data)
        except DvError as exc:
            error = exc.message
    _job(handle, str(operation["_job"]), name, error)
    operation.update(
        statecode=3,
        statuscode=FAILED if error else SUCCEEDED,
        message=error,
        friendlymessage=error,
        completedon=iso(handle.env.now()),
    )


def poll(handle: EnvHandle, operation_id: str) -> None:
    """One status check of an async operation: it runs when its polls are used up."""
    operation = handle.side["async_ops"].get(operation_id)
    if operation is None or operation["statecode"] == 3:
        return
    operation["_remaining"] = int(operation["_remaining"]) - 1
    if operation["_remaining"] > 0:
        operation.update(statecode=2, statuscode=20)
    else:
        _finish(handle, operation_id, operation)
    handle.save()


def _export(handle: EnvHandle, request: DvRequest) -> Reply:
    body = request.json()
    name = str(body.get("SolutionName") or "")
    installed = handle.env.solution(name)
    if installed is None:
        raise live_error(SolutionNotFound(name))
    details = handle.side["solutions"].get(name) or {}
    ids = {(m.name, m.version): handle.template_id(m.name, m.version) for m in installed.maps}
    solution = solution_zip.from_installed(
        installed,
        friendly_name=details.get("friendlyname") or name,
        description=details.get("description") or "",
        publisher=publisher_info(handle, installed.publisher),
        map_ids=ids,
        managed=bool(body.get("Managed", installed.managed)),
    )
    try:
        encoded = base64.b64encode(solution_zip.write(solution)).decode("ascii")
    except solution_zip.SolutionZipError as exc:
        raise DvError(400, VALIDATION, str(exc)) from exc
    context = f"{request.root}/$metadata#Microsoft.Dynamics.CRM.ExportSolutionResponse"
    return odata.json_reply(200, {"@odata.context": context, "ExportSolutionFile": encoded})


ACTIONS: dict[str, Action] = {
    "ImportSolution": _import,
    "ImportSolutionAsync": _import_async,
    "ExportSolution": _export,
}
