"""Supervised trio tasks: dispatcher, group actors, channel actors, journal writer, event bus."""
