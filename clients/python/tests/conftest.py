"""
pytest harness: one real cofre per session (tests/cofre_stack.py: `cofre init`, the paper exchange, an agent,
`cofre serve`, from this repository's bin/cofre.js), and clients of it. Stopped at the end of the session.

Fixtures for every test file (the framework adapters' tests use them too):
    cofre    the running CofreStack: .url, .token_file, .dir, .cli(*args), .add_agent(id, policy)
    client   a CofreClient of that cofre as the agent `py-agent` (policy `demo`: every action)
    aclient  an AsyncCofreClient of the same (async tests: @pytest.mark.anyio)
"""

from __future__ import annotations

import itertools
import os

from typing import AsyncIterator, Iterator

import pytest

from cofre_client import AsyncCofreClient, CofreClient
from cofre_stack import CofreStack

# The tests never take cofre's coordinates from the environment of whoever runs them.
for _name in ("COFRE_TOKEN_FILE", "COFRE_URL"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def cofre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreStack]:
    stack = CofreStack(tmp_path_factory.mktemp("cofre"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture
def client(cofre: CofreStack) -> Iterator[CofreClient]:
    with CofreClient(cofre.url, token_file=cofre.token_file) as c:
        yield c


@pytest.fixture
async def aclient(cofre: CofreStack) -> AsyncIterator[AsyncCofreClient]:
    async with AsyncCofreClient(cofre.url, token_file=cofre.token_file) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


_ids = itertools.count(1)


@pytest.fixture
def order_id(request: pytest.FixtureRequest) -> str:
    """A clientOrderId unique within the session (the paper exchange and cofre both remember ids)."""
    return f"py-{os.getpid()}-{next(_ids)}"
