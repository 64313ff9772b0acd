"""Record and check the differential corpus against Alertmanager's `amtool template render`.

    .venv/bin/python tests/adapters/gotemplate/golden.py        # re-record golden.json

`amtool template render` (Alertmanager 0.25, Debian's build) renders a text with a data file
through the same template package the daemon uses. Its set lacks the embedded defaults, so
Debian's copies of default.tmpl and email.tmpl are loaded as globs, beside data/corpus.tmpl;
the daemon-level integration test shows those copies are what the daemon renders.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(HERE.parents[2]))
    sys.path.insert(0, str(HERE.parents[2] / "src"))

from tests.adapters.gotemplate.cases import CASES, Case  # noqa: E402

DATA = HERE / "data"
CORPUS = DATA / "corpus.tmpl"
GOLDEN = HERE / "golden.json"
DEBIAN_TEMPLATES = (
    Path("/usr/share/prometheus/alertmanager/default.tmpl"),
    Path("/usr/share/prometheus/alertmanager/email.tmpl"),
)
INSTALL_HINT = (
    "Debian's prometheus-alertmanager package (amtool and its default templates) is not "
    "installed: run `make test` or `bash scripts/system-deps.sh`"
)


def amtool_binary() -> str | None:
    return shutil.which("amtool") or (
        "/usr/bin/amtool" if Path("/usr/bin/amtool").exists() else None
    )


def amtool_render(case: Case, amtool: str) -> dict[str, Any]:
    """What amtool makes of `case`: {"output": text} or {"error": message}."""
    args = [
        amtool,
        "template",
        "render",
        f"--template.data={DATA / (case.data + '.json')}",
        f"--template.glob={CORPUS}",
        *(f"--template.glob={p}" for p in DEBIAN_TEMPLATES),
        f"--template.type={'html' if case.html else 'text'}",
        f"--template.text={case.text}",
    ]
    proc = subprocess.run(args, capture_output=True, timeout=30, check=False, env={"TZ": "UTC"})
    if proc.returncode != 0:
        return {"error": proc.stderr.decode("utf-8", "replace").strip()}
    return {"output": proc.stdout.decode("utf-8", "surrogateescape")}


def load_golden() -> dict[str, dict[str, Any]]:
    return json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}


def record() -> None:
    amtool = amtool_binary()
    if amtool is None:
        raise SystemExit(INSTALL_HINT)
    golden = {case.key: amtool_render(case, amtool) for case in CASES}
    GOLDEN.write_text(json.dumps(golden, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    errors = sum("error" in v for v in golden.values())
    print(f"recorded {len(golden)} cases ({errors} errors) in {GOLDEN}")


if __name__ == "__main__":
    record()
