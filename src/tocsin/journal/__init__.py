"""The append-only msgpack event journal: framing, segments, group commit, snapshots, replay."""
