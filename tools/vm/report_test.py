#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Self-test of report.py: proves that the verdict of `make check` can fail.

Feeds report.py synthetic VM logs (a clean run, kernel splats of every kind the sanitizer
kernel prints, a missed TAP plan, a crashed program, a VM that never finished) and checks each
verdict. Prints TAP.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

CLEAN = """\
### xaccel-test: demo begin
TAP version 13
ok 1 - one
ok 2 - two # SKIP not here
1..2
### xaccel-test: demo end rc=0
### xaccel-dmesg: begin
[    1.000000] xaccel-test: demo begin
[    1.100000] xaccel-test: demo end
### xaccel-dmesg: end
### xaccel-guest: done
"""

BENCH = """\
### xaccel-bench: begin
bench: bo-4k ours=2.0 anchor=1.0 ratio=2.000 goal=ge1.0
### xaccel-bench: end rc=0
### xaccel-dmesg: begin
[    1.000000] xaccel-test: bench begin
[    1.100000] xaccel-test: bench end
### xaccel-dmesg: end
### xaccel-guest: done
"""


def splat(*lines):
    """CLEAN with kernel lines logged while 'demo' runs."""
    return CLEAN.replace("[    1.100000] xaccel-test: demo end",
                         "".join(f"[    1.050000] {line}\n" for line in lines) +
                         "[    1.100000] xaccel-test: demo end")


# (name, log, expected exit code, text expected in the output[, extra report.py options])
CASES = [
    ("a clean run passes", CLEAN, 0, "1 passed, 0 failed, 1 skipped"),
    ("a WARNING in dmesg fails and names the test",
     CLEAN.replace("[    1.100000] xaccel-test: demo end",
                   "[    1.050000] WARNING: CPU: 0 PID: 1 at core/x.rs:1\n"
                   "[    1.100000] xaccel-test: demo end"),
     1, "kernel splat during 'demo'"),
    ("a lockdep report fails",
     CLEAN.replace("### xaccel-dmesg: end",
                   "[    2.0] WARNING: possible circular locking dependency detected\n"
                   "### xaccel-dmesg: end"),
     1, "possible circular locking"),
    ("a KASAN report fails and names the test",
     splat("==================================================================",
           "BUG: KASAN: slab-use-after-free in xaccel_bo_free+0x2a/0x60 [xaccel]",
           "Read of size 8 at addr ffff888012345678 by task xaccel-selftes/123"),
     1, "kernel splat during 'demo': [    1.050000] BUG: KASAN: slab-use-after-free"),
    ("a UBSAN report fails",
     splat("UBSAN: array-index-out-of-bounds in core/gem/bar_c.c:70:3",
           "index 4 is out of range for type 'u64[4]'"),
     1, "kernel splat during 'demo': [    1.050000] UBSAN: array-index-out-of-bounds"),
    ("a DEBUG_OBJECTS report fails",
     splat("ODEBUG: free active (active state 0) object: 00000000deadbeef object type: "
           "timer_list hint: xaccel_timeout+0x0/0x40 [xaccel]"),
     1, "kernel splat during 'demo': [    1.050000] ODEBUG: free active"),
    ("a leak kmemleak printed fails",
     splat("unreferenced object 0xffff888004f3c2c0 (size 64):",
           "  comm \"xaccel-selftest\", pid 2217, jiffies 4294937011"),
     1, "kernel splat during 'demo': [    1.050000] unreferenced object 0xffff888004f3c2c0"),
    ("kmemleak's own trouble fails",
     splat("kmemleak: Memory pool empty, consider increasing "
           "CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE"),
     1, "kmemleak: Memory pool empty"),
    ("suspicious RCU usage fails",
     splat("=============================", "WARNING: suspicious RCU usage"),
     1, "suspicious RCU usage"),
    ("an RCU stall fails",
     splat("rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"),
     1, "rcu_preempt detected stalls"),
    ("a hung task fails",
     splat("INFO: task modprobe:345 blocked for more than 120 seconds."),
     1, "blocked for more than 120 seconds"),
    ("the sanitizers' boot lines are not splats",
     CLEAN.replace("### xaccel-dmesg: begin\n", "### xaccel-dmesg: begin\n"
                   "[    0.000000] kasan: KernelAddressSanitizer initialized\n"
                   "[    0.100000] kmemleak: Kernel memory leak detector initialized "
                   "(mem pool available: 14000)\n"
                   "[    0.200000] kmemleak: Automatic memory scanning thread started\n"
                   "[    0.300000] kmemleak: 2 new suspected memory leaks "
                   "(see /sys/kernel/debug/kmemleak)\n"),
     0, "1 passed, 0 failed, 1 skipped"),
    ("an unmet plan fails", CLEAN.replace("1..2", "1..3"), 1, "planned 3 tests, ran 2"),
    ("a failing test fails", CLEAN.replace("ok 1 - one", "not ok 1 - one"), 1, "demo: one"),
    ("a crash with passing output fails", CLEAN.replace("rc=0", "rc=139"), 1, "exited 139"),
    ("a VM that never finished fails",
     CLEAN.replace("### xaccel-guest: done\n", ""), 1, "the guest did not finish"),
    ("a program with no output fails",
     "### xaccel-test: mute begin\n### xaccel-test: mute end rc=0\n"
     "### xaccel-dmesg: begin\n### xaccel-dmesg: end\n### xaccel-guest: done\n",
     1, "produced no test results"),
    ("--splats-only passes a clean run without tests", BENCH, 0, "", ["--splats-only"]),
    ("--splats-only fails on a splat",
     BENCH.replace("[    1.100000]", "[    1.050000] BUG: kernel NULL pointer dereference\n"
                   "[    1.100000]"),
     1, "kernel splat during 'bench'", ["--splats-only"]),
    ("--splats-only fails on a VM that never finished",
     BENCH.replace("### xaccel-guest: done\n", ""), 1, "the guest did not finish",
     ["--splats-only"]),
]


def main():
    print("TAP version 13")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, log, want_rc, want_text, *options) in enumerate(CASES, 1):
            path = os.path.join(tmp, f"case{n}.log")
            with open(path, "w") as f:
                f.write(log)
            extra = options[0] if options else []
            run = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), "--vm", path,
                                  *extra], capture_output=True, text=True)
            ok = run.returncode == want_rc and want_text in run.stdout
            failed += not ok
            print(f"{'ok' if ok else 'not ok'} {n} - report.py: {name}")
            if not ok:
                for line in run.stdout.splitlines():
                    print(f"# {line}")
    print(f"1..{len(CASES)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
