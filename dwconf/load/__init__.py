"""Loading: YAML files with source positions, then the project's documents and models."""
