"""Reading and unpacking a zip shaped like a real Dataverse export."""

from __future__ import annotations

from dwconf.model import TableMap
from dwconf.package import read_zip
from dwconf.package.unpack import unpack_files
from dwconf.yaml import read
from tests.unit.package.real_export import real_export_zip

UNITS_YAML = """\
# Unpacked by dwconf unpack from MyCustomTableMaps_1_0_0_2_managed.zip (managed solution).
name: Units (uoms)
version: 1.0.0.1
finops_entity: Units
dataverse_table: uoms
fields:
  - {finops: UNITSYMBOL, dataverse: msdyn_symbol, direction: to_dataverse}
  - {finops: UNITSYMBOL, dataverse: name, direction: to_dataverse}
  - {finops: UNITDESCRIPTION, dataverse: msdyn_description, direction: to_dataverse}
  - finops: ISBASEUNIT
    dataverse: msdyn_isbaseunit
    direction: to_dataverse
    value_map:
      no: false
      yes: true
  - finops: SYSTEMOFUNITS
    dataverse: msdyn_systemofunits
    direction: to_dataverse
    value_map:
      none: 192350000
      metric: 192350001
      us: 192350002
"""

CUSTOMERS_YAML = """\
# Unpacked by dwconf unpack from MyCustomTableMaps_1_0_0_2_managed.zip (managed solution).
name: Customers V3 (accounts)
version: 1.0.0.5
finops_entity: Customers V3
dataverse_table: accounts
filters:
  finops: '((PartyType == "Organization"))'
  dataverse: customertypecode eq 3
fields:
  - {finops: CUSTOMERACCOUNT, dataverse: accountnumber, direction: both}
  - {finops: ORGANIZATIONNAME, dataverse: name, direction: both}
  - finops: CREDITLIMITISMANDATORY
    dataverse: msdyn_creditlimitismandatory
    direction: both
    value_map:
      No: false
      Yes: true
  - {dataverse: customertypecode, direction: to_dataverse, default: 3}
  - {finops: PARTYTYPE, direction: to_finops, default: Organization}
  - {finops: DELIVERYADDRESSCITY, dataverse: address1_city, direction: to_dataverse, default: Zürich}
"""

SOLUTION_YAML = """\
# Unpacked by dwconf unpack from MyCustomTableMaps_1_0_0_2_managed.zip (managed solution).
unique_name: MyCustomTableMaps
display_name: My custom table maps
version: 1.0.0.2
publisher: {unique_name: sst, prefix: sst, option_value_prefix: 72700, display_name: Sample publisher}
requires:
  DualWriteCore: '>=1.0.23084.2'
"""


def test_reads_the_manifest() -> None:
    content = read_zip(real_export_zip())
    solution = content.solution
    assert (solution.unique_name, solution.display_name, solution.version) == (
        "MyCustomTableMaps",
        "My custom table maps",
        "1.0.0.2",
    )
    assert solution.publisher.model_dump() == {
        "unique_name": "sst",
        "prefix": "sst",
        "option_value_prefix": 72700,
        "display_name": "Sample publisher",
    }
    assert solution.requires == {"DualWriteCore": ">=1.0.23084.2"}  # the highest named
    assert content.managed is True


def test_keeps_the_latest_version_of_each_map_and_says_so() -> None:
    content = read_zip(real_export_zip())
    assert [(m.name, m.version) for m in content.maps] == [
        ("Customers V3 (accounts)", "1.0.0.5"),
        ("Units (uoms)", "1.0.0.1"),
    ]
    assert content.notes == ("map 'Units (uoms)': kept version 1.0.0.1, left out 1.0.0.0",)


def test_foreign_values_are_typed_and_empty_filters_dropped() -> None:
    customers, units = read_zip(real_export_zip()).maps
    assert customers.fields[2].value_map == {"No": False, "Yes": True}
    assert units.fields[4].value_map == {"none": 192350000, "metric": 192350001, "us": 192350002}
    assert customers.fields[3].default == 3
    assert customers.fields[4].default == "Organization"
    assert units.filters.finops is None and units.filters.dataverse is None
    assert customers.depends_on == [] and customers.integration_key == []


def test_unpacks_to_tidy_yaml() -> None:
    files = unpack_files(read_zip(real_export_zip()), "MyCustomTableMaps_1_0_0_2_managed.zip")
    assert sorted(files) == [
        "maps/customers-v3-accounts.yaml",
        "maps/units-uoms.yaml",
        "solution.yaml",
    ]
    assert files["maps/units-uoms.yaml"] == UNITS_YAML
    assert files["maps/customers-v3-accounts.yaml"] == CUSTOMERS_YAML
    assert files["solution.yaml"] == SOLUTION_YAML


def test_unpacked_yaml_reads_back_as_the_same_maps() -> None:
    content = read_zip(real_export_zip())
    files = unpack_files(content, "export.zip")
    for model in content.maps:
        path = f"maps/{model.name.split(' (')[0].lower().replace(' ', '-')}"
        text = next(v for k, v in files.items() if k.startswith(path))
        doc, problems = read(text.encode(), "map.yaml")
        assert problems == []
        assert TableMap.model_validate(doc.data) == model
