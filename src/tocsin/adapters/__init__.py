"""The edges: HTTP API, websocket stream, and notification channels."""
