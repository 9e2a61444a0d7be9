#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs mvm the way README.md tells a user to, in a scratch directory:
# `make dkms-install` (Debian's dkms: add, build, install) against the
# kernel headers in KDIR, and `make install DESTDIR=...`.  Nothing of the
# host's /usr/src, /var/lib/dkms, /lib/modules or /etc is touched: dkms gets
# --sourcetree, --dkmstree, --installtree and --kernelsourcedir, and a
# throwaway module-signing key in place of /var/lib/dkms/mok.key.
#
# usage: dkms-test.sh KDIR ABI
#   KDIR  kernel headers, e.g. /usr/src/linux-headers-6.1.0-57-amd64
#   ABI   that kernel's release (uname -r), which mvm.ko's vermagic must name
#
# Checks: VERSION starts with MVM_API_VERSION and is the version dkms read
# from dkms.conf; mvm.ko came out, installed under updates/dkms, with
# vermagic ABI and MODULE_VERSION VERSION, signed with the key given, and depmod indexes it; make
# install laid out the launcher, the header, the udev rule and the sysusers
# entry, and made no group on this machine.
#
# Exit 0 with one line of what was built and how long dkms took; else
# nonzero with one line saying why, first, then the compiler's complaints
# if the build failed.
#
# Debian packages: dkms openssl kmod make gcc
set -euo pipefail

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=

fail() {
	printf 'dkms-test: %s\n' "$1"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | head -n 20 | sed 's/^/    /'
	exit 1
}

cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT

[ $# -eq 2 ] || fail "usage: dkms-test.sh KDIR ABI"
kdir=$1 abi=$2
if [ ! -f "$kdir/Makefile" ] || [ ! -f "$kdir/.config" ]; then
	fail "no kernel headers in $kdir (need its Makefile and .config)"
fi
[ "$(id -u)" = 0 ] || fail "dkms add needs root"

need=()
for p in dkms openssl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null 2>&1 ||
		{ apt-get update -qq > /dev/null 2>&1 &&
		  apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null 2>&1; } ||
		fail "cannot install ${need[*]} from Debian's archive"
fi

version=$(cat "$top/VERSION")
api=$(sed -n 's/^#define MVM_API_VERSION[[:space:]]*\([0-9]*\)$/\1/p' "$top/uapi/linux/mvm.h")
[ -n "$api" ] || fail "no MVM_API_VERSION in uapi/linux/mvm.h"
[[ $version =~ ^[0-9]+\.[0-9]+$ ]] || fail "VERSION '$version' is not API.RELEASE"
[ "${version%%.*}" = "$api" ] ||
	fail "VERSION $version does not start with MVM_API_VERSION $api"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mvm-dkms.XXXXXX")
lib=$tmp/root/lib/modules
mkdir -p "$tmp/src" "$tmp/dkms" "$lib/$abi"
# dkms reads these from the environment when /etc/dkms/framework.conf does
# not set them; unset, it would make and use /var/lib/dkms/mok.key.
export sign_file=$kdir/scripts/sign-file
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub

start=$(date +%s)
if ! make -C "$top" --no-print-directory dkms-install KVER="$abi" \
	DKMS_SRCTREE="$tmp/src" \
	DKMSFLAGS="--dkmstree=$tmp/dkms --installtree=$lib --kernelsourcedir=$kdir --no-depmod" \
	> "$tmp/dkms.out" 2>&1; then
	log=$(find "$tmp/dkms" -path '*/build/make.log' | head -n 1)
	fail "make dkms-install for $abi failed" \
		"$(if [ -n "$log" ]; then grep -E 'error|warning' "$log"; else tail -n 5 "$tmp/dkms.out"; fi)"
fi
secs=$(($(date +%s) - start))

status=$(dkms --dkmstree="$tmp/dkms" --installtree="$lib" status -m mvm -k "$abi" 2> /dev/null)
# "installed (WARNING! Diff between built and installed module!)" fails too.
[ "$status" = "mvm/$version, $abi, $(uname -m): installed" ] ||
	fail "dkms status says '$status', want mvm/$version for $abi installed"

mod=$(find "$lib/$abi/updates/dkms" -name 'mvm.ko*' 2> /dev/null | head -n 1 || true)
[ -n "$mod" ] || fail "no mvm.ko under updates/dkms of $abi after dkms install"
vermagic=$(modinfo -F vermagic "$mod") || fail "modinfo cannot read $mod"
[ "${vermagic%% *}" = "$abi" ] ||
	fail "mvm.ko's vermagic is '$vermagic', want $abi"
modversion=$(modinfo -F version "$mod")
[ "$modversion" = "$version" ] ||
	fail "mvm.ko says version '$modversion', VERSION says $version"
signer=$(modinfo -F signer "$mod")
[ "$signer" = "DKMS module signing key" ] ||
	fail "mvm.ko is not signed with the scratch key (signer '$signer')"
[ -f "$tmp/mok.key" ] || fail "dkms did not use the scratch signing key"
out=$(depmod -b "$tmp/root" "$abi" 2>&1) || fail "depmod of the scratch tree failed" "$out"
grep -q '^updates/dkms/mvm\.ko[^:]*:' "$lib/$abi/modules.dep" ||
	fail "depmod did not index updates/dkms/mvm.ko"

# make install into a staging directory.
group_before=$(getent group mvm || true)
dest=$tmp/dest
make -C "$top" --no-print-directory install DESTDIR="$dest" > "$tmp/install.out" 2>&1 ||
	fail "make install DESTDIR=... failed" "$(tail -n 5 "$tmp/install.out")"
[ -x "$dest/usr/local/bin/mvm" ] || fail "make install: no executable usr/local/bin/mvm"
cmp -s "$dest/usr/local/include/linux/mvm.h" "$top/uapi/linux/mvm.h" ||
	fail "make install: usr/local/include/linux/mvm.h is not uapi/linux/mvm.h"
rule=$dest/etc/udev/rules.d/60-mvm.rules
[ -f "$rule" ] || fail "make install: no etc/udev/rules.d/60-mvm.rules"
grep -qx 'SUBSYSTEM=="misc", KERNEL=="mvm", GROUP="mvm", MODE="0660"' "$rule" ||
	fail "make install: 60-mvm.rules does not give /dev/mvm to group mvm, 0660"
grep -qx 'g mvm -' "$dest/etc/sysusers.d/mvm.conf" 2>/dev/null ||
	fail "make install: no 'g mvm -' in etc/sysusers.d/mvm.conf"
[ "$(getent group mvm || true)" = "$group_before" ] ||
	fail "make install DESTDIR=... changed group mvm on this machine"
[ "$(find "$dest" -type f | wc -l)" = 4 ] ||
	fail "make install: want 4 files, got: $(cd "$dest" && find . -type f | tr '\n' ' ')"
make -C "$top" --no-print-directory uninstall DESTDIR="$dest" > /dev/null 2>&1 ||
	fail "make uninstall DESTDIR=... failed"
[ -z "$(find "$dest" -type f)" ] || fail "make uninstall left files in DESTDIR"

echo "dkms-test: mvm $version for $abi: dkms add, build, install in ${secs} s; vermagic, version, signature, depmod, make install ok"
