"""The Python examples (examples/ at the repository's root) against a real cofre, without a language model: each
agent is built as its example builds it, its tools checked and one invoked as the framework would; the get-balance
script is run as a newcomer runs it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from adapter_cases import DENIED, market_buy, read_output
from agents import RunConfig, RunContextWrapper, Runner
from agents.tool_context import ToolContext
from cofre_client import ACTION_NAMES, AsyncCofreClient, CofreClient
from cofre_client.openai_agents import mcp_server
from cofre_stack import CofreStack
from scripted_model import ScriptedModel

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(relative: str) -> ModuleType:
    path = EXAMPLES / relative
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}".replace("-", "_"), path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.anyio
async def test_the_openai_agents_example_builds_its_agent_with_cofres_tools(aclient: AsyncCofreClient) -> None:
    example = load("python-openai-agents/agent.py")
    agent = await example.build_agent(aclient)
    tools = {tool.name: tool for tool in agent.tools}
    assert list(tools) == list(ACTION_NAMES)
    arguments = json.dumps(market_buy(DENIED, "py-example-oa-denied"))
    context = ToolContext(context=None, tool_name="place_order", tool_call_id="call_1", tool_arguments=arguments)
    answer = read_output(await tools["place_order"].on_invoke_tool(context, arguments))
    assert answer["status"] == "denied" and answer["reason"]


@pytest.mark.anyio
async def test_the_openai_agents_example_run_by_the_sdks_runner_reads_a_denial(aclient: AsyncCofreClient) -> None:
    example = load("python-openai-agents/agent.py")
    model = ScriptedModel("place_order", market_buy(DENIED, "py-example-oa-runner"))
    agent = (await example.build_agent(aclient)).clone(model=model)
    result = await Runner.run(agent, "Buy 0.1 BTC.", run_config=RunConfig(tracing_disabled=True))
    assert model.offered == list(ACTION_NAMES)
    # The model's second turn echoes the tool output it was handed: cofre's denial, as data.
    answer = read_output(result.final_output)
    assert answer["status"] == "denied" and answer["rule"] and answer["reason"]


@pytest.mark.anyio
async def test_the_openai_agents_example_over_mcp_sees_cofres_tools(client: CofreClient) -> None:
    example = load("python-openai-agents/agent.py")
    async with mcp_server(client) as server:
        agent = example.build_mcp_agent(server)
        # What the SDK's run loop offers the model: the MCP server's tools.
        offered = await agent.get_all_tools(RunContextWrapper(context=None))
        assert {tool.name for tool in offered} == set(ACTION_NAMES)

        model = ScriptedModel("get_balance", {"account": "paper"})
        result = await Runner.run(
            agent.clone(model=model), "My balance?", run_config=RunConfig(tracing_disabled=True)
        )
        assert sorted(model.offered) == sorted(ACTION_NAMES)
        # The SDK hands an MCP tool's one text block to the model as that block's JSON.
        answer = read_output(json.loads(str(result.final_output))["text"])
        assert answer["status"] == "executed"


def test_the_agency_swarm_example_builds_its_agent_with_cofres_tools(
    client: CofreClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Agency Swarm 0.7 wants a key to construct an Agent; nothing here reaches OpenAI (there is no network to it).
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-sent")
    example = load("python-agency-swarm/agent.py")
    agent = example.build_agent(client)
    tools = {tool.__name__: tool for tool in agent.tools}
    assert list(tools) == list(ACTION_NAMES)
    assert read_output(tools["get_balance"](account="paper").run())["status"] == "executed"


@pytest.mark.parametrize("example", ["python-openai-agents/agent.py", "python-agency-swarm/agent.py"])
def test_an_agent_example_without_an_openai_key_says_so_before_anything_else(
    example: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert load(example).main(["What is my balance?", "--token-file", "/nonexistent/agent.token"]) == 2
    assert "set OPENAI_API_KEY" in capsys.readouterr().err


def test_the_get_balance_example_prints_the_balance(cofre: CofreStack) -> None:
    env = {**os.environ, "COFRE_URL": cofre.url, "COFRE_TOKEN_FILE": str(cofre.token_file)}
    ran = subprocess.run(
        [sys.executable, str(EXAMPLES / "python-get-balance.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert ran.returncode == 0, ran.stderr
    balance = json.loads(ran.stdout)
    assert set(balance["balance"]["assets"]) >= {"USDT", "BTC"}
    assert cofre.token_file.read_text().strip() not in ran.stdout + ran.stderr


@pytest.mark.parametrize("example", ["python-openai-agents/agent.py", "python-agency-swarm/agent.py"])
def test_an_agent_example_with_a_missing_token_file_says_so_in_one_line(
    example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-sent")
    missing = tmp_path / "agent.token"
    assert load(example).main(["What is my balance?", "--token-file", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("agent.py: ") and str(missing) in err
    assert "Traceback" not in err


def test_the_get_balance_example_without_a_token_file_says_how_to_give_one(cofre: CofreStack) -> None:
    env = {key: value for key, value in os.environ.items() if key != "COFRE_TOKEN_FILE"}
    ran = subprocess.run(
        [sys.executable, str(EXAMPLES / "python-get-balance.py")],
        env={**env, "COFRE_URL": cofre.url},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert ran.returncode == 1
    assert "COFRE_TOKEN_FILE" in ran.stderr
    assert "Traceback" not in ran.stderr
