#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turns a `make check` run into one verdict.

Reads the host test log (cargo test) and the VM log (virtme-ng output with the guest's
framed TAP blocks and a dmesg dump, see tools/vm/guest.sh). Counts every test result, fails
on any kernel splat (naming the test that was running), on a TAP plan that was not met, on a
program that exited non-zero without saying why, and on a VM that did not finish. Ends with
the line `N passed, N failed[, N skipped]` and exits non-zero on any failure. With
--splats-only (for `make bench`, which runs no tests) it only reports splats and an
unfinished VM.
"""

import argparse
import re
import sys

SPLATS = [
    r"\bBUG:", r"WARNING:", r"\bOops\b", r"KASAN", r"possible circular locking",
    r"possible recursive locking", r"inconsistent lock state", r"lockdep is turned off",
    r"suspicious RCU usage", r"RCU stall", r"rcu_.*detected stall",
    r"blocked for more than \d+ seconds", r"refcount_t:", r"UBSAN:", r"Kernel panic",
    r"general protection fault", r"kernel BUG at", r"Unable to handle kernel",
    r"list_(add|del) corruption", r"BUG: workqueue lockup", r"soft lockup", r"hard LOCKUP",
    r"\bcut here\b", r"ODEBUG:",
    # KMEMLEAK: a leak printed to the console, or kmemleak's own trouble (which disables it:
    # an empty pool, an unknown object). Its informational lines are not splats, and leaks
    # found by a scan are judged by the guest's kmemleak test, which reads the whole report.
    r"unreferenced object 0x",
    r"kmemleak: (?!Kernel memory leak detector initialized|Automatic memory scanning thread"
    r"|\d+ new suspected memory leaks)",
]
SPLAT_RE = re.compile("|".join(SPLATS))
TAP_RESULT = re.compile(r"^(\s*)(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$")
TAP_PLAN = re.compile(r"^(\s*)1\.\.(\d+)")
KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d+\]")
BEGIN = re.compile(r"^### xaccel-test: (\S+) begin")
END = re.compile(r"^### xaccel-test: (\S+) end rc=(\d+)")
KMSG_MARK = re.compile(r"xaccel-test: (\S+) (begin|end)$")


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def result(self, ok, name, skip=False):
        if skip:
            self.skipped += 1
        elif ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(name)


def host_tests(path, tally):
    """cargo test prints 'test result: ok. N passed; M failed; K ignored'."""
    seen = False
    try:
        text = open(path, errors="replace").read()
    except OSError:
        tally.result(False, "host: cargo test log missing")
        return
    for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", text):
        seen = True
        tally.passed += int(m.group(1))
        tally.skipped += int(m.group(3))
        for _ in range(int(m.group(2))):
            tally.result(False, "host: cargo test")
    if not seen or re.search(r"^error(\[E\d+\])?:", text, re.M):
        tally.result(False, "host: cargo test did not run to completion")


def tap_block(name, lines, rc, tally):
    """Counts the innermost test results of one TAP/KTAP stream."""
    results, plans = [], []
    for line in lines:
        if m := TAP_RESULT.match(line):
            results.append((len(m.group(1)), m.group(2) == "ok", m.group(4)))
        elif m := TAP_PLAN.match(line):
            plans.append((len(m.group(1)), int(m.group(2))))
    if not results:
        tally.result(False, f"{name}: produced no test results (exit {rc})")
        return
    # KTAP nests suites; the deepest level holds the test cases.
    depth = max(indent for indent, _, _ in results)
    cases = [(ok, desc) for indent, ok, desc in results if indent == depth]
    for ok, desc in cases:
        skip = "# SKIP" in desc.upper()
        tally.result(ok, f"{name}: {desc}", skip=skip)
    planned = sum(n for indent, n in plans if indent == depth)
    if plans and planned != len(cases):
        tally.result(False, f"{name}: planned {planned} tests, ran {len(cases)}")
    if rc != 0 and all(ok for ok, _ in cases):
        tally.result(False, f"{name}: exited {rc} although every test passed")


def framed_blocks(lines, tally):
    """Counts the TAP blocks framed by '### xaccel-test: NAME begin/end rc=N' lines.

    Returns the name of a block that began but never ended, if any.
    """
    block, current = None, None
    for line in lines:
        if m := BEGIN.match(line):
            block, current = [], m.group(1)
        elif (m := END.match(line)) and block is not None:
            tap_block(m.group(1), block, int(m.group(2)), tally)
            block = None
        elif block is not None and not KERNEL_LINE.match(line):
            block.append(line)
    return current if block is not None else None


def host_blocks(path, tally):
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        tally.result(False, f"host: {path} missing")
        return
    if unfinished := framed_blocks(lines, tally):
        tally.result(False, f"host: '{unfinished}' did not finish")


def vm_log(path, tally):
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        tally.result(False, "vm: log missing")
        return
    current = framed_blocks(lines, tally)

    if not any(line.startswith("### xaccel-guest: done") for line in lines):
        where = f" while '{current}' was running" if current else ""
        tally.result(False, f"vm: the guest did not finish{where}")

    # Splats: from the guest's dmesg dump when there is one, else the console.
    try:
        start = lines.index("### xaccel-dmesg: begin")
        kernel = lines[start + 1:lines.index("### xaccel-dmesg: end")]
    except ValueError:
        kernel = [line for line in lines if KERNEL_LINE.match(line)]
    running = "boot"
    for line in kernel:
        if m := KMSG_MARK.search(line):
            running = m.group(1) if m.group(2) == "begin" else f"after {m.group(1)}"
        elif SPLAT_RE.search(line):
            tally.result(False, f"kernel splat during '{running}': {line.strip()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", help="cargo test log")
    ap.add_argument("--blocks", action="append", default=[], help="host log of framed TAP blocks")
    ap.add_argument("--vm", help="virtme-ng log of the check run")
    ap.add_argument("--splats-only", action="store_true",
                    help="a run without tests (make bench): fail only on splats or an unfinished VM")
    args = ap.parse_args()
    tally = Tally()
    if args.host:
        host_tests(args.host, tally)
    for path in args.blocks:
        host_blocks(path, tally)
    if args.vm:
        vm_log(args.vm, tally)
    for failure in tally.failures:
        print(f"FAILED: {failure}")
    summary = f"{tally.passed} passed, {tally.failed} failed"
    if tally.skipped:
        summary += f", {tally.skipped} skipped"
    if args.splats_only:
        return 1 if tally.failed else 0
    print(summary)
    return 1 if tally.failed or tally.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
