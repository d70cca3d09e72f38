"""What the CUDA allocator's reserve holds at its peak: a replay of torch's allocator history.

bench_train.py --memory-trace records the allocator's history (torch.cuda.memory._record_memory_history) over a
run and hands the snapshot to `report()`, which replays it event by event and prints, as MEMORY lines:

- per optimizer step (marked by allocations of MARKER sizes made at each step end): the peak of allocated bytes,
  reserved bytes at the step's end, and how many times the reserve grew in the step;
- the moment reserved memory peaked: allocated and pending-free bytes then (blocks a side stream still uses:
  record_stream), the request that made the reserve grow and the Python frames that made it;
- the free holes inside the reserve at that moment, largest first, with the allocations on either side of each
  (what keeps the hole from merging into a block big enough for the request).

Reserved memory is the sum of the mapped ranges (expandable segments: segment_map / segment_unmap) or segments
(segment_alloc / segment_free). Blocks allocated before recording began are recovered from the snapshot's final
state by undoing the trace backwards.
"""

from __future__ import annotations

import os

# step-end markers: MARKER_BASE + 512 * step bytes, odd sizes below 1 MiB (the small pool hands out exactly the
# 512-rounded size; a large block may come back bigger than asked); steps up to MAX_MARKED_STEP
MARKER_BASE = 1013 * 512
MAX_MARKED_STEP = 1000
GROW = ("segment_alloc", "segment_map")
SHRINK = ("segment_free", "segment_unmap")


def marker_bytes(step: int) -> int:
    return MARKER_BASE + 512 * step


def _where(frames: list[dict] | None, depth: int = 3) -> str:
    """The innermost frames outside torch's own Python (where the model or lmforge asked)."""
    keep = []
    for f in frames or []:
        name = f.get("filename", "")
        if "/torch/" in name and "/torch/utils/checkpoint" not in name:
            continue
        keep.append(f"{os.path.basename(name)}:{f.get('line')} {f.get('name')}")
        if len(keep) == depth:
            break
    return " < ".join(keep) or "?"


def _initial_state(snapshot: dict, trace: list[dict]) -> tuple[dict, list]:
    """Live blocks {addr: (size, frames)} and reserved ranges [(addr, size, stream)] when recording began."""
    live = {}
    ranges = []
    for seg in snapshot["segments"]:
        ranges.append((seg["address"], seg["total_size"], seg["stream"]))
        addr = seg["address"]
        for b in seg["blocks"]:
            if b["state"] != "inactive":
                live[addr] = (b["size"], b.get("frames"))
            addr += b["size"]
    for e in reversed(trace):
        act = e["action"]
        if act == "alloc":
            live.pop(e["addr"], None)
        elif act == "free_completed":
            live[e["addr"]] = (e["size"], e.get("frames"))
        elif act in GROW:
            ranges = _cut(ranges, e["addr"], e["size"])
        elif act in SHRINK:
            ranges.append((e["addr"], e["size"], e["stream"]))
    return live, ranges


def _cut(ranges: list, addr: int, size: int) -> list:
    out = []
    for a, s, stream in ranges:
        lo, hi = max(a, addr), min(a + s, addr + size)
        if lo >= hi:
            out.append((a, s, stream))
            continue
        if a < lo:
            out.append((a, lo - a, stream))
        if hi < a + s:
            out.append((hi, a + s - hi, stream))
    return out


def _holes(ranges: list, live: dict) -> list[tuple[int, int, int, int | None, int | None]]:
    """Free gaps (addr, size, stream, block before, block after) inside the reserved ranges."""
    merged: list[list[int]] = []
    for a, s, stream in sorted(ranges):
        if merged and merged[-1][1] >= a and merged[-1][2] == stream:
            merged[-1][1] = max(merged[-1][1], a + s)
        else:
            merged.append([a, a + s, stream])
    blocks = sorted((a, s) for a, (s, _) in live.items())
    out = []
    i = 0
    for lo, hi, stream in merged:
        cursor, prev = lo, None
        while i < len(blocks) and blocks[i][0] < hi:
            a, s = blocks[i]
            if a >= lo:
                if a > cursor:
                    out.append((cursor, a - cursor, stream, prev, a))
                cursor, prev = max(cursor, a + s), a
            i += 1
        if hi > cursor:
            out.append((cursor, hi - cursor, stream, prev, None))
    return out


def _by_site(live: dict, born: dict, pending: dict, step: int, top: int) -> list[str]:
    """Live blocks allocated while recording (those in `born`: address -> step), grouped by where they were
    made: bytes, the commonest sizes, how many are awaiting a side stream and how many are older than `step`."""
    mib = 2**20
    sites: dict[str, list] = {}
    for addr, (size, frames) in live.items():
        if addr in born:
            entry = sites.setdefault(_where(frames), [0, {}, 0, 0])
            entry[0] += size
            entry[1][size] = entry[1].get(size, 0) + 1
            entry[2] += addr in pending
            entry[3] += born[addr] < step
    out = []
    for where, (total, sizes, waiting, old) in sorted(sites.items(), key=lambda kv: -kv[1][0])[:top]:
        common = ", ".join(f"{n}x{b / mib:.1f}" for b, n in sorted(sizes.items(), key=lambda kv: -kv[0] * kv[1])[:3])
        notes = [f"{waiting} awaiting"] * bool(waiting) + [f"{old} from earlier steps"] * bool(old)
        out.append(f"MEMORY   {total / mib:8.0f} MiB in {sum(sizes.values()):4d} blocks ({common} MiB"
                   f"{'; ' + ', '.join(notes) if notes else ''}) from {where}")
    return out


def report(snapshot: dict, device: int = 0, holes: int = 8, sites: int = 14) -> list[str]:
    """Replay the trace; MEMORY lines. "in use" is torch's allocated memory (it drops when a tensor is freed);
    "held" also counts blocks freed but awaiting a side stream (record_stream), which nothing else can use yet."""
    gib, mib = 2**30, 2**20
    trace = snapshot["device_traces"][device]
    live, ranges = _initial_state(snapshot, trace)
    held = sum(s for s, _ in live.values())
    in_use = held
    reserved = sum(r[1] for r in ranges)
    lines = [f"MEMORY trace: {len(trace)} events; at its start {held / gib:.2f} GiB allocated, "
             f"{reserved / gib:.2f} reserved"]
    markers = {marker_bytes(step): step for step in range(1, MAX_MARKED_STEP + 1)}
    pending: dict[int, int] = {}
    born: dict[int, int] = {}  # addresses allocated while recording -> the step they were allocated in
    step, step_use, step_held, grows = 0, in_use, held, 0
    grow_peak = None  # the large request that last raised the reserve to a new high: (reserved, index, state)
    held_peak = None  # the most memory held at once: (held, in use, index, live copy, pending copy, step)
    use_peak = None  # the most memory in use at once: the same
    for i, e in enumerate(trace):
        act, addr, size = e["action"], e.get("addr"), e.get("size", 0)
        if act == "alloc":
            if size in markers and markers[size] == step + 1:
                step += 1
                lines.append(f"MEMORY step {step:3d}: peak in use {step_use / gib:6.2f} GiB, held {step_held / gib:6.2f},"
                             f" reserved at its end {reserved / gib:6.2f}, reserve grew {grows}x")
                step_use, step_held, grows = in_use, held, 0
            live[addr] = (size, e.get("frames"))
            born[addr] = step + 1
            held += size
            in_use += size
            step_use, step_held = max(step_use, in_use), max(step_held, held)
            if held_peak is None or held > held_peak[0]:
                held_peak = (held, in_use, i, dict(live), dict(pending), step + 1)
            if use_peak is None or in_use > use_peak[1]:
                use_peak = (held, in_use, i, dict(live), dict(pending), step + 1)
        elif act == "free_requested":
            pending[addr] = size
            in_use -= size
        elif act == "free_completed":
            if live.pop(addr, None) is not None:
                held -= size
                if pending.pop(addr, None) is None:
                    in_use -= size
        elif act in GROW:
            request = next((r for r in trace[i + 1:i + 50] if r["action"] == "alloc"), None)
            large = request is not None and request["size"] >= mib
            if large and (grow_peak is None or reserved + size > grow_peak[0]):  # the state it grew from
                grow_peak = (reserved + size, i, held, dict(pending), dict(live), list(ranges), request)
            ranges.append((addr, size, e["stream"]))
            reserved += size
            grows += 1
        elif act in SHRINK:
            ranges = _cut(ranges, addr, size)
            reserved -= size
    for what, point in (("held", held_peak), ("in use", use_peak)):
        if point is None:
            continue
        held_then, use_then, i, live_then, pending_then, in_step = point
        lines.append(f"MEMORY most {what} at once (event {i}, step {in_step}): held {held_then / gib:.2f} GiB, in use "
                     f"{use_then / gib:.2f}, awaiting a side stream {sum(pending_then.values()) / gib:.2f}; blocks made "
                     "while recording, by where:")
        lines += _by_site(live_then, born, pending_then, in_step, sites)
    if grow_peak is None:
        lines.append("MEMORY no large request grew the reserve while recording")
        return lines
    top, i, held_then, pending_then, live_then, ranges_then, request = grow_peak
    grown = trace[i]["size"]
    lines.append(f"MEMORY the reserve's last large growth: to {top / gib:.2f} GiB at event {i} (+{grown / mib:.0f} MiB)"
                 f" for {request['size'] / mib:.0f} MiB on stream {request['stream']} from "
                 f"{_where(request.get('frames'), 5)}; held then {held_then / gib:.2f} GiB (awaiting a side stream "
                 f"{sum(pending_then.values()) / gib:.2f})")
    gaps = sorted(_holes(ranges_then, live_then), key=lambda g: -g[1])
    total = sum(g[1] for g in gaps)
    lines.append(f"MEMORY   before it, {total / gib:.2f} GiB free inside the reserve in {len(gaps)} holes; largest:")

    def side(a):
        if a is None:
            return "end of range"
        size, frames = live_then[a]
        return f"{size / mib:.0f} MiB{' (awaiting)' if a in pending_then else ''} from {_where(frames)}"

    for _addr, size, stream, before, after in gaps[:holes]:
        lines.append(f"MEMORY     {size / mib:8.1f} MiB on stream {stream} between [{side(before)}] and [{side(after)}]")
    return lines
