"""Buckets a flat perf profile (perf report --no-children --sort dso,sym -g none) into stages."""
import re, sys
rules = [
    ("guest code (compiled wasm)", lambda d, s: d.endswith(".cwasm") or d.startswith("[JIT]")),
    ("SQLite (engine + rusqlite)", lambda d, s: re.search(r"sqlite3|rusqlite", s)),
    ("fn-host sqlite (statements, pool, writer)", lambda d, s: "fn_host::sqlite" in s),
    ("kernel: scheduler, futex, thread wake-ups", lambda d, s: d.startswith("[kernel") and re.search(r"spin_unlock|task_switch|schedule|futex|wake|ttwu|enqueue|dequeue|idle|irqentry|pick_next", s)),
    ("kernel: TCP and sockets", lambda d, s: d.startswith("[kernel") and re.search(r"tcp|skb|sock|inet|ip_|net_|__dev|loopback|epoll|ep_", s)),
    ("kernel: other (syscalls, file locks, memory)", lambda d, s: d.startswith("[kernel") or d == "[vdso]"),
    ("allocator (mimalloc, memmove)", lambda d, s: re.search(r"\bmi_|_mi_|mi_theap|memmove|memcpy|memset|memcmp|malloc|free", s)),
    ("hyper/HTTP (server, headers)", lambda d, s: re.search(r"hyper|http::|httparse|h1::", s)),
    ("wasmtime-wasi-http (handler, bodies)", lambda d, s: "wasmtime_wasi_http" in s),
    ("wasmtime runtime (component calls, resources, async)", lambda d, s: re.search(r"wasmtime|cranelift|fiber|wasmparser", s)),
    ("tokio runtime + futures", lambda d, s: re.search(r"tokio|futures|poll_fn|PollFn|mio::", s)),
    ("logging (tracing)", lambda d, s: re.search(r"tracing", s)),
    ("fn-host other (routing, instances, chaining)", lambda d, s: "fn_host" in s),
]
totals = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+)%\s+(.*?)\s+\[.\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m[1]), m[2], m[3]
    stage = next((name for name, rule in rules if rule(dso, sym)), "other (libc, std, serde)")
    totals[stage] = totals.get(stage, 0) + pct
for stage, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"| {stage} | {pct:.1f}% |")
