/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * query_test: the core checks of xaccel's DRM_IOCTL_VERSION and
 * DRM_IOCTL_XACCEL_QUERY in plain C, with TAP version 13 output.
 *
 * Build:  make -C selftests/c [O=<dir>]          (default O=build)
 * Run:    <dir>/query_test [/dev/accel/accelN]   (default /dev/accel/accel0)
 *
 * Needs an xaccel device, so run it in the VM. Exits 0 only if every test
 * passed. The Rust selftest xaccel-selftest-query covers more cases; this one
 * proves the header works from C as published.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "xaccel_accel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FILL 0xAA

static int fd = -1;

/* Why the current test failed, printed as a "# " line after "not ok". */
static char diag[512];

/* Fails the current test with a diagnostic unless cond holds. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			snprintf(diag, sizeof(diag), __VA_ARGS__);	\
			return 0;					\
		}							\
	} while (0)

/* ioctl() restarted on EINTR/EAGAIN as libdrm does; returns 0 or -errno. */
static int xioctl(unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

static int query(struct drm_xaccel_query *q)
{
	return xioctl(DRM_IOCTL_XACCEL_QUERY, q);
}

/* A valid QUERY DEVICE; returns 0 or -errno. */
static int query_device(struct drm_xaccel_device_info *info)
{
	struct drm_xaccel_query q = {
		.type = DRM_XACCEL_QUERY_DEVICE,
		.item_size = sizeof(*info),
		.count = 1,
		.items = (uintptr_t)info,
	};
	int ret;

	memset(info, 0, sizeof(*info));
	ret = query(&q);
	if (!ret && q.count != 1)
		ret = -EPROTO;
	return ret;
}

/* The device info seen before any other test ran. */
static struct drm_xaccel_device_info baseline;

/* DRM_IOCTL_VERSION: once for the string lengths, then with buffers. */
static int get_version(struct drm_version *v, char **name, char **date, char **desc)
{
	int ret;

	memset(v, 0, sizeof(*v));
	ret = xioctl(DRM_IOCTL_VERSION, v);
	if (ret)
		return ret;
	/* One more byte each, so the strings stay NUL-terminated. */
	*name = calloc(1, v->name_len + 1);
	*date = calloc(1, v->date_len + 1);
	*desc = calloc(1, v->desc_len + 1);
	if (!*name || !*date || !*desc)
		return -ENOMEM;
	v->name = *name;
	v->date = *date;
	v->desc = *desc;
	return xioctl(DRM_IOCTL_VERSION, v);
}

static int check_version(const struct drm_version *v, const char *name)
{
	size_t backend_len = strnlen(baseline.backend, sizeof(baseline.backend));

	CHECK(name[0], "VERSION name is empty");
	CHECK(strlen(name) == backend_len && !memcmp(name, baseline.backend, backend_len),
	      "VERSION name \"%s\" != QUERY DEVICE backend \"%.*s\"",
	      name, (int)backend_len, baseline.backend);
	CHECK(v->version_major == DRM_XACCEL_UAPI_MAJOR &&
	      v->version_minor == DRM_XACCEL_UAPI_MINOR,
	      "VERSION %d.%d, uAPI %d.%d", v->version_major, v->version_minor,
	      DRM_XACCEL_UAPI_MAJOR, DRM_XACCEL_UAPI_MINOR);
	return 1;
}

static int test_version(void)
{
	struct drm_version v;
	char *name = NULL, *date = NULL, *desc = NULL;
	int ret = get_version(&v, &name, &date, &desc);
	int ok = 0;

	if (ret)
		snprintf(diag, sizeof(diag), "DRM_IOCTL_VERSION: %s", strerror(-ret));
	else
		ok = check_version(&v, name);
	free(name);
	free(date);
	free(desc);
	return ok;
}

static int test_device(void)
{
	CHECK(baseline.uapi_major == DRM_XACCEL_UAPI_MAJOR &&
	      baseline.uapi_minor == DRM_XACCEL_UAPI_MINOR,
	      "kernel uAPI %u.%u, header %d.%d", baseline.uapi_major,
	      baseline.uapi_minor, DRM_XACCEL_UAPI_MAJOR, DRM_XACCEL_UAPI_MINOR);
	CHECK(baseline.backend[0], "empty backend name");
	return 1;
}

/* items = 0, count = 0 must return the count and the struct's size. */
static int probe_one(__u32 type, __u32 size, __u32 expected)
{
	struct drm_xaccel_query q = { .type = type, .item_size = size };
	int ret = query(&q);

	CHECK(!ret, "type %u: probe failed: %s", type, strerror(-ret));
	CHECK(q.count == expected, "type %u: count %u, expected %u", type, q.count, expected);
	CHECK(q.item_size == size, "type %u: item_size %u, expected %u", type, q.item_size, size);
	CHECK(!q.items && !q.flags && !q.reserved, "type %u: probe changed the struct", type);
	return 1;
}

static int test_probe(void)
{
	return probe_one(DRM_XACCEL_QUERY_DEVICE, sizeof(struct drm_xaccel_device_info), 1) &&
	       probe_one(DRM_XACCEL_QUERY_ENGINES, sizeof(struct drm_xaccel_engine_info),
			 baseline.engine_count) &&
	       probe_one(DRM_XACCEL_QUERY_REGIONS, sizeof(struct drm_xaccel_region_info),
			 baseline.region_count);
}

/*
 * Sends a valid DEVICE fetch with one field changed by the caller, expects
 * -EINVAL, an unchanged struct, an untouched buffer and a device that still
 * answers QUERY DEVICE as before.
 */
static int expect_einval(struct drm_xaccel_query *q, unsigned char *buf, size_t len)
{
	struct drm_xaccel_query sent = *q;
	struct drm_xaccel_device_info after;
	size_t i;
	int ret = query(q);

	CHECK(ret == -EINVAL, "got %s, expected EINVAL", ret ? strerror(-ret) : "success");
	CHECK(!memcmp(q, &sent, sizeof(sent)), "the kernel changed the struct");
	for (i = 0; i < len; i++)
		CHECK(buf[i] == FILL, "the failed call wrote byte %zu of the buffer", i);
	ret = query_device(&after);
	CHECK(!ret, "QUERY DEVICE after the bad call: %s", strerror(-ret));
	CHECK(!memcmp(&after, &baseline, sizeof(after)), "QUERY DEVICE answer changed");
	return 1;
}

enum bad_case { BAD_TYPE, BAD_FLAGS0, BAD_FLAGS31, BAD_RESERVED, BAD_ITEM_SIZE };

static int test_bad(enum bad_case what)
{
	/* Room for one item of up to 4096 bytes: DEVICE has a single item. */
	static unsigned char buf[8192];
	struct drm_xaccel_query q = {
		.type = DRM_XACCEL_QUERY_DEVICE,
		.item_size = sizeof(struct drm_xaccel_device_info),
		.count = 1,
		.items = (uintptr_t)buf,
	};

	memset(buf, FILL, sizeof(buf));
	switch (what) {
	case BAD_TYPE:
		q.type = 99;
		break;
	case BAD_FLAGS0:
		q.flags = 1u << 0;
		break;
	case BAD_FLAGS31:
		q.flags = 1u << 31;
		break;
	case BAD_RESERVED:
		q.reserved = 1;
		break;
	case BAD_ITEM_SIZE:
		q.item_size = 8;
		break;
	}
	return expect_einval(&q, buf, sizeof(buf));
}

static int test_bad_type(void) { return test_bad(BAD_TYPE); }
static int test_bad_flags0(void) { return test_bad(BAD_FLAGS0); }
static int test_bad_flags31(void) { return test_bad(BAD_FLAGS31); }
static int test_bad_reserved(void) { return test_bad(BAD_RESERVED); }
static int test_bad_item_size(void) { return test_bad(BAD_ITEM_SIZE); }

static int test_still_usable(void)
{
	struct drm_xaccel_device_info info;
	int ret = query_device(&info);

	CHECK(!ret, "QUERY DEVICE: %s", strerror(-ret));
	CHECK(!memcmp(&info, &baseline, sizeof(info)), "QUERY DEVICE answer changed");
	return test_probe();
}

static const struct {
	const char *name;
	int (*run)(void);
} tests[] = {
	{ "QUERY DEVICE reports the header's uAPI version", test_device },
	{ "VERSION name is the QUERY backend, version is the uAPI's", test_version },
	{ "probe returns the count and the item size", test_probe },
	{ "unknown type -> EINVAL", test_bad_type },
	{ "flags bit 0 -> EINVAL", test_bad_flags0 },
	{ "flags bit 31 -> EINVAL", test_bad_flags31 },
	{ "reserved 1 -> EINVAL", test_bad_reserved },
	{ "item_size 8 (below the struct) -> EINVAL", test_bad_item_size },
	{ "device still usable", test_still_usable },
};

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/accel/accel0";
	unsigned int i, failed = 0;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("Bail out! cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	ret = query_device(&baseline);
	if (ret) {
		printf("Bail out! QUERY DEVICE on %s: %s\n", path, strerror(-ret));
		return 1;
	}
	printf("1..%zu\n", ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		int ok;

		diag[0] = '\0';
		ok = tests[i].run();
		printf("%s %u - %s\n", ok ? "ok" : "not ok", i + 1, tests[i].name);
		if (!ok)
			printf("# %s\n", diag[0] ? diag : "(no diagnostic)");
		failed += !ok;
	}
	if (failed)
		printf("# %u of %zu tests failed\n", failed, ARRAY_SIZE(tests));
	close(fd);
	return failed ? 1 : 0;
}
