"""GitOps (ARCHITECTURE §7): releases as git tags, promotion between stages, and the semantic
diff of the configuration between two git revisions."""
