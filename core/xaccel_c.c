// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one piece of the xaccel core that must be C: the accel file_operations,
 * a static ops table whose model (DRM_ACCEL_FOPS) is a C macro naming
 * functions not exported to bindgen (accel_open).
 *
 * Its owner is the core module, so an open /dev/accel/accelN pins xaccel.ko
 * (never a backend module, which may unload while clients are open).
 *
 * Its ioctl entry points filter DRM's core ioctls first (issue 14): in Linux
 * 7.3, drm_ioctl() lets an accel client call every core ioctl whose flags do
 * not stop it, although an accel file has no master, is never authenticated
 * by a master and has no modesetting. DRM_IOCTL_GET_UNIQUE and
 * DRM_IOCTL_GET_MAGIC (flags 0) then dereference the NULL file_priv->master:
 * any user who can open the node oopses the kernel. The filter gives an accel
 * node the render node's rule: of the core ioctls (type 'd', numbers outside
 * DRM_COMMAND_BASE..DRM_COMMAND_END), only those 7.3's drm_ioctls[] marks
 * DRM_RENDER_ALLOW reach drm_ioctl(); every other core number, known to the
 * kernel or not, fails with -EACCES, the errno drm_ioctl_permit() gives a
 * render client for them. Driver ioctls pass unchanged; other ioctl types
 * get drm_ioctl()'s -ENOTTY from the filter itself.
 * Documentation/uapi.rst lists every core ioctl's fate; the upstream fix is
 * Documentation/upstream/, after which the filter can go.
 */

#include <drm/drm.h>
#include <drm/drm_accel.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <linux/fs.h>
#include <linux/module.h>

/*
 * The core ioctls 7.3 marks DRM_RENDER_ALLOW, checked one by one: none of
 * their handlers looks at file_priv->master or the minor's type, and
 * xaccel's userspace uses VERSION, GEM_CLOSE, the PRIME and SYNCOBJ ioctls.
 * GET_CAP answers the PRIME and SYNCOBJ caps (EOPNOTSUPP for the KMS ones),
 * SET_CLIENT_NAME names the client in fdinfo, and GEM_CHANGE_HANDLE is
 * drm_invalid_op() (EINVAL) in 7.3.
 */
static bool xaccel_core_ioctl_allowed(unsigned int nr)
{
	switch (nr) {
	case DRM_IOCTL_NR(DRM_IOCTL_VERSION):
	case DRM_IOCTL_NR(DRM_IOCTL_GEM_CLOSE):
	case DRM_IOCTL_NR(DRM_IOCTL_GET_CAP):
	case DRM_IOCTL_NR(DRM_IOCTL_PRIME_HANDLE_TO_FD):
	case DRM_IOCTL_NR(DRM_IOCTL_PRIME_FD_TO_HANDLE):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_CREATE):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_DESTROY):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_WAIT):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_RESET):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_SIGNAL):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_QUERY):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_TRANSFER):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL):
	case DRM_IOCTL_NR(DRM_IOCTL_SYNCOBJ_EVENTFD):
	case DRM_IOCTL_NR(DRM_IOCTL_SET_CLIENT_NAME):
	case DRM_IOCTL_NR(DRM_IOCTL_GEM_CHANGE_HANDLE):
		return true;
	default:
		return false;
	}
}

/*
 * Zero if @cmd may go on to DRM: a driver ioctl (xaccel's table decides) or
 * an allowed core one. Both drm_ioctl() and drm_compat_ioctl() dispatch core
 * ioctls on the number alone, so the number is all the filter looks at.
 * Other types get -ENOTTY here, as drm_ioctl() gives them: drm_compat_ioctl()
 * would look its compat handlers up by number whatever the type.
 */
static int xaccel_ioctl_permit(unsigned int cmd)
{
	unsigned int nr = DRM_IOCTL_NR(cmd);

	if (DRM_IOCTL_TYPE(cmd) != DRM_IOCTL_BASE)
		return -ENOTTY;
	if (nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END)
		return 0;
	return xaccel_core_ioctl_allowed(nr) ? 0 : -EACCES;
}

static long xaccel_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	int ret = xaccel_ioctl_permit(cmd);

	if (ret)
		return ret;
	return drm_ioctl(filp, cmd, arg);
}

#ifdef CONFIG_COMPAT
/* 32-bit callers: drm_compat_ioctl() calls some core handlers directly. */
static long xaccel_compat_ioctl(struct file *filp, unsigned int cmd,
				unsigned long arg)
{
	int ret = xaccel_ioctl_permit(cmd);

	if (ret)
		return ret;
	return drm_compat_ioctl(filp, cmd, arg);
}
#else
#define xaccel_compat_ioctl NULL
#endif

/*
 * 7.3's DRM_ACCEL_FOPS, spelt out so that the two ioctl entries are the
 * filtering ones (overriding the macro's would warn at W=1). Compare with
 * include/drm/drm_accel.h when moving to a new kernel.
 */
const struct file_operations xaccel_accel_fops = {
	.owner = THIS_MODULE,
	.open = accel_open,
	.release = drm_release,
	.unlocked_ioctl = xaccel_ioctl,
	.compat_ioctl = xaccel_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.mmap = drm_gem_mmap,
	.fop_flags = FOP_UNSIGNED_OFFSET,
	.show_fdinfo = drm_show_fdinfo,
};
