// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one piece of the xaccel core that must be C: the accel file_operations,
 * whose initialiser (DRM_ACCEL_FOPS) is a C macro naming inline-only and
 * non-exported-to-bindgen functions (accel_open).
 *
 * Its owner is the core module, so an open /dev/accel/accelN pins xaccel.ko
 * (never a backend module, which may unload while clients are open).
 */

#include <drm/drm_accel.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <linux/module.h>

const struct file_operations xaccel_accel_fops = {
	.owner = THIS_MODULE,
	DRM_ACCEL_FOPS,
	.show_fdinfo = drm_show_fdinfo,
};
