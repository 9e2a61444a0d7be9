#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test-VM runner.
#
#   run.sh module          build mvm.ko against the 6.1 test kernel
#   run.sh check [LANE...] run lanes (default: all); KTAP out, and a last
#                          line "N passed, N failed[, N skipped]"
#   run.sh demo            boot the svm test VM, load mvm, show it working
#   run.sh bench           boot the svm test VM, time the same guest workloads
#                          under mvm and then under KVM, print both
#
# Lanes:
#   lint      checkpatch --strict, sparse, W=1 and the DKMS build on 6.1
#             and 6.12, the host-side unit tests (make unit) and the
#             kernel resolver's (host only)
#   svm       QEMU TCG -cpu max (SVM + NPT), Debian's 6.1 kernel
#   svm-6.12  the same on Debian's 6.12 kernel
#   vmx       Bochs corei7_skylake_x (VMX + EPT + VPID), Debian's 6.1 kernel
#   debug     QEMU TCG on a 6.1 kernel with KASAN, lockdep, kmemleak, UBSAN
#
# Each VM lane loads mvm, runs every selftest, and fails on any report in
# the kernel log.  Every lane has a time bound.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_LANES="lint svm svm-6.12 vmx debug"
# Seconds a lane's VM may run before it is killed and the lane fails.
declare -A LANE_TIMEOUT=([svm]=${MVM_SVM_TIMEOUT:-600} [svm-6.12]=600 [vmx]=${MVM_VMX_TIMEOUT:-2700} [debug]=1200)
# Extra kernel parameters, for Bochs 2.7's XSAVE bugs (testing.rst, "vmx"):
# its skylake_x enumerates the AVX-512 components inconsistently, which 6.1
# WARNs about at boot ("XSAVE consistency problem"); and its XSAVEC and
# XSAVES put the AVX state over the XSAVE header, so the kernel's XRSTORS of
# a task caught with live YMM registers faults ("Bad FPU state detected").
# Without AVX-512, XSAVES and XSAVEC the kernel uses the standard format,
# which Bochs gets right.  mitigations=off quiets the RETBleed notice about
# its CPU model.
declare -A LANE_APPEND=([vmx]="clearcpuid=avx512f,xsaves,xsavec mitigations=off mvm_test_watchdog=1200")
# Every test VM's command line starts with this.  no_timer_check: on a
# loaded machine QEMU's TCG runs the test VM's CPUs so slowly next to its
# timer that 6.1's check_timer() decides the IO-APIC timer is broken and
# panics ("IO-APIC + timer doesn't work"), seen with two busy loops on the
# host's 2 cores; the check proves nothing about an emulated PIT.
BASE_APPEND="console=ttyS0 quiet panic=-1 no_timer_check"

# Kernel-log lines that fail a lane: oopses, warnings, sanitizer and lockdep
# reports, leaks, hung tasks and lockups.
BAD_LOG='BUG:|WARNING:|Oops|general protection fault|Kernel panic|KASAN|UBSAN|'\
'kmemleak: [0-9]+ new suspected|unreferenced object|possible circular locking|'\
'possible recursive locking|inconsistent lock state|suspicious RCU usage|'\
'DEBUG_LOCKS_WARN_ON|lockdep is turned off|blocked for more than|soft lockup|hard LOCKUP|'\
'list_add corruption|list_del corruption|Call Trace:|detected stalls on CPUs|'\
'debugfs: Directory .* with parent .mvm. already present'

pass=0
fail=0
skip=0
lane_no=0

# --- pieces ----------------------------------------------------------------

checkpatch_dir() {
	local ver dir
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	dir="$MVM_CACHE/checkpatch-$ver"
	if [ ! -f "$dir/scripts/checkpatch.pl" ]; then
		log "extracting checkpatch from linux-source-6.1"
		mkdir -p "$dir.tmp"
		tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$dir.tmp" \
			--strip-components=1 linux-source-6.1/scripts/checkpatch.pl \
			linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch ||
			die "cannot extract checkpatch.pl from linux-source-6.1"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# Modules of the test kernel that go into the initramfs (with dependencies):
# KVM for the coexistence tests, msr for reading EFER from userspace.
TEST_KERNEL_MODULES="kvm kvm-amd kvm-intel msr"

# stage_kvm_modules TREE ABI STAGE: copy those modules and their dependencies,
# uncompressed (busybox cannot load .ko.xz), and run depmod.
stage_kvm_modules() {
	local tree=$1 abi=$2 stage=$3 src="$1/lib/modules/$2" queue m f deps
	queue=$TEST_KERNEL_MODULES
	declare -A seen=()
	while [ -n "$queue" ]; do
		set -- $queue
		m=$1
		shift
		queue="$*"
		[ -n "${seen[$m]:-}" ] && continue
		seen[$m]=1
		f=$(find "$src/kernel" -name "$m.ko" -o -name "$m.ko.xz" \
			-o -name "${m//_/-}.ko" -o -name "${m//_/-}.ko.xz" |
			head -n 1)
		[ -n "$f" ] || continue
		mkdir -p "$stage/lib/modules/$abi/kernel"
		case $f in
		*.xz) xz -dc "$f" > "$stage/lib/modules/$abi/kernel/$(basename "${f%.xz}")" ;;
		*) cp "$f" "$stage/lib/modules/$abi/kernel/" ;;
		esac
		deps=$(/sbin/modinfo -F depends "$f" | tr ',' ' ')
		queue="$queue $deps"
	done
	cp "$src"/modules.order "$src"/modules.builtin "$src"/modules.builtin.modinfo \
		"$stage/lib/modules/$abi/" 2>/dev/null || true
	/sbin/depmod -b "$stage" "$abi"
}

# make_guest_initramfs OUT: the Linux guest's initramfs, busybox and an /init
# with a shell on ttyS0 (selftests/vm/guest-init).
make_guest_initramfs() {
	local out=$1 stage
	stage=$(mktemp -d)
	mkdir -p "$stage"/{bin,proc,sys,dev}
	cp /bin/busybox "$stage/bin/busybox"
	cp "$MVM_TOP/selftests/vm/guest-init" "$stage/init"
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -9) > "$out"
	rm -rf "$stage"
}

# guest_kernel: the kernel the launcher boots as a guest when the test
# kernel is not a Debian one (the debug lane): Debian's 6.1.  Run it in the
# main shell (it resolves the kernel); it sets GUEST_KERNEL.
guest_kernel() {
	local tree
	if ! resolve_kernel 6.1; then
		printf '%s\n' "$KERNEL_ERR" >> "$MVM_ERRFILE"
		return 1
	fi
	tree=$(kernel_tree "$KERNEL_ABI" "$KERNEL_PKG") || return 1
	GUEST_KERNEL=$tree/boot/vmlinuz-$KERNEL_ABI
}

# stage_qemu STAGE: QEMU, to run in the test VM for make bench's Linux boot
# figure: the binary, every library ldd lists and the dynamic loader, at
# their paths, and the firmware -M microvm loads (qboot as bios-microvm.bin,
# and linuxboot_dma.bin, the option ROM that boots its -kernel) in
# /usr/share/qemu, which the benchmark passes as -L.
stage_qemu() {
	local stage=$1 qemu=/usr/bin/qemu-system-x86_64 f
	if ldd "$qemu" | grep 'not found' >&2; then
		die "$qemu: libraries missing"
	fi
	cp "$qemu" "$stage/usr/bin/"
	for f in $(ldd "$qemu" | grep -oE '/[^ ]+'); do
		mkdir -p "$stage$(dirname "$f")"
		cp -L "$f" "$stage$f"
	done
	mkdir -p "$stage/usr/share/qemu"
	for f in bios-microvm.bin linuxboot_dma.bin; do
		cp -L "/usr/share/qemu/$f" "$stage/usr/share/qemu/"
	done
}

# make_initramfs OUT KO [TREE ABI]: busybox, /init, mvm.ko, the launcher, the
# selftests, and the kernel's KVM modules when TREE is given; with
# $MVM_GUEST_KERNEL, that kernel and a guest initramfs under /guest for the
# launcher to boot; with $MVM_BENCH_BIN, the benchmark, and with
# $MVM_BENCH_QEMU as well, QEMU (stage_qemu).
make_initramfs() {
	local out=$1 ko=$2 tree=${3:-} abi=${4:-} stage
	stage=$(mktemp -d)
	mkdir -p "$stage"/{bin,sbin,usr/bin,lib/mvm,selftests,proc,sys,dev,tmp}
	cp /bin/busybox "$stage/bin/busybox"
	cp "$MVM_TOP/selftests/vm/init" "$stage/init"
	cp "$ko" "$stage/lib/mvm/mvm.ko"
	cp "$MVM_BUILD/bin/mvm" "$stage/usr/bin/mvm"
	# MVM_TESTS="a_test b_test" runs only those (a debugging aid).
	if [ -n "${MVM_TESTS:-}" ]; then
		for t in $MVM_TESTS; do
			cp "$MVM_BUILD/selftests/$t" "$stage/selftests/"
		done
	else
		cp "$MVM_BUILD"/selftests/*_test "$stage/selftests/"
	fi
	# The benchmark, for mvm.mode=bench.
	if [ -n "${MVM_BENCH_BIN:-}" ]; then
		mkdir -p "$stage/bench"
		cp "$MVM_BENCH_BIN" "$stage/bench/bench"
		[ -n "${MVM_BENCH_QEMU:-}" ] && stage_qemu "$stage"
	fi
	[ -n "$tree" ] && stage_kvm_modules "$tree" "$abi" "$stage"
	if [ -n "${MVM_GUEST_KERNEL:-}" ]; then
		mkdir -p "$stage/guest"
		cp "$MVM_GUEST_KERNEL" "$stage/guest/vmlinuz"
		make_guest_initramfs "$stage/guest/initrd.cpio.gz"
	fi
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
	rm -rf "$stage"
}

# boot_qemu KERNEL INITRD APPEND LOG TIMEOUT [CPU]
boot_qemu() {
	local rc=0
	timeout -k 5 "$5" qemu-system-x86_64 -accel tcg -cpu "${6:-max}" -smp 2 \
		-m "${MVM_QEMU_MEM:-1024}" \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$4" -kernel "$1" -initrd "$2" -append "$3" \
		</dev/null >&2 || rc=$?
	return $rc
}

# Bochs and what bochs-run.sh builds its boot ISO with.
need_bochs_pkgs() {
	need_pkgs bochs bochs-term bochsbios vgabios isolinux syslinux-common xorriso bsdutils
}

# boot_bochs KERNEL INITRD APPEND LOG TIMEOUT
boot_bochs() {
	"$MVM_TOP/selftests/vm/bochs-run.sh" "$1" "$2" "$3" "$4" "$5" MVM-DONE
}

# --- results ----------------------------------------------------------------

# result OK|FAIL|SKIP NAME [REASON]: one KTAP line at lane depth.  A
# failure is also kept, with the diagnostics just before it ($recent_diag),
# for the recap that ends the run: CI shows only a run's last lines.
case_no=0
recent_diag=
NL=$'\n'
recap_file=
result() {
	case_no=$((case_no + 1))
	case $1 in
	OK) pass=$((pass + 1)); echo "    ok $case_no $2" ;;
	SKIP) skip=$((skip + 1)); echo "    ok $case_no $2 # SKIP $3" ;;
	*) fail=$((fail + 1)); echo "    not ok $case_no $2${3:+ # $3}"
	   [ -n "$recap_file" ] && {
		echo "# failed: $lane_name/$2${3:+ ($3)}"
		[ -n "$recent_diag" ] && printf '%s\n' "$recent_diag" |
			tail -n 12 | sed 's/^ */#   /'
	   } >> "$recap_file" ;;
	esac
	recent_diag=
}

# lane_begin NAME DESCRIPTION / lane_end NAME: nest each lane's cases.
lane_failed_before=0
lane_start=0
lane_name=
lane_begin() {
	lane_name=$1
	case_no=0
	lane_failed_before=$fail
	lane_start=$SECONDS
	echo "  # lane $1: $2"
	echo "    KTAP version 1"
}

# lane_unavailable NAME DESCRIPTION CASE WHY: a lane whose set-up failed (its
# kernel cannot be had, its module does not build) fails alone, with one
# line that says why; the other lanes still run.
lane_unavailable() {
	lane_begin "$1" "$2"
	result FAIL "$3" "$4"
	lane_end "$1"
}

# setup_error DEFAULT: the reason the last set-up step died with (die keeps
# it in $MVM_ERRFILE), else DEFAULT.
setup_error() {
	local why
	why=$(tail -n 1 "$MVM_ERRFILE" 2>/dev/null)
	echo "${why:-$1}"
}

lane_end() {
	lane_no=$((lane_no + 1))
	echo "    1..$case_no"
	echo "  # lane $1 took $((SECONDS - lane_start)) s"
	if [ "$fail" -eq "$lane_failed_before" ]; then
		echo "  ok $lane_no $1"
	else
		echo "  not ok $lane_no $1"
	fi
}

# check_vm_log LOG STATUS: turn a VM's serial log into results.
check_vm_log() {
	local log=$1 status=$2 clean
	clean=$(mktemp)
	tr -d '\r' < "$log" > "$clean"
	if grep -q '^MVM-DONE' "$clean"; then
		result OK boot
	else
		result FAIL boot "no MVM-DONE (status $status); log tail follows"
		tail -n 40 "$clean" | sed 's/^/    # /'
	fi
	if grep -q '^MVM-LOADED' "$clean"; then
		result OK load_mvm
	else
		result FAIL load_mvm
		grep -m 5 'mvm' "$clean" | sed 's/^/    # /' || true
	fi
	# Selftest output: the init script indents each binary's KTAP by four.
	sed -n '/^KTAP version 1$/,/^MVM-DMESG-BEGIN$/p' "$clean" > "$clean.ktap"
	local line name why bin_failed=0 leaf_failed=0
	while IFS= read -r line; do
		case $line in
		"    ok "*"# SKIP"*)
			name=${line#    ok }
			name=${name#* }
			result SKIP "${name%% # SKIP*}" "${name#* # SKIP }" ;;
		"    ok "*)
			name=${line#    ok }
			result OK "${name#* }" ;;
		"    not ok "*)
			name=${line#    not ok }
			leaf_failed=1
			result FAIL "${name#* }" ;;
		"    #"*)
			echo "    $line"
			recent_diag+="${recent_diag:+$NL}$line" ;;
		"not ok "*)
			# A binary that failed without a failing case crashed,
			# or was stuck (status 124: /init's watchdog killed it).
			name=${line#not ok [0-9]* }
			case $name in
			*"exit status 124") why="stuck, killed by the test watchdog" ;;
			*) why=crashed ;;
			esac
			[ $leaf_failed = 0 ] && result FAIL "${name%% # *}" "$why"
			leaf_failed=0; recent_diag= ;;
		"ok "*)
			leaf_failed=0; recent_diag= ;;
		esac
	done < "$clean.ktap"
	if grep -nE "$BAD_LOG" "$clean" > "$clean.bad"; then
		result FAIL kernel_log "reports in the kernel log"
		head -n 40 "$clean.bad" | sed 's/^/    # /'
	else
		result OK kernel_log
	fi
	rm -f "$clean" "$clean.ktap" "$clean.bad"
}

# --- lanes ------------------------------------------------------------------

# vm_lane NAME DESCRIPTION BOOTFN KERNEL INITRD: boot, then check the log.
vm_lane() {
	local name=$1 desc=$2 boot=$3 kernel=$4 initrd=$5 status=0
	local logf="$MVM_BUILD/$name.log"
	lane_begin "$name" "$desc"
	rm -f "$logf"
	$boot "$kernel" "$initrd" \
		"$BASE_APPEND mvm.mode=check ${LANE_APPEND[$name]:-} ${MVM_PARAMS:-}" \
		"$logf" "${LANE_TIMEOUT[$name]}" || status=$?
	[ -f "$logf" ] || : > "$logf"
	check_vm_log "$logf" "$status"
	echo "    # serial log: $logf"
	[ "$boot" = boot_qemu ] && refusal_case "$kernel" "$initrd"
	lane_end "$name"
}

# refusal_case KERNEL INITRD: on a CPU with neither SVM nor VMX, insmod fails
# and each load attempt logs exactly one line, which says why.  (busybox's
# insmod tries finit_module, then init_module: two attempts.)  qemu64 rather
# than max with svm=off: static glibc aborts at start-up under the latter.
refusal_case() {
	local logf="$MVM_BUILD/$lane_name-nohw.log" want others
	want='mvm: no usable hardware virtualization: SVM: CPU has no SVM; VMX: CPU has no VMX'
	boot_qemu "$1" "$2" "$BASE_APPEND mvm.mode=none" "$logf" 120 \
		qemu64,svm=off || true
	others=$(tr -d '\r' < "$logf" | grep -E '\] mvm: ' |
		grep -vE 'taints kernel|module verification failed' |
		grep -vcF "$want" || true)
	# grep -c reads to the end: with pipefail, grep -q could leave tr to die
	# of SIGPIPE and fail the pipe although the line was found.
	if tr -d '\r' < "$logf" | grep -c '^MVM-LOAD-FAILED' > /dev/null &&
	   [ "$others" = 0 ] &&
	   grep -qF "$want" "$logf" && grep -q '^MVM-DONE' "$logf" &&
	   ! grep -qE "$BAD_LOG" "$logf"; then
		result OK refuses_without_svm_vmx
	else
		result FAIL refuses_without_svm_vmx "see $logf"
		tr -d '\r' < "$logf" | grep -E 'mvm|MVM' | head -n 5 | sed 's/^/    # /'
	fi
}

# debian_lane NAME SERIES BOOTFN EMULATOR: a lane on Debian's kernel of a
# series.  Each set-up step that dies fails this lane alone.
debian_lane() {
	local name=$1 series=$2 boot=$3 emu=$4 abi tree kdir ko initrd
	: > "$MVM_ERRFILE"
	if ! resolve_kernel "$series"; then
		lane_unavailable "$name" "$emu, Linux $series" kernel "$KERNEL_ERR"
		return 0
	fi
	abi=$KERNEL_ABI
	local desc="$emu, Linux $abi ($KERNEL_PKG $KERNEL_VER)"
	if ! { tree=$(kernel_tree "$abi" "$KERNEL_PKG") && kdir=$(kernel_headers "$abi"); }; then
		lane_unavailable "$name" "$desc" kernel "$(setup_error "cannot get Linux $abi")"
		return 0
	fi
	if ! ko=$(build_module "$kdir" "$abi"); then
		lane_unavailable "$name" "$desc" build "$(setup_error "mvm.ko does not build")"
		return 0
	fi
	initrd="$MVM_BUILD/initrd-$abi.cpio.gz"
	# The lane's own kernel is also the launcher's Linux guest.
	MVM_GUEST_KERNEL="$tree/boot/vmlinuz-$abi" make_initramfs "$initrd" "$ko" "$tree" "$abi"
	vm_lane "$name" "$desc" "$boot" "$tree/boot/vmlinuz-$abi" "$initrd"
}

# The svm lanes' test VMs have memory for a guest with RAM above 4 GiB
# (linux_test); QEMU touches only what the guest uses.
lane_svm() { MVM_QEMU_MEM=4608 debian_lane svm 6.1 boot_qemu "QEMU TCG -cpu max (SVM, NPT)"; }
lane_svm-6.12() { MVM_QEMU_MEM=4608 debian_lane svm-6.12 6.12 boot_qemu "QEMU TCG -cpu max (SVM, NPT)"; }
lane_vmx() {
	local emu="Bochs corei7_skylake_x (VMX, EPT, VPID)"
	: > "$MVM_ERRFILE"
	if ! (need_bochs_pkgs); then
		lane_unavailable vmx "$emu" emulator "$(setup_error "cannot install Bochs")"
		return 0
	fi
	debian_lane vmx 6.1 boot_bochs "$emu"
}

lane_debug() {
	local kdir ko initrd desc="QEMU TCG -cpu max, 6.1 with KASAN, lockdep, kmemleak, UBSAN"
	: > "$MVM_ERRFILE"
	if ! { (need_pkgs linux-source-6.1 bc flex bison libelf-dev libssl-dev) &&
	       kdir=$("$MVM_TOP/selftests/vm/debug-kernel.sh"); }; then
		lane_unavailable debug "$desc" kernel "$(setup_error "the debug kernel does not build")"
		return 0
	fi
	if ! ko=$(build_module "$kdir" debug); then
		lane_unavailable debug "$desc" build "$(setup_error "mvm.ko does not build")"
		return 0
	fi
	# The launcher's guest is Debian's 6.1.
	if ! guest_kernel; then
		lane_unavailable debug "$desc" kernel \
			"$(setup_error "no guest kernel for the launcher")"
		return 0
	fi
	initrd="$MVM_BUILD/initrd-debug.cpio.gz"
	MVM_GUEST_KERNEL=$GUEST_KERNEL make_initramfs "$initrd" "$ko"
	vm_lane debug "$desc, guest $KERNEL_ABI ($KERNEL_PKG $KERNEL_VER)" \
		boot_qemu "$kdir/arch/x86/boot/bzImage" "$initrd"
}

# lint: checks that need no VM.  Each tool's complaints fail its case.  The
# check runs in a subshell: one that dies (a module that does not build)
# fails its case, not the run.
lint_case() {
	local name=$1 out
	shift
	out=$(mktemp)
	if ("$@") > "$out" 2>&1 && ! grep -qE 'warning:|error:|WARNING|ERROR|CHECK' "$out"; then
		result OK "$name"
	else
		result FAIL "$name"
		head -n 30 "$out" | sed 's/^/    # /'
	fi
	rm -f "$out"
}

# make unit prints KTAP, whose totals line ("error:0") lint_case would
# take for a complaint: show the output only when a test failed.
_unit() {
	local out
	if ! out=$(make -s -C "$MVM_TOP" unit 2>&1) ||
	   grep -q '^not ok' <<< "$out"; then
		printf '%s\n' "$out" | grep -v '^ok '
		return 1
	fi
}

_sparse() {
	local kdir=$1
	rm -rf "$MVM_BUILD/sparse"
	build_module "$kdir" sparse C=2 > /dev/null
}

# The log checker must catch what it is there to catch: a clean synthetic
# log passes, and each planted report or failure fails it.
_checker_fails() {
	(pass=0 fail=0 skip=0 recap_file=; check_vm_log "$1" 0 > /dev/null; echo "$fail")
}

_checker_selftest() {
	local d good bad n=0 plant
	d=$(mktemp -d)
	good="$d/good"
	printf '%s\n' "MVM-BEGIN x" MVM-LOADED "KTAP version 1" 1..1 \
		"    KTAP version 1" "    1..1" "    ok 1 a_case" "ok 1 a_test" \
		MVM-DMESG-BEGIN "[    1.000000] mvm: using SVM" MVM-DMESG-END \
		MVM-DONE > "$good"
	[ "$(_checker_fails "$good")" = 0 ] || { echo "clean log failed"; return 1; }
	for plant in \
		"[    2.0] WARNING: CPU: 1 PID: 9 at module/hw.c:1 f+0x1/0x2 [mvm]" \
		"[    2.0] BUG: KASAN: slab-use-after-free in mvm_vm_free+0x1/0x2" \
		"[    2.0] BUG: kernel NULL pointer dereference, address: 0000" \
		"[    2.0] UBSAN: array-index-out-of-bounds in module/main.c:1:2" \
		"[    2.0] WARNING: possible circular locking dependency detected" \
		"[    2.0] INFO: lockdep is turned off." \
		"[    2.0] debugfs: Directory '268-7' with parent 'mvm' already present!" \
		"[    2.0] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)" \
		"unreferenced object 0xffff888003f0c000 (size 64):" \
		"[    2.0] INFO: task t:9 blocked for more than 30 seconds." \
		"[    2.0] watchdog: BUG: soft lockup - CPU#0 stuck for 26s!" \
		"[    2.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"; do
		bad="$d/bad$n"
		sed "/^MVM-DMESG-END/i $plant" "$good" > "$bad"
		[ "$(_checker_fails "$bad")" -ge 1 ] || { echo "missed: $plant"; return 1; }
		n=$((n + 1))
	done
	grep -v '^MVM-DONE' "$good" > "$d/nodone"
	grep -v '^MVM-LOADED' "$good" > "$d/noload"
	sed 's/^    ok 1 a_case/    not ok 1 a_case/' "$good" > "$d/leaf"
	sed 's/^    ok 1 a_case//; s/^ok 1 a_test/not ok 1 a_test/' "$good" > "$d/crash"
	for bad in nodone noload leaf crash; do
		[ "$(_checker_fails "$d/$bad")" -ge 1 ] || { echo "missed: $bad"; return 1; }
	done
	rm -rf "$d"
}

# resolver_cases: the resolver's test against a stubbed archive
# (resolver-test.sh), each of its cases one of the lint lane's.
resolver_cases() {
	local out line name rc=0
	out=$("$MVM_TOP/selftests/vm/resolver-test.sh" 2>&1) || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) name=${line#ok [0-9]* }; result OK "resolver_$name" ;;
		"not ok "*)
			name=${line#not ok [0-9]* }
			result FAIL "resolver_${name%% # *}" "${name#* # }" ;;
		esac
	done <<< "$out"
	if [ $rc != 0 ] && ! grep -q '^not ok ' <<< "$out"; then
		result FAIL resolver "resolver-test.sh exited $rc"
		head -n 20 <<< "$out" | sed 's/^/    # /'
	fi
}

# lint_kernel SERIES [sparse]: the W=1 build (and sparse) against the
# headers of Debian's kernel of a series; a kernel that cannot be had fails
# its cases, not the lane.
lint_kernel() {
	local s=$1 kdir
	: > "$MVM_ERRFILE"
	if ! resolve_kernel "$s"; then
		result FAIL "w1_$s" "$KERNEL_ERR"
		return 0
	fi
	echo "    # Linux $s: $KERNEL_ABI, headers linux-headers-$KERNEL_ABI"
	if ! kdir=$(kernel_headers "$KERNEL_ABI"); then
		result FAIL "w1_$KERNEL_ABI" "$(setup_error "no headers for $KERNEL_ABI")"
		return 0
	fi
	[ "${2:-}" = sparse ] && lint_case "sparse_$KERNEL_ABI" _sparse "$kdir"
	lint_case "w1_$KERNEL_ABI" build_module "$kdir" "$KERNEL_ABI"
	# Installed as a user installs it: DKMS and make install, in a scratch tree.
	lint_case "dkms_$KERNEL_ABI" "$MVM_TOP/selftests/vm/dkms-test.sh" "$kdir" "$KERNEL_ABI"
}

lane_lint() {
	local cp
	lane_begin lint "checkpatch --strict, sparse, W=1, DKMS, unit tests, the kernel resolver (host)"
	lint_case log_checker _checker_selftest
	lint_case unit _unit
	resolver_cases
	: > "$MVM_ERRFILE"
	if (need_pkgs linux-source-6.1 sparse) && cp=$(checkpatch_dir); then
		lint_case checkpatch perl "$cp/scripts/checkpatch.pl" --no-tree --strict \
			--terse --show-types -f "$MVM_TOP"/module/*.[ch] "$MVM_TOP"/module/*/*.[ch] "$MVM_TOP"/uapi/linux/mvm.h
	else
		result FAIL checkpatch "$(setup_error "no checkpatch.pl or sparse")"
	fi
	lint_kernel 6.1 sparse
	lint_kernel 6.12
	lane_end lint
}

cmd_check() {
	local lanes=${*:-$ALL_LANES} l
	for l in $lanes; do
		case " $ALL_LANES " in *" $l "*) ;; *) die "unknown lane '$l' (lanes: $ALL_LANES)" ;; esac
	done
	need_host_pkgs
	recap_file=$(mktemp)
	echo "KTAP version 1"
	for l in $lanes; do
		"lane_$l"
	done
	echo "1..$lane_no"
	# The failures again, each with the lines before it, at most 80 lines.
	head -n 80 "$recap_file"
	rm -f "$recap_file"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}

cmd_demo() {
	local abi tree ko initrd logf="$MVM_BUILD/demo.log" t0=$SECONDS status=0
	need_host_pkgs
	resolve_kernel 6.1 || die "$KERNEL_ERR"
	abi=$KERNEL_ABI
	log "Linux 6.1: $abi ($KERNEL_PKG $KERNEL_VER)"
	tree=$(kernel_tree "$abi" "$KERNEL_PKG")
	ko=$(build_module "$(kernel_headers "$abi")" "$abi")
	initrd="$MVM_BUILD/initrd-$abi.cpio.gz"
	MVM_GUEST_KERNEL="$tree/boot/vmlinuz-$abi" make_initramfs "$initrd" "$ko" "$tree" "$abi"
	log "booting Linux $abi in QEMU TCG -cpu max (SVM with NPT)"
	boot_qemu "$tree/boot/vmlinuz-$abi" "$initrd" \
		"$BASE_APPEND mvm.mode=demo" "$logf" 300 || status=$?
	tr -d '\r' < "$logf" | sed -n '/^MVM-BEGIN/,/^MVM-DMESG-BEGIN/p' | sed '$d'
	log "test VM ran $((SECONDS - t0)) s (status $status); serial log: $logf"
	tr -d '\r' < "$logf" | grep -c '^MVM-LOADED' > /dev/null
}

# bench_log_ok LOG: the VM finished, mvm loaded, the benchmark exited 0 and
# the kernel log has no reports (BAD_LOG, as the lanes check it).
bench_log_ok() {
	local clean=$1 ok=0
	grep -q '^MVM-DONE' "$clean" || { log "bench: no MVM-DONE"; ok=1; }
	grep -q '^MVM-LOADED' "$clean" || { log "bench: mvm did not load"; ok=1; }
	grep -q '^MVM-BENCH-END 0$' "$clean" ||
		{ log "bench: the benchmark failed"; ok=1; }
	if grep -nE "$BAD_LOG" "$clean" > "$clean.bad"; then
		log "bench: reports in the kernel log:"
		head -n 40 "$clean.bad" | sed 's/^/    /' >&2
		ok=1
	fi
	rm -f "$clean.bad"
	return $ok
}

# make bench [LANE=svm|vmx]: that lane's VM (Debian's 6.1; QEMU TCG -cpu max
# or Bochs corei7_skylake_x) with mvm.mode=bench: mvm, then KVM in the same
# boot.  The benchmark's KTAP goes to stdout.  In the svm lane it also times
# a Linux boot under the launcher and under QEMU -accel kvm -M microvm: the
# test VM gets the guest kernel and initramfs of the svm lane, and QEMU.
cmd_bench() {
	local lane=${1:-svm} abi tree ko initrd logf t0=$SECONDS status=0 rc=0
	local boot timeout append="$BASE_APPEND mvm.mode=bench"
	local gk= qemu=
	need_host_pkgs
	[ -x "$MVM_BUILD/bench/bench" ] || die "no $MVM_BUILD/bench/bench: use make bench"
	resolve_kernel 6.1 || die "$KERNEL_ERR"
	abi=$KERNEL_ABI
	log "Linux 6.1: $abi ($KERNEL_PKG $KERNEL_VER)"
	tree=$(kernel_tree "$abi" "$KERNEL_PKG")
	case $lane in
	svm) boot=boot_qemu timeout=${MVM_BENCH_TIMEOUT:-900}
	     append="$append mvm_watchdog=600"
	     gk="$tree/boot/vmlinuz-$abi" qemu=1 ;;
	vmx) need_bochs_pkgs
	     boot=boot_bochs timeout=${MVM_BENCH_TIMEOUT:-2400}
	     append="$append ${LANE_APPEND[vmx]} mvm_watchdog=1800" ;;
	*) die "make bench: LANE is svm or vmx, not '$lane'" ;;
	esac
	# Some workloads only (bench.c): the kernel command line takes no spaces.
	[ -z "${MVM_BENCH_ONLY:-}" ] ||
		append="$append mvm_bench_only=$(echo $MVM_BENCH_ONLY | tr ' ' ,)"
	logf="$MVM_BUILD/bench-$lane.log"
	ko=$(build_module "$(kernel_headers "$abi")" "$abi")
	initrd="$MVM_BUILD/initrd-bench-$abi.cpio.gz"
	MVM_BENCH_BIN="$MVM_BUILD/bench/bench" MVM_BENCH_QEMU=$qemu MVM_GUEST_KERNEL=$gk \
		make_initramfs "$initrd" "$ko" "$tree" "$abi"
	log "bench initramfs: $(du -m "$initrd" | cut -f1) MiB"
	log "booting Linux $abi in the $lane lane's emulator: mvm, then KVM"
	$boot "$tree/boot/vmlinuz-$abi" "$initrd" "$append" "$logf" "$timeout" ||
		status=$?
	[ -f "$logf" ] || : > "$logf"
	tr -d '\r' < "$logf" > "$logf.clean"
	sed -n '/^MVM-BENCH-BEGIN$/,/^MVM-BENCH-END/p' "$logf.clean" | sed '1d;$d'
	bench_log_ok "$logf.clean" || rc=1
	rm -f "$logf.clean"
	log "test VM ran $((SECONDS - t0)) s (status $status); serial log: $logf"
	return $rc
}

cmd_module() {
	need_pkgs gcc make
	resolve_kernel 6.1 || die "$KERNEL_ERR"
	build_module "$(kernel_headers "$KERNEL_ABI")" "$KERNEL_ABI"
}

# Sourced (by the resolver's test), it only defines.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	return 0
fi

case ${1:-} in
check) shift; cmd_check "$@" ;;
demo) cmd_demo ;;
bench) shift; cmd_bench "$@" ;;
module) cmd_module ;;
*) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
