// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
//! Host test: `src/abi.rs` must match `uapi/drm/xaccel_accel.h` exactly, and
//! `src/vaccel_isa.rs` must match `uapi/drm/vaccel_isa.h`.
//!
//! The test parses the header for every `#define DRM_*`, enum constant, struct and
//! field, generates a C program that prints `sizeof`, `_Alignof`, `offsetof` and
//! field sizes of each struct and the value of each constant, compiles it with `cc`
//! (or `$CC`) against the header and libdrm's `drm.h` (`/usr/include/libdrm`, from
//! libdrm-dev), runs it, and compares every line with what Rust computes with
//! `size_of`, `align_of`, `offset_of!` and the crate's constants. Anything present on
//! one side only is a mismatch too, so a new field or constant must be mirrored.
//! Two more tests feed the same check a deliberately broken copy of the header to
//! prove that it catches a reordered field and a changed constant.
//!
//! Run: `cargo test -p xaccel-uapi --test layout`

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use xaccel_uapi::*;

/// Where libdrm-dev installs `drm.h`.
const LIBDRM_INCLUDE: &str = "/usr/include/libdrm";
/// Name of the header under test.
const HEADER: &str = "xaccel_accel.h";
/// Constants the Rust crate mirrors from `drm.h`, not from our header.
const FROM_DRM_H: &[&str] = &["DRM_COMMAND_BASE", "DRM_IOCTL_BASE"];

/// A uAPI header and its Rust mirror.
struct Header {
    /// File name under `uapi/drm`.
    file: &'static str,
    /// Prefix of the `#define`s the mirror covers.
    define_prefix: &'static str,
    /// Constants mirrored from other headers, checked too.
    extra: &'static [&'static str],
    /// What the Rust mirror says.
    rust_facts: fn() -> BTreeMap<String, u64>,
}

/// The common uAPI.
const XACCEL: Header = Header {
    file: HEADER,
    define_prefix: "DRM_",
    extra: FROM_DRM_H,
    rust_facts,
};

/// vaccel's instruction set.
const VACCEL: Header = Header {
    file: "vaccel_isa.h",
    define_prefix: "VACCEL_",
    extra: &[],
    rust_facts: vaccel_rust_facts,
};

/// The hlx vendor uAPI.
const HLX: Header = Header {
    file: "hlx_accel.h",
    define_prefix: "HLX_",
    extra: &[],
    rust_facts: hlx_rust_facts,
};

/// What the header declares, in declaration order.
#[derive(Debug, Default)]
struct HeaderModel {
    /// `#define DRM_*` object-like macros and enum constants.
    constants: Vec<String>,
    /// `struct drm_xaccel_*` with their field names.
    structs: Vec<(String, Vec<String>)>,
}

/// Removes `/* */` and `//` comments and joins `\`-continued lines.
fn preprocess(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    let out: Vec<&str> = out.lines().map(|l| l.split("//").next().unwrap()).collect();
    out.join("\n").replace("\\\n", " ")
}

/// Parses the declarations the layout check covers out of the header text.
fn parse_header(text: &str) -> HeaderModel {
    parse_header_with(text, XACCEL.define_prefix)
}

/// [`parse_header`] for a header whose `#define`s start with `define_prefix`.
fn parse_header_with(text: &str, define_prefix: &str) -> HeaderModel {
    let text = preprocess(text);
    let mut model = HeaderModel::default();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["#define", name, ..] if name.starts_with(define_prefix) => {
                assert!(
                    !name.contains('('),
                    "function-like macro {name} is not covered"
                );
                model.constants.push(name.to_string());
            }
            ["enum", _, "{"] => {
                for line in lines.by_ref().take_while(|l| !l.starts_with('}')) {
                    for entry in line.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                        let name = entry.split('=').next().unwrap().trim();
                        model.constants.push(name.to_string());
                    }
                }
            }
            ["struct", name, "{"] => {
                let mut fields = Vec::new();
                for line in lines.by_ref().take_while(|l| !l.starts_with('}')) {
                    if line.is_empty() {
                        continue;
                    }
                    assert!(
                        line.ends_with(';') && !line.contains('{'),
                        "unsupported member in struct {name}: {line}"
                    );
                    let decl = line.trim_end_matches(';').split('[').next().unwrap();
                    let field = decl.split_whitespace().last().unwrap();
                    fields.push(field.trim_start_matches('*').to_string());
                }
                model.structs.push((name.to_string(), fields));
            }
            _ => {}
        }
    }
    model
}

/// A C program printing one `<key> <value>` line per checked fact.
fn c_program(model: &HeaderModel, header: &Header) -> String {
    let mut c = format!(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"{}\"\n\n\
         int main(void)\n{{\n",
        header.file
    );
    for (name, fields) in &model.structs {
        let ty = format!("struct {name}");
        c += &format!("\tprintf(\"sizeof {name} %zu\\n\", sizeof({ty}));\n");
        c += &format!("\tprintf(\"alignof {name} %zu\\n\", (size_t)_Alignof({ty}));\n");
        for f in fields {
            c += &format!("\tprintf(\"offsetof {name}.{f} %zu\\n\", offsetof({ty}, {f}));\n");
            c += &format!("\tprintf(\"fieldsize {name}.{f} %zu\\n\", sizeof((({ty} *)0)->{f}));\n");
        }
    }
    for name in model
        .constants
        .iter()
        .map(String::as_str)
        .chain(header.extra.iter().copied())
    {
        c += &format!("\tprintf(\"value {name} %llu\\n\", (unsigned long long)({name}));\n");
    }
    c + "\treturn 0;\n}\n"
}

/// A fresh scratch directory for one test.
fn scratch_dir(test: &str) -> PathBuf {
    let base = option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join(format!("xaccel-layout-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Compiles and runs the probe for the header in `include_dir`; returns its facts.
fn c_facts(
    model: &HeaderModel,
    header: &Header,
    include_dir: &Path,
    scratch: &Path,
) -> BTreeMap<String, u64> {
    assert!(
        Path::new(LIBDRM_INCLUDE).join("drm.h").exists(),
        "{LIBDRM_INCLUDE}/drm.h is missing: install libdrm-dev"
    );
    let src = scratch.join("layout.c");
    let bin = scratch.join("layout");
    fs::write(&src, c_program(model, header)).expect("write layout.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(include_dir)
        .args(["-I", LIBDRM_INCLUDE, "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(status.success(), "{cc} failed on {}", src.display());
    let out = Command::new(&bin).output().expect("run layout probe");
    assert!(out.status.success(), "layout probe failed");
    String::from_utf8(out.stdout)
        .expect("probe output is UTF-8")
        .lines()
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("probe line");
            (key.to_string(), value.parse().expect("probe value"))
        })
        .collect()
}

/// `size_of` the field `get` projects to.
fn field_size<T, F>(_get: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// Records the layout of one Rust struct under the C names of its fields.
macro_rules! layout {
    ($facts:ident, $ty:ident { $($c:literal => $f:ident),* $(,)? }) => {{
        let name = stringify!($ty);
        $facts.insert(format!("sizeof {name}"), size_of::<$ty>() as u64);
        $facts.insert(format!("alignof {name}"), align_of::<$ty>() as u64);
        $(
            $facts.insert(format!("offsetof {name}.{}", $c), offset_of!($ty, $f) as u64);
            $facts.insert(
                format!("fieldsize {name}.{}", $c),
                field_size(|s: &$ty| &s.$f) as u64,
            );
        )*
    }};
}

/// Records constants under their own names.
macro_rules! constants {
    ($facts:ident, $($name:ident),* $(,)?) => {
        $( $facts.insert(format!("value {}", stringify!($name)), u64::from($name)); )*
    };
}

/// Everything the Rust crate says, in the same `<key> <value>` form.
fn rust_facts() -> BTreeMap<String, u64> {
    let mut f = BTreeMap::new();
    layout!(f, drm_xaccel_query {
        "type" => type_, "flags" => flags, "item_size" => item_size, "count" => count,
        "items" => items, "reserved" => reserved,
    });
    layout!(f, drm_xaccel_device_info {
        "backend" => backend, "uapi_major" => uapi_major, "uapi_minor" => uapi_minor,
        "engine_count" => engine_count, "region_count" => region_count,
        "capabilities" => capabilities, "va_start" => va_start, "va_size" => va_size,
        "reset_count" => reset_count,
    });
    layout!(f, drm_xaccel_engine_info {
        "name" => name, "id" => id, "engine_class" => engine_class,
        "ring_credits" => ring_credits, "pad" => pad,
    });
    layout!(f, drm_xaccel_nop_info { "engine" => engine, "size" => size, "cmd" => cmd });
    layout!(f, drm_xaccel_region_info {
        "name" => name, "id" => id, "kind" => kind, "flags" => flags, "size" => size,
        "used" => used,
    });
    layout!(f, drm_xaccel_bo_create {
        "size" => size, "region" => region, "flags" => flags, "alignment" => alignment,
        "handle" => handle, "pad" => pad, "reserved" => reserved,
    });
    layout!(f, drm_xaccel_bo_create_userptr {
        "userptr" => userptr, "size" => size, "flags" => flags, "handle" => handle,
        "reserved" => reserved,
    });
    layout!(f, drm_xaccel_bo_info {
        "handle" => handle, "pad" => pad, "size" => size, "region" => region,
        "flags" => flags, "mmap_offset" => mmap_offset, "device_addr" => device_addr,
        "reserved" => reserved,
    });
    layout!(f, drm_xaccel_context_create {
        "engine" => engine, "priority" => priority, "flags" => flags,
        "context_id" => context_id, "reserved" => reserved,
    });
    layout!(f, drm_xaccel_context_destroy { "context_id" => context_id, "pad" => pad });
    layout!(f, drm_xaccel_syncobj_ref { "handle" => handle, "flags" => flags, "point" => point });
    layout!(f, drm_xaccel_submit_bo { "handle" => handle, "flags" => flags });
    layout!(f, drm_xaccel_submit {
        "context_id" => context_id, "flags" => flags, "cmd_handle" => cmd_handle,
        "in_syncobj_count" => in_syncobj_count, "cmd_offset" => cmd_offset,
        "cmd_size" => cmd_size, "in_syncobjs" => in_syncobjs, "bos" => bos,
        "bo_count" => bo_count, "out_syncobj" => out_syncobj, "out_point" => out_point, "timeout_ns" => timeout_ns, "seqno" => seqno,
        "vm_id" => vm_id, "pad" => pad, "reserved" => reserved,
    });
    layout!(f, drm_xaccel_bo_wait {
        "handle" => handle, "flags" => flags, "timeout_ns" => timeout_ns, "pad" => pad,
    });
    layout!(f, drm_xaccel_vm_create {
        "flags" => flags, "vm_id" => vm_id, "reserved" => reserved,
    });
    layout!(f, drm_xaccel_vm_destroy {
        "vm_id" => vm_id, "pad" => pad, "reserved" => reserved,
    });
    layout!(f, drm_xaccel_vm_bind {
        "vm_id" => vm_id, "handle" => handle, "bo_offset" => bo_offset, "size" => size,
        "va" => va, "flags" => flags, "pad" => pad, "reserved" => reserved,
    });
    layout!(f, drm_xaccel_vm_unbind {
        "vm_id" => vm_id, "flags" => flags, "va" => va, "size" => size,
        "reserved" => reserved,
    });
    constants!(
        f,
        DRM_COMMAND_BASE,
        DRM_IOCTL_BASE,
        DRM_XACCEL_UAPI_MAJOR,
        DRM_XACCEL_UAPI_MINOR,
        DRM_XACCEL_QUERY,
        DRM_XACCEL_BO_CREATE,
        DRM_XACCEL_BO_INFO,
        DRM_XACCEL_VM_CREATE,
        DRM_XACCEL_VM_DESTROY,
        DRM_XACCEL_VM_BIND,
        DRM_XACCEL_VM_UNBIND,
        DRM_XACCEL_VENDOR_BASE,
        DRM_XACCEL_VENDOR_QUERY,
        DRM_IOCTL_XACCEL_QUERY,
        DRM_IOCTL_XACCEL_BO_CREATE,
        DRM_IOCTL_XACCEL_BO_INFO,
        DRM_IOCTL_XACCEL_VM_CREATE,
        DRM_IOCTL_XACCEL_VM_DESTROY,
        DRM_IOCTL_XACCEL_VM_BIND,
        DRM_IOCTL_XACCEL_VM_UNBIND,
        DRM_IOCTL_XACCEL_VENDOR_QUERY,
        DRM_XACCEL_QUERY_DEVICE,
        DRM_XACCEL_QUERY_ENGINES,
        DRM_XACCEL_QUERY_REGIONS,
        DRM_XACCEL_QUERY_NOPS,
        DRM_XACCEL_NOP_MAX,
        DRM_XACCEL_CAP_MMU,
        DRM_XACCEL_CAP_P2P,
        DRM_XACCEL_ENGINE_COMPUTE,
        DRM_XACCEL_ENGINE_COPY,
        DRM_XACCEL_ENGINE_DMA,
        DRM_XACCEL_REGION_SYSTEM,
        DRM_XACCEL_REGION_DEVICE,
        DRM_XACCEL_REGION_CPU_VISIBLE,
        DRM_XACCEL_REGION_P2P,
        DRM_XACCEL_CONTEXT_CREATE,
        DRM_XACCEL_CONTEXT_DESTROY,
        DRM_XACCEL_SUBMIT,
        DRM_IOCTL_XACCEL_CONTEXT_CREATE,
        DRM_IOCTL_XACCEL_CONTEXT_DESTROY,
        DRM_IOCTL_XACCEL_SUBMIT,
        DRM_XACCEL_BO_WAIT,
        DRM_IOCTL_XACCEL_BO_WAIT,
        DRM_XACCEL_BO_WAIT_READ,
        DRM_XACCEL_BO_WAIT_WRITE,
        DRM_XACCEL_PRIORITY_LOW,
        DRM_XACCEL_PRIORITY_NORMAL,
        DRM_XACCEL_PRIORITY_HIGH,
        DRM_XACCEL_PRIORITY_REALTIME,
        DRM_XACCEL_MAX_CONTEXTS,
        DRM_XACCEL_MAX_IN_SYNCOBJS,
        DRM_XACCEL_MAX_SUBMIT_BOS,
        DRM_XACCEL_SUBMIT_BO_WRITE,
        DRM_XACCEL_SUBMIT_BO_NO_IMPLICIT,
        DRM_XACCEL_MAX_CMD_SIZE,
        DRM_XACCEL_MAX_TIMEOUT_NS,
        DRM_XACCEL_MAX_QUEUED_JOBS,
        DRM_XACCEL_VM_BIND_READ_ONLY,
        DRM_XACCEL_VM_BIND_READ_WRITE,
        DRM_XACCEL_BO_CREATE_USERPTR,
        DRM_IOCTL_XACCEL_BO_CREATE_USERPTR,
        DRM_XACCEL_BO_READ_ONLY,
        DRM_XACCEL_BO_USERPTR,
        DRM_XACCEL_BO_DEVICE_ADDR,
    );
    f
}

/// Runs the whole check against the header in `include_dir`; returns the mismatches.
fn check(include_dir: &Path, test: &str) -> Vec<String> {
    check_header(&XACCEL, include_dir, test)
}

/// Runs the whole check of `header` in `include_dir`; returns the mismatches.
fn check_header(header: &Header, include_dir: &Path, test: &str) -> Vec<String> {
    let text = fs::read_to_string(include_dir.join(header.file)).expect("read header");
    let model = parse_header_with(&text, header.define_prefix);
    assert!(
        !model.structs.is_empty() && !model.constants.is_empty(),
        "header parse failed"
    );
    let scratch = scratch_dir(test);
    let c = c_facts(&model, header, include_dir, &scratch);
    let _ = fs::remove_dir_all(scratch);
    let rust = (header.rust_facts)();
    let keys: BTreeSet<&String> = c.keys().chain(rust.keys()).collect();
    keys.into_iter()
        .filter_map(|key| match (c.get(key), rust.get(key)) {
            (Some(c), Some(r)) if c == r => None,
            (Some(c), Some(r)) => Some(format!("{key}: C {c:#x}, Rust {r:#x}")),
            (Some(_), None) => Some(format!("{key}: in the C header only")),
            (None, _) => Some(format!("{key}: in Rust only")),
        })
        .collect()
}

/// `uapi/drm`, next to this crate.
fn uapi_drm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../drm")
}

/// Copies the header to a scratch dir with `edit` applied; returns the dir.
fn broken_header(test: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let text = fs::read_to_string(uapi_drm_dir().join(HEADER)).expect("read header");
    let broken = edit(text.clone());
    assert_ne!(broken, text, "the edit did not apply");
    let dir = scratch_dir(&format!("{test}-include"));
    fs::write(dir.join(HEADER), broken).expect("write broken header");
    dir
}

/// Everything `vaccel_isa` says, in the same `<key> <value>` form.
fn vaccel_rust_facts() -> BTreeMap<String, u64> {
    use xaccel_uapi::vaccel_isa::*;
    let mut f = BTreeMap::new();
    layout!(f, vaccel_packet_header { "opcode" => opcode, "flags" => flags, "size" => size });
    layout!(f, vaccel_memref { "bo" => bo, "pad" => pad, "offset" => offset });
    layout!(f, vaccel_nop { "hdr" => hdr });
    layout!(f, vaccel_copy { "hdr" => hdr, "dst" => dst, "src" => src, "len" => len });
    layout!(f, vaccel_fill {
        "hdr" => hdr, "dst" => dst, "pattern" => pattern, "pad" => pad, "len" => len,
    });
    layout!(f, vaccel_vector { "hdr" => hdr, "dst" => dst, "a" => a, "b" => b, "count" => count });
    layout!(f, vaccel_sum { "hdr" => hdr, "dst" => dst, "src" => src, "count" => count });
    layout!(f, vaccel_write_timestamp { "hdr" => hdr, "dst" => dst });
    layout!(f, vaccel_delay { "hdr" => hdr, "usecs" => usecs, "pad" => pad });
    layout!(f, vaccel_hang { "hdr" => hdr });
    layout!(f, vaccel_fault { "hdr" => hdr, "code" => code, "pad" => pad });
    constants!(
        f,
        VACCEL_OP_NOP,
        VACCEL_OP_COPY,
        VACCEL_OP_FILL,
        VACCEL_OP_ADD,
        VACCEL_OP_MUL,
        VACCEL_OP_XOR,
        VACCEL_OP_MAX,
        VACCEL_OP_SUM,
        VACCEL_OP_WRITE_TIMESTAMP,
        VACCEL_OP_DELAY,
        VACCEL_OP_HANG,
        VACCEL_OP_FAULT,
        VACCEL_MAX_PROGRAM_SIZE,
        VACCEL_MAX_DELAY_US,
        VACCEL_MEMREF_VA,
    );
    f
}

fn hlx_rust_facts() -> BTreeMap<String, u64> {
    use xaccel_uapi::hlx::*;
    let mut f = BTreeMap::new();
    layout!(f, hlx_hw_info {
        "id" => id, "version" => version, "hbm_size" => hbm_size,
        "hbm_user_base" => hbm_user_base, "page_table_bytes" => page_table_bytes,
        "num_queues" => num_queues, "asids_used" => asids_used,
        "device_hard_resets" => device_hard_resets, "pad" => pad,
    });
    layout!(f, hlx_counters {
        "jobs_done" => jobs_done, "jobs_failed" => jobs_failed, "mmu_faults" => mmu_faults,
        "access_errors" => access_errors, "illegal_packets" => illegal_packets,
        "other_events" => other_events, "soft_resets" => soft_resets,
        "hard_resets" => hard_resets, "last_fault_addr" => last_fault_addr,
        "irq_cq" => irq_cq, "irq_eq" => irq_eq,
    });
    layout!(f, hlx_queue_info {
        "queue" => queue, "status" => status, "ci" => ci, "soft_resets" => soft_resets,
    });
    constants!(f, HLX_QUERY_HW_INFO, HLX_QUERY_COUNTERS, HLX_QUERY_QUEUES);
    f
}

#[test]
fn hlx_vendor_uapi_matches_c_header() {
    let mismatches = check_header(&HLX, &uapi_drm_dir(), "hlx");
    assert!(
        mismatches.is_empty(),
        "hlx_accel.h and src/hlx.rs differ:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn vaccel_isa_matches_c_header() {
    let mismatches = check_header(&VACCEL, &uapi_drm_dir(), "vaccel");
    assert!(
        mismatches.is_empty(),
        "vaccel_isa.rs differs from vaccel_isa.h:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn abi_matches_c_header() {
    let mismatches = check(&uapi_drm_dir(), "real");
    assert!(
        mismatches.is_empty(),
        "abi.rs differs from {HEADER}:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn bo_ioctl_numbers() {
    // _IOWR('d', 0x41 and 0x42, 48 bytes), fixed by the ABI.
    assert_eq!(DRM_IOCTL_XACCEL_BO_CREATE, 0xc030_6441);
    assert_eq!(DRM_IOCTL_XACCEL_BO_INFO, 0xc030_6442);
}

#[test]
fn vm_ioctl_numbers() {
    // _IOWR('d', 0x50..0x53, 24, 16, 56 and 40 bytes), fixed by the ABI.
    assert_eq!(DRM_IOCTL_XACCEL_VM_CREATE, 0xc018_6450);
    assert_eq!(DRM_IOCTL_XACCEL_VM_DESTROY, 0xc010_6451);
    assert_eq!(DRM_IOCTL_XACCEL_VM_BIND, 0xc038_6452);
    assert_eq!(DRM_IOCTL_XACCEL_VM_UNBIND, 0xc028_6453);
}

#[test]
fn query_ioctl_number() {
    // _IOWR('d', 0x40, 32 bytes), fixed by the ABI; the C side is checked above.
    assert_eq!(DRM_IOCTL_XACCEL_QUERY, 0xc020_6440);
    // Not in the header as a macro, only in QUERY's documentation.
    assert_eq!(DRM_XACCEL_QUERY_MAX_ITEM_SIZE, 4096);
    let header = fs::read_to_string(uapi_drm_dir().join(HEADER)).unwrap();
    assert!(
        header.contains("above 4096"),
        "the header no longer documents 4096"
    );
}

#[test]
fn check_catches_reordered_field() {
    let dir = broken_header("reorder", |text| {
        let a = "\t__u32 item_size;";
        let b = "\t__u32 count;";
        text.replacen(a, "@A@", 1)
            .replacen(b, a, 1)
            .replacen("@A@", b, 1)
    });
    let mismatches = check(&dir, "reorder");
    let _ = fs::remove_dir_all(&dir);
    assert!(
        mismatches
            .iter()
            .any(|m| m.starts_with("offsetof drm_xaccel_query.count")),
        "reordered fields went unnoticed: {mismatches:?}"
    );
}

#[test]
fn check_catches_changed_constant_and_new_field() {
    let dir = broken_header("changed", |text| {
        text.replacen(
            &format!("DRM_XACCEL_UAPI_MINOR\t\t{DRM_XACCEL_UAPI_MINOR}"),
            &format!("DRM_XACCEL_UAPI_MINOR\t\t{}", DRM_XACCEL_UAPI_MINOR + 1),
            1,
        )
        .replacen("\t__u64 used;\n", "\t__u64 used;\n\t__u64 peak;\n", 1)
    });
    let mismatches = check(&dir, "changed");
    let _ = fs::remove_dir_all(&dir);
    for expected in [
        "value DRM_XACCEL_UAPI_MINOR",
        "sizeof drm_xaccel_region_info",
        "offsetof drm_xaccel_region_info.peak: in the C header only",
    ] {
        assert!(
            mismatches.iter().any(|m| m.starts_with(expected)),
            "{expected} went unnoticed: {mismatches:?}"
        );
    }
}

#[test]
fn parser_sees_everything() {
    let text = fs::read_to_string(uapi_drm_dir().join(HEADER)).unwrap();
    let model = parse_header(&text);
    let structs: Vec<&str> = model.structs.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        structs,
        [
            "drm_xaccel_query",
            "drm_xaccel_device_info",
            "drm_xaccel_engine_info",
            "drm_xaccel_nop_info",
            "drm_xaccel_region_info",
            "drm_xaccel_bo_create",
            "drm_xaccel_bo_create_userptr",
            "drm_xaccel_bo_info",
            "drm_xaccel_vm_create",
            "drm_xaccel_vm_destroy",
            "drm_xaccel_vm_bind",
            "drm_xaccel_vm_unbind",
            "drm_xaccel_context_create",
            "drm_xaccel_context_destroy",
            "drm_xaccel_syncobj_ref",
            "drm_xaccel_submit_bo",
            "drm_xaccel_submit",
            "drm_xaccel_bo_wait"
        ]
    );
    assert_eq!(
        model.structs[0].1,
        ["type", "flags", "item_size", "count", "items", "reserved"]
    );
    assert!(model
        .constants
        .iter()
        .any(|c| c == "DRM_IOCTL_XACCEL_QUERY"));
    assert!(model
        .constants
        .iter()
        .any(|c| c == "DRM_XACCEL_REGION_DEVICE"));
    assert!(!model.constants.iter().any(|c| c.starts_with("__UAPI")));
}
