"""`tocsin config show` renders auth tokens (roles are enums) as the file writes them."""

from __future__ import annotations

import yaml

from tocsin.config import load_text
from tocsin.config.dump import dump_config

TEXT = """
route: {receiver: r}
receivers: [{name: r}]
tocsin:
  auth:
    tokens:
      - name: ci
        token: not-shown
        roles: [ingest, read]
"""


def test_tokens_dump_with_roles_and_a_masked_secret():
    out = dump_config(load_text(TEXT, filename="x.yml"))
    assert "not-shown" not in out
    tokens = yaml.safe_load(out)["tocsin"]["auth"]["tokens"]
    assert tokens[0]["name"] == "ci" and tokens[0]["roles"] == ["ingest", "read"]
