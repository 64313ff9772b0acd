from __future__ import annotations

from datetime import UTC, datetime

import pytest
import trio.testing

from tests.fakes.fixtures import serve

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def slack_fake():
    yield from serve("tests.fakes.slack_server")


@pytest.fixture(scope="session")
def pd_fake():
    yield from serve("tests.fakes.pagerduty_server")


@pytest.fixture
async def slack(slack_fake):
    await slack_fake.control("/reset")
    return slack_fake


@pytest.fixture
async def pd(pd_fake):
    await pd_fake.control("/reset")
    return pd_fake


@pytest.fixture
def net_clock():
    """Trio's mock clock that jumps only after 0.25 s of real idleness: talking to a local
    server (a few ms) never triggers a jump, waiting for a timeout or a backoff does."""
    return trio.testing.MockClock(autojump_threshold=0.25)
