"""Tocsin: an event-sourced alert management daemon."""

__version__ = "0.1.0"
