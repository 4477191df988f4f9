"""The framework adapters pass mypy --strict against the frameworks' own types (the core client's modules are checked
in test_typing.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cofre_client"
ADAPTERS = ["agency_swarm.py", "openai_agents.py", "langchain.py", "_mcp_endpoint.py", "_schema_model.py",
            "_tool_call.py", "_tool_output.py", "_tool_spec.py"]


def test_the_adapters_pass_mypy_strict() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null",
         *(str(PACKAGE / name) for name in ADAPTERS)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
