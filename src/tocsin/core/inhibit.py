"""Inhibition: whether a firing alert mutes another, with Alertmanager's exact semantics.

Theory of operation
-------------------
A rule (`inhibit/inhibit.go`) mutes a target alert when the target matches the rule's target
matchers and some firing alert (the source) matches its source matchers and has, for every
`equal` label, the same value as the target. A missing label counts as "" on both sides, so
a label missing on both is equal. Two more rules:

* a source keeps inhibiting while it fires, even if it is itself silenced or inhibited (the
  caller passes every firing alert, muted or not);
* when the target also matches the source side, sources that also match the target side are
  ignored: two alerts that each match both sides do not inhibit each other (and an alert never
  inhibits itself).

`InhibitionIndex` holds, per rule, the firing alerts that match its source side, keyed by their
`equal` label values. Checking a target costs one matcher test per rule plus one dictionary
lookup per rule whose target side matches, whatever the number of alerts. The runtime keeps
one index up to date (`add` when an alert fires, `discard` when it resolves) and asks it at
flush time; `check_inhibited` is the one-shot form.

A check returns an `InhibitVerdict`: the reason (enum), and when muted, which rule (index in
`inhibit_rules`) and which source alert (fingerprint) mute it. Among several sources the first
added wins, so the answer is stable while the source keeps firing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs

from tocsin.core.events import Mute, MuteKind
from tocsin.core.labels import Labels
from tocsin.core.matchers import Matchers

__all__ = [
    "InhibitReason",
    "InhibitRule",
    "InhibitVerdict",
    "InhibitionIndex",
    "check_inhibited",
]


@attrs.frozen
class InhibitRule:
    """One `inhibit_rules` entry, legacy `*_match` / `*_match_re` folded into the matchers."""

    source_matchers: Matchers
    target_matchers: Matchers
    equal: tuple[str, ...] = ()
    name: str = ""


class InhibitReason(enum.StrEnum):
    INHIBITED = "inhibited"
    NOT_TARGETED = "no rule targets this alert"
    NO_SOURCE = "no firing source alert with equal labels"


@attrs.frozen
class InhibitVerdict:
    """Why an alert is (not) inhibited; `rule` and `source` are set when it is."""

    reason: InhibitReason
    rule: int | None = None
    rule_name: str = ""
    source: str | None = None

    @property
    def muted(self) -> bool:
        return self.reason is InhibitReason.INHIBITED

    def mute(self, fingerprint: str) -> Mute | None:
        """The `Mute` recording this verdict for the alert `fingerprint`; None when not muted."""
        if self.reason is not InhibitReason.INHIBITED:
            return None
        by = self.rule_name or f"inhibit_rules[{self.rule}]"
        return Mute(fingerprint, MuteKind.INHIBITED, by, f"source alert {self.source}")


_NOT_TARGETED = InhibitVerdict(InhibitReason.NOT_TARGETED)
_NO_SOURCE = InhibitVerdict(InhibitReason.NO_SOURCE)


class InhibitionIndex:
    """The firing alerts that can inhibit, per rule and `equal` values. Not thread-safe."""

    __slots__ = ("_buckets", "_equal", "rules")

    def __init__(self, rules: Sequence[InhibitRule]) -> None:
        self.rules = tuple(rules)
        self._equal = tuple(tuple(sorted(set(r.equal))) for r in self.rules)
        # Per rule: equal-values -> {source fingerprint: source also matches the target side}.
        self._buckets: tuple[dict[tuple[str, ...], dict[str, bool]], ...] = tuple(
            {} for _ in self.rules
        )

    @classmethod
    def build(cls, rules: Sequence[InhibitRule], firing: Iterable[Labels]) -> InhibitionIndex:
        index = cls(rules)
        for labels in firing:
            index.add(labels)
        return index

    def add(self, labels: Labels) -> None:
        """Record a firing alert (a no-op for rules whose source side it does not match)."""
        fp = labels.fingerprint_hex
        for rule, equal, buckets in zip(self.rules, self._equal, self._buckets, strict=True):
            if rule.source_matchers.matches(labels):
                key = tuple(labels.get_or_empty(n) for n in equal)
                buckets.setdefault(key, {})[fp] = rule.target_matchers.matches(labels)

    def discard(self, labels: Labels) -> None:
        """Forget an alert that stopped firing (a no-op if it was not recorded)."""
        fp = labels.fingerprint_hex
        for equal, buckets in zip(self._equal, self._buckets, strict=True):
            key = tuple(labels.get_or_empty(n) for n in equal)
            bucket = buckets.get(key)
            if bucket is not None and bucket.pop(fp, None) is not None and not bucket:
                del buckets[key]

    def check(self, target: Labels) -> InhibitVerdict:
        """Whether `target` is inhibited now, by which rule and source alert."""
        targeted = False
        for i, (rule, equal, buckets) in enumerate(
            zip(self.rules, self._equal, self._buckets, strict=True)
        ):
            if not rule.target_matchers.matches(target):
                continue
            targeted = True
            bucket = buckets.get(tuple(target.get_or_empty(n) for n in equal))
            if not bucket:
                continue
            two_sided = rule.source_matchers.matches(target)
            for fp, also_target in bucket.items():
                if two_sided and also_target:
                    continue
                return InhibitVerdict(InhibitReason.INHIBITED, i, rule.name, fp)
        return _NO_SOURCE if targeted else _NOT_TARGETED


def check_inhibited(
    rules: Sequence[InhibitRule], firing: Iterable[Labels], target: Labels
) -> InhibitVerdict:
    """Whether `target` is inhibited by any of `firing` (every firing alert, muted or not)."""
    return InhibitionIndex.build(rules, firing).check(target)
