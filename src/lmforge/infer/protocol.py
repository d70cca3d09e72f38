"""Request bodies of the OpenAI-compatible API (the subset lmforge serves), as pydantic models.

Fields OpenAI clients commonly send but that lmforge does not act on (presence/frequency penalties, seed,
user, metadata) are accepted and ignored; fields whose meaning we cannot honour (logprobs, a structured
response_format) are rejected with a 400 by the server. Unknown fields are ignored, as OpenAI does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FunctionCall(_Model):
    name: str
    arguments: str | dict[str, Any] = "{}"  # OpenAI sends a JSON string


class ToolCall(_Model):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class MediaURL(_Model):
    url: str
    detail: str | None = None


class ContentPart(_Model):
    """A part of a message's content: text, or media (image_url, video_url, audio_url, input_audio, file)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None
    image_url: MediaURL | None = None
    video_url: MediaURL | None = None
    audio_url: MediaURL | None = None


class ChatMessage(_Model):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None


class FunctionDefinition(_Model):
    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(_Model):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class StreamOptions(_Model):
    include_usage: bool = False


class ChatCompletionRequest(_Model):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    n: int = Field(1, ge=1, le=16)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool | None = None
    response_format: dict[str, Any] | None = None
    # accepted and ignored
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    user: str | None = None
    # extensions (LLaMA-Factory's and vLLM's spellings)
    do_sample: bool | None = None
    top_k: int | None = Field(None, ge=0)
    repetition_penalty: float | None = Field(None, gt=0)
    enable_thinking: bool | None = None
    chat_template_kwargs: dict[str, Any] | None = None
