#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Checks that the code Documentation/writing-a-backend.rst quotes is still the code.

Every block the guide marks with `.. sample: PATH` (the `.. code-block::` right after it)
must appear verbatim in PATH, relative to the repository. Prints TAP; exits 1 on a stale block.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDE = ROOT / "Documentation" / "writing-a-backend.rst"
BLOCK = re.compile(r"^\.\. sample: (\S+)\n\n\.\. code-block:: \S+\n\n((?:   .*\n|\n)+)", re.M)


def blocks(text):
    """(path, code) of every marked block, the code dedented and without trailing blank lines."""
    for m in BLOCK.finditer(text):
        code = "\n".join(line[3:] for line in m.group(2).split("\n")).rstrip("\n") + "\n"
        yield m.group(1), code


def main():
    found = list(blocks(GUIDE.read_text()))
    print("TAP version 13")
    print(f"1..{len(found) + 1}")
    ok = bool(found)
    print(f"{'ok' if found else 'not ok'} 1 - the guide quotes the sample ({len(found)} blocks)")
    for n, (path, code) in enumerate(found, 2):
        source = (ROOT / path).read_text()
        first = code.splitlines()[0] if code.strip() else ""
        if code in source:
            print(f"ok {n} - {path}: {first}")
        else:
            ok = False
            print(f"not ok {n} - {path}: {first}")
            print("# the quoted block is not in the file any more: quote the code again")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
