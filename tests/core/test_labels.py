"""Labels: identity (order-free equality, hashing), interning, validation and fingerprints."""

from __future__ import annotations

import enum
import pickle

import pytest

from tocsin.core.labels import EMPTY_LABELS, InvalidLabel, Labels, fingerprint_of


def reference_fnv1a64(data: bytes) -> int:
    """FNV-1a, 64 bit, straight from its definition (offset basis, prime, xor-then-multiply)."""
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) % 2**64
    return h


def reference_fingerprint(labels: dict[str, str]) -> int:
    """Prometheus' LabelSet.Fingerprint: every name and value in name order, each + 0xff."""
    data = b"".join(
        name.encode() + b"\xff" + labels[name].encode() + b"\xff" for name in sorted(labels)
    )
    return reference_fnv1a64(data)


# -- identity ------------------------------------------------------------------------------------

SAME_SETS = [
    pytest.param({"a": "1", "b": "2"}, [("b", "2"), ("a", "1")], id="mapping-vs-reversed-pairs"),
    pytest.param({"b": "2", "a": "1"}, {"a": "1", "b": "2"}, id="mapping-insertion-order"),
    pytest.param(
        [("z", ""), ("A", "x"), ("_", "y")], {"_": "y", "A": "x", "z": ""}, id="case-and-underscore"
    ),
    pytest.param({}, [], id="empty"),
]


@pytest.mark.parametrize(("one", "other"), SAME_SETS)
def test_order_of_construction_does_not_matter(one: object, other: object) -> None:
    a, b = Labels.of(one), Labels.of(other)  # type: ignore[arg-type]
    assert a == b
    assert hash(a) == hash(b)
    assert a.pairs == b.pairs
    assert a.fingerprint == b.fingerprint
    assert len({a, b}) == 1


def test_pairs_are_sorted_by_name_in_byte_order() -> None:
    labels = Labels.of({"b": "1", "_": "2", "B": "3", "a": "4", "A1": "5"})
    assert [n for n, _ in labels.pairs] == ["A1", "B", "_", "a", "b"]
    assert list(labels) == ["A1", "B", "_", "a", "b"]


DIFFERENT_SETS = [
    pytest.param({"a": "1"}, {"a": "2"}, id="value"),
    pytest.param({"a": "1"}, {"b": "1"}, id="name"),
    pytest.param({"a": "1"}, {"a": "1", "b": ""}, id="empty-value-is-kept"),
    pytest.param({"a": "bc"}, {"ab": "c"}, id="separator-between-name-and-value"),
    pytest.param({"a": "b", "c": "d"}, {"a": "bc", "": "d"}, id="separator-between-pairs"),
]


@pytest.mark.parametrize(("one", "other"), DIFFERENT_SETS)
def test_different_sets_differ(one: dict[str, str], other: dict[str, str]) -> None:
    a, b = Labels.of(one, validate=False), Labels.of(other, validate=False)
    assert a != b
    assert a.fingerprint != b.fingerprint


def test_equals_a_plain_mapping_and_reads_like_one() -> None:
    labels = Labels.of({"env": "prod", "job": "api"})
    assert labels == {"job": "api", "env": "prod"}
    assert labels != {"env": "prod"}
    assert labels["env"] == "prod"
    assert "job" in labels and "team" not in labels
    assert len(labels) == 2
    assert labels.to_dict() == {"env": "prod", "job": "api"}
    with pytest.raises(KeyError):
        labels["team"]


@pytest.mark.parametrize(
    ("name", "expected"), [("env", "prod"), ("team", ""), ("", ""), ("Env", "")]
)
def test_get_or_empty_treats_a_missing_label_as_empty(name: str, expected: str) -> None:
    assert Labels.of({"env": "prod"}).get_or_empty(name) == expected


def test_of_returns_a_labels_unchanged() -> None:
    labels = Labels.of({"a": "1"})
    assert Labels.of(labels) is labels


def test_subset_and_without() -> None:
    labels = Labels.of({"a": "1", "b": "2", "c": "3"})
    assert labels.subset(["a", "c", "missing"]) == {"a": "1", "c": "3"}
    assert labels.without(["a", "missing"]) == {"b": "2", "c": "3"}
    assert labels.subset([]) == EMPTY_LABELS


def test_survives_pickling() -> None:
    labels = Labels.of({"a": "1", "b": "é"})
    copy = pickle.loads(pickle.dumps(labels))
    assert copy == labels and copy.fingerprint == labels.fingerprint


# -- interning -----------------------------------------------------------------------------------


def test_values_of_separately_built_sets_are_one_object() -> None:
    # Built at run time so the compiler cannot fold them into one constant.
    v1 = "".join(["pro", "duction-eu-west-1"])
    v2 = "production-eu-" + str.lower("WEST-1")
    assert v1 == v2 and v1 is not v2
    a = Labels.of({"env": v1})
    b = Labels.of([("env", v2)])
    assert a["env"] is b["env"]
    assert a.pairs[0][0] is b.pairs[0][0]


def test_str_subclass_values_are_accepted_and_stored_as_plain_str() -> None:
    class Severity(enum.StrEnum):
        CRITICAL = "critical"

    labels = Labels.of({"severity": Severity.CRITICAL})
    assert labels == {"severity": "critical"}
    assert type(labels["severity"]) is str
    assert labels["severity"] is Labels.of({"severity": "".join(["crit", "ical"])})["severity"]
    assert labels.fingerprint == Labels.of({"severity": "critical"}).fingerprint


# -- validation ----------------------------------------------------------------------------------

INVALID = [
    pytest.param({"": "x"}, "", "empty", id="empty-name"),
    pytest.param({"1abc": "x"}, "1abc", "invalid label name", id="leading-digit"),
    pytest.param({"ok": "1", "with-dash": "x"}, "with-dash", "invalid label name", id="dash"),
    pytest.param({"a.b": "x"}, "a.b", "invalid label name", id="dot"),
    pytest.param({"a:b": "x"}, "a:b", "invalid label name", id="colon-is-a-metric-name-char"),
    pytest.param({"é": "x"}, "é", "invalid label name", id="non-ascii-name"),
    pytest.param({"a ": "x"}, "a ", "invalid label name", id="trailing-space"),
    pytest.param({"a": 1}, "a", "must be a string", id="int-value"),
    pytest.param({"a": None}, "a", "must be a string", id="none-value"),
    pytest.param({"a": "\ud800"}, "a", "UTF-8", id="lone-surrogate"),
    pytest.param([("a", "1"), ("a", "2")], "a", "duplicate", id="duplicate-name-in-pairs"),
]


@pytest.mark.parametrize(("given", "name", "reason"), INVALID)
def test_invalid_labels_are_rejected_naming_the_label(
    given: object, name: str, reason: str
) -> None:
    with pytest.raises(InvalidLabel) as info:
        Labels.of(given)  # type: ignore[arg-type]
    assert info.value.name == name
    assert reason in info.value.reason
    assert repr(name) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_string_name_is_rejected() -> None:
    with pytest.raises(InvalidLabel, match="must be a string"):
        Labels.of({1: "x"})  # type: ignore[dict-item]


def test_validation_can_be_skipped_for_trusted_input() -> None:
    labels = Labels.of({"a:b": "x"}, validate=False)
    assert labels["a:b"] == "x"


# -- fingerprints --------------------------------------------------------------------------------


def test_empty_set_fingerprint_is_the_fnv_offset_basis() -> None:
    assert EMPTY_LABELS.fingerprint == 14695981039346656037
    assert Labels.of({}).fingerprint_hex == "cbf29ce484222325"
    assert reference_fingerprint({}) == 14695981039346656037


def test_reference_fnv1a_matches_published_test_vectors() -> None:
    # The FNV authors' test vectors for FNV-1a 64: a check on the check.
    assert reference_fnv1a64(b"") == 0xCBF29CE484222325
    assert reference_fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert reference_fnv1a64(b"foobar") == 0x85944171F73967E8


FINGERPRINT_SETS = [
    {"alertname": "test"},
    {"a": "1", "b": "2"},
    {"a": ""},
    {"severity": "critical", "alertname": "DiskFull", "instance": "db-1:9100"},
    {"unicode": "日本語 café 🔥", "rtl": "שלום"},
    {"quote": 'say "hi"', "backslash": "C:\\path", "newline": "a\nb", "nul": "\x00"},
    {f"l{i:02d}": f"v{i}" for i in range(60)},
    {"long": "x" * 10_000},
]


@pytest.mark.parametrize("given", FINGERPRINT_SETS, ids=lambda d: ",".join(sorted(d))[:40])
def test_fingerprint_is_prometheus_fnv1a(given: dict[str, str]) -> None:
    labels = Labels.of(given)
    expected = reference_fingerprint(given)
    assert labels.fingerprint == expected
    assert labels.fingerprint_hex == f"{expected:016x}"
    assert len(labels.fingerprint_hex) == 16
    assert fingerprint_of(labels.pairs) == expected


# Fingerprints that the real Alertmanager 0.25 reported for these label sets (GET /api/v2/alerts);
# tests/integration/test_fingerprint_alertmanager.py checks many more against a live one.
ALERTMANAGER_FINGERPRINTS = [
    ({"alertname": "test"}, "1f56cb8f931d1bd4"),
    ({"a": "1", "b": "2"}, "1cc37fac8a64ae01"),
    ({"alertname": "HighLatency", "service": "api", "severity": "critical"}, "6a4f37c34a2d1e4b"),
    ({"z": " "}, "ccdb7263dbde1ea7"),
    ({"n": "\x00"}, "078d71bcf80f1673"),
]


@pytest.mark.parametrize(("given", "fingerprint"), ALERTMANAGER_FINGERPRINTS)
def test_fingerprint_matches_what_alertmanager_reported(
    given: dict[str, str], fingerprint: str
) -> None:
    assert Labels.of(given).fingerprint_hex == fingerprint
