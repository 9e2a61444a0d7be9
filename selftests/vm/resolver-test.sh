#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel resolver (resolve_kernel, kernel_tree in lib.sh) and the lanes'
# set-up (run.sh) against stub apt-cache, apt-get and dpkg-query commands
# first on PATH, which read a small fake archive.  Each shape the archive
# takes gets the right kernel or the right one-line error, and a lane whose
# kernel cannot be had fails alone while the others run and are counted.
#
# Prints "ok N name" or "not ok N name # why" per case (the lint lane turns
# each into one of its cases); exits 1 if any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/bin"

# The fake archive, one line each:
#   pkg NAME VERSION   a package apt can download
#   virt NAME          a name apt knows with no candidate (a virtual package)
#   dep META TARGET    META depends on TARGET
#   gone NAME          in the lists, but its download fails (removed since)
export MVM_STUB_ARCHIVE=$d/archive MVM_STUB_STATE=$d/state

cat > "$d/bin/apt-cache" <<'EOF'
#!/bin/bash
a=$MVM_STUB_ARCHIVE
known() { awk -v n="$1" '$2 == n' "$a" | grep -q .; }
case $1 in
policy)
	shift
	for p; do
		known "$p" || continue
		v=$(awk -v n="$p" '($1 == "pkg" || $1 == "gone") && $2 == n { print $3 }' "$a")
		printf '%s:\n  Installed: (none)\n  Candidate: %s\n' "$p" "${v:-(none)}"
	done ;;
depends)
	known "$2" || { echo "E: No packages found" >&2; exit 100; }
	echo "$2"
	awk -v n="$2" '$1 == "dep" && $2 == n { print "  Depends: " $3 }' "$a" ;;
pkgnames)
	awk -v p="$2" '$1 != "dep" && index($2, p) == 1 { print $2 }' "$a" ;;
*) echo "apt-cache stub: $*" >&2; exit 100 ;;
esac
EOF

cat > "$d/bin/apt-get" <<'EOF'
#!/bin/bash
a=$MVM_STUB_ARCHIVE
pkg=${*: -1}
has() { awk -v n="$1" '$1 == "pkg" && $2 == n' "$a" | grep -q .; }
case " $* " in
*" update "*)
	echo update >> "$MVM_STUB_STATE.updates"
	exit "${MVM_STUB_UPDATE_RC:-0}" ;;
*" download "*)
	has "$pkg" || { echo "apt-get stub: cannot fetch $pkg" >&2; exit 100; }
	abi=${pkg#linux-image-}
	abi=${abi%-unsigned}
	r=$(mktemp -d)
	mkdir -p "$r/DEBIAN" "$r/boot"
	printf 'Package: %s\nVersion: 1\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n' \
		"$pkg" > "$r/DEBIAN/control"
	echo "$pkg" > "$r/boot/vmlinuz-$abi"
	dpkg-deb -b -Zgzip "$r" "${pkg}_1_amd64.deb" > /dev/null
	rm -rf "$r" ;;
*" install "*)
	for p in "$@"; do
		case $p in -*|install) continue ;; esac
		has "$p" || { echo "apt-get stub: $p has no candidate" >&2; exit 100; }
		echo "$p" >> "$MVM_STUB_STATE.installed"
	done ;;
*) echo "apt-get stub: $*" >&2; exit 100 ;;
esac
EOF

cat > "$d/bin/dpkg-query" <<'EOF'
#!/bin/bash
grep -qxF "${*: -1}" "$MVM_STUB_STATE.installed" 2>/dev/null || exit 1
echo 'install ok installed'
EOF
chmod +x "$d/bin"/*
export PATH="$d/bin:$PATH"
export MVM_CACHE=$d/cache MVM_BUILD=$d/build

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1 # $2"; }

# archive LINES...: the fake archive for the next case.
archive() {
	printf '%s\n' "$@" > "$MVM_STUB_ARCHIVE"
	rm -rf "$MVM_STUB_STATE".* "$MVM_CACHE" "$MVM_BUILD"
}

# resolves NAME SERIES ABI PKG [LOG]: resolve_kernel picks ABI from PKG, and
# says exactly LOG (a pattern) in one line on stderr, or nothing.
resolves() {
	local name=$1 s=$2 abi=$3 pkg=$4 want=${5:-} got err lines
	got=$( (. "$here/lib.sh"; resolve_kernel "$s" && echo "$KERNEL_ABI $KERNEL_PKG") 2> "$d/err")
	err=$(cat "$d/err")
	lines=$(grep -c . "$d/err")
	if [ "$got" != "$abi $pkg" ]; then
		not_ok "$name" "picked '$got', not '$abi $pkg' ($err)"
	elif [ -z "$want" ] && [ "$lines" != 0 ]; then
		not_ok "$name" "said '$err'"
	elif [ -n "$want" ] && { [ "$lines" != 1 ] || ! grep -qE "$want" "$d/err"; }; then
		not_ok "$name" "said '$err', not one line like '$want'"
	else
		ok "$name"
	fi
}

# refuses NAME SERIES PATTERN: resolve_kernel fails with one line in
# KERNEL_ERR that matches PATTERN.
refuses() {
	local name=$1 s=$2 want=$3 got
	got=$( (. "$here/lib.sh"; resolve_kernel "$s" && echo "PICKED $KERNEL_ABI" ||
		echo "$KERNEL_ERR") 2> /dev/null)
	if [ "$(grep -c . <<< "$got")" = 1 ] && grep -qE "$want" <<< "$got" &&
	   ! grep -q PICKED <<< "$got"; then
		ok "$name"
	else
		not_ok "$name" "got '$got', not one line like '$want'"
	fi
}

A612=6.12.118+deb12-amd64
R612='6\.12\.118\+deb12-amd64'
META612="dep linux-image-6.12-amd64-dbg linux-image-$A612-dbg"

# 6.12.118 as Debian had it when issue 13 was filed: the signed name is a
# virtual package (apt-cache show finds it), only -unsigned can be fetched.
archive "$META612" "dep linux-image-6.12-amd64 linux-image-6.12.117+deb12-amd64" \
	"virt linux-image-$A612" "pkg linux-image-$A612-unsigned 6.12.118-1" \
	"pkg linux-image-$A612-dbg 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1" \
	"pkg linux-image-6.12.117+deb12-amd64 6.12.117-1" \
	"pkg linux-headers-6.12.117+deb12-amd64 6.12.117-1"
resolves virtual_signed_takes_unsigned 6.12 "$A612" "linux-image-$A612-unsigned"

archive "$META612" "pkg linux-image-$A612-unsigned 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1"
resolves unsigned_only 6.12 "$A612" "linux-image-$A612-unsigned"

archive "$META612" "pkg linux-image-$A612 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1"
resolves signed_only 6.12 "$A612" "linux-image-$A612"

archive "$META612" "pkg linux-image-$A612 6.12.118-1" "pkg linux-image-$A612-unsigned 6.12.118-1" \
	"pkg linux-headers-$A612 6.12.118-1"
resolves signed_before_unsigned 6.12 "$A612" "linux-image-$A612"

# The meta package already names 6.12.119, which is not published yet.
archive "dep linux-image-6.12-amd64-dbg linux-image-6.12.119+deb12-amd64-dbg" \
	"virt linux-image-6.12.119+deb12-amd64-dbg" \
	"pkg linux-image-$A612 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1" \
	"pkg linux-image-6.12.113+deb12-amd64 6.12.113-1" \
	"pkg linux-headers-6.12.113+deb12-amd64 6.12.113-1"
resolves current_abi_not_published 6.12 "$A612" "linux-image-$A612" \
	"^mvm: Linux 6\.12: current ABI 6\.12\.119\+deb12-amd64: no linux-headers-6\.12\.119\+deb12-amd64 to download; using $R612 \(linux-image-$R612 6\.12\.118-1\)$"

# The image of the current ABI is there, its headers are not (yet).
archive "$META612" "pkg linux-image-$A612 6.12.118-1" \
	"pkg linux-image-6.12.117+deb12-amd64 6.12.117-1" \
	"pkg linux-headers-6.12.117+deb12-amd64 6.12.117-1"
resolves headers_missing 6.12 6.12.117+deb12-amd64 linux-image-6.12.117+deb12-amd64 \
	"current ABI $R612: no linux-headers-$R612 to download; using 6\.12\.117\+deb12-amd64 "

# Headers, but no image of either kind.
archive "$META612" "virt linux-image-$A612" "pkg linux-headers-$A612 6.12.118-1"
refuses image_missing 6.12 \
	"^no Debian 6\.12 kernel can be downloaded with its headers \(current ABI $R612: neither linux-image-$R612 nor linux-image-$R612-unsigned can be downloaded\)$"

archive "pkg busybox-static 1:1.35.0-4"
refuses nothing_at_all 6.12 \
	"^no Debian 6\.12 kernel can be downloaded with its headers \(no meta package .* names a current ABI\)$"

# 6.1: the cloud, rt and 6.12 kernels in the same lists are not 6.1's.
archive "dep linux-image-amd64 linux-image-6.1.0-57-amd64" \
	"pkg linux-image-6.1.0-57-amd64 6.1.192-3" "pkg linux-headers-6.1.0-57-amd64 6.1.192-3" \
	"pkg linux-image-6.1.0-58-cloud-amd64 6.1.193-1" "pkg linux-headers-6.1.0-58-cloud-amd64 6.1.193-1" \
	"pkg linux-image-$A612 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1"
resolves series_6_1 6.1 6.1.0-57-amd64 linux-image-6.1.0-57-amd64

archive "dep linux-image-amd64 linux-image-6.1.0-58-amd64" \
	"pkg linux-image-6.1.0-58-cloud-amd64 6.1.193-1" "pkg linux-headers-6.1.0-58-cloud-amd64 6.1.193-1" \
	"pkg linux-image-6.1.0-57-rt-amd64 6.1.192-3" "pkg linux-headers-6.1.0-57-rt-amd64 6.1.192-3" \
	"pkg linux-image-6.1.0-56-amd64 6.1.190-1" "pkg linux-headers-6.1.0-56-amd64 6.1.190-1"
resolves series_6_1_no_flavours 6.1 6.1.0-56-amd64 linux-image-6.1.0-56-amd64 \
	"current ABI 6\.1\.0-58-amd64: no linux-headers-6\.1\.0-58-amd64 to download; using 6\.1\.0-56-amd64"

# Without a network the lists there are still resolve.
archive "$META612" "pkg linux-image-$A612 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1"
MVM_STUB_UPDATE_RC=100 resolves update_fails 6.12 "$A612" "linux-image-$A612" \
	"^mvm: apt-get update failed; resolving from the package lists there are$"

# kernel_tree unpacks what resolve_kernel picked, once: with the package
# gone from the archive since, the second call still finds it in the cache.
archive "$META612" "pkg linux-image-$A612-unsigned 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1"
got=$( (. "$here/lib.sh"; resolve_kernel 6.12 && kernel_tree "$KERNEL_ABI" "$KERNEL_PKG" > /dev/null &&
	echo "pkg linux-headers-$A612 6.12.118-1" > "$MVM_STUB_ARCHIVE" &&
	t=$(kernel_tree "$KERNEL_ABI" "$KERNEL_PKG") && cat "$t/boot/vmlinuz-$KERNEL_ABI") 2> /dev/null)
if [ "$got" = "linux-image-$A612-unsigned" ]; then
	ok tree_unpacks_the_pick_once
else
	not_ok tree_unpacks_the_pick_once "vmlinuz holds '$got'"
fi

# lanes OUT LANES...: cmd_check on those lanes with the test VMs stubbed:
# each boot writes a clean log, as the VM would.
lanes() {
	local out=$1
	shift
	(
		. "$here/run.sh"
		need_host_pkgs() { :; }
		build_module() { mkdir -p "$MVM_BUILD/$2" && echo "$MVM_BUILD/$2/mvm.ko"; }
		make_initramfs() { : > "$1"; }
		refusal_case() { result OK refuses_without_svm_vmx; }
		boot_qemu() {
			printf '%s\n' MVM-LOADED "KTAP version 1" 1..1 "    KTAP version 1" \
				"    1..1" "    ok 1 a_case" "ok 1 a_test" MVM-DMESG-BEGIN \
				MVM-DMESG-END MVM-DONE > "$4"
		}
		cmd_check "$@"
	) > "$out" 2> "$out.err"
}

# lane_fails_alone NAME LANE CASE WHY: LANE cannot be set up, for WHY (a
# pattern): it fails with one case CASE whose line says so; svm, run after
# it, passes; the closing line counts both; the run fails.
lane_fails_alone() {
	local name=$1 lane=$2 case=$3 want=$4 out=$d/lanes.out
	lanes "$out" "$lane" svm
	if grep -qE "^    not ok 1 $case # $want" "$out" &&
	   [ "$(grep -c '^    not ok' "$out")" = 1 ] &&
	   grep -q "^  not ok 1 $lane\$" "$out" && grep -q '^  ok 2 svm$' "$out" &&
	   grep -q '^  # lane svm: .*Linux 6\.1\.0-57-amd64 (linux-image-6\.1\.0-57-amd64 6\.1\.192-3)$' "$out" &&
	   [ "$(tail -n 1 "$out")" = "5 passed, 1 failed, 0 skipped" ]; then
		ok "$name"
	else
		not_ok "$name" "$(tr '\n' '|' < "$out") $(tail -n 3 "$out.err" | tr '\n' '|')"
	fi
}

G61=("dep linux-image-amd64 linux-image-6.1.0-57-amd64" "pkg linux-image-6.1.0-57-amd64 6.1.192-3"
	"pkg linux-headers-6.1.0-57-amd64 6.1.192-3")
archive "${G61[@]}"
lane_fails_alone lane_without_kernel_fails_alone svm-6.12 kernel \
	"no Debian 6\.12 kernel can be downloaded with its headers"

# Listed, but removed from the archive since the lists were made.
archive "${G61[@]}" "$META612" "gone linux-image-$A612 6.12.118-1" "pkg linux-headers-$A612 6.12.118-1"
lane_fails_alone lane_whose_download_fails_fails_alone svm-6.12 kernel "cannot download linux-image-$R612\$"

# Its headers cannot be installed.
archive "${G61[@]}" "$META612" "pkg linux-image-$A612 6.12.118-1" "gone linux-headers-$A612 6.12.118-1"
lane_fails_alone lane_without_headers_fails_alone svm-6.12 kernel "cannot install linux-headers-$R612\$"

# Bochs cannot be installed: the vmx lane fails alone.
archive "${G61[@]}"
lane_fails_alone vmx_without_bochs_fails_alone vmx emulator "cannot install bochs "

# A module that does not build against a kernel's headers fails that W=1
# case; the lint lane goes on to the next (DKMS, which fails too here).
archive "${G61[@]}"
got=$( (. "$here/run.sh"
	kernel_headers() { echo /nonexistent; }
	build_module() { die "module build against $1 failed"; }
	lint_kernel 6.1
	echo "alive $fail") 2> /dev/null)
if grep -q '^    not ok 1 w1_6\.1\.0-57-amd64$' <<< "$got" &&
   grep -q '^    not ok 2 dkms_6\.1\.0-57-amd64$' <<< "$got" && grep -qx 'alive 2' <<< "$got"; then
	ok w1_build_failure_fails_its_case
else
	not_ok w1_build_failure_fails_its_case "$(tr '\n' '|' <<< "$got")"
fi

echo "1..$n"
exit $failed
