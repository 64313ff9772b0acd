"""The `tocsin` command."""
