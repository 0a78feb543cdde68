"""Pictures of a configuration: the dependency graph of maps and a plan's steps (mermaid, dot)."""
