"""Helpers that CI pipelines run (the Azure Repos review comment)."""
