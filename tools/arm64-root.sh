# Debian arm64 root filesystems run under qemu-user-static, for tools/bundle (evdev built for arm64) and
# tools/arm64-check (the bundle installed and tried on an emulated Pi). Sourced, not run; needs root.
#
# Each suite's root is made once with debootstrap and kept under $ARM64_CACHE (outside the repository);
# work happens in copies of it, so every check starts from the same fresh system.

ARM64_CACHE=${ARM64_CACHE:-/var/cache/entrance-appliance}
ARM64_MIRROR=${ARM64_MIRROR:-http://deb.debian.org/debian}

# debootstrap and qemu-user-static on the host, and the kernel told to run arm64 programs with qemu.
arm64_host_tools() {
	command -v debootstrap >/dev/null && [ -x /usr/bin/qemu-aarch64-static ] && command -v update-binfmts >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap qemu-user-static binfmt-support >&2
	[ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >&2
}

# pip's options to fetch wheels for aarch64 and cpXY (e.g. cp311): those made for the Pi's glibc
# (bookworm 2.36, trixie 2.41) or an older one, and pure Python.
arm64_pip_target() {
	options="--only-binary=:all: --implementation cp --python-version $(echo "${1#cp}" | sed 's/^3/3./')"
	options="$options --platform linux_aarch64"
	for glibc in 2014 _2_17 _2_24 _2_26 _2_27 _2_28 _2_31 _2_34 _2_35 _2_36; do
		options="$options --platform manylinux${glibc}_aarch64"
	done
	echo "$options"
}

# The pristine root of SUITE (bookworm: Python 3.11, trixie: 3.13), made when missing; prints its path.
# A fresh Pi OS Lite has Python and its venv module; so does this root, and nothing more.
arm64_pristine() {
	pristine=$ARM64_CACHE/arm64-root/$1
	if [ ! -e "$pristine/.bootstrapped" ]; then
		mkdir -p "$ARM64_CACHE/arm64-root"
		rm -rf "$pristine.partial"
		echo "arm64: debootstrap $1 (about 15 minutes under emulation, once)" >&2
		debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv "$1" "$pristine.partial" \
			"$ARM64_MIRROR" >"$pristine.log" 2>&1 || {
			tail -n 20 "$pristine.log" >&2
			return 1
		}
		touch "$pristine.partial/.bootstrapped"
		mv "$pristine.partial" "$pristine"
	fi
	echo "$pristine"
}

# A copy of SUITE's pristine root named NAME, made anew; prints its path.
arm64_copy() {
	copy_of=$(arm64_pristine "$1") || return 1
	copy=$ARM64_CACHE/arm64-work/$1-$2
	arm64_unmount "$copy"
	rm -rf "$copy"
	mkdir -p "$ARM64_CACHE/arm64-work"
	cp -a "$copy_of" "$copy"
	echo "$copy"
}

# Runs a command in ROOT with /proc, /sys, /dev and the host's DNS; apt's downloads are kept in the cache.
arm64_run() {
	chroot_dir=$1
	shift
	arm64_mount "$chroot_dir"
	status=0
	chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@" || status=$?
	arm64_unmount "$chroot_dir"
	return $status
}

# The same with the network cut: only loopback, as in an office that lets no device reach the internet.
arm64_run_offline() {
	chroot_dir=$1
	shift
	arm64_mount "$chroot_dir"
	status=0
	unshare -n sh -c 'ip link set lo up 2>/dev/null || true; exec "$@"' sh \
		chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@" || status=$?
	arm64_unmount "$chroot_dir"
	return $status
}

arm64_mount() {
	suite=$(sed -n 's/^VERSION_CODENAME=//p' "$1/etc/os-release")
	mkdir -p "$ARM64_CACHE/apt-archives/$suite/partial"
	mountpoint -q "$1/proc" || mount -t proc proc "$1/proc"
	mountpoint -q "$1/sys" || mount --rbind /sys "$1/sys"
	mountpoint -q "$1/dev" || mount --rbind /dev "$1/dev"
	mountpoint -q "$1/var/cache/apt/archives" || mount --bind "$ARM64_CACHE/apt-archives/$suite" "$1/var/cache/apt/archives"
	cp /etc/resolv.conf "$1/etc/resolv.conf"
}

arm64_unmount() {
	for point in var/cache/apt/archives dev sys proc; do
		mountpoint -q "$1/$point" 2>/dev/null && umount -R "$1/$point"
	done
	return 0
}
