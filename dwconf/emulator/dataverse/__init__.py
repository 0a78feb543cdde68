"""The emulated Dataverse Web API (`/env/{name}/dataverse/api/data/v9.2`): requests as plain
data (`request`), the tables served from the live model (`tables`), reads and OData queries
(`handler`, `odata`, `odata_filter`), writes (`writes`), solution import and export (`solutions`,
`solution_zip`), table definitions (`metadata`) and `$batch` (`batch`).
"""
