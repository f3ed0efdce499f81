// SPDX-License-Identifier: GPL-2.0-only
//! Text output of `xaccel list`, `xaccel info`, `xaccel mem` and `xaccel bo`: compact,
//! aligned columns, byte counts in binary units. Pure functions of the
//! reports, unit-tested below.

use std::fmt::Write;

use crate::bo::BoReport;
use crate::mem::MemReport;
use crate::report::Report;
use crate::top::TopReport;

/// `n` bytes as `512 B`, `4 KiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

/// Lays out rows as left-aligned columns two spaces apart, each line prefixed
/// with `indent`, trailing blanks trimmed.
fn table(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = indent.to_string();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out += line.trim_end();
        out.push('\n');
    }
    out
}

/// `xaccel list`: one line per device.
pub fn list(reports: &[Report]) -> String {
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let engines: Vec<&str> = r.engines.iter().map(|e| e.name.as_str()).collect();
            let regions: Vec<String> = r
                .regions
                .iter()
                .map(|g| format!("{} {}", g.name, bytes(g.size)))
                .collect();
            vec![
                r.path.display().to_string(),
                r.device.backend.clone(),
                format!("uapi {}.{}", r.device.uapi_major, r.device.uapi_minor),
                format!("engines: {}", or_none(engines.join(" "))),
                format!("regions: {}", or_none(regions.join(", "))),
            ]
        })
        .collect();
    table(&rows, "")
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

/// `xaccel info`: a block per device, separated by blank lines.
pub fn info(reports: &[Report]) -> String {
    reports
        .iter()
        .map(device_block)
        .collect::<Vec<_>>()
        .join("\n")
}

fn device_block(r: &Report) -> String {
    let (v, d) = (&r.version, &r.device);
    let mut out = format!("{}: {}", r.path.display(), v.name);
    if !v.desc.is_empty() {
        let _ = write!(out, " - {}", v.desc);
    }
    out.push('\n');
    let va = if d.va_size == 0 {
        "none".to_string()
    } else {
        format!("{:#x}, {}", d.va_start, bytes(d.va_size))
    };
    let mut driver = format!("{}.{}.{}", v.major, v.minor, v.patchlevel);
    if !v.date.is_empty() {
        let _ = write!(driver, " ({})", v.date);
    }
    let summary = [
        ["driver", &driver],
        ["uapi", &format!("{}.{}", d.uapi_major, d.uapi_minor)],
        ["capabilities", &d.capabilities.to_string()],
        ["va space", &va],
        ["resets", &d.reset_count.to_string()],
    ];
    let summary: Vec<Vec<String>> = summary
        .iter()
        .map(|row| row.iter().map(|s| s.to_string()).collect())
        .collect();
    out += &table(&summary, "  ");

    let _ = writeln!(out, "  engines ({})", r.engines.len());
    let mut rows = vec![cells(["id", "name", "class", "ring credits"])];
    rows.extend(r.engines.iter().map(|e| {
        cells([
            &e.id.to_string(),
            &e.name,
            &e.class.to_string(),
            &e.ring_credits.to_string(),
        ])
    }));
    if !r.engines.is_empty() {
        out += &table(&rows, "    ");
    }

    let _ = writeln!(out, "  regions ({})", r.regions.len());
    let mut rows = vec![cells(["id", "name", "kind", "flags", "used / size"])];
    rows.extend(r.regions.iter().map(|g| {
        let usage = format!("{} / {}", bytes(g.used), bytes(g.size));
        cells([
            &g.id.to_string(),
            &g.name,
            &g.kind.to_string(),
            &g.flags.to_string(),
            &usage,
        ])
    }));
    if !r.regions.is_empty() {
        out += &table(&rows, "    ");
    }
    out
}

/// `xaccel mem`: a block per device, separated by blank lines.
/// `xaccel top`: per device, a row per client and engine.
pub fn top(reports: &[TopReport]) -> String {
    reports.iter().map(top_block).collect::<Vec<_>>().join("\n")
}

fn top_block(r: &TopReport) -> String {
    let mut out = format!("{}: {}\n", r.path.display(), r.backend);
    let _ = writeln!(out, "  {} client(s)", r.clients.len());
    let mut rows = vec![cells([
        "pid", "command", "fd", "client", "engine", "busy", "use",
    ])];
    for c in &r.clients {
        let id = c
            .client_id
            .map_or_else(|| "?".to_string(), |id| id.to_string());
        for e in &c.engines {
            let busy = format!("{:.3} ms", e.busy_ns as f64 / 1e6);
            let usage = e
                .utilisation
                .map_or_else(|| "-".to_string(), |u| format!("{u:.1}%"));
            rows.push(cells([
                &c.pid.to_string(),
                &c.command,
                &c.fd.to_string(),
                &id,
                &e.engine,
                &busy,
                &usage,
            ]));
        }
    }
    if rows.len() > 1 {
        out += &table(&rows, "    ");
    }
    out
}

pub fn mem(reports: &[MemReport]) -> String {
    reports.iter().map(mem_block).collect::<Vec<_>>().join("\n")
}

fn mem_block(r: &MemReport) -> String {
    let mut out = format!("{}: {}\n", r.path.display(), r.backend);
    let _ = writeln!(out, "  regions ({})", r.regions.len());
    let mut rows = vec![cells(["id", "name", "kind", "used / size"])];
    rows.extend(r.regions.iter().map(|g| {
        let usage = format!("{} / {}", bytes(g.used), bytes(g.size));
        cells([&g.id.to_string(), &g.name, &g.kind.to_string(), &usage])
    }));
    if !r.regions.is_empty() {
        out += &table(&rows, "    ");
    }
    let who = match r.pid {
        None => "this process".to_string(),
        Some(pid) => format!("process {pid}"),
    };
    let _ = writeln!(out, "  {who}: {} open file(s)", r.clients.len());
    let mut rows = vec![cells([
        "fd", "client", "region", "total", "shared", "resident",
    ])];
    for client in &r.clients {
        let id = client
            .fdinfo
            .client_id
            .map_or_else(|| "?".to_string(), |id| id.to_string());
        for m in &client.fdinfo.regions {
            let resident = m.resident.map_or_else(|| "-".to_string(), bytes);
            rows.push(cells([
                &client.fd.to_string(),
                &id,
                &m.region,
                &bytes(m.total),
                &bytes(m.shared),
                &resident,
            ]));
        }
    }
    if rows.len() > 1 {
        out += &table(&rows, "    ");
    }
    out
}

/// `xaccel bo`: per device, the regions' use and a table of every handle.
pub fn bos(reports: &[BoReport]) -> String {
    reports.iter().map(bo_block).collect::<Vec<_>>().join("\n")
}

fn bo_block(r: &BoReport) -> String {
    let mut out = format!("{}: {}\n", r.path.display(), r.backend);
    for g in &r.regions {
        let _ = writeln!(
            out,
            "  region {} ({}): {} / {}",
            g.id,
            g.name,
            bytes(g.used),
            bytes(g.size)
        );
    }
    let _ = writeln!(out, "  buffer objects ({})", r.bos.len());
    let mut rows = vec![cells([
        "client",
        "handle",
        "size",
        "region",
        "placement",
        "exported",
        "imported",
        "pinned",
    ])];
    let yes = |b: bool| if b { "yes" } else { "no" };
    rows.extend(r.bos.iter().map(|b| {
        cells([
            &b.client.to_string(),
            &b.handle.to_string(),
            &bytes(b.size),
            &b.region,
            &b.placement,
            yes(b.exported),
            yes(b.imported),
            yes(b.pinned),
        ])
    }));
    if rows.len() > 1 {
        out += &table(&rows, "    ");
    }
    out
}

fn cells<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xaccel::{Capabilities, DeviceInfo, EngineClass, EngineInfo, RegionFlags, RegionInfo};
    use xaccel::{RegionKind, Version};

    fn sample() -> Report {
        Report {
            path: "/dev/accel/accel0".into(),
            version: Version {
                name: "vaccel".into(),
                desc: "Virtual accelerator".into(),
                date: "20250101".into(),
                major: 0,
                minor: 1,
                patchlevel: 0,
            },
            device: DeviceInfo {
                backend: "vaccel".into(),
                uapi_major: 0,
                uapi_minor: 1,
                engine_count: 2,
                region_count: 1,
                capabilities: Capabilities::MMU,
                va_start: 0x10_0000,
                va_size: 1 << 32,
                reset_count: 0,
            },
            engines: vec![
                EngineInfo {
                    id: 0,
                    name: "compute0".into(),
                    class: EngineClass::Compute,
                    ring_credits: 64,
                },
                EngineInfo {
                    id: 1,
                    name: "copy0".into(),
                    class: EngineClass::Copy,
                    ring_credits: 16,
                },
            ],
            regions: vec![RegionInfo {
                id: 0,
                name: "sysmem".into(),
                kind: RegionKind::System,
                flags: RegionFlags::CPU_VISIBLE,
                size: 1 << 30,
                used: 3 << 19,
            }],
        }
    }

    #[test]
    fn byte_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(4096), "4 KiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(bytes(u64::MAX), "16 EiB");
    }

    #[test]
    fn list_line() {
        assert_eq!(
            list(&[sample()]),
            "/dev/accel/accel0  vaccel  uapi 0.1  engines: compute0 copy0  regions: sysmem 1 GiB\n"
        );
    }

    #[test]
    fn info_block() {
        let text = info(&[sample()]);
        let expected = "\
/dev/accel/accel0: vaccel - Virtual accelerator
  driver        0.1.0 (20250101)
  uapi          0.1
  capabilities  mmu
  va space      0x100000, 4 GiB
  resets        0
  engines (2)
    id  name      class    ring credits
    0   compute0  compute  64
    1   copy0     copy     16
  regions (1)
    id  name    kind    flags        used / size
    0   sysmem  system  cpu-visible  1.5 MiB / 1 GiB
";
        assert_eq!(text, expected);
    }

    fn mem_sample(pid: Option<u32>) -> MemReport {
        use xaccel::{FdInfo, RegionMemory};
        let region = |region: &str, total, resident| RegionMemory {
            region: region.into(),
            total,
            shared: 0,
            resident: Some(resident),
        };
        MemReport {
            path: "/dev/accel/accel0".into(),
            backend: "vaccel".into(),
            regions: vec![sample().regions[0].clone()],
            pid,
            clients: vec![crate::mem::Client {
                fd: 3,
                fdinfo: FdInfo {
                    driver: "vaccel".into(),
                    client_id: Some(12),
                    regions: vec![region("sysmem", 3 << 20, 1 << 20), region("local", 0, 0)],
                    engines: vec![],
                    ..Default::default()
                },
            }],
        }
    }

    #[test]
    fn top_block() {
        use crate::top::{EngineUse, TopClient};
        let report = TopReport {
            path: "/dev/accel/accel0".into(),
            backend: "vaccel".into(),
            interval_ms: Some(100),
            clients: vec![TopClient {
                pid: 42,
                command: "app".into(),
                fd: 3,
                client_id: Some(7),
                engines: vec![
                    EngineUse {
                        engine: "compute0".into(),
                        busy_ns: 1_500_000,
                        utilisation: Some(12.5),
                    },
                    EngineUse {
                        engine: "compute1".into(),
                        busy_ns: 0,
                        utilisation: None,
                    },
                ],
            }],
        };
        let expected = "\
/dev/accel/accel0: vaccel
  1 client(s)
    pid  command  fd  client  engine    busy      use
    42   app      3   7       compute0  1.500 ms  12.5%
    42   app      3   7       compute1  0.000 ms  -
";
        assert_eq!(top(&[report]), expected);
    }

    #[test]
    fn mem_block() {
        let expected = "\
/dev/accel/accel0: vaccel
  regions (1)
    id  name    kind    used / size
    0   sysmem  system  1.5 MiB / 1 GiB
  this process: 1 open file(s)
    fd  client  region  total  shared  resident
    3   12      sysmem  3 MiB  0 B     1 MiB
    3   12      local   0 B    0 B     0 B
";
        assert_eq!(mem(&[mem_sample(None)]), expected);
        assert!(mem(&[mem_sample(Some(77))]).contains("  process 77: 1 open file(s)\n"));
        let json = serde_json::to_value([mem_sample(None)]).unwrap();
        assert_eq!(
            json[0]["clients"][0]["fdinfo"]["regions"][0]["total"],
            3 << 20
        );
        assert_eq!(json[0]["regions"][0]["used"], 3 << 19);
    }

    #[test]
    fn json_report() {
        let json = serde_json::to_value([sample()]).unwrap();
        assert_eq!(json[0]["device"]["backend"], "vaccel");
        assert_eq!(json[0]["engines"][1]["class"], "copy");
        assert_eq!(json[0]["regions"][0]["flags"][0], "cpu-visible");
    }
}
