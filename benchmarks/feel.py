"""Time FEEL: compile cost, evaluations per second of typical engine expressions, and how the
list functions scale.

    python benchmarks/feel.py               # 200 000 evaluations per expression
    python benchmarks/feel.py --n 50000 --threads 4
    python benchmarks/feel.py --lists 10000,100000,1000000   # list functions on big inputs

The list part times each function on n items and prints the time per item; a function that is
O(n) or O(n log n) keeps that figure (nearly) flat as n grows tenfold, a quadratic one grows it
tenfold. Before the rewrite `distinct values` of 10,000 items took 9 s under the engine lock.

Prints microseconds per evaluation (single thread) for the kinds of expressions the engine runs
on every token pass, then the aggregate rate with ``--threads`` threads sharing one compiled
expression (the GIL bounds it; the figure shows there is no lock contention on top).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zeebe_affinity_sync.engine.feel import compile_expression  # noqa: E402

VARIABLES = {
    "totalPrice": 150,
    "orderId": "o-17",
    "order": {"customer": {"name": "Bo", "vip": True}, "items": [{"price": 5}, {"price": 20}]},
    "rate": 1.5,
}

EXPRESSIONS = [
    ("condition", "= totalPrice > 100"),
    ("correlation key", "= orderId"),
    ("nested path", "= order.customer.name"),
    ("concatenation", '= "order-" + orderId'),
    ("and/or", "= totalPrice > 100 and order.customer.vip or orderId = null"),
    ("decimal arithmetic", "= rate * 2 + 0.1"),
    ("filter + sum", "= sum(order.items[price > 10].price)"),
    ("context literal", '= {id: orderId, total: totalPrice, label: upper case(order.customer.name)}'),
]

# (label, expression over the variable `l` of n numbers with many duplicates)
LIST_FUNCTIONS = [
    ("distinct values", "= count(distinct values(l))"),
    ("duplicate values", "= count(duplicate values(l))"),
    ("union", "= count(union(l, l))"),
    ("index of", "= count(index of(l, 7))"),
    ("list contains", "= list contains(l, -1)"),
    ("sort (precedes)", "= sort(l, function(x, y) x < y)[1]"),
    ("mode", "= count(mode(l))"),
    ("median", "= median(l)"),
    ("sum", "= sum(l)"),
    ("filter", "= count(l[item > 500])"),
    ("for", "= count(for x in l return x + 1)"),
]


def time_lists(sizes: List[int]) -> None:
    print("  list functions (time per item; flat = linear or n log n):")
    for label, text in LIST_FUNCTIONS:
        expression = compile_expression(text)
        cells = []
        for n in sizes:
            variables = {"l": [(i * 7919) % 1000 for i in range(n)]}
            start = time.perf_counter()
            expression.evaluate(variables)
            seconds = time.perf_counter() - start
            cells.append(f"{n:>9,}: {seconds:7.3f} s ({seconds / n * 1e6:5.2f} us/item)")
        print(f"    {label:<17} " + "  ".join(cells))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="evaluations per expression")
    parser.add_argument("--threads", type=int, default=4, help="threads for the shared-expression run")
    parser.add_argument("--lists", default="", help="comma-separated list sizes for the list functions, "
                        "e.g. 10000,100000,1000000 (off by default)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rounds = 2000
    for _ in range(rounds):
        for _, text in EXPRESSIONS:
            compile_expression(text)
    compile_us = (time.perf_counter() - start) / (rounds * len(EXPRESSIONS)) * 1e6
    print(f"FEEL benchmark (Python {sys.version.split()[0]})")
    print(f"  compile            : {compile_us:.1f} us per expression (mean of the {len(EXPRESSIONS)} below)")

    for label, text in EXPRESSIONS:
        expression = compile_expression(text)
        evaluate = expression.evaluate
        start = time.perf_counter()
        for _ in range(args.n):
            evaluate(VARIABLES)
        seconds = time.perf_counter() - start
        print(f"  {label:<19}: {seconds / args.n * 1e6:6.2f} us/eval  {args.n / seconds:>10.0f} evals/s   {text}")

    expression = compile_expression(EXPRESSIONS[0][1])
    per_thread = args.n // args.threads
    barrier = threading.Barrier(args.threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            expression.evaluate(VARIABLES)

    threads = [threading.Thread(target=work, name=f"feel-bench-{i}", daemon=True) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    print(f"  {args.threads} threads, shared: {per_thread * args.threads / seconds:.0f} evals/s (condition)")
    if args.lists:
        time_lists([int(size) for size in args.lists.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
