"""Training tests run many tiny steps: one intra-op thread avoids oversubscribing a busy CPU."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield
