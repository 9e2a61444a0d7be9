# SPDX-License-Identifier: GPL-2.0
# Shared by the test-VM scripts: sourced, not run.  Everything a fresh
# Debian 12 machine lacks is installed from Debian's archive on first use;
# downloads and the debug kernel are cached in $MVM_CACHE, outside the tree.

MVM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MVM_CACHE=${MVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mvm}
MVM_BUILD=${MVM_BUILD:-$MVM_TOP/build}
mkdir -p "$MVM_CACHE" "$MVM_BUILD"

log() { printf '%s\n' "mvm: $*" >&2; }
# die MSG: say why and stop.  The message is also kept in $MVM_ERRFILE, so
# that a lane whose set-up died in a subshell can name the reason in its
# KTAP line (lane_unavailable in run.sh).
export MVM_ERRFILE=$MVM_BUILD/.last-error
die() { log "$*"; printf '%s\n' "$*" >> "$MVM_ERRFILE"; exit 1; }

# apt's package lists are there (Debian keeps them compressed: *_Packages.lz4).
apt_lists_present() {
	compgen -G '/var/lib/apt/lists/*_Packages*' > /dev/null
}

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
	apt_lists_present || apt_update_once
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

# --- Debian's kernels ---------------------------------------------------------
#
# The archive moves under the project: ABIs bump every few weeks, a signed
# image is published days after its unsigned build, old ABIs vanish, and a
# name can be a virtual package (provided by the -unsigned image) that
# apt-cache show finds but nothing can download.  So a kernel is chosen by
# what apt could download now: an ABI whose headers and an image (signed,
# else unsigned) both have a candidate version.  The current ABI comes from
# the series' meta packages (the newest any of them names); if it cannot be
# had, the newest ABI of the series that can, said in one line.

# Meta packages whose dependencies name a series' current ABI, and the shape
# of that series' ABI names (uname -r).
declare -A KERNEL_METAS=(
	[6.1]="linux-image-amd64 linux-image-amd64-dbg"
	[6.12]="linux-image-6.12-amd64 linux-image-6.12-amd64-dbg")
declare -A KERNEL_ABI_RE=(
	[6.1]='6\.1\.0-[0-9]+-amd64'
	[6.12]='6\.12\.[0-9]+\+deb[0-9]+-amd64')

# apt_candidate PKG: the version apt would download, or nothing: a virtual
# name, or one whose versions are all gone, has "Candidate: (none)".
apt_candidate() {
	local c
	c=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)
	[ -n "$c" ] && [ "$c" != "(none)" ] && echo "$c"
}

# _kernel_current SERIES: the newest ABI the series' meta packages name.
_kernel_current() {
	local re=${KERNEL_ABI_RE[$1]} m
	for m in ${KERNEL_METAS[$1]}; do
		apt-cache depends "$m" 2>/dev/null |
			sed -nE "s/^ *Depends: linux-image-($re)(-dbg|-unsigned)?\$/\\1/p"
	done | sort -V | tail -n 1
}

# _kernel_all SERIES: every ABI of the series the lists name headers for,
# newest first.
_kernel_all() {
	local re=${KERNEL_ABI_RE[$1]}
	apt-cache pkgnames "linux-headers-$1." 2>/dev/null |
		sed -nE "s/^linux-headers-($re)\$/\\1/p" | sort -uVr
}

# _kernel_pick ABI: sets KERNEL_PKG and KERNEL_VER to the image of ABI that
# can be downloaded (signed first), or returns 1 with the reason in
# KERNEL_WHY.
_kernel_pick() {
	local p v
	if [ -z "$(apt_candidate "linux-headers-$1")" ]; then
		KERNEL_WHY="no linux-headers-$1 to download"
		return 1
	fi
	for p in "linux-image-$1" "linux-image-$1-unsigned"; do
		v=$(apt_candidate "$p") || continue
		KERNEL_PKG=$p KERNEL_VER=$v
		return 0
	done
	KERNEL_WHY="neither linux-image-$1 nor linux-image-$1-unsigned can be downloaded"
	return 1
}

# resolve_kernel SERIES: sets KERNEL_ABI, KERNEL_PKG and KERNEL_VER, or
# returns 1 with one line in KERNEL_ERR.  Resolved once a run per series,
# after one apt-get update, so that it follows today's archive.
declare -A _kernel_done=()
resolve_kernel() {
	local s=$1 cur abi= a why=
	[ -n "${KERNEL_ABI_RE[$s]:-}" ] || { KERNEL_ERR="unknown kernel series $s"; return 1; }
	if [ -n "${_kernel_done[$s]:-}" ]; then
		read -r KERNEL_ABI KERNEL_PKG KERNEL_VER KERNEL_ERR <<< "${_kernel_done[$s]}"
		[ "$KERNEL_ABI" != - ]
		return
	fi
	if [ -z "$_apt_updated" ]; then
		# Stale lists name what the archive has since dropped; without a
		# network, resolve from the lists there are.
		if apt-get update -qq >&2; then
			_apt_updated=1
		else
			log "apt-get update failed; resolving from the package lists there are"
		fi
	fi
	cur=$(_kernel_current "$s")
	if [ -z "$cur" ]; then
		why="no meta package (${KERNEL_METAS[$s]// /, }) names a current ABI"
	elif _kernel_pick "$cur"; then
		abi=$cur
	else
		why="current ABI $cur: $KERNEL_WHY"
	fi
	if [ -z "$abi" ]; then
		for a in $(_kernel_all "$s"); do
			[ "$a" = "$cur" ] && continue
			_kernel_pick "$a" || continue
			abi=$a
			log "Linux $s: $why; using $a ($KERNEL_PKG $KERNEL_VER)"
			break
		done
	fi
	if [ -z "$abi" ]; then
		KERNEL_ABI=- KERNEL_PKG=- KERNEL_VER=-
		KERNEL_ERR="no Debian $s kernel can be downloaded with its headers ($why)"
		_kernel_done[$s]="- - - $KERNEL_ERR"
		return 1
	fi
	KERNEL_ABI=$abi KERNEL_ERR=
	_kernel_done[$s]="$KERNEL_ABI $KERNEL_PKG $KERNEL_VER"
}

# kernel_tree ABI PKG: unpacks Debian's image package PKG of that ABI into
# the cache (no install on this machine) and prints the directory:
# boot/vmlinuz-ABI and lib/modules/ABI.
kernel_tree() {
	local abi=$1 pkg=$2 dir="$MVM_CACHE/kernel-$1" tmp
	if [ ! -f "$dir/boot/vmlinuz-$abi" ]; then
		tmp=$(mktemp -d "$MVM_CACHE/.dl.XXXXXX") || die "cannot write to $MVM_CACHE"
		log "downloading $pkg"
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2) ||
			{ rm -rf "$tmp"; die "cannot download $pkg"; }
		mkdir -p "$tmp/root"
		dpkg-deb -x "$tmp"/*.deb "$tmp/root" && [ -f "$tmp/root/boot/vmlinuz-$abi" ] ||
			{ rm -rf "$tmp"; die "$pkg has no boot/vmlinuz-$abi"; }
		rm -rf "$dir"
		mv "$tmp/root" "$dir" || die "cannot move $pkg into $MVM_CACHE"
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
	cp -a "$MVM_TOP/Kbuild" "$MVM_TOP/VERSION" "$MVM_TOP/module" "$MVM_TOP/uapi" "$out/"
	make -s -C "$kdir" M="$out" W=1 "$@" modules >&2 ||
		die "module build against $kdir failed"
	echo "$out/module/mvm.ko"
}
