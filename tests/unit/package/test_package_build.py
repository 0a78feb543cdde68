"""Building solution zips: golden bytes, determinism, the parts' shapes, refusals, package_for."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile

import pytest

from dwconf.desired import canonical_map
from dwconf.live import Environment
from dwconf.package import PackageError, build_zip, file_name, package_for, read_zip, with_version
from tests.unit.package.builders import currencies, customers, solution
from tests.unit.package.conftest import GoldenBytes


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def records(data: bytes) -> list[ET.Element]:
    root = ET.fromstring(parts(data)["customizations.xml"])
    return root.findall("msdyn_dualwriteentitymaps/msdyn_dualwriteentitymap")


def test_golden_managed_zip(golden_bytes: GoldenBytes) -> None:
    golden_bytes(
        "contoso_CustomerMaps_1_4_0_0.zip", build_zip(solution(), [customers(), currencies()])
    )


def test_golden_unmanaged_zip_at_another_version(golden_bytes: GoldenBytes) -> None:
    model = with_version(solution(), "1.4.0.7")
    data = build_zip(model, [currencies()], managed=False)
    golden_bytes("contoso_CustomerMaps_1_4_0_7_unmanaged.zip", data)


def test_same_input_same_bytes_whatever_the_map_order() -> None:
    first = build_zip(solution(), [customers(), currencies()])
    assert build_zip(solution(), [currencies(), customers()]) == first
    assert build_zip(solution(), [customers(), currencies()]) == first


def test_entries_are_fixed_in_order_time_and_compression() -> None:
    data = build_zip(solution(), [customers()])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == [
        "[Content_Types].xml",
        "customizations.xml",
        "solution.xml",
    ]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_solution_manifest() -> None:
    data = build_zip(solution(), [customers(), currencies()], managed=False)
    manifest = ET.fromstring(parts(data)["solution.xml"]).find("SolutionManifest")
    assert manifest is not None
    assert manifest.findtext("UniqueName") == "contoso_CustomerMaps"
    assert manifest.findtext("Version") == "1.4.0.0"
    assert manifest.findtext("Managed") == "0"
    name = manifest.find("LocalizedNames/LocalizedName")
    assert name is not None and name.attrib == {
        "description": "Contoso customer maps",
        "languagecode": "1033",
    }
    assert manifest.findtext("Publisher/UniqueName") == "contoso"
    assert manifest.findtext("Publisher/CustomizationPrefix") == "cnt"
    assert manifest.findtext("Publisher/CustomizationOptionValuePrefix") == "10000"
    roots = manifest.findall("RootComponents/RootComponent")
    ids = {f"{{{r.get('msdyn_dualwriteentitymapid')}}}" for r in records(data)}
    assert {r.get("id") for r in roots} == ids and {r.get("type") for r in roots} == {"500"}
    required = manifest.findall("MissingDependencies/MissingDependency/Required")
    assert [r.get("solution") for r in required] == [
        "DualWriteCore (1.0.23084.0)",
        "Dynamics365FinanceExtended (2.0.227)",
    ]


def test_map_record_in_the_gateway_leg_shape() -> None:
    (record,) = records(build_zip(solution(), [customers()]))
    assert record.findtext("msdyn_name") == "cnt_[accounts - Customers V3]"
    assert record.findtext("msdyn_version") == "1.0.0.5"
    mapping = json.loads(record.findtext("msdyn_mapping") or "")
    (leg,) = mapping["legs"]
    assert (leg["sourceSchema"], leg["destinationSchema"]) == ("Customers V3", "accounts")
    assert leg["sourceFilter"] == '((PartyType == "Organization"))'
    assert leg["reversedSourceFilter"] == "customertypecode eq 3"
    directions = [
        (f["sourceField"], f["destinationField"], f["syncDirection"]) for f in leg["fieldMappings"]
    ]
    assert directions[0] == ("CUSTOMERACCOUNT", "accountnumber", 3)
    assert directions[-2:] == [(None, "customertypecode", 1), ("PARTYTYPE", None, 2)]
    value_map = leg["fieldMappings"][3]["valueTransforms"]
    assert value_map == [
        {
            "transformType": "ValueMap",
            "valueMap": {
                "no": 806380000,
                "invoice": 806380001,
                "all": 806380002,
                "payment": 806380003,
                "requisition": 806380004,
                "never": 806380005,
            },
            "defaultValue": None,
            "createValuesOnDestination": False,
        }
    ]
    default = leg["fieldMappings"][4]["valueTransforms"]
    assert default == [{"transformType": "Default", "defaultValue": 3, "valueMap": None}]


def test_read_back_is_the_same_model() -> None:
    maps = [customers(), currencies()]
    content = read_zip(build_zip(solution(), maps, managed=False))
    assert content.solution == solution()
    assert content.maps == (customers(), currencies())[::-1]  # sorted by name
    assert content.managed is False and content.notes == ()


def test_dependencies_become_requirements() -> None:
    data = build_zip(solution(), [customers()], dependencies={"contoso_ReferenceMaps": "1.2.0.0"})
    assert read_zip(data).solution.requires["contoso_ReferenceMaps"] == ">=1.2.0.0"


def test_file_name_and_version_override() -> None:
    assert file_name(with_version(solution(), "2.0.0.1")) == "contoso_CustomerMaps_2_0_0_1.zip"
    with pytest.raises(PackageError, match=r"'2\.0' is not a four-part version"):
        with_version(solution(), "2.0")


def test_two_maps_with_one_name_are_refused() -> None:
    with pytest.raises(PackageError, match="two maps named 'Customers V3"):
        build_zip(solution(), [customers(), customers(description="again")])


def test_two_names_for_one_table_map_version_are_refused() -> None:
    with pytest.raises(PackageError, match="same table map"):
        build_zip(solution(), [customers(), customers(name="Customers again")])


def test_text_xml_cannot_carry_is_refused() -> None:
    with pytest.raises(PackageError, match="U\\+0001"):
        build_zip(solution(), [customers(name="Customers\x01")])


def test_requirement_without_a_minimum_is_refused() -> None:
    with pytest.raises(PackageError, match="no minimum version"):
        build_zip(solution(requires={"DualWriteCore": "<2.0"}), [customers()])


def test_package_for_is_what_the_live_model_imports() -> None:
    package = package_for(solution(), [customers(), currencies()])
    assert (package.unique_name, package.version, package.publisher) == (
        "contoso_CustomerMaps",
        "1.4.0.0",
        "contoso",
    )
    assert package.requires == solution().requires and package.managed is False
    assert package.maps == [canonical_map(currencies()), canonical_map(customers())]
    with Environment.memory() as env:
        env.import_solution(package)
        templates = env.apply_solution("contoso_CustomerMaps")
    assert {t.name: t.definition for t in templates} == {
        m.name: canonical_map(m) for m in (customers(), currencies())
    }
