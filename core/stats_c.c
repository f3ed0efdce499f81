// SPDX-License-Identifier: GPL-2.0-only
/*
 * C glue of the execution statistics: the debugfs files of a device
 * (core/debugfs.rs; struct drm_debugfs_entry is not in the Rust bindings,
 * so a trampoline hands the Rust show function its seq_file and
 * drm_device) and the fdinfo engine keys (core/engine_fdinfo.rs;
 * drm_printf() is variadic).
 */

#include <drm/drm_debugfs.h>
#include <drm/drm_device.h>
#include <drm/drm_print.h>
#include <linux/seq_file.h>

typedef int (*xaccel_debugfs_show_fn)(struct seq_file *m, struct drm_device *dev);

void xaccel_debugfs_add(struct drm_device *dev, const char *name, xaccel_debugfs_show_fn show);
void xaccel_fdinfo_engine(struct drm_printer *p, const char *engine, u64 busy_ns);
void xaccel_fdinfo_objects(struct drm_printer *p, u32 contexts, u32 vms);

static int xaccel_debugfs_show(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	xaccel_debugfs_show_fn show = entry->file.data;

	return show(m, entry->dev);
}

/* Adds /sys/kernel/debug/accel/<device>/<name>, shown by @show. */
void xaccel_debugfs_add(struct drm_device *dev, const char *name, xaccel_debugfs_show_fn show)
{
	drm_debugfs_add_file(dev, name, xaccel_debugfs_show, show);
}

/* Prints the fdinfo key of one engine's busy time (drm-usage-stats.rst). */
void xaccel_fdinfo_engine(struct drm_printer *p, const char *engine, u64 busy_ns)
{
	drm_printf(p, "drm-engine-%s:\t%llu ns\n", engine, busy_ns);
}

/* Prints how many contexts and VMs the file holds (xaccel's own fdinfo keys). */
void xaccel_fdinfo_objects(struct drm_printer *p, u32 contexts, u32 vms)
{
	drm_printf(p, "xaccel-contexts:\t%u\n", contexts);
	drm_printf(p, "xaccel-vms:\t%u\n", vms);
}
