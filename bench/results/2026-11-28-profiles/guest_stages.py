"""Buckets the guest (JIT) part of a flat perf profile taken with fn-host --perf-map."""
import re, sys
rules = [
    ("guest allocator (dlmalloc)", r"dlmalloc|dlfree|dlrealloc|__rdl_|__rust_alloc|__rust_dealloc|memcpy|memset|memmove"),
    ("guest async runtime (wit-bindgen, futures)", r"wit_bindgen|async_support|futures_util|futures_core|FutureState|Waker|waker|wasip3_task"),
    ("guest HTTP (wasip3 http_compat, http crate, bodies)", r"wasip3|http_compat|http::|http_body|BufList|bytes::"),
    ("guest JSON (serde_json)", r"serde_json|serde_core|serde::"),
    ("guest SQLite client (spin_sdk::sqlite, rows)", r"spin_sdk::sqlite|Columns|RowResult|api_store"),
    ("guest std (fmt, utf8, collections)", r"core\[|core::|alloc::|std::|btree|fmt"),
    ("guest app code (handlers, stores, model)", r"listings_fn|users_fn|public_api_fn|api_model|api_http"),
    ("adapter / shims (wasm[N]::function)", r"wasm\[\d+\]"),
]
totals = {}; total = 0
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+)%\s+\[JIT\][^\[]*\[.\]\s+(.*)", line)
    if not m:
        continue
    pct, sym = float(m[1]), m[2]
    total += pct
    stage = next((name for name, rule in rules if re.search(rule, sym)), "guest other")
    totals[stage] = totals.get(stage, 0) + pct
for stage, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"| {stage} | {pct:.1f}% |")
print(f"| guest total | {total:.1f}% |")
