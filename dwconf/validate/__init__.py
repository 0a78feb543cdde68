"""Semantic validation rules."""
