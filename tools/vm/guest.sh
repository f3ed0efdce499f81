#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#! Runs inside the test VM (started by tools/vm/xaccel-dev): loads xaccel's modules and runs
#! the demo (`run`), every in-guest test (`check`), printing TAP blocks that
#! tools/vm/report.py counts, the benchmarks (`bench`), printing `bench:` lines, or the soak
#! (`soak:MINUTES:CALLS:SEED:RELOADS`), printing `soak:` lines. Each test is announced in the kernel
#! log too, so a splat is blamed on the test that was running.
#!
#! Usage: guest.sh run|check|bench|soak:...|profile:...|try:... MODROOT REPO
set -uo pipefail
mode=$1 modroot=$2 repo=$3
bin=$repo/target/release
cbin=$repo/target/selftests-c
export PATH=$bin:$PATH

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mark() { echo "xaccel-test: $*" >/dev/kmsg; }
load() { modprobe -d "$modroot" "$@"; }
unload() { modprobe -d "$modroot" -r "$@"; }

# The backends, as their vm.conf files declare them (tools/vm/backends.sh).
XACCEL_ROOT=$repo
. "$repo/tools/vm/backends.sh"
# Loads every backend that `make run` and `make try` load (VM_AUTOLOAD), in VM_ORDER.
load_backends() {
	local conf entry
	for conf in $(vm_confs); do
		vm_conf_load "$conf"
		[ "$VM_AUTOLOAD" = 1 ] || continue
		for entry in "${VM_LOAD[@]}"; do
			# shellcheck disable=SC2086 # an entry is a module and its parameters
			load $entry || return 1
		done
	done
}
# The results of the KUnit suites matching the globs, each suite once.
kunit_suites() { # glob...
	local glob suite found=0 seen=" "
	for glob in "$@"; do
		for suite in /sys/kernel/debug/kunit/$glob; do
			[ -f "$suite/results" ] || continue
			case $seen in *" $suite "*) continue ;; esac
			seen="$seen$suite "
			found=1
			cat "$suite/results"
		done
	done
	[ $found = 1 ]
}
# The KUnit globs of the backend named NAME (its VM_BACKEND).
backend_kunit_globs() { # name
	local conf
	for conf in $(vm_confs); do
		vm_conf_load "$conf"
		[ "$VM_BACKEND" = "$1" ] && printf '%s\n' "${VM_KUNIT[@]}"
	done
	return 0
}

# The scheduler against drm_sched (P1/P2): xaccel's equivalents of drm_sched's overhead KUnit
# cases run when xaccel loads with sched_bench=1 (core/sched/bench.rs); drm-sched-tests runs
# only its overhead suite in the same boot. Both print expected and actual µs; the overhead is
# their difference, summed over the queue and ping-pong cases. The throughput anchor is
# drm_sched driven directly (tools/bench/sched_anchor). The sides take turns, SCHED_RUNS rounds
# of all three, and each metric is each side's median over the rounds: a round the host slowed
# down moves neither. A throughput case lasts 5-35 ms, and how long varies more than that of
# the timed cases, so each side runs it several times a round (xaccel THROUGHPUT_REPEATS times
# per load, the anchor module loaded SCHED_ANCHOR_REPEATS times), and that metric is each
# side's median over all its runs (25 each).
SCHED_RUNS=5
SCHED_ANCHOR_REPEATS=5
sched_bench() {
	local run
	# No trailing newline: the parameter is matched as a glob, byte for byte. Set first, so
	# that loading xaccel runs no KUnit suite of its own meanwhile.
	printf %s drm_sched_scheduler_overhead_tests >/sys/module/kunit/parameters/filter_glob
	for run in $(seq "$SCHED_RUNS"); do
		{ load xaccel sched_bench=1 && unload xaccel; } || return 1
		load drm-sched-tests 2>&1 | sed 's/^/# /'
		unload drm-sched-tests
		for _ in $(seq "$SCHED_ANCHOR_REPEATS"); do
			load xaccel_sched_anchor && unload xaccel_sched_anchor
		done
	done
	printf %s '*' >/sys/module/kunit/parameters/filter_glob
	dmesg --color=never | awk -v runs="$SCHED_RUNS" '
		function median(v, n,   i, j, t, w) {
			for (i = 1; i <= n; i++) w[i] = v[i]
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && w[j - 1] > w[j]; j--) { t = w[j]; w[j] = w[j - 1]; w[j - 1] = t }
			return n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
		}
		function quartiles(v, n,   i, j, t, w) {
			for (i = 1; i <= n; i++) w[i] = v[i]
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && w[j - 1] > w[j]; j--) { t = w[j]; w[j] = w[j - 1]; w[j - 1] = t }
			return w[int((n + 3) / 4)] "/" w[int((n + 1) / 2)] "/" w[int((3 * n + 1) / 4)]
		}
		function list(v, n,   i, s) {
			for (i = 1; i <= n; i++) s = s (i > 1 ? "/" : "") v[i]
			return s
		}
		/xaccel-sched-bench: / {
			late = restart = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^expected=/) { e = substr($i, 10) + 0 }
				if ($i ~ /^actual=/) { a = substr($i, 8) + 0 }
				if ($i ~ /^late=/) { late = substr($i, 6) / 1000 }
				if ($i ~ /^restart=/) { restart = substr($i, 9) / 1000 }
			}
			if ($0 ~ /: queue /) { r++; q_late[r] = late; q_restart[r] = restart }
			if ($0 ~ /: ping-pong /) { p_late[r] = late; p_restart[r] = restart }
			if ($0 ~ /: throughput /) { tput[++n_tput] = int(1000 * 1000000 / a); t_round[r]++ }
			else if ($0 ~ /: timer-floor /) { floor[r] = a - e; f_late[r] = late; n_floor++ }
			else { ours[r] += a - e; n_ours++ }
		}
		/xaccel-sched-anchor: throughput / {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^jobs=/) { anchor_jobs = substr($i, 6) + 0 }
				if ($i ~ /^actual=/) { a = substr($i, 8) + 0 }
			}
			# Counted in the round of the xaccel load before it (each round loads xaccel first).
			anchor_tput[++n_anchor_tput] = int(anchor_jobs * 1000000 / a); a_round[r]++
		}
		/Expected [0-9]+us, actual [0-9]+us/ {
			match($0, /Expected [0-9]+/); e = substr($0, RSTART + 9, RLENGTH - 9) + 0
			match($0, /actual [0-9]+/); a = substr($0, RSTART + 7, RLENGTH - 7) + 0
			n_anchor++
			anchor[int((n_anchor + 1) / 2)] += a - e
		}
		END {
			if (r != runs || n_ours != 2 * runs || n_anchor != 2 * runs) {
				printf "# sched-overhead: missing results (xaccel %d, drm_sched %d of %d)\n",
					n_ours, n_anchor, 2 * runs
				exit 1
			}
			ours_m = median(ours, runs)
			anchor_m = median(anchor, runs)
			printf "# sched-overhead: us over the ideal 2 x 1000 x 1000us, xaccel vs drm_sched, median of %d rounds\n", runs
			printf "# sched-overhead rounds: xaccel %s, drm_sched %s\n", list(ours, runs), list(anchor, runs)
			printf "bench: sched-overhead ours=%d anchor=%d ratio=%.3f goal=le0.5\n", ours_m, anchor_m,
				(anchor_m > 0 ? ours_m / anchor_m : 0)
			# What 1000 chained 1000us timers cost with no scheduler at all, per job: the part
			# of both overheads that comes from timer expiry (and, under TCG, the host).
			if (n_floor == runs)
				printf "# sched-overhead per job: xaccel %.1fus, drm_sched %.1fus, bare timer %.1fus\n",
					ours_m / 2000, anchor_m / 2000, median(floor, runs) / 1000
			# Where the per-job overhead of xaccel went, from its own timestamps: the timers firing
			# late (as the bare ones do), and the scheduler restarting the engine.
			if (n_floor == runs)
				printf "# sched-overhead per xaccel job: timer fired late %.1fus (queue), %.1fus (ping-pong), bare timer %.1fus; completion to the next start %.1fus (queue), %.1fus (ping-pong)\n",
					median(q_late, runs), median(p_late, runs), median(f_late, runs),
					median(q_restart, runs), median(p_restart, runs)
			for (i = 1; i <= runs; i++) {
				if (!t_round[i] || !a_round[i]) {
					printf "# sched-throughput: round %d is missing a result\n", i
					exit 1
				}
			}
			# 1000 zero-length jobs on one credit behind a blocker, both sides, in jobs per
			# second: the median of every run of the side, all rounds together.
			ours_r = median(tput, n_tput)
			anchor_r = median(anchor_tput, n_anchor_tput)
			printf "# sched-throughput quartiles of %d and %d runs: xaccel %s, drm_sched %s jobs/s\n",
				n_tput, n_anchor_tput, quartiles(tput, n_tput), quartiles(anchor_tput, n_anchor_tput)
			printf "bench: sched-throughput ours=%d anchor=%d ratio=%.3f goal=ge2.0\n", ours_r,
				anchor_r, ours_r / anchor_r
		}'
}

# One test program's TAP output, framed for report.py.
run_tap() {
	local name=$1
	shift
	echo "### xaccel-test: $name begin"
	mark "$name begin"
	"$@"
	local rc=$?
	mark "$name end"
	echo "### xaccel-test: $name end rc=$rc"
}

# Tests written in this script: a TAP stream of its own.
tap_n=0
tap() { # tap NAME COMMAND... : one TAP line from a command's exit status
	local name=$1
	shift
	tap_n=$((tap_n + 1))
	if "$@" >/tmp/xaccel-tap.out 2>&1; then
		echo "ok $tap_n - $name"
	else
		echo "not ok $tap_n - $name"
		sed 's/^/# /' /tmp/xaccel-tap.out
	fi
}

# The PCI test devices the later backends need, under one PCIe switch.
pci_find() { # vendor device -> sysfs path
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = "0x$1" ] && [ "$(cat "$d/device")" = "0x$2" ] && { realpath "$d"; return 0; }
	done
	return 1
}
same_switch() {
	local edu ivshmem
	edu=$(pci_find 1234 11e8) && ivshmem=$(pci_find 1af4 1110) || return 1
	# device -> downstream port -> upstream port: both must share the upstream port.
	[ "$(dirname "$(dirname "$edu")")" = "$(dirname "$(dirname "$ivshmem")")" ]
}

accel_count() { ls /dev/accel/accel* 2>/dev/null | wc -l; }

# DRM_IOCTL_VERSION on an inherited fd; prints the errno name or "ok".
version_ioctl_on_fd() {
	/usr/bin/python3 - "$1" <<'PY'
import errno, fcntl, sys
try:
    fcntl.ioctl(int(sys.argv[1]), 0xC0406400, bytearray(64))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}

unload_with_client_open() {
	load vaccel || return 1
	exec 3</dev/accel/accel0 || return 1
	unload vaccel || { echo "backend unload refused with a client open"; return 1; }
	[ "$(accel_count)" = 0 ] || { echo "accel nodes remain after unload"; return 1; }
	local got
	got=$(version_ioctl_on_fd 3)
	[ "$got" = ENODEV ] || { echo "ioctl on unplugged device gave $got, want ENODEV"; return 1; }
	if rmmod xaccel 2>/dev/null; then echo "core unloaded under an open file"; return 1; fi
	exec 3<&-
	rmmod xaccel || { echo "core unload failed after the last close"; return 1; }
}

# A client holds a mapped buffer object while the backend is unloaded: the mapping stays
# usable, ioctls fail with ENODEV, and the object is freed (by the core) when the client
# lets go; then the core unloads.
unload_with_bo_mapped() {
	load vaccel || return 1
	/usr/bin/python3 - "$modroot" <<'PY' || return 1
import errno, fcntl, mmap, os, struct, subprocess, sys
BO_CREATE, BO_INFO, GEM_CLOSE = 0xC0306441, 0xC0306442, 0x40086409
fd = os.open("/dev/accel/accel0", os.O_RDWR)
create = bytearray(struct.pack("=QIIQII2Q", 1 << 20, 0, 0, 0, 0, 0, 0, 0))
fcntl.ioctl(fd, BO_CREATE, create)
handle = struct.unpack_from("=I", create, 24)[0]
info = bytearray(struct.pack("=IIQIIQ2Q", handle, 0, 0, 0, 0, 0, 0, 0))
fcntl.ioctl(fd, BO_INFO, info)
size, offset = struct.unpack_from("=Q", info, 8)[0], struct.unpack_from("=Q", info, 24)[0]
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=offset)
m[0:5], m[size - 5:size] = b"hello", b"world"
subprocess.run(["modprobe", "-d", sys.argv[1], "-r", "vaccel"], check=True)
if os.path.exists("/dev/accel/accel0"):
    sys.exit("the accel node outlived the backend")
if (m[0:5], m[size - 5:size]) != (b"hello", b"world"):
    sys.exit("the mapping lost its contents after the unload")
try:
    fcntl.ioctl(fd, GEM_CLOSE, struct.pack("=II", handle, 0))
    sys.exit("GEM_CLOSE worked on an unplugged device")
except OSError as e:
    if e.errno != errno.ENODEV:
        sys.exit(f"GEM_CLOSE on an unplugged device: {errno.errorcode[e.errno]}, want ENODEV")
os.close(fd)
m.close()
PY
	rmmod xaccel || { echo "core unload failed after the last BO was freed"; return 1; }
}

unload_without_clients() {
	load vaccel && [ "$(accel_count)" = 2 ] || return 1
	unload vaccel && [ "$(accel_count)" = 0 ] || return 1
	! grep -q '^xaccel ' /proc/modules
}

infra_tests() {
	echo "TAP version 13"
	tap "kernel modules load (vaccel pulls in xaccel)" load vaccel
	tap "two vaccel devices appear as /dev/accel/accel0..1" test "$(accel_count)" = 2
	tap "edu (1234:11e8) is enumerated" pci_find 1234 11e8
	tap "ivshmem (1af4:1110) is enumerated" pci_find 1af4 1110
	tap "edu and ivshmem sit under one PCIe switch" same_switch
	echo "1..$tap_n"
}

lifecycle_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "unload with no client open" unload_without_clients
	tap "unload of a backend with a client open gives ENODEV" unload_with_client_open
	tap "unload with a BO mapped: mapping usable, freed after close" unload_with_bo_mapped
	tap "reload after unload" load vaccel
	echo "1..$tap_n"
}

# `xaccel mem --json` on a device: its regions with used <= size, and this process's open file
# with the fdinfo memory keys of every region.
cli_mem_json() {
	xaccel mem --device /dev/accel/accel0 --json | /usr/bin/python3 -c '
import json, sys
[report] = json.load(sys.stdin)
names = [r["name"] for r in report["regions"]]
assert names and all(r["used"] <= r["size"] for r in report["regions"]), report["regions"]
[client] = report["clients"]
assert [m["region"] for m in client["fdinfo"]["regions"]] == names, client
assert client["fdinfo"]["driver"] == report["backend"], client
'
}

# `xaccel --json bo` lists a BO another process holds (from the core's debugfs file), with its
# size, region, placement and export state, and the device's regions.
cli_bo_json() {
	/usr/bin/python3 - <<'PY'
import fcntl, json, os, struct, subprocess
BO_CREATE, PRIME_HANDLE_TO_FD = 0xC0306441, 0xC00C642D
fd = os.open("/dev/accel/accel0", os.O_RDWR)
create = bytearray(struct.pack("=QIIQII2Q", 3 << 20, 0, 0, 0, 0, 0, 0, 0))
fcntl.ioctl(fd, BO_CREATE, create)
handle = struct.unpack_from("=I", create, 24)[0]
prime = bytearray(struct.pack("=IIi", handle, 0x80002, -1))
fcntl.ioctl(fd, PRIME_HANDLE_TO_FD, prime)
out = subprocess.run(["xaccel", "--json", "bo", "--device", "/dev/accel/accel0"],
                     check=True, capture_output=True, text=True).stdout
[report] = json.loads(out)
assert report["regions"] and report["regions"][0]["name"] == "system", report
mine = [b for b in report["bos"] if b["handle"] == handle and b["size"] == 3 << 20]
assert len(mine) == 1, report["bos"]
b = mine[0]
assert (b["region"], b["placement"], b["exported"], b["imported"]) == \
    ("system", "system", True, False), b
PY
}

# `xaccel top --json`: this process's own open file is a client, with a busy time (0: it ran
# nothing) for every engine QUERY lists.
cli_top_json() {
	local engines
	engines=$(xaccel --json info --device /dev/accel/accel0 | /usr/bin/python3 -c '
import json, sys
print(" ".join(e["name"] for e in json.load(sys.stdin)[0]["engines"]))')
	xaccel top --device /dev/accel/accel0 --json | ENGINES="$engines" /usr/bin/python3 -c '
import json, os, sys
[report] = json.load(sys.stdin)
mine = [c for c in report["clients"] if c["command"] == "xaccel"]
assert mine, report
for client in mine:
    assert [e["engine"] for e in client["engines"]] == os.environ["ENGINES"].split(), client
    assert all(e["busy_ns"] == 0 and e["utilisation"] is None for e in client["engines"]), client
'
}

cli_run_json() {
	xaccel --json run --device /dev/accel/accel0 --delay-us 1000 --count 3 | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "ok" and r["jobs"] == 3 and r["last_seqno"] == 3, r
assert r["total_us"] >= 3 * 1000, r
'
}

# vaccel with mmu=1 declares a software MMU, which checks every page-table call the core makes
# (a warning fails the run) and reports at unplug how many calls it got and how many pages are
# still mapped. local_hidden=1 makes its local region not CPU-visible, for selftest-devmem.
mmu_reload() {
	unload vaccel && load vaccel devices=1 mmu=1 local_hidden=1 && [ "$(accel_count)" = 1 ] ||
		return 1
	xaccel info --device /dev/accel/accel0 | grep -q 'capabilities *mmu'
}
mmu_reports() { dmesg | grep -c 'vaccel.0: software MMU:'; }
mmu_all_unmapped() {
	local before
	before=$(mmu_reports)
	unload vaccel || return 1
	[ "$(mmu_reports)" = $((before + 1)) ] || { echo "no report at unplug"; return 1; }
	dmesg | grep 'vaccel.0: software MMU:' | tail -1 |
		grep -Eq ': [1-9][0-9]* maps, [1-9][0-9]* unmaps, 0 pages mapped at unplug' ||
		{ dmesg | grep 'software MMU:' | tail -1; return 1; }
}
mmu_setup_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "vaccel mmu=1 local_hidden=1: one device declaring an MMU" mmu_reload
	echo "1..$tap_n"
}
mmu_teardown_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "vaccel mmu=1: maps and unmaps came, every page unmapped at unplug" mmu_all_unmapped
	tap "vaccel reloads without an MMU" load vaccel
	echo "1..$tap_n"
}

# `xaccel run --op copy --json` of 25 jobs of an odd size in device-local memory: verified
# against the CPU.
cli_run_copy_json() {
	xaccel --json run --device /dev/accel/accel0 --op copy --size 1000003 --placement local \
		--count 25 | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "ok" and r["verified"] and r["result"] == "verified", r
assert r["jobs"] == 25 and r["last_seqno"] == 25 and r["bytes_per_sec"] > 0, r
'
}

# Every other memory operation once, in system memory; `xaccel run` exits 1 on a mismatch.
cli_run_every_op() {
	local op
	for op in fill add mul xor max sum timestamp; do
		xaccel run --device /dev/accel/accel0 --op $op --size 4099 || return 1
	done
}

# vaccel local_p2p=1 declares its local region reachable peer-to-peer only (both devices
# declare P2P, so they reach each other's; vgem does not); local_fallback says what exports
# do for vgem: 0 move the BO to system memory, 1 refuse.
devmem_rule_reload() {
	unload vaccel && load vaccel devices=2 local_p2p=1 local_fallback="$1" &&
		[ "$(accel_count)" = 2 ] &&
		xaccel info --device /dev/accel/accel0 | grep -q 'capabilities.*p2p'
}
devmem_rule_setup() {
	tap_n=0
	echo "TAP version 13"
	tap "vaccel local_p2p=1 local_fallback=$1: two P2P devices" devmem_rule_reload "$1"
	echo "1..$tap_n"
}
devmem_rule_teardown() {
	tap_n=0
	echo "TAP version 13"
	tap "vaccel reloads with its defaults" eval 'unload vaccel && load vaccel'
	echo "1..$tap_n"
}

cli_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "xaccel mem prints every device" xaccel mem
	tap "xaccel mem --json: regions and this process's fdinfo" cli_mem_json
	tap "xaccel bo --json: another process's exported BO, its region and placement" cli_bo_json
	tap "xaccel bo prints every device" xaccel bo
	tap "xaccel run: a NOP job" xaccel run --device /dev/accel/accel0
	tap "xaccel run --json: three DELAY jobs, in order, at least their delay" cli_run_json
	tap "xaccel run --op copy --json: 25 local-memory COPYs verified" cli_run_copy_json
	tap "xaccel run: FILL, ADD, MUL, XOR, MAX, SUM, WRITE_TIMESTAMP verified" cli_run_every_op
	tap "xaccel top --json: this process's file, every engine's busy time" cli_top_json
	echo "1..$tap_n"
}

# vaccel packet_latency_us=N sleeps N us before every packet: five one-packet jobs take at
# least five times N (a lower bound only); values above 100000 are refused.
latency_jobs() {
	xaccel --json run --device /dev/accel/accel0 --count 5 | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "ok" and r["jobs"] == 5 and r["total_us"] >= 5 * 20000, r
'
}
latency_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "vaccel refuses packet_latency_us=100001" \
		eval "unload vaccel && ! load vaccel packet_latency_us=100001"
	tap "vaccel packet_latency_us=20000 loads" load vaccel packet_latency_us=20000
	tap "five NOP jobs take at least 5 x 20 ms" latency_jobs
	tap "vaccel reloads without latency" eval "unload vaccel && load vaccel"
	echo "1..$tap_n"
}

# After xaccel-selftest-dmabuf --unplug closed everything it held across the backend unload:
# nothing pins the core any more.
dmabuf_after_unplug() {
	tap_n=0
	echo "TAP version 13"
	tap "xaccel.ko unloads once every dma-buf and import is closed" rmmod xaccel
	tap "vaccel loads again" load vaccel
	echo "1..$tap_n"
}

# Every xaccel device present, one "NODE DRIVER BUS" line each in node order: the accel nodes
# that answer xaccel's QUERY, named by DRM_IOCTL_VERSION's driver name (any backend, loaded
# now or added later), with the bus of their parent device (pci, faux, ...).
xaccel_devices() {
	/usr/bin/python3 - <<'PY'
import ctypes, fcntl, glob, os, re
class Version(ctypes.Structure):  # struct drm_version
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("name_len", ctypes.c_size_t), ("name", ctypes.c_void_p),
                ("date_len", ctypes.c_size_t), ("date", ctypes.c_void_p),
                ("desc_len", ctypes.c_size_t), ("desc", ctypes.c_void_p)]
DRM_IOCTL_VERSION, DRM_IOCTL_XACCEL_QUERY = 0xC0406400, 0xC0206440
for node in sorted(glob.glob("/dev/accel/accel*"), key=lambda p: int(re.sub(r"\D", "", p))):
    try:
        fd = os.open(node, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        continue
    try:
        name = ctypes.create_string_buffer(64)
        version = Version(name_len=63, name=ctypes.addressof(name))
        fcntl.ioctl(fd, DRM_IOCTL_VERSION, version)
        fcntl.ioctl(fd, DRM_IOCTL_XACCEL_QUERY, bytearray(32))  # probe QUERY DEVICE
    except OSError:
        continue
    finally:
        os.close(fd)
    sysfs = "/sys/class/accel/" + os.path.basename(node) + "/device/subsystem"
    bus = os.path.basename(os.path.realpath(sysfs)) if os.path.exists(sysfs) else "none"
    print(node, name.value.decode(), bus)
PY
}

# xaccel-conformance (every promise of the common uAPI) on every xaccel device present, whatever
# its backend: each PCI function, and one device of each other backend (a software backend's
# devices are identical instances). A backend that fails a test fails make check. vgem must be
# loaded (PRIME); the PCI functions are unbound and bound again (unplug with work in flight).
conformance_all() {
	local node driver bus seen=" " devices
	devices=$(xaccel_devices)
	if [ -z "$devices" ]; then
		run_tap conformance printf '%s\n' "TAP version 13" 1..1 "not ok 1 - no xaccel device found"
		return
	fi
	while read -r node driver bus; do
		if [ "$bus" != pci ]; then
			case "$seen" in *" $driver "*) continue ;; esac
			seen="$seen$driver "
		fi
		run_tap "conformance:$driver:${node##*/}" "$bin/xaccel-conformance" "$node"
	done <<<"$devices"
}

# The hlx backend on the HLX functions the models serve (tools/hlx-model): two, under the same
# PCIe switch. They are found by asking every accel node its backend (QUERY), in accel order:
# the first is hlx device 0, the one the single-device tests use.
hlx_nodes() {
	xaccel --json list | /usr/bin/python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["device"]["backend"] == "hlx":
        print(r["path"])'
}
hlx_node() { hlx_nodes | head -1 | grep .; } # the accel node of hlx device 0
hlx_bdf() { basename "$(readlink -f "/sys/class/accel/${1##*/}/device")"; } # node -> PCI function
hlx_probe() {
	load hlx || return 1
	[ "$(hlx_nodes | wc -l)" = 2 ] || { hlx_nodes; dmesg | grep -i hlx | tail -5; return 1; }
	# Only the ivshmem-doorbell functions are HLX: the ivshmem-plain one stays unbound.
	[ "$(ls -d /sys/bus/pci/drivers/hlx/0000:* | wc -l)" = 2 ]
}
# Both HLX functions sit on downstream ports of the switch edu and ivshmem-plain are under.
hlx_same_switch() {
	local up node
	for node in $(hlx_nodes); do
		up=$(dirname "$(dirname "$(readlink -f "/sys/class/accel/${node##*/}/device")")")
		[ "$up" = "$(dirname "$(dirname "$(pci_find 1234 11e8)")")" ] || return 1
	done
}
# The driver told the device BAR2's bus address (BAR2_BUS_ADDR, bit 0 VALID) at probe, and
# again after every hard reset: debugfs shows the register as the device sees it.
hlx_bar2_bus_addr() { # node [min_hard_resets]: the driver's own device resets so far
	local node=$1 bdf start want got resets
	bdf=$(hlx_bdf "$node") || return 1
	# x86 without an IOMMU: BAR2's bus address is its resource address.
	start=$(sed -n 3p "/sys/bus/pci/devices/$bdf/resource" | cut -d' ' -f1)
	want=$(printf '%#x' $((start | 1)))
	got=$(sed -n 's/^bar2_bus_addr //p' "/sys/kernel/debug/hlx-${node##*/}/control")
	resets=$(sed -n 's/^hard_resets //p' "/sys/kernel/debug/hlx-${node##*/}/control")
	echo "$node ($bdf): BAR2_BUS_ADDR $got, want $want; $resets hard resets by the driver"
	[ "$got" = "$want" ] && [ "$resets" -ge "${2:-0}" ]
}
hlx_kunit() { mapfile -t globs < <(backend_kunit_globs hlx) && kunit_suites "${globs[@]}"; }
# Unbinding the PCI function with a client open: ioctls give ENODEV, closing is clean, the
# function binds again.
hlx_unbind_with_client_open() {
	local node bdf got
	node=$(hlx_node) && bdf=$(hlx_bdf "$node") || return 1
	exec 3<"$node" || return 1
	echo "$bdf" >/sys/bus/pci/drivers/hlx/unbind || return 1
	[ ! -e "$node" ] || { echo "$node outlived the unbind"; return 1; }
	got=$(version_ioctl_on_fd 3)
	exec 3<&-
	[ "$got" = ENODEV ] || { echo "ioctl after unbind gave $got, want ENODEV"; return 1; }
	echo "$bdf" >/sys/bus/pci/drivers/hlx/bind && [ "$(hlx_nodes | wc -l)" = 2 ]
}
hlx_setup_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "hlx binds the two HLX functions only (HLX_ID), two accel nodes" hlx_probe
	tap "both HLX functions sit under the PCIe switch of edu" hlx_same_switch
	local node
	for node in $(hlx_nodes); do
		tap "hlx ${node##*/}: BAR2_BUS_ADDR holds BAR2's bus address after probe" \
			hlx_bar2_bus_addr "$node"
	done
	echo "1..$tap_n"
}
hlx_cli() {
	local node
	node=$(hlx_node) || return 1
	xaccel hlx --device "$node" | tee /dev/stderr | grep -q '^  queue 2 status 0x1 '
}
hlx_teardown_tests() {
	tap_n=0
	echo "TAP version 13"
	local node
	# selftest-hlx hard-reset every device it ran on (a hard wedge).
	for node in $(hlx_nodes); do
		tap "hlx ${node##*/}: BAR2_BUS_ADDR written again after a hard reset" \
			hlx_bar2_bus_addr "$node" 1
	done
	tap "xaccel hlx: a DMA + compute program, queue and HBM state" hlx_cli
	tap "hlx: unbind with a client open gives ENODEV, rebinds" hlx_unbind_with_client_open
	tap "hlx unloads" unload hlx
	echo "1..$tap_n"
}
# HBM exports to importers that cannot reach it peer-to-peer (vgem, a faux vaccel device) are
# refused with hbm_refuse=1; the default (0) migrates them, as the first hlx run tested.
hlx_refuse_setup() {
	tap_n=0
	echo "TAP version 13"
	tap "hlx loads with hbm_refuse=1" eval 'load hlx hbm_refuse=1 && hlx_node >/dev/null'
	echo "1..$tap_n"
}
hlx_rebind() { echo "$1" >/sys/bus/pci/drivers/hlx/bind && hlx_node >/dev/null; }
hlx_rebind_both() { hlx_rebind "$1" && [ "$(hlx_nodes | wc -l)" = 2 ]; }
hlx_p2p_revoke_teardown() {
	tap_n=0
	echo "TAP version 13"
	tap "hlx binds the exporter's function again: two accel nodes" hlx_rebind_both "$1"
	echo "1..$tap_n"
}
hlx_refuse_teardown() {
	tap_n=0
	echo "TAP version 13"
	tap "hlx binds again after the unplug test" hlx_rebind "$1"
	tap "hlx unloads after the unplug test" unload hlx
	echo "1..$tap_n"
}

# Module unload and reload, N rounds: the core and both backends load (no KUnit suite runs
# meanwhile), a client on a vaccel device and one on an HLX device each open the device, make a
# BO, run a job (a NOP; the DMA + compute program of `xaccel hlx`) and close it, and everything
# unloads again. The leak scan after it covers the rounds. A round takes 12-35 s on the
# sanitizer kernel under TCG, so `make check` runs CHECK_RELOADS of them and `make soak`
# SOAK_RELOADS after its load (XACCEL_SOAK_RELOADS on the host).
CHECK_RELOADS=10
SOAK_RELOADS=100
reload_once() {
	local node
	load vaccel && load hlx || { echo "loading failed"; return 1; }
	xaccel run --device /dev/accel/accel0 >/dev/null || { echo "the vaccel client failed"; return 1; }
	# The first HLX function's node, from sysfs (faster than asking every node, as hlx_node).
	node=$(ls -d /sys/bus/pci/drivers/hlx/0000:*/accel/accel* 2>/dev/null | head -1)
	node=/dev/accel/${node##*/}
	[ -c "$node" ] || node=$(hlx_node) || { echo "no HLX node"; return 1; }
	xaccel hlx --device "$node" >/dev/null ||
		{ echo "the hlx client failed"; return 1; }
	unload hlx && unload vaccel || { echo "unloading failed"; return 1; }
	! grep -qE '^(xaccel|vaccel|hlx) ' /proc/modules || { echo "a module stayed loaded"; return 1; }
}
reload_loop() { # rounds
	local i rc=0
	# No trailing newline: matched as a glob. A name no suite has: no KUnit run at each load.
	printf %s xaccel-reload-no-suite >/sys/module/kunit/parameters/filter_glob
	for i in $(seq "$1"); do
		reload_once || { echo "round $i of $1"; rc=1; break; }
	done
	printf %s '*' >/sys/module/kunit/parameters/filter_glob
	return $rc
}
reload_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "$CHECK_RELOADS x: xaccel, vaccel and hlx load, a client runs a job on each, all unload" \
		reload_loop "$CHECK_RELOADS"
	tap "vaccel loads again" load vaccel
	echo "1..$tap_n"
}

# Unloads every module the run loaded (backends, vgem, the kernel's test modules, the core and
# the helpers they pulled in); fails if one stays.
unload_all() {
	local pass m left
	for pass in 1 2 3; do
		for m in $(cut -d' ' -f1 /proc/modules); do
			unload "$m" 2>/dev/null
		done
	done
	left=$(cut -d' ' -f1 /proc/modules | tr '\n' ' ')
	[ -z "$left" ] || { echo "still loaded: $left"; return 1; }
}

# KMEMLEAK (the sanitizer kernel): a leak is an object nothing references any more, reported
# once it is older than 5 s, by a scan (no automatic ones: CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN=n).
# Two scans, so that an object only in flight during the first is not reported. A leak whose
# backtrace matches KMEMLEAK_KNOWN (extended regular expressions, one per known leak outside
# xaccel, with where it is tracked) is listed without failing; there is none today.
KMEMLEAK=/sys/kernel/debug/kmemleak
KMEMLEAK_KNOWN=()
kmemleak_scan() { # -> the leaks, unknown ones first; fails if there is an unknown one
	sleep 6
	echo scan >"$KMEMLEAK" && echo scan >"$KMEMLEAK" ||
		{ echo "kmemleak is off (it disables itself on trouble: see the kernel log)"; return 1; }
	KNOWN=$(printf '%s\n' "${KMEMLEAK_KNOWN[@]}") /usr/bin/python3 - "$KMEMLEAK" <<'PY'
import os, re, sys
known = [re.compile(k) for k in os.environ["KNOWN"].splitlines() if k]
leaks = re.split(r"(?m)^(?=unreferenced object )", open(sys.argv[1]).read())
leaks = [leak for leak in leaks if leak.startswith("unreferenced object ")]
unknown = [leak for leak in leaks if not any(k.search(leak) for k in known)]
print(f"{len(leaks)} leaked objects, {len(leaks) - len(unknown)} known")
for leak in unknown + [leak for leak in leaks if leak not in unknown]:
    sys.stdout.write(leak)
sys.exit(1 if unknown else 0)
PY
}
kmemleak_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "every module the run loaded unloads" unload_all
	if [ -e "$KMEMLEAK" ]; then
		tap "kmemleak: no leak once every client closed and every module unloaded" kmemleak_scan
	else
		tap_n=$((tap_n + 1))
		echo "ok $tap_n - kmemleak: no leak # SKIP not a sanitizer kernel"
	fi
	echo "1..$tap_n"
}

# `make soak` (tools/vm/xaccel-dev): load on the sanitizer kernel until a deadline, then every
# client closes, everything unloads, kmemleak scans and a summary follows. The fuzzer has the
# first vaccel device and the first HLX device to itself (it checks that their regions' bytes
# all come back when its file closes); the other loads run on the second of each, importing
# into the first ones (an import charges nothing to the importer). Each worker loops until the
# deadline and writes $soak_dir/<name>.log.
soak_dir=/tmp/xaccel-soak
SOAK_CHUNK=25000
soak_until() { ((SECONDS < soak_deadline)); }
# The fuzzer on NODE in chunks of SOAK_CHUNK calls, seeds SEED, SEED+1, ..., as root and as
# nobody (no groups, no capabilities) in turn, until the deadline or CALLS calls.
soak_fuzz() { # node calls seed
	local node=$1 target=$2 seed=$3 calls=0 n=0 chunk rc
	while soak_until && ((calls < target)); do
		chunk=$((target - calls < SOAK_CHUNK ? target - calls : SOAK_CHUNK))
		if ((n % 2 == 0)); then
			echo "## chunk $n root seed $seed calls $chunk"
			XACCEL_FUZZ_SEED=$seed XACCEL_FUZZ_CALLS=$chunk "$bin/xaccel-selftest-fuzz" "$node"
		else
			echo "## chunk $n nobody seed $seed calls $chunk"
			XACCEL_FUZZ_SEED=$seed XACCEL_FUZZ_CALLS=$chunk setpriv --reuid=65534 \
				--regid=65534 --clear-groups --inh-caps=-all "$bin/xaccel-selftest-fuzz" "$node"
		fi
		rc=$?
		echo "## chunk $n rc=$rc"
		calls=$((calls + chunk)) n=$((n + 1)) seed=$((seed + 1))
	done
}
# Jobs in a loop: COMMAND... runs one batch; prints how many ran and failed.
soak_jobs() { # name command...
	local name=$1 runs=0 failed=0
	shift
	while soak_until; do
		"$@" >/dev/null 2>&1 || failed=$((failed + 1))
		runs=$((runs + 1))
	done
	echo "soak: $name ops=$runs failed=$failed"
}
soak_worker() { # name command...: in the background, output to its log
	local name=$1
	shift
	"$@" >"$soak_dir/$name.log" 2>&1 &
}
soak_summary() { # fuzz calls target per backend
	/usr/bin/python3 - "$soak_dir" "$1" <<'PY'
import collections, glob, os, re, sys
soak_dir, target = sys.argv[1], int(sys.argv[2])
bad = 0
for path in sorted(glob.glob(os.path.join(soak_dir, "fuzz-*.log"))):
    name = os.path.basename(path)[:-4]
    calls = collections.Counter()
    chunks = failed = 0
    ok, errnos = collections.Counter(), collections.defaultdict(collections.Counter)
    who = None
    why = False
    for line in open(path, errors="replace"):
        if m := re.match(r"## chunk \d+ (\w+) seed \d+ calls (\d+)", line):
            who = m.group(1)
            calls[who] += int(m.group(2))
            chunks += 1
        elif m := re.match(r"## chunk \d+ rc=(\d+)", line):
            failed += m.group(1) != "0"
        elif m := re.match(r"# ([A-Z_]+): (\d+) ok, ?(.*)", line):
            ok[m.group(1)] += int(m.group(2))
            for e in filter(None, m.group(3).split(", ")):
                errno, n = e.rsplit(" x", 1)
                errnos[m.group(1)][errno] += int(n)
        elif line.startswith("not ok"):
            print(f"# {name}: {line.strip()}")
            why = True
            continue
        elif why and line.startswith("# "):
            # The failed test's diagnostics, which the chunk prints after its TAP line.
            print(f"# {name}:   {line[2:].strip()}")
            continue
        why = False
    total = sum(calls.values())
    ioctls = sorted(set(ok) | set(errnos))
    print(f"soak: {name} calls={total} (root {calls['root']}, nobody {calls['nobody']}) "
          f"chunks={chunks} failed={failed} target={target}")
    print(f"soak: {name} coverage: {sum(ok[i] > 0 for i in ioctls)}/{len(ioctls)} succeeded, "
          f"{sum(bool(errnos[i]) for i in ioctls)}/{len(ioctls)} failed")
    for i in ioctls:
        es = ", ".join(f"{e} {n}" for e, n in sorted(errnos[i].items(), key=lambda x: -x[1]))
        print(f"#   {i}: {ok[i]} ok; {es}")
    bad += failed > 0 or chunks == 0
for path in sorted(glob.glob(os.path.join(soak_dir, "*.log"))):
    if os.path.basename(path).startswith("fuzz-"):
        continue
    lines = [l.strip() for l in open(path, errors="replace") if l.startswith("soak: ")]
    for line in lines:
        print(line)
    bad += not lines or any("FAILED" in l or re.search(r"failed=[1-9]", l) for l in lines)
sys.exit(1 if bad else 0)
PY
}
soak() { # minutes calls seed
	local minutes=$1 calls=$2 seed=$3 v0 v1 h0 h1 rc=0
	mkdir -p "$soak_dir"
	load vaccel && load hlx && load vgem || return 1
	v0=/dev/accel/accel0 v1=/dev/accel/accel1
	h0=$(hlx_nodes | sed -n 1p) h1=$(hlx_nodes | sed -n 2p)
	[ -n "$h0" ] && [ -n "$h1" ] || { echo "# soak: no two HLX devices"; return 1; }
	chmod 0666 /dev/accel/accel*
	echo "# soak: $minutes minutes; fuzzer $calls calls per backend from seed $seed on $v0 and $h0"
	soak_deadline=$((SECONDS + minutes * 60))
	mark "soak-load begin"
	soak_worker fuzz-vaccel soak_fuzz "$v0" "$calls" "$seed"
	soak_worker fuzz-hlx soak_fuzz "$h0" "$calls" "$seed"
	soak_worker submit-vaccel soak_jobs "submit $v1" xaccel run --device "$v1" --count 20
	soak_worker submit-hlx soak_jobs "submit $h1" xaccel hlx --device "$h1"
	local left=$((minutes * 60))
	soak_worker churn-vaccel "$bin/xaccel-soak" churn "$left" "$v1"
	soak_worker churn-hlx "$bin/xaccel-soak" churn "$left" "$h1"
	soak_worker pingpong-vaccel "$bin/xaccel-soak" pingpong "$left" "$v1" "$v0"
	soak_worker pingpong-hlx "$bin/xaccel-soak" pingpong "$left" "$h1" "$h0"
	soak_worker pingpong-hlx-vaccel "$bin/xaccel-soak" pingpong "$left" "$h1" "$v1"
	soak_worker hang-vaccel "$bin/xaccel-soak" hang "$left" "$v1"
	wait
	mark "soak-load end"
	soak_summary "$calls" || rc=1
	# Every client has closed: the modules reload SOAK_RELOADS times, with a client in between.
	mark "soak-reload begin"
	if reload_loop "$SOAK_RELOADS" >"$soak_dir/reload.out" 2>&1; then
		echo "soak: reload rounds=$SOAK_RELOADS failed=0"
	else
		echo "soak: reload rounds=$SOAK_RELOADS failed=1: $(tr '\n' ' ' <"$soak_dir/reload.out")"
		rc=1
	fi
	mark "soak-reload end"
	if [ -e "$KMEMLEAK" ]; then
		mark "soak-leak-scan begin"
		unload_all || rc=1
		kmemleak_scan >"$soak_dir/kmemleak.txt" || rc=1
		mark "soak-leak-scan end"
		echo "soak: leaks: $(head -1 "$soak_dir/kmemleak.txt")"
		sed -n '2,200p' "$soak_dir/kmemleak.txt" | sed 's/^/# /'
	else
		echo "soak: leaks: not scanned (not a sanitizer kernel)"
	fi
	return $rc
}

# A backend's section of `make check`, from its vm.conf (the one vm_conf_load read): it loads,
# its KUnit suites pass, its VM_DEVICE_TESTS and the conformance suite pass on each of its
# devices, it unloads; a backend built outside the tree (VM_EXTERNAL=1) built against another
# core build is refused at load, with the missing build-id symbol named.
backend_nodes() { # name -> its accel nodes, from QUERY
	xaccel --json list | NAME=$1 /usr/bin/python3 -c '
import json, os, sys
for r in json.load(sys.stdin):
    if r["device"]["backend"] == os.environ["NAME"]:
        print(r["path"])'
}
backend_load() {
	local entry
	for entry in "${VM_LOAD[@]}"; do
		# shellcheck disable=SC2086 # an entry is a module and its parameters
		load $entry || return 1
	done
	[ -n "$(backend_nodes "$VM_BACKEND")" ] || { echo "no $VM_BACKEND device"; return 1; }
}
backend_unload() {
	local i
	for ((i = ${#VM_LOAD[@]} - 1; i >= 0; i--)); do
		unload "${VM_LOAD[i]%% *}" || return 1
	done
	[ -z "$(backend_nodes "$VM_BACKEND")" ]
}
# The build of this backend against the other core (tools/vm/xaccel-dev external_backends):
# insmod must fail, the kernel must name the other core's build-id symbol, and nothing of the
# module may stay loaded.
backend_other_core_refused() {
	local ext module ko want out
	ext=$(dirname "$modroot")
	module=${VM_LOAD[0]%% *}
	ko=$ext/ext/$VM_NAME.other/$module.ko
	want="$module: Unknown symbol xaccel_core_build_$(cat "$ext/sdk-other/build-id")"
	[ -f "$ko" ] || { echo "no $ko"; return 1; }
	grep -q '^xaccel ' /proc/modules || load xaccel || return 1
	if out=$(insmod "$ko" 2>&1); then
		echo "a build against another core loaded"
		return 1
	fi
	echo "insmod: $out"
	dmesg | grep -qF "$want" || { echo "no '$want' in the kernel log"; return 1; }
	! grep -q "^$module " /proc/modules
}
backend_setup_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "$VM_BACKEND loads (${VM_LOAD[*]}), its devices appear" backend_load
	echo "1..$tap_n"
}
backend_teardown_tests() {
	tap_n=0
	echo "TAP version 13"
	tap "$VM_BACKEND unloads, its devices go" backend_unload
	if [ "$VM_EXTERNAL" = 1 ]; then
		tap "$VM_BACKEND built against another core build: refused at load, the symbol named" \
			backend_other_core_refused
	fi
	echo "1..$tap_n"
}
backend_check() {
	local name=$VM_BACKEND node test
	run_tap "backend-setup:$name" backend_setup_tests
	if [ ${#VM_KUNIT[@]} -gt 0 ]; then
		run_tap "kunit-$name" kunit_suites "${VM_KUNIT[@]}"
	fi
	for node in $(backend_nodes "$name"); do
		for test in "${VM_DEVICE_TESTS[@]}"; do
			run_tap "${test#xaccel-}:${node##*/}" "$bin/$test" "$node"
		done
		if [ -x "$bin/xaccel-conformance" ]; then
			run_tap "conformance:${node##*/}" "$bin/xaccel-conformance" "$node"
		fi
	done
	run_tap "backend-teardown:$name" backend_teardown_tests
}

# The core's suites (xaccel_*) and those of every backend loaded so far (their VM_KUNIT).
kunit_results() {
	local conf globs=('xaccel_*')
	for conf in $(vm_confs); do
		vm_conf_load "$conf"
		globs+=("${VM_KUNIT[@]}")
	done
	kunit_suites "${globs[@]}"
}

case "$mode" in
try:*)
	# `make try SCRIPT=...` (tools/vm/xaccel-dev): the backends loaded (VM_AUTOLOAD), then one
	# developer's script, its output between markers; the kernel log follows.
	load_backends
	echo "### xaccel-try: begin"
	mark "try begin"
	bash "${mode#try:}"
	echo "### xaccel-try: end rc=$?"
	mark "try end"
	echo "### xaccel-dmesg: begin"
	dmesg --color=never
	echo "### xaccel-dmesg: end"
	;;
run)
	load_backends
	echo "### xaccel-run: begin"
	xaccel list
	for dev in /dev/accel/accel*; do
		xaccel info --device "$dev"
	done
	xaccel mem
	echo "### xaccel-run: end"
	;;
check)
	run_tap vm-infra infra_tests
	run_tap kunit kunit_results
	# The HLX model, driven from userspace before any driver binds to it.
	run_tap hlx-model-smoke /usr/bin/python3 "$repo/tools/hlx-model/guest-smoke.py"
	# query, bo, exec, vm, devmem and the fuzzer run in conformance_all, on every backend.
	for dev in /dev/accel/accel*; do
		run_tap "selftest-userptr:${dev##*/}" "$bin/xaccel-selftest-userptr" "$dev"
		# Every DRM core ioctl number with hostile arguments, as root and as nobody (the
		# test makes the node 0666 for that and restores it): issue 14's filter.
		run_tap "selftest-drm-core:${dev##*/}" "$bin/xaccel-selftest-drm-core" "$dev"
	done
	run_tap selftest-c-query "$cbin/query_test" /dev/accel/accel0
	run_tap selftest-vaccel "$bin/xaccel-selftest-vaccel" /dev/accel/accel0 /dev/accel/accel1
	# Fault injection into every call of the uAPI (skipped without fail-nth), with imports
	# from the second device.
	run_tap selftest-faults:accel0 "$bin/xaccel-selftest-faults" --peer /dev/accel/accel1 \
		/dev/accel/accel0
	# Hostile teardown: SIGKILL with 10,000 jobs queued on both devices, a close racing with
	# SUBMIT, VM_BIND and an mmap fault, and an unload while clients submit.
	run_tap selftest-teardown-kill "$bin/xaccel-selftest-teardown" kill /dev/accel/accel0 \
		/dev/accel/accel1
	run_tap selftest-teardown-close-race "$bin/xaccel-selftest-teardown" close-race \
		/dev/accel/accel0
	run_tap selftest-teardown-unplug "$bin/xaccel-selftest-teardown" unplug \
		--unplug "modprobe -d $modroot -r vaccel" --replug "modprobe -d $modroot vaccel" \
		/dev/accel/accel0
	# dma-buf interop: udmabuf is built in, vgem is a module.
	load vgem
	run_tap selftest-dmabuf "$bin/xaccel-selftest-dmabuf" /dev/accel/accel0 /dev/accel/accel1
	run_tap selftest-exec-unplug "$bin/xaccel-selftest-exec-unplug" \
		--unplug "modprobe -d $modroot -r vaccel" /dev/accel/accel0
	load vaccel
	run_tap selftest-dmabuf-unplug "$bin/xaccel-selftest-dmabuf" \
		--unplug "modprobe -d $modroot -r vaccel" /dev/accel/accel0
	run_tap dmabuf-after-unplug dmabuf_after_unplug
	run_tap cli cli_tests
	run_tap module-lifecycle lifecycle_tests
	run_tap packet-latency latency_tests
	run_tap vm-mmu-setup mmu_setup_tests
	run_tap selftest-vm-mmu:accel0 "$bin/xaccel-selftest-vm" /dev/accel/accel0
	run_tap selftest-fuzz-mmu:accel0 "$bin/xaccel-selftest-fuzz" /dev/accel/accel0
	# An unprivileged process against read-only memory, other files and processes
	# (Documentation/security.rst), with VA operands checked by vaccel's software MMU.
	run_tap selftest-isolation-mmu:accel0 "$bin/xaccel-selftest-isolation" /dev/accel/accel0
	run_tap selftest-devmem-hidden:accel0 "$bin/xaccel-selftest-devmem" /dev/accel/accel0
	run_tap vm-mmu-teardown mmu_teardown_tests
	run_tap hlx-setup hlx_setup_tests
	run_tap kunit-hlx hlx_kunit
	# Every backend loaded now (vaccel, both HLX functions, any other) against the common uAPI.
	conformance_all
	for node in $(hlx_nodes); do
		run_tap "selftest-hlx:${node##*/}" "$bin/xaccel-selftest-hlx" "$node"
	done
	if node=$(hlx_node); then
		# PCI peer-to-peer between the two HLX devices, each way: HBM of one, exported as a
		# dma-buf, read and written by the other's DMA engine at its bus addresses.
		second=$(hlx_nodes | sed -n 2p)
		run_tap "selftest-hlx-p2p:${node##*/}+${second##*/}" "$bin/xaccel-selftest-hlx-p2p" \
			"$node" "$second"
		run_tap "selftest-hlx-p2p:${second##*/}+${node##*/}" "$bin/xaccel-selftest-hlx-p2p" \
			"$second" "$node"
		# dma-buf between devices of two backends: hlx <-> vaccel, both ways, and hlx with
		# vgem and udmabuf.
		run_tap "selftest-dmabuf:${node##*/}+accel0" "$bin/xaccel-selftest-dmabuf" \
			--devmem-rule migrate --second-not-p2p "$node" /dev/accel/accel0
		# The same isolation tests on both vaccel devices and an HLX (its MMU, its parser).
		run_tap "selftest-isolation:accel0+accel1+${node##*/}" \
			"$bin/xaccel-selftest-isolation" /dev/accel/accel0 /dev/accel/accel1 "$node"
		run_tap "selftest-drm-core:${node##*/}" "$bin/xaccel-selftest-drm-core" "$node"
		# Fault injection on hlx: HBM, its vendor queries, a LIN_DMA in a VM, and imports
		# from the other HLX function (peer-to-peer).
		run_tap "selftest-faults:${node##*/}" "$bin/xaccel-selftest-faults" --peer "$second" \
			"$node"
	fi
	run_tap hlx-teardown hlx_teardown_tests
	run_tap hlx-refuse-setup hlx_refuse_setup
	if node=$(hlx_node) && bdf=$(hlx_bdf "$node"); then
		run_tap "selftest-dmabuf-hbm-refuse:${node##*/}+accel0" "$bin/xaccel-selftest-dmabuf" \
			--devmem-rule refuse --second-not-p2p "$node" /dev/accel/accel0
		# HBM exported (to vgem: migrated, hbm_refuse=0) and held while the function unbinds.
		unload hlx && load hlx && node=$(hlx_node) && bdf=$(hlx_bdf "$node")
		# The exporter's function unbinds while the other HLX has its HBM bound in a VM,
		# peer-to-peer: the importer's page tables lose it. Then the function binds again.
		second=$(hlx_nodes | sed -n 2p)
		run_tap "selftest-hlx-p2p-revoke:${node##*/}+${second##*/}" \
			"$bin/xaccel-selftest-hlx-p2p" \
			--unplug "echo $bdf >/sys/bus/pci/drivers/hlx/unbind" "$node" "$second"
		run_tap hlx-p2p-revoke-teardown hlx_p2p_revoke_teardown "$bdf"
		node=$(hlx_node) && bdf=$(hlx_bdf "$node")
		# The function unbinds while clients submit and churn BOs, then binds again.
		run_tap "selftest-teardown-unplug:${node##*/}" "$bin/xaccel-selftest-teardown" unplug \
			--unplug "echo $bdf >/sys/bus/pci/drivers/hlx/unbind" \
			--replug "echo $bdf >/sys/bus/pci/drivers/hlx/bind" "$node"
		node=$(hlx_node) && bdf=$(hlx_bdf "$node")
		run_tap "selftest-dmabuf-hbm-unplug:${node##*/}" "$bin/xaccel-selftest-dmabuf" \
			--unplug "echo $bdf >/sys/bus/pci/drivers/hlx/unbind" "$node"
		run_tap hlx-refuse-teardown hlx_refuse_teardown "$bdf"
	fi
	run_tap devmem-refuse-setup devmem_rule_setup 1
	run_tap selftest-dmabuf-devmem-refuse "$bin/xaccel-selftest-dmabuf" --devmem-rule refuse \
		/dev/accel/accel0 /dev/accel/accel1
	run_tap devmem-migrate-setup devmem_rule_setup 0
	run_tap selftest-dmabuf-devmem-migrate "$bin/xaccel-selftest-dmabuf" --devmem-rule migrate \
		/dev/accel/accel0 /dev/accel/accel1
	run_tap devmem-rule-teardown devmem_rule_teardown
	# Every backend the core's tests above do not cover (VM_CORE_TESTS=0: the sample, a new
	# backend), from its vm.conf alone.
	for conf in $(vm_confs); do
		vm_conf_load "$conf"
		[ "$VM_CORE_TESTS" = 1 ] || backend_check
	done
	run_tap module-reload reload_tests
	# Last: every client has closed; unload everything, then look for leaks.
	run_tap kmemleak kmemleak_tests
	echo "### xaccel-dmesg: begin"
	dmesg --color=never
	echo "### xaccel-dmesg: end"
	;;
soak:*)
	# `make soak`: soak:MINUTES:CALLS:SEED:RELOADS (tools/vm/xaccel-dev).
	IFS=: read -r _ minutes calls seed reloads <<<"$mode"
	SOAK_RELOADS=${reloads:-$SOAK_RELOADS}
	echo "### xaccel-soak: begin"
	soak "$minutes" "$calls" "$seed"
	echo "### xaccel-soak: end rc=$?"
	echo "### xaccel-dmesg: begin"
	dmesg --color=never
	echo "### xaccel-dmesg: end"
	;;
bench)
	# One boot, both sides: xaccel (vaccel's system region) and the C anchors.
	mark "bench begin"
	echo "### xaccel-bench: begin"
	sched_bench
	sched_rc=$?
	load vaccel && load vgem
	# The string instructions the kernel's memcpy/memmove pick (copy-64m depends on them).
	echo "# cpu: $(grep -m1 -ow -e erms -e fsrm /proc/cpuinfo | sort -u | tr '\n' ' ')"
	xaccel-bench --device /dev/accel/accel0
	rc=$?
	[ "$sched_rc" -eq 0 ] || rc=$sched_rc
	echo "### xaccel-bench: end rc=$rc"
	mark "bench end"
	echo "### xaccel-dmesg: begin"
	dmesg --color=never
	echo "### xaccel-dmesg: end"
	;;
profile:*)
	# perf over one benchmark case (tools/vm/xaccel-dev profile): the whole guest, cpu-clock
	# samples with call graphs; the report names kernel and module functions (kallsyms).
	what=${mode#profile:}
	perf=$(command -v perf) ||
		{ echo "### xaccel-profile: no perf in the guest (install Debian's linux-perf)"; exit 1; }
	record() { "$perf" record -q -a -g -F 20000 -e cpu-clock -o /tmp/xaccel.perf -- "$@"; }
	echo "### xaccel-profile: begin"
	case $what in
	sched)
		# Only the benchmark: no KUnit suite of xaccel's runs at load (see sched_bench).
		printf %s drm_sched_scheduler_overhead_tests >/sys/module/kunit/parameters/filter_glob
		record modprobe -d "$modroot" xaccel sched_bench=1
		;;
	*)
		load vaccel && load vgem
		record xaccel-bench --device /dev/accel/accel0 --only "$what" --rounds 10
		;;
	esac
	"$perf" report -i /tmp/xaccel.perf --no-children --sort sym --stdio -g none 2>/dev/null |
		grep -v '^$' | grep -v '^#' | head -60
	# Every call chain with its sample count, root first ("folded", as flame graph tools take
	# them), so that time spent with interrupts off (sampled where they come back on) can be
	# put on the callers.
	echo "## folded"
	"$perf" script -i /tmp/xaccel.perf -F comm,ip,sym 2>/dev/null | awk '
		function flush() { if (n) { s = comm; for (i = n; i >= 1; i--) s = s ";" f[i]; c[s]++ } n = 0 }
		/^[^ \t]/ { flush(); comm = $1; next }
		/^[ \t]+[0-9a-f]+ / { n++; f[n] = ($2 == "[unknown]") ? "0x" $1 : $2; next }
		/^$/ { flush() }
		END { flush(); for (s in c) if (c[s] > 1) print c[s], s }' | sort -rn | head -3000
	# Module functions, which this perf may not name itself.
	echo "## module symbols"
	grep -E '\[(xaccel|vaccel|hlx)\]$' /proc/kallsyms | grep -E ' [tT] '
	echo "### xaccel-profile: end"
	;;
esac
echo "### xaccel-guest: done"
