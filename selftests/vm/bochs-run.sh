#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot KERNEL + INITRD inside Bochs (Intel Skylake-X model: VMX, EPT, VPID)
# and return once the guest prints MARKER on its serial port (ttyS0).
#
# usage: bochs-run.sh KERNEL INITRD CMDLINE SERIAL_LOG TIMEOUT_SECONDS MARKER
# exit:  0 marker seen, 124 timeout, 1 bochs died / setup error
#
# Debian packages: bochs bochs-term bochsbios vgabios isolinux
#                  syslinux-common xorriso bsdutils
set -euo pipefail

if [ $# -ne 6 ]; then
	echo "usage: $0 KERNEL INITRD CMDLINE SERIAL_LOG TIMEOUT_SECONDS MARKER" >&2
	exit 1
fi
kernel=$1 initrd=$2 cmdline=$3 serial=$4 timeout=$5 marker=$6
serial=$(realpath -m -- "$serial")

tmp=$(mktemp -d -t bochs-run.XXXXXX)
script_pid=
log_pid=
screen_pid=
cleanup() {
	local pid=''
	[ -s "$tmp/bochs.pid" ] && pid=$(cat "$tmp/bochs.pid")
	# bochs ignores SIGTERM and has nothing to flush: SIGKILL it. It runs
	# in the pty's own session, so kill it by pid (/usr/bin/bochs execs
	# bochs-bin, same pid); script(1) then reaps it and exits.
	case $(cat /proc/"${pid:-0}"/comm 2>/dev/null) in
	bochs | bochs-bin) kill -KILL "$pid" 2>/dev/null || true ;;
	esac
	if [ -n "$script_pid" ]; then
		for _ in $(seq 20); do
			kill -0 "$script_pid" 2>/dev/null || break
			sleep 0.1
		done
		# last resort: bochs dies of SIGHUP when the pty master closes
		kill -KILL "$script_pid" 2>/dev/null || true
		wait "$script_pid" 2>/dev/null || true
	fi
	# Bochs's own log (its BX_ERROR lines name the emulated CPU's faults)
	# stays beside the serial log, once tail(1) has its end.
	if [ -n "$log_pid" ]; then
		for _ in $(seq 50); do
			kill -0 "$log_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$log_pid" 2>/dev/null || true
	fi
	if [ -n "$screen_pid" ]; then
		kill "$screen_pid" 2>/dev/null || true
	fi
	[ -f "$tmp/bochs.log" ] && cp "$tmp/bochs.log" "${serial%.log}.bochs.log"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

tail_log() {
	echo "--- last 30 lines of $serial ---" >&2
	tail -n 30 "$serial" >&2 || true
}

# --- bootable ISO: isolinux loads /vmlinuz + /initrd.img ------------------
mkdir -p "$tmp/iso/isolinux"
cp -- "$kernel" "$tmp/iso/vmlinuz"
cp -- "$initrd" "$tmp/iso/initrd.img"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
	"$tmp/iso/isolinux/"
cat >"$tmp/iso/isolinux/isolinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img $cmdline
EOF
xorriso -as mkisofs -quiet -o "$tmp/boot.iso" \
	-b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table "$tmp/iso" \
	>"$tmp/xorriso.log" 2>&1 || { cat "$tmp/xorriso.log" >&2; exit 1; }
rm -rf "$tmp/iso"

# --- bochs config ---------------------------------------------------------
# clock sync=none: guest time is derived from the instruction count (ips),
# so the run is deterministic and host load doesn't starve guest timers.
# A low ips boots faster: idle guest time still costs host time per tick
# (Debian kernel to /init: 22s at 5M, 30s at 10M, 34s at 20M, 46s at 50M).
cat >"$tmp/bochsrc" <<EOF
cpu: model=corei7_skylake_x, count=1, ips=10000000, reset_on_triple_fault=0
memory: guest=1024, host=1024
clock: sync=none
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path="$tmp/boot.iso", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev="$serial"
display_library: term
mouse: enabled=0
# no sound: Debian's bochs probes ALSA and aborts ("buffer overflow
# detected") when there is no sound card
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
log: $tmp/bochs.fifo
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
# A guest running random code (fuzz_test) makes Bochs log gigabytes of
# BX_ERROR lines: keep the last 64 MB.  tail(1) writes them when Bochs
# closes the FIFO, at its exit.
mkfifo "$tmp/bochs.fifo"
tail -c 64000000 <"$tmp/bochs.fifo" >"$tmp/bochs.log" &
log_pid=$!

# Debian's bochs has the debugger built in: the rc file makes it continue
# immediately instead of waiting at its prompt.
echo c >"$tmp/rc"

: >"$serial"
# The term display needs a tty: script(1) supplies a pty. "exec" makes
# bochs replace the shell so the recorded pid is bochs itself.
cmd="echo \$\$ >$(printf %q "$tmp/bochs.pid"); exec bochs -q"
cmd+=" -f $(printf %q "$tmp/bochsrc") -rc $(printf %q "$tmp/rc")"
TERM=xterm SHELL=/bin/sh script -qfec "$cmd" /dev/null \
	</dev/null >"$tmp/term.out" 2>&1 &
script_pid=$!

# Built with its debugger, Bochs's term display draws the screen into a pty
# of its own ("Bochs connected to screen /dev/pts/N") and keeps the first
# one for the debugger.  Nobody reads that pty unless we do: once 4 KiB of
# screen updates fill it, Bochs blocks in write(2), and the whole test VM
# stops with it, silently.  Drain it.
drain_screen() {
	local pts
	pts=$(sed -n 's/.*Bochs connected to screen "\(\/dev\/pts\/[0-9]*\)".*/\1/p' \
		"$tmp/term.out" 2>/dev/null | head -n 1)
	[ -n "$pts" ] || return 0
	cat "$pts" >/dev/null 2>&1 &
	screen_pid=$!
}

# --- wait for the marker ----------------------------------------------------
deadline=$((SECONDS + timeout))
while :; do
	[ -n "$screen_pid" ] || drain_screen
	if grep -qF -- "$marker" "$serial" 2>/dev/null; then
		exit 0
	fi
	# A panicked guest would only reboot through the BIOS: stop now.
	if grep -qF -- "Kernel panic - not syncing" "$serial" 2>/dev/null; then
		echo "the guest kernel panicked" >&2
		tail_log
		exit 1
	fi
	if ! kill -0 "$script_pid" 2>/dev/null; then
		# marker may have been written just before the guest powered off
		grep -qF -- "$marker" "$serial" 2>/dev/null && exit 0
		echo "bochs exited before '$marker' appeared" >&2
		tail -n 5 "$tmp/bochs.log" "$tmp/term.out" >&2 2>/dev/null || true
		tail_log
		exit 1
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "timeout after ${timeout}s waiting for '$marker'" >&2
		tail_log
		exit 124
	fi
	sleep 0.5
done
