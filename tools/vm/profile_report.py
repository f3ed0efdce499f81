#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Summarises `make profile`'s log: where the benchmark's own samples went.

The guest prints every call chain with its sample count ("## folded", root first) and the text
symbols of xaccel's modules ("## module symbols"), which its perf leaves as addresses. This
names those addresses (demangled with `rustfilt` when it is installed) and prints, for the
command that took the most samples outside the idle loop (or --comm):

- `charged to`: each sample's innermost function that is not where interrupts come back on.
  Under TCG a cpu-clock sample waits for interrupts to be enabled, so time spent under an
  irq-safe lock shows as the unlock; it belongs to the function that held the lock.
- `in the chain`: how many samples have each xaccel or backend function anywhere in their
  chain. The guest kernel unwinds by guessing, so a chain may hold stale return addresses:
  read these as upper bounds.

Usage: profile_report.py [--comm NAME] [--top N] target/vm-profile.log
"""

import argparse
import bisect
import collections
import re
import shutil
import subprocess
import sys

# Leaves where a sample taken with interrupts off lands once they are back on.
IRQ_ON = re.compile(r"(unlock_irq|unlock_irqrestore|local_irq_enable|irq_enable)")
IDLE = {"swapper"}


def parse(text):
    """The folded chains [(count, [comm, frame...])] and module symbols [(address, name)]."""
    chains, symbols, section = [], [], None
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if line.startswith("###"):
            section = None
            continue
        if section == "folded":
            count, _, chain = line.partition(" ")
            if count.isdigit() and chain:
                chains.append((int(count), chain.split(";")))
        elif section == "module symbols":
            fields = line.split()
            if len(fields) >= 3 and fields[1] in "tT":
                symbols.append((int(fields[0], 16), fields[2]))
    symbols.sort()
    return chains, symbols


def crude_demangle(name):
    """A Rust v0 symbol's last path segments, for machines without rustfilt."""
    if not name.startswith("_R"):
        return name
    segments = []
    for length, rest in re.findall(r"(\d+)([A-Za-z_][A-Za-z0-9_]*)", name):
        segments.append(rest[: int(length)])
    return "::".join(segments[-3:]) if segments else name


def demangler(names):
    """A function from each of `names` to a readable name."""
    names = sorted(set(names))
    readable = {}
    if shutil.which("rustfilt") and names:
        out = subprocess.run(
            ["rustfilt"], input="\n".join(names), capture_output=True, text=True, check=False
        ).stdout.splitlines()
        if len(out) == len(names):
            readable = {n: re.sub(r"::h[0-9a-f]{16}$", "", d) for n, d in zip(names, out)}
    return lambda name: readable.get(name) or crude_demangle(name)


def resolver(symbols):
    """A function from a chain frame (a name, or 0x<address> in a module) to a name."""
    addresses = [a for a, _ in symbols]

    def resolve(frame):
        if not frame.startswith("0x"):
            return frame
        i = bisect.bisect_right(addresses, int(frame, 16)) - 1
        return symbols[i][1] if i >= 0 else frame

    return resolve


def summarise(text, comm=None, top=40):
    """The report's lines."""
    chains, symbols = parse(text)
    resolve = resolver(symbols)
    module_names = {n for _, n in symbols}
    resolved = [(c, [f[0]] + [resolve(x) for x in f[1:]]) for c, f in chains]
    name = demangler([x for _, f in resolved for x in f[1:]])
    if comm is None:
        busy = collections.Counter()
        for c, f in resolved:
            if f[0] not in IDLE:
                busy[f[0]] += c
        if not busy:
            return ["no samples outside the idle loop"]
        comm = busy.most_common(1)[0][0]
    charged, in_chain, total = collections.Counter(), collections.Counter(), 0
    for c, f in resolved:
        if f[0] != comm or len(f) < 2:
            continue
        total += c
        frames = f[1:]
        i = len(frames) - 1
        while i > 0 and IRQ_ON.search(frames[i]):
            i -= 1
        charged[name(frames[i])] += c
        for frame in set(frames):
            if frame in module_names:
                in_chain[name(frame)] += c
    lines = [f"# profile of '{comm}': {total} samples"]
    lines.append("## charged to (innermost function, irq-enable points charged to their caller)")
    lines += [row(c, total, n) for n, c in charged.most_common(top)]
    lines.append("## in the chain (xaccel and backend functions; upper bounds)")
    lines += [row(c, total, n) for n, c in in_chain.most_common(top)]
    return lines


def row(count, total, name):
    """One table line: share, samples, name (long generic names cut)."""
    if len(name) > 110:
        name = name[:107] + "..."
    return f"{100 * count / total:6.2f}% {count:6d}  {name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comm", help="the command whose samples to count")
    parser.add_argument("--top", type=int, default=40, help="lines per table")
    parser.add_argument("log")
    args = parser.parse_args()
    with open(args.log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if "## folded" not in text:
        sys.exit(f"{args.log}: no folded call chains (did the profile run?)")
    print("\n".join(summarise(text, args.comm, args.top)))


if __name__ == "__main__":
    main()
