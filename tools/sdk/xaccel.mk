# SPDX-License-Identifier: GPL-2.0-only
#
# The xaccel SDK's Kbuild fragment, installed by `make sdk` next to the core it describes.
# An external backend's Kbuild includes it once, before its own lines:
#
#   include $(XACCEL_SDK)/xaccel.mk
#   obj-m += mybackend.o
#
# and builds with the kernel's ordinary external-module build:
#
#   make -C <kernel build> M=$PWD XACCEL_SDK=<prefix>/lib/xaccel/sdk
#
# The backend is then tied to this build of the core: it loads next to the xaccel.ko of this
# SDK only, and must be rebuilt for any other (see Documentation/writing-a-backend.rst, "The
# SDK and the version rule").

# This SDK's directory: where this file is.
xaccel-sdk := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
xaccel-sdk-build-id := $(shell cat $(xaccel-sdk)/build-id)

# Rust: the core's crate metadata, as the crate `xaccel`. The build id in the command line
# makes Kbuild rebuild the backend when the SDK changes.
rustflags-y += -L $(xaccel-sdk) --extern xaccel --env-set XACCEL_SDK_BUILD_ID=$(xaccel-sdk-build-id)
# C: the uAPI headers, as <drm/xaccel_accel.h>.
ccflags-y += -I$(xaccel-sdk)/include
# modpost: the core's exports, so that the backend's references to them resolve.
KBUILD_EXTRA_SYMBOLS += $(xaccel-sdk)/Module.symvers
