"""`dwconf docs`: a static HTML site of the configuration (maps, fields, lineage, graph, envs)."""
