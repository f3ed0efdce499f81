// SPDX-License-Identifier: GPL-2.0-only
/*
 * The debugfs file listing a device's buffer objects (core/gem/debugfs.rs):
 * the seq_file show callback, which walks the device's open files under
 * filelist_mutex (list_for_each_entry is a macro), and its registration.
 * Each file's objects are printed by the Rust side. Nothing else.
 */

#include <drm/drm_debugfs.h>
#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>

/* Declared for the Rust side, which has no header to include. */
void xaccel_bos_show_file(struct seq_file *m, struct drm_file *file);
void xaccel_bos_register(struct drm_device *dev);

static int xaccel_bos_show(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct drm_device *dev = entry->dev;
	struct drm_file *file;

	seq_puts(m, "# client handle size region placement exported imported pinned\n");
	mutex_lock(&dev->filelist_mutex);
	list_for_each_entry(file, &dev->filelist, lhead)
		xaccel_bos_show_file(m, file);
	mutex_unlock(&dev->filelist_mutex);
	return 0;
}

/* /sys/kernel/debug/accel/<parent device>/bos, removed with the device. */
void xaccel_bos_register(struct drm_device *dev)
{
	drm_debugfs_add_file(dev, "bos", xaccel_bos_show, NULL);
}
