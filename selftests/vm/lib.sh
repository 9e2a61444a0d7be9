# SPDX-License-Identifier: GPL-2.0
# Shared by the test-VM scripts: sourced, not run.  Everything a fresh
# Debian 12 machine lacks is installed from Debian's archive on first use;
# downloads and the debug kernel are cached in $MVM_CACHE, outside the tree.

MVM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MVM_CACHE=${MVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mvm}
MVM_BUILD=${MVM_BUILD:-$MVM_TOP/build}
mkdir -p "$MVM_CACHE" "$MVM_BUILD"

log() { printf '%s\n' "mvm: $*" >&2; }
die() { log "$*"; exit 1; }

_apt_updated=
apt_update_once() {
	[ -n "$_apt_updated" ] && return 0
	log "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	_apt_updated=1
}

# need_pkgs PKG...: install whichever of the Debian packages are missing.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
	# A new machine has empty package lists: update before the first look-up.
	if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
		apt_update_once
	fi
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2 ||
		{ apt_update_once && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } ||
		die "cannot install ${missing[*]}"
}

# The packages every lane needs on the host.
need_host_pkgs() {
	need_pkgs gcc make libc6-dev linux-libc-dev kmod cpio gzip xz-utils \
		busybox-static qemu-system-x86 bsdutils
}

# Depends: line of a package, first match of a pattern.
_apt_dep() {
	apt-cache depends "$1" 2>/dev/null | sed -n "s/^ *Depends: \\($2\\)\$/\\1/p" | head -n 1
}

# kernel_abi SERIES: the ABI name (uname -r) of Debian's current kernel of a
# series, taken from the meta packages so it follows Debian's ABI bumps.
kernel_abi() {
	local pkg
	apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt_update_once
	case $1 in
	6.1)
		pkg=$(_apt_dep linux-image-amd64 'linux-image-6\.1\.[^ ]*-amd64')
		echo "${pkg#linux-image-}" ;;
	6.12)
		pkg=$(_apt_dep linux-image-6.12-amd64-dbg 'linux-image-6\.12\.[^ ]*-amd64-dbg')
		pkg=${pkg#linux-image-}
		echo "${pkg%-dbg}" ;;
	*) die "unknown kernel series $1" ;;
	esac
}

# kernel_tree ABI: unpacks Debian's image package of that ABI into the cache
# (no install on this machine) and prints the directory: boot/vmlinuz-ABI
# and lib/modules/ABI.
kernel_tree() {
	local abi=$1 dir="$MVM_CACHE/kernel-$1" tmp pkg
	if [ ! -f "$dir/boot/vmlinuz-$abi" ]; then
		tmp=$(mktemp -d "$MVM_CACHE/.dl.XXXXXX")
		pkg=linux-image-$abi
		apt-cache show "$pkg" >/dev/null 2>&1 || pkg=linux-image-$abi-unsigned
		log "downloading $pkg"
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2) ||
			{ apt_update_once; (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2); } ||
			die "cannot download $pkg"
		mkdir -p "$tmp/root"
		dpkg-deb -x "$tmp"/*.deb "$tmp/root"
		rm -rf "$dir"
		mv "$tmp/root" "$dir"
		rm -rf "$tmp"
	fi
	echo "$dir"
}

# kernel_headers ABI: installs Debian's headers package, prints its KDIR.
kernel_headers() {
	need_pkgs "linux-headers-$1"
	echo "/usr/src/linux-headers-$1"
}

# build_module KDIR NAME [MAKE ARGS...]: builds mvm.ko against KDIR in a copy
# of the sources under build/NAME (kbuild builds in the source directory,
# and each kernel needs its own objects); prints the .ko path.
build_module() {
	local kdir=$1 name=$2 out="$MVM_BUILD/$2"
	shift 2
	mkdir -p "$out"
	cp -a "$MVM_TOP/Kbuild" "$MVM_TOP/module" "$MVM_TOP/uapi" "$out/"
	make -s -C "$kdir" M="$out" W=1 "$@" modules >&2 ||
		die "module build against $kdir failed"
	echo "$out/module/mvm.ko"
}
