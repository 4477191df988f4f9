"""A stand-in for the language model in the OpenAI Agents SDK's run loop: no LLM is called in tests, so this Model
(the SDK's own extension point for other providers) plays a fixed script: first it calls one tool with the arguments
it was given, then it answers with the text of that tool's output. Everything between the two turns (offering the
tools, parsing the call, invoking the tool, handing its output back) is the SDK's real run loop."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Dict, List, Optional

from agents import Model, ModelResponse, Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText


class ScriptedModel(Model):
    def __init__(self, tool: str, arguments: Dict[str, Any]) -> None:
        self.tool = tool
        self.arguments = arguments
        self.offered: List[str] = []  # the tool names the SDK offered the model on its first turn

    async def get_response(self, system_instructions: Optional[str], input: Any, model_settings: Any, tools: Any,
                           output_schema: Any, handoffs: Any, tracing: Any, **kwargs: Any) -> ModelResponse:
        outputs = [item for item in (input if isinstance(input, list) else []) if _kind(item) == "function_call_output"]
        if not outputs:
            self.offered = [tool.name for tool in tools]
            call = ResponseFunctionToolCall(
                type="function_call", id="fc_1", call_id="call_1", name=self.tool,
                arguments=json.dumps(self.arguments), status="completed",
            )
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        text = str(_field(outputs[-1], "output"))
        message = ResponseOutputMessage(
            type="message", id="msg_1", role="assistant", status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
        )
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the tests run the agent without streaming")


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _kind(item: Any) -> Any:
    return _field(item, "type")
