"""A hand-written zip shaped like a solution exported from a real Dataverse environment.

It differs from what dwconf writes the way a real export would: a platform version and
`generatedBy="CrmLive"` on the manifest, publisher addresses and nil e-mail elements, component
dependencies that name a solution and version, a folder entry, JSON written by another tool
(`$type` on transforms, `syncDirection` as a string, every value as a string, empty filters),
no `dwconf` properties, and two saved versions of one map.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/octet-stream" /></Types>"""

SOLUTION = """<ImportExportXml version="9.2.24012.196" SolutionPackageVersion="9.2" languagecode="1033" generatedBy="CrmLive" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <SolutionManifest>
    <UniqueName>MyCustomTableMaps</UniqueName>
    <LocalizedNames>
      <LocalizedName description="My custom table maps" languagecode="1033" />
    </LocalizedNames>
    <Descriptions />
    <Version>1.0.0.2</Version>
    <Managed>1</Managed>
    <Publisher>
      <UniqueName>sst</UniqueName>
      <LocalizedNames>
        <LocalizedName description="Sample publisher" languagecode="1033" />
      </LocalizedNames>
      <Descriptions />
      <EMailAddress xsi:nil="true"></EMailAddress>
      <SupportingWebsiteUrl xsi:nil="true"></SupportingWebsiteUrl>
      <CustomizationPrefix>sst</CustomizationPrefix>
      <CustomizationOptionValuePrefix>72700</CustomizationOptionValuePrefix>
      <Addresses>
        <Address>
          <AddressNumber>1</AddressNumber>
          <AddressTypeCode>1</AddressTypeCode>
          <City xsi:nil="true"></City>
        </Address>
      </Addresses>
    </Publisher>
    <RootComponents>
      <RootComponent type="10093" id="{6f0c3a1e-1111-4c3e-9a55-0d3b7f0e2a01}" behavior="0" />
      <RootComponent type="10093" id="{6f0c3a1e-2222-4c3e-9a55-0d3b7f0e2a02}" behavior="0" />
      <RootComponent type="10093" id="{6f0c3a1e-3333-4c3e-9a55-0d3b7f0e2a03}" behavior="0" />
    </RootComponents>
    <MissingDependencies>
      <MissingDependency>
        <Required type="1" schemaName="msdyn_dualwriteentitymap" displayName="Dual Write entity map" solution="DualWriteCore (1.0.23084.0)" />
        <Dependent type="10093" id="{6f0c3a1e-1111-4c3e-9a55-0d3b7f0e2a01}" />
      </MissingDependency>
      <MissingDependency>
        <Required type="1" schemaName="msdyn_dualwriteentitymap" displayName="Dual Write entity map" solution="DualWriteCore (1.0.23084.2)" />
        <Dependent type="10093" id="{6f0c3a1e-2222-4c3e-9a55-0d3b7f0e2a02}" />
      </MissingDependency>
      <MissingDependency>
        <Required type="2" schemaName="msdyn_onholdstatus" displayName="On hold" solution="Active" />
        <Dependent type="10093" id="{6f0c3a1e-3333-4c3e-9a55-0d3b7f0e2a03}" />
      </MissingDependency>
    </MissingDependencies>
  </SolutionManifest>
</ImportExportXml>
"""


def _field(source: str | None, destination: str | None, sync: str, *transforms: Any) -> Any:
    return {
        "sourceField": source,
        "destinationField": destination,
        "syncDirection": sync,
        "isSystemGenerated": False,
        "destinationLookupFieldRelatedEntity": None,
        "valueTransforms": list(transforms),
    }


def _value_map(entries: dict[str, str]) -> Any:
    return {
        "$type": "Microsoft.Dynamics.Integrator.ProjectManagementService.DualWrite.ValueMapTransform",
        "transformType": "ValueMap",
        "valueMap": entries,
        "defaultValue": None,
        "createValuesOnDestination": False,
    }


def _default(value: str) -> Any:
    return {"$type": "DefaultTransform", "transformType": "Default", "defaultValue": value}


def _mapping(entity: str, table: str, finops: str, dataverse: str, fields: list[Any]) -> str:
    return json.dumps(
        {
            "id": "0b9f3f5e-aaaa-4c3e-9a55-0d3b7f0e2a00",
            "name": f"{table} - {entity}",
            "leftEnvironmentType": "AX",
            "centerEnvironmentType": "CRM",
            "legs": [
                {
                    "id": "001",
                    "sourceSchema": entity,
                    "destinationSchema": table,
                    "sourceEnvironmentType": "AX",
                    "destinationEnvironmentType": "CRM",
                    "sourceFilter": finops,
                    "reversedSourceFilter": dataverse,
                    "isSourceFilterEditable": True,
                    "fieldMappings": fields,
                }
            ],
        },
        ensure_ascii=False,
    )


UNITS_OLD = _mapping(
    "Units",
    "uoms",
    "",
    "",
    [_field("UNITSYMBOL", "msdyn_symbol", "1"), _field("UNITSYMBOL", "name", "1")],
)
UNITS = _mapping(
    "Units",
    "uoms",
    "",
    "",
    [
        _field("UNITSYMBOL", "msdyn_symbol", "1"),
        _field("UNITSYMBOL", "name", "1"),
        _field("UNITDESCRIPTION", "msdyn_description", "1"),
        _field("ISBASEUNIT", "msdyn_isbaseunit", 1, _value_map({"no": "false", "yes": "true"})),
        _field(
            "SYSTEMOFUNITS",
            "msdyn_systemofunits",
            "1",
            _value_map({"none": "192350000", "metric": "192350001", "us": "192350002"}),
        ),
    ],
)
CUSTOMERS = _mapping(
    "Customers V3",
    "accounts",
    '((PartyType == "Organization"))',
    "customertypecode eq 3",
    [
        _field("CUSTOMERACCOUNT", "accountnumber", "3"),
        _field("ORGANIZATIONNAME", "name", "3"),
        _field(
            "CREDITLIMITISMANDATORY",
            "msdyn_creditlimitismandatory",
            "3",
            _value_map({"No": "false", "Yes": "true"}),
        ),
        _field(None, "customertypecode", "1", _default("3")),
        _field("PARTYTYPE", None, "2", _default("Organization")),
        _field("DELIVERYADDRESSCITY", "address1_city", "1", _default("Zürich")),
    ],
)


def _record(ident: str, name: str, mapping: str, version: str) -> str:
    from xml.sax.saxutils import escape

    return f"""      <msdyn_dualwriteentitymap msdyn_dualwriteentitymapid="{ident}">
        <iscustomizable>1</iscustomizable>
        <msdyn_name>{escape(name)}</msdyn_name>
        <msdyn_displayname>{escape(name)}</msdyn_displayname>
        <msdyn_mapping>{escape(mapping)}</msdyn_mapping>
        <msdyn_properties>{{"tags":[],"author":"Contoso"}}</msdyn_properties>
        <msdyn_version>{version}</msdyn_version>
        <statecode>0</statecode>
        <statuscode>1</statuscode>
      </msdyn_dualwriteentitymap>
"""


CUSTOMIZATIONS = (
    """<ImportExportXml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" OrganizationVersion="9.2.24012.196" OrganizationSchemaType="Standard" CRMServerServiceabilityVersion="9.2.24012.00196">
  <Entities></Entities>
  <Roles></Roles>
  <Workflows></Workflows>
  <FieldSecurityProfiles></FieldSecurityProfiles>
  <Templates />
  <EntityMaps />
  <EntityRelationships />
  <OrganizationSettings />
  <optionsets />
  <CustomControls />
  <EntityDataProviders />
  <msdyn_dualwriteentitymaps>
"""
    + _record("6f0c3a1e-1111-4c3e-9a55-0d3b7f0e2a01", "sst_[uoms - Units]", UNITS_OLD, "1.0.0.0")
    + _record("6f0c3a1e-2222-4c3e-9a55-0d3b7f0e2a02", "sst_[uoms - Units]", UNITS, "1.0.0.1")
    + _record(
        "6f0c3a1e-3333-4c3e-9a55-0d3b7f0e2a03",
        "sst_[accounts - Customers V3]",
        CUSTOMERS,
        "1.0.0.5",
    )
    + """  </msdyn_dualwriteentitymaps>
  <Languages>
    <Language>1033</Language>
  </Languages>
</ImportExportXml>
"""
)


def real_export_zip() -> bytes:
    """The zip, written by zipfile the way any tool would (entries in export order)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customizations.xml", "\ufeff" + CUSTOMIZATIONS)
        archive.writestr("solution.xml", "\ufeff" + SOLUTION)
        archive.writestr("Other/", "")
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
    return buffer.getvalue()
