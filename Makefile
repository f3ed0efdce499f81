# SPDX-License-Identifier: GPL-2.0-only
#
# xaccel's Makefile has two faces:
#  - Kbuild: `make -C <kernel build> M=<this dir>` builds the modules (xaccel.ko and one
#    module per backend). Dropped into a kernel tree, the same rules work in-tree.
#  - The developer's entry point: `make run`, `make check`, `make soak`, `make lint`, `make sdk`
#    (see README.md).

ifneq ($(KERNELRELEASE),)
# ---------------------------------------------------------------- Kbuild ---

# Out of tree against a kernel without xaccel's Kconfig grafted in, build everything.
CONFIG_XACCEL ?= m
CONFIG_XACCEL_VACCEL ?= m
CONFIG_XACCEL_HLX ?= m

obj-$(CONFIG_XACCEL) += xaccel.o
xaccel-y := core/xaccel.o core/xaccel_c.o core/gem/shmem_c.o core/gem/dmabuf_c.o core/gem/pages_c.o \
	core/gem/debugfs_c.o core/xaccel_exports.o core/fence/fence_helpers.o core/sched/sched_helpers.o \
	core/exec_c.o core/job_memory_c.o core/stats_c.o core/gem/bar_c.o

# Backends: one module each, built from drivers/<name>/<name>.rs.
# A new backend adds one line here and a Kconfig entry.
xaccel-backends-$(CONFIG_XACCEL_VACCEL) += vaccel
xaccel-backends-$(CONFIG_XACCEL_HLX) += hlx

obj-m += $(addsuffix .o,$(xaccel-backends-m))

# `make bench`'s drm_sched anchor (tools/bench/sched_anchor/): a bench tool, built out of tree
# only, when the kernel has drm_sched.
ifneq ($(KBUILD_EXTMOD),)
obj-$(if $(CONFIG_DRM_SCHED),m) += tools/bench/sched_anchor/xaccel_sched_anchor.o
endif
obj-y += $(addsuffix .o,$(xaccel-backends-y))
$(foreach b,$(xaccel-backends-y) $(xaccel-backends-m),$(eval $(b)-y := drivers/$(b)/$(b).o))

# Cross-crate glue, after drivers/gpu/Makefile's nova-core/nova-drm workaround:
# the core emits its crate metadata (core/libxaccel.rmeta), each backend is compiled against
# it (--extern xaccel), and the core exports every global Rust symbol it defines: its whole
# public backend API, generic code included, so that backends built outside this tree against
# the SDK (`make sdk`, Documentation/writing-a-backend.rst) link as the ones here do.
xaccel-dir := $(abspath $(obj))
xaccel-src := $(if $(filter /%,$(src)),$(src),$(srctree)/$(src))
xaccel-backend-objs := $(foreach b,$(xaccel-backends-y) $(xaccel-backends-m),$(obj)/drivers/$(b)/$(b).o)

# The core's build id: a hash of the core's sources (not the header generated below, which
# holds the id, or the id would change at every build in the source tree), the compiler, the
# kernel build it is compiled for and XACCEL_BUILD_SALT (a test knob: `make check` builds a
# second core with another salt). The core defines `xaccel_core_build_<id>` and `Registration::<B>::new`, which
# every backend instantiates, refers to it: a backend built against another core build fails
# to load with "Unknown symbol xaccel_core_build_<id>" instead of calling into a core whose
# types and symbols it does not know.
xaccel-build-id := $(shell { cd $(xaccel-src) && \
	find core uapi -type f \( -name '*.rs' -o -name '*.c' -o -name '*.h' \) \
		! -name '*_generated.h' | LC_ALL=C sort | \
	xargs cat; cat $(objtree)/include/generated/utsversion.h \
	$(objtree)/include/config/kernel.release $(objtree)/include/generated/rustc_cfg; \
	$(RUSTC) --version --verbose; echo 'salt $(XACCEL_BUILD_SALT)'; } 2>/dev/null | \
	sha256sum | cut -c1-16)
# Given to rustc with --env-set, so that a new id is a new command line (and a rebuild).
RUSTFLAGS_core/xaccel.o += --env-set XACCEL_BUILD_ID=$(xaccel-build-id)

RUSTFLAGS_core/xaccel.o += --emit=metadata=$(xaccel-dir)/core/libxaccel.rmeta
$(xaccel-backend-objs): $(obj)/core/xaccel.o
$(foreach b,$(xaccel-backends-y) $(xaccel-backends-m),\
	$(eval RUSTFLAGS_drivers/$(b)/$(b).o += -L $(xaccel-dir)/core --extern xaccel))

# Every global Rust symbol of the core (functions, statics) and its build-id symbol, but not
# the module's init and exit functions, nor the aliases sanitizers and CFI add, nor anything
# the kernel itself already exports (a generic of the `kernel` crate instantiated in both
# would be exported twice, which modpost refuses).
xaccel_rust_exports = \
	{ cat $(objtree)/Module.symvers 2>/dev/null; echo "__DEFINED_RUST_SYMBOLS__"; \
	  $(NM) -p --defined-only $(1); } | \
	awk ' \
		/^__DEFINED_RUST_SYMBOLS__$$/ { defs = 1; next } \
		!defs { kernel[$$2] = 1; next } \
		$$2 ~ /^(T|R|D|B)$$/ && ($$3 ~ /^_R/ || $$3 ~ /^xaccel_core_build_/) && \
			$$3 !~ /_(init|cleanup)_module$$/ && \
			$$3 !~ /__(pfx|cfi|odr_asan)/ && \
			!($$3 in kernel) { printf "EXPORT_SYMBOL_RUST_GPL(%s);\n", $$3 } \
	'

quiet_cmd_xaccel_exports = EXPORTS $@
      cmd_xaccel_exports = $(call xaccel_rust_exports,$<) > $@

$(obj)/core/exports_xaccel_generated.h: $(obj)/core/xaccel.o FORCE
	$(call if_changed,xaccel_exports)

targets += core/exports_xaccel_generated.h
$(obj)/core/xaccel_exports.o: $(obj)/core/exports_xaccel_generated.h
CFLAGS_core/xaccel_exports.o := -I $(xaccel-dir)/core

else
# ------------------------------------------------------ developer commands ---

SHELL := /bin/bash
XACCEL := tools/vm/xaccel-dev

.PHONY: run check soak try bench profile lint setup kernel modules sdk userspace clean
run:        ; @$(XACCEL) run
check:      ; @$(XACCEL) check
soak:       ; @$(XACCEL) soak
try:        ; @$(XACCEL) try
bench:      ; @$(XACCEL) bench
profile:    ; @$(XACCEL) profile
lint:       ; @$(XACCEL) lint
setup:      ; @$(XACCEL) setup
kernel:     ; @$(XACCEL) kernel
modules:    ; @$(XACCEL) modules
# The SDK for backends built outside this tree: $(DESTDIR)$(PREFIX)/lib/xaccel/sdk.
sdk:        ; @PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' $(XACCEL) sdk
userspace:  ; @$(XACCEL) userspace
clean:      ; @$(XACCEL) clean

endif
