// SPDX-License-Identifier: GPL-2.0-only
//! Well-formed queries: DRM_IOCTL_VERSION against QUERY DEVICE, and the
//! contents of the DEVICE, ENGINES and REGIONS answers.

use xaccel::uapi::{DRM_XACCEL_UAPI_MAJOR, DRM_XACCEL_UAPI_MINOR};
use xaccel::{Device, RegionKind};
use xaccel_selftests::ensure;
use xaccel_selftests::tap::{pass, TestResult};

/// VERSION's name is QUERY DEVICE's backend; its major.minor is the uAPI version.
pub fn version_matches_query(dev: &Device) -> TestResult {
    let version = dev.version()?;
    let info = dev.device_info()?;
    ensure!(!version.name.is_empty(), "VERSION name is empty");
    ensure!(
        version.name == info.backend,
        "VERSION name {:?} != QUERY DEVICE backend {:?}",
        version.name,
        info.backend
    );
    let want = (DRM_XACCEL_UAPI_MAJOR, DRM_XACCEL_UAPI_MINOR);
    let got = (version.major, version.minor);
    ensure!(
        i64::from(got.0) == i64::from(want.0) && i64::from(got.1) == i64::from(want.1),
        "VERSION {}.{}, uAPI {}.{}",
        got.0,
        got.1,
        want.0,
        want.1
    );
    pass()
}

/// QUERY DEVICE's uapi_major/minor are this crate's.
pub fn device_uapi_version(dev: &Device) -> TestResult {
    let info = dev.device_info()?;
    ensure!(
        (info.uapi_major, info.uapi_minor) == (DRM_XACCEL_UAPI_MAJOR, DRM_XACCEL_UAPI_MINOR),
        "kernel uAPI {}.{}, userspace {DRM_XACCEL_UAPI_MAJOR}.{DRM_XACCEL_UAPI_MINOR}",
        info.uapi_major,
        info.uapi_minor
    );
    ensure!(!info.backend.is_empty(), "empty backend name");
    pass()
}

/// ENGINES returns engine_count engines with ids 0..n in order and names.
pub fn engines_listed(dev: &Device) -> TestResult {
    let info = dev.device_info()?;
    let engines = dev.engines()?;
    ensure!(
        engines.len() == info.engine_count as usize,
        "{} engines, engine_count {}",
        engines.len(),
        info.engine_count
    );
    for (i, engine) in engines.iter().enumerate() {
        ensure!(engine.id as usize == i, "engine {i} has id {}", engine.id);
        ensure!(!engine.name.is_empty(), "engine {i} has no name");
    }
    pass()
}

/// REGIONS returns region_count regions with ids 0..n, at least one in system
/// memory, none using more than its size.
pub fn regions_listed(dev: &Device) -> TestResult {
    let info = dev.device_info()?;
    let regions = dev.regions()?;
    ensure!(
        regions.len() == info.region_count as usize,
        "{} regions, region_count {}",
        regions.len(),
        info.region_count
    );
    for (i, region) in regions.iter().enumerate() {
        ensure!(region.id as usize == i, "region {i} has id {}", region.id);
        ensure!(!region.name.is_empty(), "region {i} has no name");
        ensure!(
            region.used <= region.size,
            "region {i} ({}) uses {} of {} bytes",
            region.name,
            region.used,
            region.size
        );
    }
    ensure!(
        regions.iter().any(|r| r.kind == RegionKind::System),
        "no SYSTEM region among {:?}",
        regions
            .iter()
            .map(|r| r.kind.to_string())
            .collect::<Vec<_>>()
    );
    pass()
}

/// Every accel node answers QUERY DEVICE with this uAPI version. (Assumes every
/// accel driver on the machine is an xaccel backend, as in the test VM.)
pub fn every_device(_dev: &Device) -> TestResult {
    let paths = Device::enumerate()?;
    ensure!(!paths.is_empty(), "no device in {}", xaccel::ACCEL_DIR);
    let mut problems = Vec::new();
    for path in &paths {
        let info = Device::open(path).and_then(|dev| dev.device_info());
        match info {
            Ok(info) if info.uapi_major == DRM_XACCEL_UAPI_MAJOR => {}
            Ok(info) => problems.push(format!(
                "{}: uAPI major {}",
                path.display(),
                info.uapi_major
            )),
            Err(err) => problems.push(format!("{}: {err}", path.display())),
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    pass()
}
