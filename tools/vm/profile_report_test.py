#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Self-test of profile_report.py on a synthetic `make profile` log. Prints TAP."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profile_report  # noqa: E402

LOG = """\
bench: roundtrip ours=50.0 anchor=25.0 ratio=2.000 goal=le1.5
## folded
900 swapper;do_idle;default_idle
30 bench;entry_SYSCALL_64;do_syscall_64;0xffffffffa0001010;0xffffffffa0002008;_raw_spin_unlock_irq
10 bench;entry_SYSCALL_64;do_syscall_64;0xffffffffa0001010;kmalloc
5 bench;entry_SYSCALL_64;do_syscall_64;sw_sync_ioctl
4 other;entry_SYSCALL_64;do_syscall_64;0xffffffffa0002010
## module symbols
ffffffffa0001000 t submit_ioctl\t[xaccel]
ffffffffa0002000 t ring_pass\t[xaccel]
ffffffffa0003000 T vaccel_run\t[vaccel]
"""


def main():
    lines = profile_report.summarise(LOG.replace("\\t", "\t"), top=10)
    text = "\n".join(lines)
    charged = lines[lines.index(next(l for l in lines if l.startswith("## charged"))) + 1 :]
    empty = profile_report.summarise("## folded\n1 swapper;default_idle\n")
    checks = [
        (
            "the busiest command is picked, the idle loop is not",
            lines[0].startswith("# profile of 'bench': 45 samples"),
        ),
        ("time under an irq-safe lock is charged to the lock holder", "30  ring_pass" in charged[0]),
        (
            "a module address resolves to the symbol below it",
            "10  kmalloc" in text and "40  submit_ioctl" in text,
        ),
        ("other commands' samples are left out", text.count("30  ring_pass") == 2),
        ("kernel leaves stay as they are", "5  sw_sync_ioctl" in text),
        ("a log without samples says so", empty == ["no samples outside the idle loop"]),
    ]
    print("TAP version 13")
    for n, (name, ok) in enumerate(checks, 1):
        print(f"{'ok' if ok else 'not ok'} {n} - profile_report.py: {name}")
    if not all(ok for _, ok in checks):
        for line in lines:
            print(f"# {line}")
    print(f"1..{len(checks)}")


if __name__ == "__main__":
    main()
