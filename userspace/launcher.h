/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm launcher: what its files share.
 *
 * main.c      command line, help, exit statuses
 * vm.c        the machine: the VM, its memory, its devices and how their
 *             interrupts reach the vCPUs; the guest's CPUID
 * vcpu.c      struct vcpu: a thread each, the run loop, the posted-write
 *             ring
 * stats.c     exit counters, for --debug-exits
 * stat.c      `mvm stat`: the module's counters of running VMs
 * bus.c       the registry of port and MMIO ranges (bus.h)
 * device.c    device registration, machine requests, device state
 *             (device.h)
 * hw/         the PC devices (hw/hw.h)
 * loader/     bzImage, ELF64 and flat binaries, ACPI tables
 *             (loader/loader.h)
 *
 * Threads: one per vCPU, one per vCPU's ring, and the devices' own (the
 * PIT's timer, terminal input).  The main thread starts them and waits
 * for a signal or for the vCPUs to end.  Locks: device.h.
 */
#ifndef MVM_LAUNCHER_H
#define MVM_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of the launcher; Documentation/mvm/launcher.rst. */
enum {
	EXIT_POWEROFF = 0,	/* the guest powered off (or the program ended) */
	EXIT_ERROR = 1,		/* mvm failed while running the guest */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_NO_MVM = 3,	/* no /dev/mvm, or a module of another API */
	EXIT_BAD_IMAGE = 4,	/* kernel, initramfs or image unusable */
	EXIT_REBOOT = 5,	/* the guest asked for a reset */
	EXIT_TRIPLE_FAULT = 6,	/* the guest shut down (triple fault) */
	EXIT_SIGNAL = 128,	/* plus the signal: 130 for Ctrl-C (SIGINT) */
};

#ifndef KiB
#define KiB		(1ULL << 10)
#endif
#ifndef MiB
#define MiB		(1ULL << 20)
#endif
#ifndef GiB
#define GiB		(1ULL << 30)
#endif

/*
 * console=ttyS0: the kernel's console is the UART (the only output there
 * is).  panic=-1: a guest that panics resets at once, which ends the
 * launcher with status 5, instead of hanging with interrupts off.
 * pci=noearly: no PCI scans before the PCI subsystem starts (the AMD GART
 * aperture checks read every device of every bus twice, 16384 exits); the
 * PCI probe itself then finds no devices.  No noapic or nolapic: CPUID
 * has no APIC and there is no MADT, so Linux stays with the 8259s.
 */
#define CMDLINE_DEFAULT	"console=ttyS0 panic=-1 pci=noearly"

extern bool debug_exits;

struct vm_config {
	uint64_t mem_size;
	unsigned int cpus;
	const char *kernel, *initrd, *image;
	const char *cmdline;	/* NULL: the default for the kernel */
	bool debug_exit;	/* isa-debug-exit at 0xf4 */
};

int mvm_open(void);
int vm_run(const struct vm_config *cfg);
int cmd_stat(int argc, char **argv);

#endif /* MVM_LAUNCHER_H */
