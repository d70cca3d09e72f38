"""`lmforge api`: an OpenAI-compatible HTTP server (FastAPI + uvicorn) over a chat engine.

Routes: GET /v1/models, GET /v1/models/{id}, POST /v1/chat/completions (JSON or a server-sent-event
stream), GET /health. Settings come from the environment: API_HOST, API_PORT, API_KEY (bearer key; unset =
no auth), API_MODEL_NAME (the id clients see), MAX_CONCURRENT (generations running at once; more wait),
API_MAX_TOKENS (the most tokens one reply may generate; unset = no server limit).

A reply's length is capped, never refused: at API_MAX_TOKENS and at the context the prompt leaves (the
engine's max_model_len: max_position_embeddings, or vllm_maxlen with vLLM); a reply cut at a cap ends with
finish_reason "length", as one that reaches the request's own max_tokens. A prompt that fills the context
is a 400.

Generation runs in a thread pool, so the event loop keeps answering (health checks, new connections,
streams) while the model works. Errors have OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lmforge.data.conversation import Conversation, Message, ToolCall
from lmforge.errors import LmforgeError
from lmforge.infer.base import Response, Settings
from lmforge.infer.media import MediaURLError, check_media_url
from lmforge.infer.protocol import ChatCompletionRequest, ChatMessage

log = logging.getLogger(__name__)

MEDIA_PARTS = ("image_url", "video_url", "audio_url", "input_audio", "input_image", "file")


# ---------------------------------------------------------------------------------------------------------
# errors


class APIError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def _param(loc: tuple) -> str:
    """("body", "messages", 0, "role") -> "messages[0].role"."""
    out = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def api_error(request: Request, exc: APIError):
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request", "type": ""}
        if first.get("type") == "json_invalid":
            return APIError(400, f"the request body is not valid JSON: {first.get('ctx', {}).get('error', '')}"
                            .rstrip(": "), code="invalid_json").response()
        param = _param(tuple(first.get("loc", ())))
        where = f"{param}: " if param else ""
        return APIError(422, f"{where}{first.get('msg')}", param=param or None, code="invalid_value").response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            message = f"unknown route: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return APIError(exc.status_code, message, code="not_found" if exc.status_code == 404 else None).response()

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("request failed")
        return APIError(500, f"internal error: {type(exc).__name__}: {exc}", type="server_error").response()


# ---------------------------------------------------------------------------------------------------------
# request -> conversation and settings


def _text_of(content: str | list | None, where: str, *, media_ok: bool) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for j, part in enumerate(content):
        if part.type == "text":
            texts.append(part.text or "")
            continue
        if part.type not in MEDIA_PARTS:
            raise APIError(400, f"{where}.content[{j}]: unknown content part type '{part.type}'",
                           param=f"{where}.content[{j}].type")
        url = (getattr(part, part.type, None) or {})
        url = url.url if hasattr(url, "url") else url.get("url") if isinstance(url, dict) else None
        if url is not None:
            try:
                check_media_url(url)
            except MediaURLError as e:
                raise APIError(400, f"{where}.content[{j}]: {e}", param=f"{where}.content[{j}]",
                               code="invalid_media_url") from None
        if not media_ok:
            raise APIError(400, f"{where}.content[{j}]: this model is text-only and does not accept '{part.type}' "
                           "parts (multimodal serving is not implemented yet); send text parts only",
                           param=f"{where}.content[{j}]", code="unsupported_content")
    return "\n".join(texts)


def _tool_calls(message: ChatMessage, where: str) -> list[ToolCall]:
    calls = []
    for j, call in enumerate(message.tool_calls or []):
        args = call.function.arguments
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                raise APIError(400, f"{where}.tool_calls[{j}].function.arguments is not valid JSON: {e}",
                               param=f"{where}.tool_calls[{j}].function.arguments") from None
        if not isinstance(args, dict):
            raise APIError(400, f"{where}.tool_calls[{j}].function.arguments must be a JSON object",
                           param=f"{where}.tool_calls[{j}].function.arguments")
        calls.append(ToolCall(call.function.name, args))
    return calls


def to_conversation(req: ChatCompletionRequest, *, media_ok: bool = False) -> Conversation:
    """The request's messages and tools as a Conversation; 400 for what cannot be served."""
    system: list[str] = []
    messages: list[Message] = []
    for i, m in enumerate(req.messages):
        where = f"messages[{i}]"
        if m.role in ("system", "developer"):
            if messages:
                raise APIError(400, f"{where}: a {m.role} message must come before the conversation's other "
                               "messages", param=f"{where}.role")
            system.append(_text_of(m.content, where, media_ok=False))
        elif m.role == "assistant":
            messages.append(Message("assistant", _text_of(m.content, where, media_ok=False),
                                    reasoning=m.reasoning_content, tool_calls=_tool_calls(m, where)))
        else:  # user, tool, function (the old name of tool)
            role = "user" if m.role == "user" else "tool"
            messages.append(Message(role, _text_of(m.content, where, media_ok=media_ok and role == "user")))
    if not messages or messages[-1].role not in ("user", "tool"):
        raise APIError(400, "the last message must be a user or tool message (the model answers it)",
                       param="messages")
    offer_tools = req.tools and req.tool_choice != "none"
    tools = [t.model_dump(exclude_none=True) for t in req.tools] if offer_tools else None
    return Conversation(messages=messages, system="\n\n".join(system) if system else None, tools=tools)


def generation_keys(req: ChatCompletionRequest) -> dict[str, Any]:
    """The request's sampling fields as engine keys. A temperature turns sampling on (> 0) or off (0)."""
    if req.logprobs:
        raise APIError(400, "logprobs are not supported by this server", param="logprobs")
    if req.response_format and req.response_format.get("type", "text") != "text":
        raise APIError(400, "response_format: only {'type': 'text'} is supported", param="response_format")
    stop = [req.stop] if isinstance(req.stop, str) else req.stop
    if stop and len(stop) > 16:
        raise APIError(400, "stop: at most 16 stop strings", param="stop")
    do_sample = req.do_sample
    if do_sample is None and req.temperature is not None:
        do_sample = req.temperature > 0
    thinking = req.enable_thinking
    if thinking is None and req.chat_template_kwargs:
        thinking = req.chat_template_kwargs.get("enable_thinking")
    return {"do_sample": do_sample, "temperature": req.temperature or None, "top_p": req.top_p,
            "top_k": req.top_k, "repetition_penalty": req.repetition_penalty,
            "max_new_tokens": req.max_completion_tokens or req.max_tokens, "n": req.n, "stop": stop,
            "enable_thinking": thinking}


# ---------------------------------------------------------------------------------------------------------
# responses


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def tool_calls_json(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"id": _new_id("call")[:29], "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
            for c in calls]


def choice_message(r: Response) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": r.text if r.text or not r.tool_calls else None}
    if r.reasoning is not None:
        message["reasoning_content"] = r.reasoning
    if r.tool_calls:
        message["tool_calls"] = tool_calls_json(r.tool_calls)
    return message


def usage(responses: list[Response]) -> dict[str, int]:
    prompt = responses[0].prompt_tokens if responses else 0
    completion = sum(r.completion_tokens for r in responses)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_body(responses: list[Response], model: str) -> dict[str, Any]:
    """The JSON of a non-streaming chat completion."""
    choices = [{"index": i, "message": choice_message(r), "logprobs": None, "finish_reason": r.finish_reason}
               for i, r in enumerate(responses)]
    return {"id": _new_id("chatcmpl"), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": choices, "usage": usage(responses)}


@dataclass
class Chunks:
    """Builds the chunks of one streamed completion."""

    model: str
    id: str = ""
    created: int = 0

    def __post_init__(self) -> None:
        self.id, self.created = _new_id("chatcmpl"), int(time.time())

    def chunk(self, index: int, delta: dict[str, Any], finish_reason: str | None = None) -> str:
        return self._json([{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])

    def usage(self, value: dict[str, int]) -> str:
        return self._json([], usage=value)

    def _json(self, choices: list, **extra: Any) -> str:
        return json.dumps({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                           "model": self.model, "choices": choices, **extra}, ensure_ascii=False)


def buffered_chunks(responses: list[Response], chunks: Chunks) -> Iterator[str]:
    """A finished generation as stream chunks: used when tools are offered (so that tool-call text is never
    streamed as content), for n > 1 and for beam search."""
    for i, r in enumerate(responses):
        yield chunks.chunk(i, {"role": "assistant", "content": ""})
        if r.reasoning:
            yield chunks.chunk(i, {"reasoning_content": r.reasoning})
        if r.text:
            yield chunks.chunk(i, {"content": r.text})
        if r.tool_calls:
            calls = [dict(call, index=k) for k, call in enumerate(tool_calls_json(r.tool_calls))]
            yield chunks.chunk(i, {"tool_calls": calls})
        yield chunks.chunk(i, {}, r.finish_reason)


# ---------------------------------------------------------------------------------------------------------
# the app


class Server:
    """The engine plus what requests share: the concurrency limit and the thread pool generation runs in."""

    def __init__(self, engine, *, model_name: str, max_concurrent: int) -> None:
        self.engine, self.model_name = engine, model_name
        self.limit = asyncio.Semaphore(max_concurrent)
        self.pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="lmforge-api")
        self.created = int(time.time())

    async def run(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def iterate(self, make: Callable[[], Iterator]) -> AsyncIterator:
        """Iterate a blocking iterator in the pool, yielding its items on the event loop. Leaving early
        closes the iterator (a ChatStream then stops its generation) and waits for the pool thread."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        leave = threading.Event()

        def put(item: tuple) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone (server shutting down)
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def pump() -> None:
            iterator = make()
            try:
                for item in iterator:
                    put(("item", item))
                    if leave.is_set():
                        break
            except BaseException as e:
                put(("error", e))
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
                put(("done", None))

        done = loop.run_in_executor(self.pool, pump)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "done":
                    break
                if kind == "error":
                    raise value
                yield value
        finally:
            leave.set()
            await asyncio.shield(done)


def cap_max_tokens(settings: Settings, max_tokens: int | None) -> Settings:
    """`settings` with max_new_tokens at most the server's `max_tokens` (API_MAX_TOKENS); None = no cap."""
    g = settings.generation
    if max_tokens is None or 0 < g.max_new_tokens <= max_tokens:
        return settings
    return dataclasses.replace(settings, generation=dataclasses.replace(g, max_new_tokens=max_tokens))


def create_app(engine, *, api_key: str | None = None, model_name: str = "gpt-3.5-turbo", max_concurrent: int = 1,
               extra_routes: list[Callable[[FastAPI, Server], None]] | None = None,
               close_engine: bool = False, max_tokens: int | None = None) -> FastAPI:
    """The FastAPI app. `max_tokens` caps every reply (API_MAX_TOKENS); the engine caps it at the context
    the prompt leaves. `extra_routes` add endpoints over the same engine and limits (app.state.auth is
    the API-key dependency), e.g. POST /v1/score/evaluation for reward models (infer/reward.py).
    `close_engine` closes the engine when the server shuts down (`lmforge api`: vLLM's engine processes end
    with it; uvicorn re-raises SIGTERM after the shutdown, so code after `uvicorn.run` would not run)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        close = getattr(engine, "close", None)
        if close_engine and close is not None:
            await asyncio.to_thread(close)

    app = FastAPI(title="lmforge API", version="1", lifespan=lifespan)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    _install_error_handlers(app)
    server = Server(engine, model_name=model_name, max_concurrent=max_concurrent)
    app.state.server = server

    async def authorize(request: Request) -> None:
        if not api_key:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise APIError(401, "invalid API key: send 'Authorization: Bearer <API_KEY>'", code="invalid_api_key")

    auth = [Depends(authorize)]
    app.state.auth = auth  # for extra_routes

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    def model_card() -> dict[str, Any]:
        return {"id": model_name, "object": "model", "created": server.created, "owned_by": "lmforge"}

    @app.get("/v1/models", dependencies=auth)
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}", dependencies=auth)
    async def get_model(model_id: str) -> dict[str, Any]:
        if model_id != model_name:
            raise APIError(404, f"the model '{model_id}' does not exist; this server serves '{model_name}'",
                           param="model", code="model_not_found")
        return model_card()

    @app.post("/v1/chat/completions", dependencies=auth)
    async def chat_completions(req: ChatCompletionRequest):
        conv = await asyncio.to_thread(to_conversation, req) if _has_media(req) else to_conversation(req)
        try:
            settings = cap_max_tokens(engine.settings(generation_keys(req)), max_tokens)
            # a chat template renders in Python (jinja): off the event loop, like generation
            prompt = await asyncio.to_thread(engine.prompt, conv, enable_thinking=settings.enable_thinking)
            await asyncio.to_thread(engine.encode, prompt)  # a prompt too long for the model is a 400 now
        except (ValueError, LmforgeError) as e:
            raise APIError(400, str(e)) from None
        model = req.model or model_name
        parse_tools = bool(conv.tools)
        if not req.stream:
            async with server.limit:
                responses = await server.run(_generate, engine, prompt, settings, parse_tools)
            return completion_body(responses, model)
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        events = _stream(server, prompt, settings, parse_tools, Chunks(model), include_usage)
        return EventSourceResponse(events, sep="\n")

    for add in extra_routes or []:
        add(app, server)
    return app


def _has_media(req: ChatCompletionRequest) -> bool:
    return any(isinstance(m.content, list) and any(p.type != "text" for p in m.content) for m in req.messages)


def _generate(engine, prompt: str, settings: Settings, parse_tools: bool) -> list[Response]:
    return engine.generate_prompts([prompt], settings, parse_tools=parse_tools)[0]


async def _stream(server: Server, prompt: str, settings: Settings, parse_tools: bool, chunks: Chunks,
                  include_usage: bool) -> AsyncIterator[str]:
    engine = server.engine
    try:
        async with server.limit:
            if parse_tools or settings.n > 1 or settings.generation.num_beams > 1:
                responses = await server.run(_generate, engine, prompt, settings, parse_tools)
                for chunk in buffered_chunks(responses, chunks):
                    yield chunk
                tokens = usage(responses)
            else:
                stream = engine.stream_prompt(prompt, settings)
                splitter = stream.splitter()
                yield chunks.chunk(0, {"role": "assistant", "content": ""})

                def pieces() -> Iterator[tuple[str, str]]:
                    try:
                        for delta in stream:
                            yield from splitter.feed(delta)
                        yield from splitter.flush()
                    finally:
                        stream.close()

                async for kind, text in server.iterate(pieces):
                    yield chunks.chunk(0, {"reasoning_content" if kind == "reasoning" else "content": text})
                yield chunks.chunk(0, {}, stream.finish_reason or "stop")
                tokens = {"prompt_tokens": stream.prompt_tokens, "completion_tokens": stream.completion_tokens,
                          "total_tokens": stream.prompt_tokens + stream.completion_tokens}
        if include_usage:
            yield chunks.usage(tokens)
    except (ValueError, LmforgeError) as e:
        yield json.dumps(APIError(400, str(e)).body())
    except Exception as e:  # after the headers went out, an error can only be reported in the stream
        log.exception("streaming failed")
        yield json.dumps(APIError(500, f"internal error: {type(e).__name__}: {e}", type="server_error").body())
    yield "[DONE]"


# ---------------------------------------------------------------------------------------------------------
# the command


def env_settings(default_concurrent: int = 1) -> dict[str, Any]:
    """API_HOST, API_PORT, API_KEY, API_MODEL_NAME, MAX_CONCURRENT, with LLaMA-Factory's defaults (the vLLM
    engine batches concurrent requests itself, so with it MAX_CONCURRENT defaults to its `max_concurrent`),
    and API_MAX_TOKENS (lmforge's; unset: no server cap)."""
    def integer(name: str, default: int | None, low: int) -> int | None:
        raw = os.environ.get(name) or (None if default is None else str(default))
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if value < low:
            raise LmforgeError(f"{name}={raw!r}: expected an integer >= {low}")
        return value

    return {"host": os.environ.get("API_HOST", "0.0.0.0"), "port": integer("API_PORT", 8000, 0),
            "api_key": os.environ.get("API_KEY") or None,
            "model_name": os.environ.get("API_MODEL_NAME", "gpt-3.5-turbo"),
            "max_concurrent": integer("MAX_CONCURRENT", default_concurrent, 1),
            "max_tokens": integer("API_MAX_TOKENS", None, 1)}


def run_api(cfg) -> None:
    import uvicorn

    from lmforge.infer.engine import load_engine

    env = env_settings()
    extra = []
    if cfg.finetuning.stage == "rm":  # a reward model scores instead of generating
        from lmforge.infer.reward import RewardEngine, add_score_route

        engine, extra = RewardEngine.from_config(cfg), [add_score_route]
    else:
        engine = load_engine(cfg)
        env = env_settings(getattr(engine, "max_concurrent", 1))
    app = create_app(engine, api_key=env["api_key"], model_name=env["model_name"],
                     max_concurrent=env["max_concurrent"], extra_routes=extra, close_engine=True,
                     max_tokens=env["max_tokens"])
    shown = "localhost" if env["host"] in ("0.0.0.0", "::") else env["host"]
    cap = f", API_MAX_TOKENS={env['max_tokens']}" if env["max_tokens"] else ""
    print(f"lmforge api: serving '{env['model_name']}' ({getattr(engine, 'name', 'reward')} engine, "
          f"MAX_CONCURRENT={env['max_concurrent']}{cap}) at http://{shown}:{env['port']}/v1 "
          f"(docs: http://{shown}:{env['port']}/docs){'; API_KEY required' if env['api_key'] else ''}", flush=True)
    if not env["api_key"] and env["host"] not in ("127.0.0.1", "localhost", "::1"):
        print(f"lmforge api: warning: listening on {env['host']} without API_KEY: anyone who can reach this "
              "port can use the model (set API_KEY, or API_HOST=127.0.0.1)", flush=True)
    uvicorn.run(app, host=env["host"], port=env["port"], log_level="info")
