# SPDX-License-Identifier: GPL-2.0-only
#! The backends of the test VM, as their vm.conf files declare them. Sourced (never executed)
#! by tools/vm/xaccel-dev on the host and tools/vm/guest.sh in the guest.
#!
#! Every backend has one `vm.conf` in its directory (drivers/<name>/, samples/<name>/): a bash
#! fragment setting the variables below and, for a device the host serves, three functions.
#! Adding a backend to the VM is writing that file; nothing in tools/vm changes.
#!
#!   VM_BACKEND=name        the backend's name, as QUERY DEVICE reports it
#!   VM_ORDER=50            where it loads among the backends (lower first; vaccel 10, hlx 20)
#!   VM_LOAD=(mod ...)      modprobe arguments, one module with its parameters per entry
#!   VM_AUTOLOAD=1          0: `make run` and `make try` do not load it
#!   VM_KUNIT=(glob ...)    its KUnit suites (/sys/kernel/debug/kunit/<glob>)
#!   VM_DEVICE_TESTS=(prog ...)  programs `make check` runs on each of its devices (PROG DEVICE,
#!                          TAP), from target/release; xaccel-conformance runs there too
#!   VM_EXTERNAL=0          1: built outside this tree against the SDK (`make sdk`), as a
#!                          vendor's backend is, and checked to be refused by another core build
#!   VM_CORE_TESTS=0        1: the core's own tests in guest.sh load and test it (vaccel, hlx);
#!                          it then gets no generic section of its own
#!   vm_host_start RUNDIR   starts what the host serves the device with (a device model)
#!   vm_host_qemu_opts RUNDIR  prints QEMU options, one per line
#!   vm_host_stop RUNDIR LOG  stops it, appending its log to LOG

# Every vm.conf, in VM_ORDER.
vm_confs() {
	local f
	for f in "$XACCEL_ROOT"/drivers/*/vm.conf "$XACCEL_ROOT"/samples/*/vm.conf; do
		[ -f "$f" ] || continue
		echo "$(vm_conf_load "$f" && echo "$VM_ORDER") $f"
	done | sort -n -s | cut -d' ' -f2-
}

# Sources one vm.conf after resetting every variable and function it may set; VM_DIR is its
# directory, VM_NAME the directory's name.
vm_conf_load() { # conf
	unset -f vm_host_start vm_host_qemu_opts vm_host_stop
	VM_BACKEND='' VM_ORDER=50 VM_LOAD=() VM_AUTOLOAD=1 VM_KUNIT=() VM_DEVICE_TESTS=()
	VM_EXTERNAL=0 VM_CORE_TESTS=0
	VM_DIR=$(dirname "$1")
	VM_NAME=$(basename "$VM_DIR")
	. "$1"
}
