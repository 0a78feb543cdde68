"""The command-line interface: thin click commands over typed functions."""
