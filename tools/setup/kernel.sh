#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#! Fetches Debian's Linux 7.3 source, configures the xaccel test kernel from
#! tinyconfig plus tools/vm/kernel.config, and builds it incrementally.
#! Prints the build directory on stdout.
set -euo pipefail
. "$(dirname "$0")/env.sh"

# The Debian archive this machine already uses: taken from its own apt
# configuration so no mirror is written down here.
debian_mirror() {
	local uri
	uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
		awk '$3 == "deb" && $2 !~ /security/ && $1 ~ /debian\/$/ {print $1; exit}')
	[ -n "$uri" ] || uri=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ && $2 !~ /security/ {print $2; exit}' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null)
	[ -n "$uri" ] || xaccel_die "no Debian archive found in this machine's apt configuration"
	echo "${uri%/}"
}

fetch_source() {
	local apt=$XACCEL_CACHE/apt
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$XACCEL_CACHE/src"
	: >"$apt/status"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $XACCEL_KERNEL_SUITE main" >"$apt/sources.list"
	local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "Dir::State::Status=$apt/status"
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
	apt-get "${opts[@]}" update >&2
	local version
	if apt-cache "${opts[@]}" madison "$XACCEL_KERNEL_PKG" | awk '{print $3}' | grep -qxF "$XACCEL_KERNEL_PIN"; then
		version=$XACCEL_KERNEL_PIN
	else
		version=$(apt-cache "${opts[@]}" madison "$XACCEL_KERNEL_PKG" | awk '{print $3; exit}')
		[ -n "$version" ] || xaccel_die "$XACCEL_KERNEL_PKG is not in $XACCEL_KERNEL_SUITE"
		xaccel_log "pinned $XACCEL_KERNEL_PIN has gone; using $version"
	fi
	local dir=$XACCEL_CACHE/src/linux-$version
	if [ ! -f "$dir/.xaccel-extracted" ]; then
		xaccel_log "fetching $XACCEL_KERNEL_PKG $version"
		(cd "$apt/archives" && apt-get "${opts[@]}" download "$XACCEL_KERNEL_PKG=$version" >&2)
		rm -rf "$dir" "$dir.tmp" && mkdir -p "$dir.tmp"
		dpkg-deb --fsys-tarfile "$apt/archives/${XACCEL_KERNEL_PKG}_${version/:/%3a}_all.deb" |
			tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
			tar -xJ -C "$dir.tmp" --strip-components=1
		touch "$dir.tmp/.xaccel-extracted"
		mv "$dir.tmp" "$dir"
		rm -f "$apt/archives/"*.deb
	fi
	echo "$dir"
}

# Newest extracted source, or a fresh fetch when none is there yet.
source_dir() {
	local have
	have=$(ls -d "$XACCEL_CACHE"/src/linux-*/.xaccel-extracted 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$have" ] && [ -z "${XACCEL_REFETCH:-}" ]; then dirname "$have"; else fetch_source; fi
}

# Graft xaccel's Kconfig into the tree, as a user dropping xaccel into drivers/accel would.
graft_kconfig() {
	local src=$1
	mkdir -p "$src/drivers/accel/xaccel"
	cmp -s "$XACCEL_ROOT/Kconfig" "$src/drivers/accel/xaccel/Kconfig" ||
		cp "$XACCEL_ROOT/Kconfig" "$src/drivers/accel/xaccel/Kconfig"
	grep -q 'drivers/accel/xaccel/Kconfig' "$src/drivers/accel/Kconfig" ||
		sed -i '/^source "drivers\/accel\/rocket\/Kconfig"/a source "drivers/accel/xaccel/Kconfig"' \
			"$src/drivers/accel/Kconfig"
	grep -q 'drivers/accel/xaccel/Kconfig' "$src/drivers/accel/Kconfig" ||
		xaccel_die "could not graft xaccel's Kconfig into $src"
}

# The configuration fragments of the kernel flavour $XACCEL_KERNEL_FLAVOR: `check` (the
# default, `make check` and `make soak`: tools/vm/kernel.config, debug checks on, then
# tools/vm/kernel-sanitizers.config), `debug` (tools/vm/kernel.config alone: a quicker kernel
# for development loops), `bench` (tools/vm/kernel.config, then tools/vm/kernel-bench.config turning the costly debug
# checks off) or `profile` (bench plus kallsyms). Later fragments win.
fragments() {
	echo "$XACCEL_ROOT/tools/vm/kernel.config"
	case ${XACCEL_KERNEL_FLAVOR:-check} in
	check) echo "$XACCEL_ROOT/tools/vm/kernel-sanitizers.config" ;;
	debug) ;;
	bench) echo "$XACCEL_ROOT/tools/vm/kernel-bench.config" ;;
	profile) printf '%s\n' "$XACCEL_ROOT/tools/vm/kernel-bench.config" \
		"$XACCEL_ROOT/tools/vm/kernel-profile.config" ;;
	*) xaccel_die "unknown kernel flavour '$XACCEL_KERNEL_FLAVOR' (check, debug, bench or profile)" ;;
	esac
}

# The flavour's extra make arguments, one a line: the `check` kernel has KASAN and Rust, which
# need an LLVM build (`RUST depends on !KASAN || CC_IS_CLANG`); `bench` and `profile` are built
# with GCC. Written to the build directory as .xaccel-make, which every later make against it
# (the modules, clippy) passes too.
make_args() {
	case ${XACCEL_KERNEL_FLAVOR:-check} in
	check) echo "LLVM=-$XACCEL_LLVM" ;;
	esac
}

configure() {
	local src=$1 out=$2
	[ -f "$out/.config" ] && [ -f "$out/.xaccel-configured" ] && return 0
	xaccel_log "configuring $out"
	mkdir -p "$out"
	make -s -C "$src" O="$out" "${kargs[@]}" tinyconfig >&2
	# shellcheck disable=SC2046 # one path per line, without spaces
	(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" .config $(fragments) >/dev/null)
	make -s -C "$src" O="$out" "${kargs[@]}" olddefconfig >&2
	# Every option the fragments ask for must have taken (the last word on an option wins).
	local bad=0 line key want got
	declare -A wanted=()
	while IFS= read -r line; do
		[[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
		wanted[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	done < <(cat $(fragments))
	for key in "${!wanted[@]}"; do
		line=$key=${wanted[$key]}
		[[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
		key=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		got=$(grep -E "^$key=" "$out/.config" | cut -d= -f2- || true)
		[ "$want" = n ] && [ -z "$got" ] && continue
		if [ "$got" != "$want" ]; then
			xaccel_log "config: $key wanted $want, got ${got:-unset}"
			bad=1
		fi
	done
	((bad == 0)) || xaccel_die "the test kernel configuration did not take (see above)"
	touch "$out/.xaccel-configured"
}

main() {
	local src version hash out kargs
	# Several checkouts may share the cache: one kernel build at a time.
	mkdir -p "$XACCEL_CACHE"
	exec 9>"$XACCEL_CACHE/.kernel.lock"
	flock 9
	src=$(source_dir)
	version=${src##*/linux-}
	graft_kconfig "$src"
	mapfile -t kargs < <(make_args)
	# The key covers the make arguments too (none for a GCC build, so its key is unchanged).
	# shellcheck disable=SC2046 # one path per line, without spaces
	hash=$({ cat $(fragments) "$XACCEL_ROOT/Kconfig"; ((${#kargs[@]} == 0)) ||
		printf '%s\n' "${kargs[@]}"; } | sha256sum | cut -c1-12)
	out=$XACCEL_CACHE/build/$version-$hash
	configure "$src" "$out"
	if ((${#kargs[@]})); then printf '%s\n' "${kargs[@]}" >"$out/.xaccel-make"; else : >"$out/.xaccel-make"; fi
	xaccel_log "building kernel $version ($out${kargs[*]:+, ${kargs[*]}})"
	make -s -C "$src" O="$out" "${kargs[@]}" -j"$(nproc)" bzImage modules >&2
	# Stage the kernel's own modules (vgem, drm-sched-tests, ...) for `modprobe -d`.
	if [ ! -f "$out/modroot/.stamp" ] || [ -n "$(find "$out" -name '*.ko' -newer "$out/modroot/.stamp" -print -quit)" ]; then
		rm -rf "$out/modroot.tmp"
		make -s -C "$src" O="$out" "${kargs[@]}" INSTALL_MOD_PATH="$out/modroot.tmp" modules_install >&2
		touch "$out/modroot.tmp/.stamp"
		rm -rf "$out/modroot" && mv "$out/modroot.tmp" "$out/modroot"
	fi
	echo "$version" >"$out/.xaccel-source-version"
	echo "$out"
}

main "$@"
