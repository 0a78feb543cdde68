"""Starting points: a new configuration repository (`dwconf init`) and maps from templates."""
