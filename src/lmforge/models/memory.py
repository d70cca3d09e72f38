"""Choices that follow memory: gradient checkpointing off when the activations fit on the GPU.

Gradient checkpointing saves memory by running every decoder layer's forward twice (~33% more compute
for LoRA). lmforge turns it off when an estimate of the peak memory without it fits the GPU, unless the
config says `disable_gradient_checkpointing` either way. The estimate is deliberately simple and
conservative; the decision and its numbers are logged.

    peak ~ weights + 16 bytes per trainable parameter (fp32 weight, grad, two Adam moments)
         + tokens per micro-batch * layers * ACTIVATION_BYTES_PER_UNIT * (hidden + intermediate)
         + one chunk of logits for the loss

ACTIVATION_BYTES_PER_UNIT was measured on an H200 (docs/benchmarks.md): the bytes saved for backward
per token, per layer and per unit of (hidden_size + intermediate_size), for bf16 LoRA training of
Qwen3-8B with transformers' eager modules, rounded up.
"""

from __future__ import annotations

import collections
import logging
import weakref
from dataclasses import dataclass
from typing import Any

import torch

log = logging.getLogger(__name__)

ACTIVATION_BYTES_PER_UNIT = 13.0  # measured 12.2 (HF modules) and 9.1 (Liger) on the H200; rounded up
HEADROOM = 0.85  # of the GPU's memory: allocator fragmentation, CUDA context, temporary buffers
LOSS_CHUNK_BYTES = 4096 * 4 * 2  # per vocabulary entry: one float32 chunk of logits and its gradient


@dataclass
class MemoryPlan:
    gradient_checkpointing: bool
    reason: str


def estimate_peak_bytes(model, tokens: int, trainable: int) -> int:
    config = getattr(model, "config", None)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    layers = getattr(config, "num_hidden_layers", 0) or 0
    width = (getattr(config, "hidden_size", 0) or 0) + (getattr(config, "intermediate_size", 0) or 0)
    vocab = getattr(config, "vocab_size", 0) or 0
    activations = tokens * layers * width * ACTIVATION_BYTES_PER_UNIT
    return int(params + 16 * trainable + activations + vocab * LOSS_CHUNK_BYTES)


def _trainable_estimate(model, cfg) -> int:
    """Parameters that will train (adapters are added after loading; LoRA's are negligible here)."""
    f = cfg.finetuning
    total = sum(p.numel() for p in model.parameters())
    if f.finetuning_type == "full":
        return total
    if f.finetuning_type == "freeze":
        layers = getattr(model.config, "num_hidden_layers", 0) or 1
        return int(total * min(abs(f.freeze_trainable_layers) / layers, 1.0))
    return 0


def plan_gradient_checkpointing(model, cfg) -> MemoryPlan:
    """Whether to checkpoint. The config decides when it says; otherwise on without a CUDA GPU (the CPU is
    short of compute, not memory) and on a GPU off exactly when the estimated peak fits."""
    margs, t = cfg.model, cfg.training
    if "disable_gradient_checkpointing" in getattr(cfg, "user_keys", ()):
        on = not margs.disable_gradient_checkpointing
        return MemoryPlan(on, "set by disable_gradient_checkpointing")
    if getattr(margs, "use_unsloth_gc", False):
        return MemoryPlan(True, "use_unsloth_gc: offloaded checkpointing")
    if not torch.cuda.is_available():
        return MemoryPlan(True, "default without a CUDA GPU")
    tokens = t.per_device_train_batch_size * cfg.data.cutoff_len
    device = torch.cuda.current_device()
    total = torch.cuda.get_device_properties(device).total_memory
    peak = estimate_peak_bytes(model, tokens, _trainable_estimate(model, cfg))
    gib = 2**30
    fits = peak < HEADROOM * total
    why = (f"estimated peak without it {peak / gib:.1f} GiB for {tokens} tokens per micro-batch, GPU "
           f"{total / gib:.0f} GiB ({'fits' if fits else 'does not fit'} in {HEADROOM:.0%}); "
           "disable_gradient_checkpointing: true/false overrides")
    return MemoryPlan(not fits, why)


def _fast_pinning(threads: int = 8) -> None:
    """Pin new host memory with several threads (torch's cudaHostRegister path) instead of one cudaHostAlloc:
    the first offloaded step pins a few GiB (measured on the H200 machine: 1.66 s for 4 GiB with one
    thread). Process-wide, and only if the user's PYTORCH_CUDA_ALLOC_CONF does not decide it."""
    import os

    if "pinned_" in os.environ.get("PYTORCH_CUDA_ALLOC_CONF", ""):
        return
    try:
        torch._C._accelerator_setAllocatorSettings(
            f"pinned_use_cuda_host_register:True,pinned_num_register_threads:{threads}")
    except (AttributeError, RuntimeError) as e:  # a torch without these settings: pinning is slower, not wrong
        log.info("activation offload: multi-threaded pinning unavailable (%s)", e)


class PinnedPool:
    """Host buffers for offloaded tensors, kept across steps (pinning new memory is slow).

    `take(nbytes)` returns the smallest free buffer that holds nbytes (with the event of its last use, which
    the next writer must wait for) or a new one, sized with <= ~6% slack so slightly longer steps reuse it;
    `give(buffer, event)` returns one. When a step needs more than any free buffer holds (a new longest
    step), the free buffers too small for it are released: a run whose steps grow (sorted data, no packing)
    then keeps about one step's worth, not one per size it went through. `allocate(nbytes)` makes a buffer
    (pinned uint8 memory in training; plain memory in the CPU tests); `release()` runs after buffers are
    dropped (emptying torch's host cache)."""

    GRANULE = 1 << 21

    def __init__(self, allocate, release=None):
        self.allocate, self.release = allocate, release
        self.free: list[tuple[torch.Tensor, Any]] = []
        self.held_bytes = 0  # in this pool's buffers, free or lent out
        self.allocated_bytes = 0  # ever allocated (a steady run stops adding to it)

    def take(self, nbytes: int) -> tuple[torch.Tensor, Any]:
        fits = [i for i, (b, _) in enumerate(self.free) if b.numel() >= nbytes]
        if fits:
            return self.free.pop(min(fits, key=lambda i: self.free[i][0].numel()))
        small = [b for b, _ in self.free]
        if small:  # every free buffer is smaller than this step's tensors: they are obsolete
            self.free.clear()
            self.held_bytes -= sum(b.numel() for b in small)
            del small
            if self.release is not None:
                self.release()
        step = max(self.GRANULE, nbytes // 16)
        size = -(-nbytes // step) * step
        self.held_bytes += size
        self.allocated_bytes += size
        return self.allocate(size), None

    def give(self, buffer: torch.Tensor, last_use: Any) -> None:
        self.free.append((buffer, last_use))


def _empty_host_cache() -> None:
    """Give torch's cached pinned blocks back (their names differ across torch versions)."""
    empty = getattr(getattr(torch, "accelerator", None), "empty_host_cache", None) or \
        getattr(torch._C, "_host_emptyCache", None)
    if empty is None:
        log.info("activation offload: this torch cannot empty its pinned-memory cache; released buffers stay "
                 "cached by torch")
        return
    empty()


class _Saved:
    """One offloaded tensor: its pinned host copy, the event that ends the copy, and (once fetched back) the
    GPU tensor every unpack of it returns.

    A prefetched GPU tensor is written on a side stream but belongs to the compute stream's pool, without
    record_stream: every unpack makes the compute stream wait for the copy, so once it has been unpacked its
    block is free to reuse the moment it dies. (With record_stream, each freed block stayed unusable until the
    side stream caught up with the CPU, several layers later: 0.58 GiB held that way at the 16k peak, measured.)
    One prefetched but never unpacked makes the compute stream wait for its copy as it dies."""

    __slots__ = ("device", "shape", "dtype", "host", "stored", "gpu", "fetched", "owner", "__weakref__")

    def __init__(self, device, shape, dtype, host: tuple, stored):
        self.device, self.shape, self.dtype, self.host, self.stored = device, shape, dtype, host, stored
        self.gpu: torch.Tensor | None = None
        self.fetched: torch.cuda.Event | None = None  # set while a side-stream copy has not been waited for
        self.owner: torch.cuda.Stream | None = None  # the stream whose pool holds gpu

    def __del__(self):
        if self.fetched is not None and self.owner is not None:
            self.owner.wait_event(self.fetched)  # gpu's block goes back to owner's pool only after the copy


class ActivationOffloader:
    """Tensors saved for backward go to pinned CPU memory during the forward and come back in backward
    (LLaMA-Factory's `use_unsloth_gc`: "offloaded" gradient checkpointing).

    Meant for (reentrant) gradient checkpointing: what the forward then saves is essentially each decoder
    layer's input (hidden x 2 bytes per token per layer, 8 KiB for an 8B model) while each layer's own
    activations are recomputed on the GPU in backward, outside this context. One object per training run;
    `hooks()` gives the context for one forward pass.

    - Device -> host copies run on a side stream, so the forward does not wait for them; a copy's source
      stays allocated until it is done (record_stream). The CPU, which runs ahead of the GPU, waits once
      more than `max_in_flight` copies are queued: each queued copy holds its source's block (14 blocks,
      1.64 GiB, were held that way in a 16k forward, measured). Four keep the GPU fed (two cost the lean
      benchmark 3-6% of its speed) and hold less than backward's peak needs anyway.
    - Pinned buffers come from a pool that lives across steps (PinnedPool): pinning memory is slow, so after
      the longest step no new host memory is pinned. A buffer goes back to the pool once its copy back to
      the GPU is queued; the next writer waits for that copy on the GPU.
    - Backward fetches the tensors back in the reverse order of the forward: when one is needed, the one
      saved before it is already copied back on another side stream, overlapping the copy with compute.
    - A tensor object saved several times is copied once (keyed by identity and version, never by address:
      a freed activation's block is reused by the next one of the same shape).
    Parameters (and views of them), non-contiguous or small tensors and tensors off the GPU stay put.
    """

    def __init__(self, min_bytes: int = 1 << 20, prefetch: bool = True, max_in_flight: int | None = 4):
        self.min_bytes, self.prefetch, self.max_in_flight = min_bytes, prefetch, max_in_flight
        self.in_flight: collections.deque[torch.cuda.Event] = collections.deque()  # device -> host copies
        self.d2h = torch.cuda.Stream()
        self.h2d = torch.cuda.Stream()
        self.pool = PinnedPool(lambda n: torch.empty(n, dtype=torch.uint8, pin_memory=True), _empty_host_cache)
        _fast_pinning()
        self.copies = 0  # tensors sent to the CPU
        self.prefetches = 0  # of those, brought back ahead of need

    def hooks(self) -> torch.autograd.graph.saved_tensors_hooks:
        # weak references only: a _Saved (and the GPU copy it brings back) must die with the last graph
        # node that saved it, not live until the end of backward
        order: list[weakref.ref] = []
        seen: dict[int, tuple] = {}
        where: dict[int, int] = {}  # id(_Saved) -> its position in order

        def pack(t: torch.Tensor):
            if not self._offloadable(t):
                return t
            hit = seen.get(id(t))
            if hit is not None and hit[0]() is t and hit[1] == t._version and hit[2]() is not None:
                return hit[2]()
            saved = self._store(t)
            where[id(saved)] = len(order)
            order.append(weakref.ref(saved))
            seen[id(t)] = (weakref.ref(t), t._version, weakref.ref(saved))
            return saved

        def unpack(saved):
            if not isinstance(saved, _Saved):
                return saved
            out = self._fetch(saved, torch.cuda.current_stream(saved.device))
            i = where.get(id(saved), 0)
            before = order[i - 1]() if i > 0 and self.prefetch else None
            if before is not None:  # the tensor saved before this one is the next that backward needs
                self._prefetch(before)
            return out

        return torch.autograd.graph.saved_tensors_hooks(pack, unpack)

    def _offloadable(self, t: torch.Tensor) -> bool:
        base = t._base if t._base is not None else t
        return (t.is_cuda and not isinstance(base, torch.nn.Parameter) and t.layout == torch.strided
                and t.is_contiguous() and t.numel() * t.element_size() >= self.min_bytes)

    def _store(self, t: torch.Tensor) -> _Saved:
        nbytes = t.numel() * t.element_size()
        buf, last_read = self.pool.take(nbytes)
        host = buf[:nbytes].view(t.dtype).view(t.shape)
        self.d2h.wait_stream(torch.cuda.current_stream(t.device))
        if last_read is not None:
            self.d2h.wait_event(last_read)  # the buffer's previous contents are on their way back
        with torch.cuda.stream(self.d2h):
            host.copy_(t, non_blocking=True)
            stored = torch.cuda.Event()
            stored.record(self.d2h)
        t.record_stream(self.d2h)
        self.copies += 1
        if self.max_in_flight is not None:
            self.in_flight.append(stored)
            while len(self.in_flight) > self.max_in_flight:
                self.in_flight.popleft().synchronize()
        return _Saved(t.device, t.shape, t.dtype, (buf, host), stored)

    def _copy_back(self, saved: _Saved, stream: torch.cuda.Stream) -> None:
        """Queue the host -> GPU copy on `stream`. The GPU tensor is allocated from the compute stream's pool
        (allocating on the side stream kept a second pool of blocks: +1.6 GiB reserved, measured at 16k)."""
        buf, host = saved.host
        compute = torch.cuda.current_stream(saved.device)
        saved.gpu = torch.empty(saved.shape, dtype=saved.dtype, device=saved.device)
        if stream != compute:
            stream.wait_stream(compute)  # the block may still be read by work queued before its last free
        stream.wait_event(saved.stored)
        with torch.cuda.stream(stream):
            saved.gpu.copy_(host, non_blocking=True)
            fetched = torch.cuda.Event()
            fetched.record(stream)
        if stream != compute:
            saved.fetched, saved.owner = fetched, compute
        self.pool.give(buf, fetched)
        saved.host = None

    def _prefetch(self, saved: _Saved) -> None:
        if saved.gpu is None and saved.host is not None:
            self._copy_back(saved, self.h2d)
            self.prefetches += 1

    def _fetch(self, saved: _Saved, stream: torch.cuda.Stream) -> torch.Tensor:
        if saved.gpu is None:
            self._copy_back(saved, stream)
        elif saved.fetched is not None:
            stream.wait_event(saved.fetched)
            if stream == saved.owner:
                saved.fetched = None  # the owner has waited: the block is safe to reuse whenever it dies
        return saved.gpu


class _RequireGrad(torch.autograd.Function):
    """The identity, through an autograd node that saves nothing: its output requires grad without being a
    leaf (the gradient reaching it is dropped)."""

    @staticmethod
    def forward(ctx, x, anchor):
        return x.detach()

    @staticmethod
    def backward(ctx, grad):
        return None, None


_ANCHOR = torch.zeros((), requires_grad=True)  # what _RequireGrad's output formally depends on


def require_grad(t):
    """The input embedding's output made to require grad, so checkpointed layers (frozen embedding, e.g. LoRA)
    get an input that does. transformers' enable_input_require_grads makes it a leaf instead, and autograd's
    node for a leaf keeps the tensor, so the embedding output (hidden x 2 bytes per token: 120 MiB at 16k
    for an 8B model) stayed on the GPU through the whole backward, then received a gradient of its size."""
    if not isinstance(t, torch.Tensor) or not torch.is_grad_enabled() or t.grad_fn is not None:
        return t
    return _RequireGrad.apply(t.detach(), _ANCHOR)


def enable_input_require_grads(model) -> None:
    """transformers' enable_input_require_grads with require_grad: a hook on each input embedding."""
    from transformers import PreTrainedModel

    hooks, seen = [], set()
    for module in model.modules():
        if not (isinstance(module, PreTrainedModel) and hasattr(module, "get_input_embeddings")):
            continue
        try:
            embedding = module.get_input_embeddings()
        except NotImplementedError:
            continue
        if embedding is None or id(embedding) in seen or not hasattr(embedding, "register_forward_hook"):
            continue
        seen.add(id(embedding))
        hooks.append(embedding.register_forward_hook(lambda _module, _args, output: require_grad(output)))
    model._require_grads_hooks = hooks  # where transformers' disable_input_require_grads looks


class HostEmbedding(torch.nn.Module):
    """A frozen input embedding kept in CPU memory: the lookup runs on the CPU (into pinned memory, so the copy
    is asynchronous) and only the rows of the batch travel to the GPU. Saves vocab x hidden x dtype bytes of
    GPU memory (1.16 GiB for Qwen3-8B's 151,936 x 4,096 bf16 table) for a CPU gather and one small copy per
    forward.

    Only for a table that does not train and is not the output head (untied): see offload_input_embedding.
    The table is a plain attribute, not a parameter or buffer, so `model.to(device)` leaves it where it is
    and checkpoints, which hold trainable weights only (adapters), do not change.
    """

    def __init__(self, embedding: torch.nn.Embedding):
        super().__init__()
        self.table = embedding.weight.detach().to("cpu")
        self.num_embeddings, self.embedding_dim = self.table.shape
        self.padding_idx = embedding.padding_idx

    @property
    def weight(self) -> torch.Tensor:  # what code that inspects embeddings reads (shape, dtype)
        return self.table

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        flat = input_ids.reshape(-1).to("cpu")
        rows = torch.empty((flat.numel(), self.embedding_dim), dtype=self.table.dtype,
                           pin_memory=input_ids.is_cuda)  # torch's host cache reuses it once the copy is done
        torch.index_select(self.table, 0, flat, out=rows)
        out = rows.to(input_ids.device, non_blocking=True).view(*input_ids.shape, self.embedding_dim)
        return require_grad(out) if self.training else out  # the hook on the table it replaced did this

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, on {self.table.device}"


def offload_input_embedding(model) -> bool:
    """Replace the model's input embedding by a HostEmbedding when that is exact; returns whether it did.
    Refuses (ConfigError) when the table trains or is tied to the output head."""
    from lmforge.errors import ConfigError

    inner = model
    while hasattr(inner, "get_base_model") and inner is not inner.get_base_model():  # PEFT wrappers
        inner = inner.get_base_model()
    embedding = inner.get_input_embeddings()
    if isinstance(embedding, HostEmbedding):
        return False
    if type(embedding) is not torch.nn.Embedding:
        raise ConfigError(f"offload_embedding: the input embedding is a {type(embedding).__name__}, not a plain "
                          "embedding table (a scaled embedding, LoRA on embeddings, modules_to_save); set "
                          "offload_embedding: false")
    if embedding.weight.requires_grad:
        raise ConfigError("offload_embedding: the input embedding trains in this run (full/freeze tuning or "
                          "additional_target); it must be frozen to live on the CPU. Set offload_embedding: false")
    head = inner.get_output_embeddings() if hasattr(inner, "get_output_embeddings") else None
    if head is not None and head.weight.data_ptr() == embedding.weight.data_ptr():
        raise ConfigError("offload_embedding: this model ties its input embedding to the output head "
                          "(tie_word_embeddings), which must stay on the GPU. Set offload_embedding: false")
    inner.set_input_embeddings(HostEmbedding(embedding))
    return True
