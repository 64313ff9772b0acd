"""`tocsin config routes [test]` against Debian's real `amtool config routes [test]`, side by side.

For every route tree and label set of the corpus below, both commands run on the same file and
must print the same thing and exit the same way: the receivers line, the `--tree` drawing, the
`--verify.receivers` verdict, and the whole routing tree. The corpus covers legacy `match` /
`match_re` (which Alertmanager stores anchored, and prints so), several matchers per string,
RE2 regex features, `continue` at several levels, receiver inheritance, quoting of unusual
values, and labels that match nothing.

amtool comes from the Debian package prometheus-alertmanager (`make test` installs it through
scripts/system-deps.sh); without it this test fails rather than skips.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tocsin.cli.main import main
from tocsin.config import load_file

from .alertmanager import find_binary

pytestmark = pytest.mark.slow

TREES: dict[str, str] = {
    "legacy-and-new": """
route:
  receiver: default
  group_by: [alertname]
  routes:
  - match: {team: frontend}
    match_re: {env: 'prod|staging'}
    receiver: frontend
    routes:
    - match: {severity: critical}
      receiver: frontend-pager
      continue: true
    - matchers: ['severity=~"crit.*|page"']
      receiver: frontend-any
  - match_re: {service: '^(db|cache)-[0-9]+$'}
    receiver: storage
    continue: true
  - matchers: ['service=~"db-.*"', 'tier!="test"']
    receiver: db
  - matchers: ['{team="backend", severity!~"info|debug"}']
    routes:
    - {matchers: [region="eu"], receiver: backend-eu}
    - {matchers: [region="us"]}
receivers:
- name: default
- name: frontend
- name: frontend-pager
- name: frontend-any
- name: storage
- name: db
- name: backend-eu
""",
    "deep-continue": """
route:
  receiver: root
  routes:
  - matchers: [a="1"]
    receiver: a
    continue: true
    routes:
    - matchers: [b="1"]
      receiver: ab
      continue: true
      routes:
      - {matchers: [c="1"], receiver: abc, continue: true}
      - {matchers: ['c=~"1|2"'], receiver: abc12}
      - {matchers: [c="1"], receiver: never}
    - matchers: ['b=~".+"']
      receiver: a-anyb
  - matchers: ['a=~"[0-9]"']
    receiver: digit
    continue: true
  - matchers: ['a!="9"']
    receiver: not9
  - matchers: [a="9"]
    receiver: nine
receivers:
- name: root
- name: a
- name: ab
- name: abc
- name: abc12
- name: never
- name: a-anyb
- name: digit
- name: not9
- name: nine
""",
    "regex-dialect": """
route:
  receiver: fallback
  routes:
  - {matchers: ['alertname=~"(?i)disk.*"'], receiver: disk}
  - {matchers: ['instance=~"db-[0-9]+\\\\.example\\\\.com(:[0-9]+)?"'], receiver: db-host}
  - {matchers: ['path=~"/api/v[12]/.*"'], receiver: api}
  - {matchers: ['code=~"5\\\\d\\\\d"'], receiver: server-error}
  - {matchers: ['word=~"\\\\w+"', 'word!~"[[:upper:]].*"'], receiver: lower-word}
  - {matchers: ['tier=~"|gold"', 'team!=""'], receiver: gold-or-none}
  - {matchers: ['multi=~"a\\nb"'], receiver: newline}
receivers:
- name: fallback
- name: disk
- name: db-host
- name: api
- name: server-error
- name: lower-word
- name: gold-or-none
- name: newline
""",
    "quoting": """
route:
  receiver: default
  routes:
  - matchers: ['msg="say \\"hi\\""', 'uni="é✓"']
    receiver: quoted
  - matchers: ['back=~"a\\\\\\\\b"']
    receiver: backslash
  - match: {owner: 'team X'}
    receiver: spaced
receivers:
- name: default
- name: quoted
- name: backslash
- name: spaced
""",
    "inherited-receivers": """
route:
  receiver: top
  routes:
  - matchers: [team="a"]
    routes:
    - matchers: [sev="page"]
      routes:
      - matchers: [env="prod"]
        receiver: a-prod-page
      - matchers: [env="dev"]
    - matchers: [sev="ticket"]
      receiver: a-ticket
      routes:
      - {matchers: [env="dev"], continue: true}
      - {matchers: ['env=~"d.*"']}
  - matchers: [team="b"]
    receiver: b
receivers:
- name: top
- name: a-prod-page
- name: a-ticket
- name: b
""",
}

LABELS: dict[str, list[list[str]]] = {
    "legacy-and-new": [
        ["team=frontend", "env=prod"],
        ["team=frontend", "env=prod", "severity=critical"],
        ["team=frontend", "env=staging", "severity=page"],
        ["team=frontend", "env=production"],
        ["service=db-1"],
        ["service=db-1", "tier=test"],
        ["service=cache-22", "tier=prod"],
        ["team=backend", "region=eu"],
        ["team=backend", "region=us", "severity=warning"],
        ["team=backend", "severity=info", "region=eu"],
        ["alertname=Nothing"],
        [],
    ],
    "deep-continue": [
        ["a=1", "b=1", "c=1"],
        ["a=1", "b=1", "c=2"],
        ["a=1", "b=1"],
        ["a=1", "b=2"],
        ["a=1"],
        ["a=9"],
        ["a=x"],
        ["b=1"],
    ],
    "regex-dialect": [
        ["alertname=DiskFull"],
        ["alertname=HighDisk"],
        ["instance=db-12.example.com"],
        ["instance=db-12.example.com:9100"],
        ["instance=db-12xexample.com"],
        ["path=/api/v2/alerts"],
        ["path=/api/v3/alerts"],
        ["code=503"],
        ["code=5x3"],
        ["word=abc"],
        ["word=Abc"],
        ["word=ab-c"],
        ["team=ops"],
        ["team=ops", "tier=silver"],
        ['multi="a\\nb"'],
        ["alertname=other"],
    ],
    "quoting": [
        ['msg=say "hi"', "uni=é✓"],
        ['msg="say \\"hi\\""', 'uni="é✓"'],
        ["back=a\\b"],
        ['back="a\\\\b"'],
        ["owner=team X"],
        ["owner=teamX"],
    ],
    "inherited-receivers": [
        ["team=a", "sev=page", "env=prod"],
        ["team=a", "sev=page", "env=dev"],
        ["team=a", "sev=page"],
        ["team=a", "sev=ticket", "env=dev"],
        ["team=a", "sev=ticket", "env=demo"],
        ["team=a"],
        ["team=b", "sev=page"],
        ["team=c"],
    ],
}


@pytest.fixture(scope="module")
def amtool() -> str:
    return find_binary("amtool")


@pytest.fixture(scope="module")
def config_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("trees")
    files = {}
    for name, text in TREES.items():
        files[name] = directory / f"{name}.yml"
        files[name].write_text(text.lstrip(), encoding="utf-8")
    return files


def run_amtool(amtool: str, args: list[str]) -> tuple[str, int]:
    # amtool reads ~/.config/amtool/config.yml and /etc/amtool/config.yml: keep both out.
    done = subprocess.run(
        [amtool, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        check=False,
    )
    return done.stdout, done.returncode


def run_tocsin(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[str, int]:
    capsys.readouterr()
    code = main(args)
    return capsys.readouterr().out, code


def _cases() -> list[tuple[str, list[str]]]:
    return [(tree, labels) for tree, sets in LABELS.items() for labels in sets]


def test_the_corpus_loads_in_both(amtool: str, config_files: dict[str, Path]) -> None:
    for name, path in config_files.items():
        out, code = run_amtool(amtool, ["check-config", str(path)])
        assert code == 0, f"{name}: amtool rejects the corpus file:\n{out}"
        load_file(str(path), {})


@pytest.mark.parametrize("name", list(TREES))
def test_routes_show_is_identical(
    name: str, amtool: str, config_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["config", "routes", f"--config.file={config_files[name]}"]
    assert run_tocsin(capsys, args) == run_amtool(amtool, args)


@pytest.mark.parametrize(
    ("name", "labels"), _cases(), ids=lambda v: ",".join(v) if isinstance(v, list) else v
)
def test_routes_test_is_identical(
    name: str,
    labels: list[str],
    amtool: str,
    config_files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["config", "routes", "test", f"--config.file={config_files[name]}"]
    expected = run_amtool(amtool, [*base, *labels])
    assert run_tocsin(capsys, [*base, *labels]) == expected
    tree = [*base, "--tree", *labels]
    assert run_tocsin(capsys, tree) == run_amtool(amtool, tree)
    receivers = expected[0].strip()
    for verify in (receivers, receivers + ",nobody"):
        args = [*base, f"--verify.receivers={verify}", *labels]
        assert run_tocsin(capsys, args) == run_amtool(amtool, args)


FULL = Path(__file__).resolve().parents[1] / "config" / "data" / "alertmanager-full.yml"
FULL_LABELS = [
    ["alertname=A", "service=foo1"],
    ["alertname=A", "service=foo2", "severity=critical"],
    ["alertname=A", "service=database", "owner=team-X"],
    ["alertname=A", "service=database", "owner=team-Y"],
    ["alertname=A", "team=platform"],
    ["alertname=A"],
]


def test_a_full_alertmanager_file_checks_and_routes_the_same(
    amtool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, code = run_amtool(amtool, ["check-config", str(FULL)])
    assert code == 0, out
    args = ["config", "routes", f"--config.file={FULL}"]
    assert run_tocsin(capsys, args) == run_amtool(amtool, args)
    for labels in FULL_LABELS:
        args = ["config", "routes", "test", f"--config.file={FULL}", "--tree", *labels]
        assert run_tocsin(capsys, args) == run_amtool(amtool, args)
