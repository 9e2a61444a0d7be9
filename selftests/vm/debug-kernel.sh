#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once, cached) the debug guest kernel for the KASAN/lockdep/kmemleak
# test lane: Debian's linux-source-6.1, `make tinyconfig` + debug.config.
#
# usage: debug-kernel.sh
# stdout: one line, the absolute path of the build directory (O=DIR).  It
#         holds arch/x86/boot/bzImage and works as KDIR for external modules:
#             make -C DIR M=/path/to/module modules
# stderr: progress; the full make output goes to a log file next to the
#         cache entry, whose tail is printed if the build fails.
#
# Cache: ${MVM_CACHE:-$HOME/.cache/mvm}/
#          linux-source-6.1/        the extracted source tarball (shared)
#          debug-kernel-<key>/      finished build trees
#          debug-kernel-<key>.log   make output of the last build of <key>
#        <key> hashes the linux-source-6.1 package version, debug.config,
#        and the gcc and binutils versions.  A build runs in a temporary
#        directory that is renamed into place only once it is complete.
#        Delete it to free the space (source 1.5 GiB, a build ~300 MiB).
#
# Debian packages: linux-source-6.1 build-essential flex bison bc libelf-dev
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/debug.config
pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz

# The lanes show the reason in their KTAP line ($MVM_ERRFILE, lib.sh).
die() {
	echo "debug-kernel.sh: $*" >&2
	[ -n "${MVM_ERRFILE:-}" ] && echo "debug kernel: $*" >> "$MVM_ERRFILE"
	exit 1
}

# Keep the caller's make/kbuild settings (say, when run from a Makefile)
# out of the kernel build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS \
	ARCH SRCARCH CROSS_COMPILE LLVM KBUILD_OUTPUT KBUILD_EXTMOD \
	KCONFIG_CONFIG KCONFIG_ALLCONFIG O M V W C

[ -r "$fragment" ] || die "missing $fragment"
[ -r "$tarball" ] || die "missing $tarball (apt-get install $pkg)"
missing=
for tool in make gcc ld flex bison bc perl tar xz sha256sum flock; do
	command -v "$tool" >/dev/null || missing+=" $tool"
done
# objtool (UNWINDER_ORC) needs libelf
[ -e /usr/include/gelf.h ] || missing+=" libelf-dev"
[ -z "$missing" ] || die "missing build tools:$missing (build-essential flex bison bc libelf-dev)"

version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) ||
	die "$pkg is not installed"
[ -n "$version" ] || die "$pkg is not installed"
gcc_version=$(gcc --version)
gcc_version=${gcc_version%%$'\n'*}
ld_version=$(ld --version)
ld_version=${ld_version%%$'\n'*}
key=$({
	printf '%s\n' "$pkg $version" "$gcc_version" "$ld_version"
	cat -- "$fragment"
} | sha256sum)
key=${key:0:16}

cache=$(realpath -m -- "${MVM_CACHE:-$HOME/.cache/mvm}")
out=$cache/debug-kernel-$key
log=$out.log
src=$cache/$pkg

done_marker() {
	[ -f "$1/arch/x86/boot/bzImage" ] && [ -f "$1/Module.symvers" ]
}

if done_marker "$out"; then
	echo "$out"
	exit 0
fi

mkdir -p -- "$cache"
# One build at a time; a second caller waits, then finds the result.
exec 9>"$cache/debug-kernel.lock"
if ! flock -n 9; then
	echo "debug-kernel.sh: waiting for another build to finish" >&2
	flock 9
fi
if done_marker "$out"; then
	echo "$out"
	exit 0
fi

# Leftovers of interrupted runs (we hold the lock: nobody is using them).
rm -rf -- "$cache"/debug-kernel-*.tmp "$cache"/$pkg.tmp

tmp=
cleanup() {
	[ -z "$tmp" ] || rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The source tree, extracted once per package version.
stamp=$src/.mvm-source-version
if [ ! -f "$stamp" ] || [ "$(cat -- "$stamp")" != "$version" ]; then
	if [ -e "$src" ]; then
		# Build trees include the old source's Makefile: drop them too.
		echo "debug-kernel.sh: $pkg changed, removing the old source and builds" >&2
		rm -rf -- "$src" "$cache"/debug-kernel-*/
	fi
	echo "debug-kernel.sh: extracting $tarball" >&2
	tmp=$cache/$pkg.tmp
	mkdir -- "$tmp"
	tar -xf "$tarball" -C "$tmp"
	[ -f "$tmp/$pkg/Makefile" ] || die "$tarball has no $pkg/Makefile"
	printf '%s\n' "$version" >"$tmp/$pkg/.mvm-source-version"
	mv -T -- "$tmp/$pkg" "$src"
	rm -rf -- "$tmp"
	tmp=
fi

tmp=$out.tmp
mkdir -- "$tmp"
: >"$log"
rm -f -- "$out.config.rejected"

fail() {
	{
		echo "debug-kernel.sh: $*; last lines of $log:"
		tail -n 40 -- "$log"
		echo "debug-kernel.sh: $*; full log: $log"
	} >&2
	exit 1
}

kmake() {
	make -C "$src" O="$tmp" "$@" >>"$log" 2>&1
}

start=$SECONDS
echo "debug-kernel.sh: configuring in $tmp (log: $log)" >&2
kmake tinyconfig || fail "make tinyconfig failed"
"$src/scripts/kconfig/merge_config.sh" -m -O "$tmp" \
	"$tmp/.config" "$fragment" >>"$log" 2>&1 ||
	fail "merge_config.sh failed"
kmake olddefconfig || fail "make olddefconfig failed"

# Kconfig silently drops what it cannot satisfy: check that everything
# debug.config asks for made it into the final .config (the last setting
# of a symbol wins, as in merge_config.sh).
declare -A want=()
order=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=.*$ ]] ||
		[[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		sym=${BASH_REMATCH[1]}
		[ -n "${want[$sym]+set}" ] || order+=("$sym")
		want[$sym]=$line
	fi
done <"$fragment"
dropped=
for sym in "${order[@]}"; do
	line=${want[$sym]}
	if [[ $line == "# "* ]]; then
		grep -q -- "^$sym=" "$tmp/.config" || continue
	else
		grep -qxF -- "$line" "$tmp/.config" && continue
	fi
	got=$(grep -E -- "^$sym=|^# $sym is not set" "$tmp/.config" || true)
	dropped+=$'\n'"  want: $line"$'\n'"  got:  ${got:-(absent: dependencies not met)}"
done
if [ -n "$dropped" ]; then
	cp -- "$tmp/.config" "$out.config.rejected"
	die "Kconfig did not keep these debug.config settings (fix their dependencies in debug.config; resulting config: $out.config.rejected):$dropped"
fi

echo "debug-kernel.sh: building bzImage and modules with -j$(nproc)" >&2
kmake -j"$(nproc)" bzImage modules_prepare modules || fail "kernel build failed"
done_marker "$tmp" || fail "build finished without bzImage or Module.symvers"

mv -T -- "$tmp" "$out"
tmp=
echo "debug-kernel.sh: built $out in $((SECONDS - start))s" >&2
echo "$out"
