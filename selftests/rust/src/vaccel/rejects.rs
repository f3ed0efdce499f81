// SPDX-License-Identifier: GPL-2.0-only
//! Every reason vaccel's validation rejects a command buffer, with its errno
//! (Documentation/vaccel.rst): nothing is queued, and the device goes on working.

use xaccel::vaccel::{Mem, Program};
use xaccel::{Access, Bo, Errno, Vm};
use xaccel_selftests::raw::errno_name;
use xaccel_selftests::tap::{self, TestResult};
use xaccel_selftests::{ensure, fail};

use crate::ctx::*;

/// Raw packet bytes: header (opcode, flags, size) then `body`.
fn packet(opcode: u16, flags: u16, size: u32, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&opcode.to_le_bytes());
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&size.to_le_bytes());
    p.extend_from_slice(body);
    p
}

fn bytes(p: &mut Program) -> Vec<u8> {
    p.as_bytes().to_vec()
}

/// Each rejection, then a valid job: the seqnos show nothing was queued in between.
pub fn rejections(c: &Ctx) -> TestResult {
    let runner = Runner::new(&c.dev, c.system)?;
    let page = c.page;
    let rw = Bo::create(&c.dev, page, c.system)?;
    let ro = Bo::create(&c.dev, page, c.system)?;
    let vm = Vm::create(&c.dev)?;
    let va = c.va_start;
    let _rw_map = vm.bind(&rw, 0, page, va, Access::ReadWrite)?;
    let _ro_map = vm.bind(&ro, 0, page, va + page, Access::ReadOnly)?;
    let list = [(&rw, WRITE), (&ro, READ)];
    let p = Program::new;

    let mut copy_in_place = p();
    copy_in_place.copy(Mem::bo(0, 0), Mem::bo(1, 0), 16);
    let valid = bytes(&mut copy_in_place);
    let mut truncated = valid.clone();
    truncated.truncate(30);
    let mut bad_pad = valid.clone();
    bad_pad[12] = 1;
    let too_big = bytes(p().nop()).repeat(64 * 1024 / 8 + 1);

    let cases: Vec<(&str, Vec<u8>, bool, Errno)> = vec![
        ("unknown opcode", packet(99, 0, 8, &[]), false, Errno::INVAL),
        ("truncated packet", truncated, false, Errno::INVAL),
        (
            "truncated header",
            packet(0, 0, 8, &[])[..5].to_vec(),
            false,
            Errno::INVAL,
        ),
        (
            "size not the opcode's",
            packet(0, 0, 16, &[0; 8]),
            false,
            Errno::INVAL,
        ),
        ("nonzero flags", packet(0, 1, 8, &[]), false, Errno::INVAL),
        ("nonzero operand padding", bad_pad, false, Errno::INVAL),
        (
            "DELAY above 1 s",
            bytes(p().delay(1_000_001)),
            false,
            Errno::INVAL,
        ),
        ("FAULT code 0", bytes(p().fault(0)), false, Errno::INVAL),
        (
            "FAULT code 4096",
            bytes(p().fault(4096)),
            false,
            Errno::INVAL,
        ),
        (
            "BO index beyond the list",
            bytes(p().fill(Mem::bo(2, 0), 0, 4)),
            false,
            Errno::INVAL,
        ),
        (
            "operand past its BO's end",
            bytes(p().copy(Mem::bo(0, page - 8), Mem::bo(1, 0), 9)),
            false,
            Errno::FAULT,
        ),
        (
            "operand offset overflowing",
            bytes(p().fill(Mem::bo(0, u64::MAX - 1), 0, 4)),
            false,
            Errno::FAULT,
        ),
        (
            "element count overflowing",
            bytes(p().add(Mem::bo(0, 0), Mem::bo(0, 0), Mem::bo(0, 0), u64::MAX / 2)),
            false,
            Errno::FAULT,
        ),
        (
            "SUM source past the end",
            bytes(p().sum(Mem::bo(0, 0), Mem::bo(1, 4), page / 4)),
            false,
            Errno::FAULT,
        ),
        (
            "COPY to a read-only BO",
            bytes(p().copy(Mem::bo(1, 0), Mem::bo(0, 0), 4)),
            false,
            Errno::ACCESS,
        ),
        (
            "FILL of a read-only BO",
            bytes(p().fill(Mem::bo(1, 0), 0, 1)),
            false,
            Errno::ACCESS,
        ),
        (
            "XOR into a read-only BO",
            bytes(p().xor(Mem::bo(1, 0), Mem::bo(0, 0), Mem::bo(0, 0), 1)),
            false,
            Errno::ACCESS,
        ),
        (
            "SUM into a read-only BO",
            bytes(p().sum(Mem::bo(1, 0), Mem::bo(0, 0), 1)),
            false,
            Errno::ACCESS,
        ),
        (
            "WRITE_TIMESTAMP to a read-only BO",
            bytes(p().write_timestamp(Mem::bo(1, 0))),
            false,
            Errno::ACCESS,
        ),
        ("a program above 64 KiB", too_big, false, Errno::TOOBIG),
        (
            "a VA operand without a VM",
            bytes(p().fill(Mem::Va(va), 0, 4)),
            false,
            Errno::INVAL,
        ),
        (
            "an unmapped VA",
            bytes(p().fill(Mem::Va(va + 2 * page), 0, 4)),
            true,
            Errno::FAULT,
        ),
        (
            "a VA range running off the mappings",
            bytes(p().copy(Mem::Va(va), Mem::Va(va + page + 8), page)),
            true,
            Errno::FAULT,
        ),
        (
            "a VA range overflowing",
            bytes(p().fill(Mem::Va(u64::MAX - 1), 0, 4)),
            true,
            Errno::FAULT,
        ),
        (
            "a write through a read-only mapping",
            bytes(p().fill(Mem::Va(va + page - 2), 0, 4)),
            true,
            Errno::ACCESS,
        ),
    ];

    let first = runner
        .submit(&valid, &list, None)
        .map_err(|e| format!("the valid program: {}", errno_name(e)))?;
    runner.wait_ok()?;
    for (what, program, with_vm, errno) in cases {
        match runner.submit(&program, &list, with_vm.then_some(&vm)) {
            Err(e) if e == errno => {}
            Err(e) => fail!("{what}: {}, expected {}", errno_name(e), errno_name(errno)),
            Ok(_) => fail!("{what}: accepted, expected {}", errno_name(errno)),
        }
    }
    // Nothing was queued: the next job gets the next seqno, and works.
    rw.map()?.write(0, &[0; 16]);
    ro.map()?.write(0, b"still working...");
    let next = runner.submit(&valid, &list, None)?;
    ensure!(
        next == first + 1,
        "seqno {next} after the rejections, expected {}",
        first + 1
    );
    runner.wait_ok()?;
    expect_bytes(
        &contents(&rw)?[..16],
        b"still working...",
        "the copy after the rejections",
    )?;
    // And with the VM: a copy from the read-only mapping to the writable one.
    let mut through_vm = Program::new();
    through_vm.copy(Mem::Va(va + 3), Mem::Va(va + page + 5), 9);
    runner.run_ok(&through_vm, &[], Some(&vm))?;
    expect_bytes(
        &contents(&rw)?[3..12],
        &b"still working..."[5..14],
        "the copy through the VM",
    )?;
    tap::pass()
}
