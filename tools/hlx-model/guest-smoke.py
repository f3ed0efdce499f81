#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Driverless check of an HLX device from inside the VM, printing TAP.

Run as root in a guest whose HLX function has no driver bound. It checks the PCI identity
of Documentation/hlx.rst, then drives the device the way the manual tells a driver to, from
userspace: BARs mapped through sysfs, MSI-X programmed to write into a page of this process
(whose guest-physical address comes from /proc/self/pagemap), a CQ, an EQ and a ring in
host memory. It proves the whole path: doorbells through QEMU, host DMA through the shared
guest-RAM file, MSI-X messages, MMU faults. With a second unbound HLX function (under the same
PCIe switch, served by its own model that has the first's BAR2 file as a peer) it also DMAs
into and out of that device's HBM at its BAR2 bus address (peer-to-peer). It ends with a
hard reset.

Needs CONFIG_PROC_PAGE_MONITOR and sysfs PCI resource mmap (any x86 kernel has both).
"""

import ctypes
import glob
import mmap
import os
import struct
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
HOST = 1 << 63
PAGE = 4096

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))
    return ok


class Window:
    """32/64-bit access to a mapped range (a BAR or a locked page)."""

    def __init__(self, addr, size):
        self.addr, self.size = addr, size

    def r32(self, off):
        return ctypes.c_uint32.from_address(self.addr + off).value

    def w32(self, off, v):
        ctypes.c_uint32.from_address(self.addr + off).value = v

    def r64(self, off):
        return ctypes.c_uint64.from_address(self.addr + off).value

    def w64(self, off, v):
        ctypes.c_uint64.from_address(self.addr + off).value = v

    def read(self, off, n):
        return ctypes.string_at(self.addr + off, n)

    def write(self, off, data):
        ctypes.memmove(self.addr + off, data, len(data))


def map_bar(dev, i):
    start, end, _ = (int(x, 16) for x in open(f"{dev}/resource").read().split("\n")[i].split())
    size = (end - start + 1 + (start % PAGE) + PAGE - 1) & ~(PAGE - 1)
    fd = os.open(f"{dev}/resource{i}", os.O_RDWR | os.O_SYNC)
    addr = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
    os.close(fd)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), f"mmap resource{i}")
    return Window(addr + start % PAGE, end - start + 1)


pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)
keep = []


def dma_page():
    """A zeroed, locked page of this process and its guest-physical address."""
    m = mmap.mmap(-1, PAGE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    keep.append(m)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    if libc.mlock(ctypes.c_void_p(addr), ctypes.c_size_t(PAGE)) != 0:
        raise OSError(ctypes.get_errno(), "mlock")
    entry = int.from_bytes(os.pread(pagemap, 8, addr // PAGE * 8), "little")
    if not entry >> 63 or not entry & ((1 << 55) - 1):
        raise OSError("no PFN in /proc/self/pagemap (not root?)")
    return Window(addr, PAGE), (entry & ((1 << 55) - 1)) * PAGE


def find_hlx():
    """Every HLX function without a driver, in bus order."""
    found = []
    for dev in sorted(glob.glob("/sys/bus/pci/devices/*")):
        ids = open(f"{dev}/vendor").read().strip(), open(f"{dev}/device").read().strip()
        if ids != ("0x1af4", "0x1110") or os.path.exists(f"{dev}/driver"):
            continue
        with open(f"{dev}/enable", "w") as f:
            f.write("1")
        if map_bar(dev, 2).r32(0) == 0x31584C48:
            found.append(dev)
    return found


def wait(cond, secs=5.0):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.0005)
    return False


def main():
    found = find_hlx()
    if not found:
        return None
    dev = found[0]
    cfg = os.open(f"{dev}/config", os.O_RDWR)

    def cr(off, n):
        return int.from_bytes(os.pread(cfg, n, off), "little")

    def cw(off, n, v):
        os.pwrite(cfg, v.to_bytes(n, "little"), off)

    cw(4, 2, cr(4, 2) | 0x6)  # memory decoding, bus master
    bar0, bar1, regs = map_bar(dev, 0), map_bar(dev, 1), map_bar(dev, 2)
    bar2_flags = int(open(f"{dev}/resource").read().split("\n")[2].split()[2], 16)
    cap = cr(0x34, 1)
    while cap and cr(cap, 1) != 0x11:
        cap = cr(cap + 1, 1)
    check("PCI identity", cap and cr(8, 4) == 0x05000001 and cr(0x2C, 4) == 0x11001AF4
          and cr(0x3D, 1) == 0 and bar0.size == 256 and bar1.size == PAGE
          and bar2_flags & 0x102000 == 0x102000,  # IORESOURCE_MEM_64 | IORESOURCE_PREFETCH
          f"class/rev {cr(8, 4):#x} subsys {cr(0x2C, 4):#x} pin {cr(0x3D, 1)}")
    check("MSI-X: 8 vectors, table at BAR1+0, PBA at BAR1+0x800",
          (cr(cap + 2, 2) & 0x7FF) + 1 == 8 and cr(cap + 4, 4) == 1 and cr(cap + 8, 4) == 0x801)
    bar2_size = regs.size
    check("register page identity", regs.r32(0) == 0x31584C48 and regs.r32(4) >> 16 == 1
          and regs.r64(8) == bar2_size - PAGE and regs.r32(0x10) == 4 and regs.r32(0x1C) == 8
          and regs.r32(0x20) & 1, f"HBM {regs.r64(8)} bytes, peer {regs.r32(0x24)}")

    peer = regs.r32(0x24)

    def doorbell(vector):
        bar0.w32(0x0C, peer << 16 | vector)

    def cmd(op, arg0=0, arg1=0):
        regs.w32(0x40, op)
        regs.w32(0x44, arg0)
        regs.w32(0x48, arg1)
        seq = (regs.r32(0x4C) + 1) & 0xFFFFFFFF
        regs.w32(0x4C, seq)
        doorbell(7)
        if not wait(lambda: regs.r32(0x50) == seq, 1.0):
            raise TimeoutError(f"command {op} did not complete")
        return regs.r32(0x54)

    resets = regs.r32(0x2C)
    check("commands: NOP and HARD_RESET through the control doorbell",
          cmd(0) == 0 and cmd(1) == 0 and regs.r32(0x2C) == resets + 1)

    msi, msi_gpa = dma_page()
    cq, cq_gpa = dma_page()
    eq, eq_gpa = dma_page()
    ring, ring_gpa = dma_page()
    src, src_gpa = dma_page()
    dst, dst_gpa = dma_page()
    table = cr(cap + 4, 4) & ~7
    for v in range(2):
        bar1.w32(table + 16 * v, (msi_gpa + 64 * v) & 0xFFFFFFFF)
        bar1.w32(table + 16 * v + 4, (msi_gpa + 64 * v) >> 32)
        bar1.w32(table + 16 * v + 8, 0xC0DE0000 + v)
        bar1.w32(table + 16 * v + 12, 0)
    cw(cap + 2, 2, cr(cap + 2, 2) | 0x8000)

    regs.w64(0x80, HOST | cq_gpa)
    regs.w32(0x88, 64)
    regs.w32(0x8C, 0)
    regs.w64(0xA0, HOST | eq_gpa)
    regs.w32(0xA8, 64)
    regs.w32(0xAC, 0)
    regs.w64(0x100, HOST | ring_gpa)
    regs.w32(0x108, PAGE)
    regs.w32(0x10C, 0)
    check("CQ_INIT, EQ_INIT, QUEUE_ENABLE, SET_IRQ_MASK",
          [cmd(5), cmd(6), cmd(3, 0), cmd(8, 0)] == [0, 0, 0, 0])

    data = bytes((i * 13 + 7) & 0xFF for i in range(PAGE))
    src.write(0, data)
    hbm = 0x100

    def lin_dma(length, s, d):
        return struct.pack("<BBHIQQ", 0x09, 3, 0, length, s, d)

    def completion(tag):
        return struct.pack("<BBHIQ", 0x03, 2, 2, tag, 0)

    packets = (lin_dma(PAGE, HOST | src_gpa, hbm) + lin_dma(PAGE, hbm, HOST | dst_gpa)
               + completion(77))
    ring.write(0, packets)
    regs.w32(0x10C, len(packets))
    doorbell(0)
    done = wait(lambda: regs.r32(0x90) == 1)
    entry = struct.unpack("<IHHI", cq.read(0, 12))
    check("job on DMA0 completes with a CQ entry", done and entry == (77, 0, 0, 0), str(entry))
    check("LIN_DMA host -> HBM -> host is bit-exact",
          regs.read(PAGE + hbm, PAGE) == data and dst.read(0, PAGE) == data)
    check("CQ interrupt arrives as MSI-X vector 0",
          wait(lambda: msi.r32(0) == 0xC0DE0000) and regs.r32(0x68) == 1)

    # An MMU fault: queue 0 in ASID 1, which has no page table.
    regs.w32(0xC0, 1)
    regs.w32(0x110, 1)
    va = 0x1234_5000
    fault = struct.pack("<BBHIQ", 0x03, 2, 0, 5, va) + completion(78)
    ring.write(len(packets), fault)
    regs.w32(0x10C, len(packets) + len(fault))
    doorbell(0)
    done = wait(lambda: regs.r32(0x90) == 2 and regs.r32(0xB0) == 1)
    status = struct.unpack("<IHH", cq.read(16, 8))
    event = struct.unpack("<HBBIQI", eq.read(0, 20))
    check("MMU fault fails the job and reports the VA on the EQ",
          done and status == (78, 0, 1) and event == (1, 0, 1, 1 | 3 << 16, va, len(packets)),
          f"{status} {event}")
    check("EQ interrupt arrives as MSI-X vector 1", wait(lambda: msi.r32(64) == 0xC0DE0001))

    if len(found) > 1:
        # Peer-to-peer: queue 0 back in bypass, then DMA through the other function's BAR2.
        regs.w32(0xC0, 0)
        regs.w32(0x110, 0)
        other = found[1]
        peer_bar2 = map_bar(other, 2)
        # x86 without an IOMMU: the BAR's bus address is its resource address. This is what
        # the driver writes to BAR2_BUS_ADDR at bring-up (with bit 0, VALID).
        bus = int(open(f"{other}/resource").read().split("\n")[2].split()[0], 16)
        peer_bar2.w64(0xE0, bus | 1)
        back, back_gpa = dma_page()
        at = HOST | (bus + PAGE + 0x200)
        pi = len(packets) + len(fault)

        def submit(job):
            nonlocal pi
            ring.write(pi, job)
            pi += len(job)
            regs.w32(0x10C, pi)
            doorbell(0)

        submit(lin_dma(PAGE, HOST | src_gpa, at) + lin_dma(PAGE, at, HOST | back_gpa)
               + completion(79))
        done = wait(lambda: regs.r32(0x90) == 3)
        entry = struct.unpack("<IHH", cq.read(32, 8))
        check("P2P: LIN_DMA host -> the other HLX's HBM (its BAR2 bus address) -> host",
              done and entry == (79, 0, 0) and peer_bar2.read(PAGE + 0x200, PAGE) == data
              and back.read(0, PAGE) == data, f"{entry} {os.path.basename(other)} bus {bus:#x}")
        peer_bar2.w64(0xE0, 0)
        submit(lin_dma(4, HOST | src_gpa, at) + completion(80))
        done = wait(lambda: regs.r32(0x90) == 4 and regs.r32(0xB0) == 2)
        status = struct.unpack("<IHH", cq.read(48, 8))
        event = struct.unpack("<HBBIQ", eq.read(32, 16))
        check("P2P: a peer whose BAR2_BUS_ADDR is not valid decodes nothing (HOST_RANGE)",
              done and status == (80, 0, 2) and event[0] == 2 and event[3] == 1 | 1 << 16
              and event[4] == at, f"{status} {event}")

    check("HARD_RESET at the end", cmd(1) == 0 and regs.r32(0x118) == 0)
    cw(cap + 2, 2, cr(cap + 2, 2) & ~0x8000)
    return 0


if __name__ == "__main__":
    print("TAP version 13")
    try:
        rc = main()
    except Exception as e:  # noqa: BLE001 - report anything as a failed test
        results.append((f"exception: {e!r}", False, ""))
        rc = 1
    if rc is None:
        print("1..0 # SKIP no HLX device without a driver")
        sys.exit(0)
    print(f"1..{len(results)}")
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - hlx-model smoke: {name}")
        if detail and not ok:
            print(f"# {detail}")
    sys.exit(0 if rc == 0 and all(ok for _, ok, _ in results) else 1)
