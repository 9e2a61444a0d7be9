/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm launcher: what its files share.
 *
 * main.c      command line, help, exit statuses
 * vm.c        the VM, its memory and vCPU, the run loop, the posted-write
 *             ring, the guest's CPUID
 * loader.c    bzImage (Linux boot protocol), ELF64 and flat binaries
 * acpi.c      the ACPI tables: RSDP, XSDT, FADT, FACS, DSDT with _S5
 * io.c        the port registry and the default for unclaimed ports
 * pic.c       the i8259 pair
 * pit.c       the i8254 and port 0x61
 * uart.c      the 16550A on 0x3f8 and the terminal behind it
 * platform.c  CMOS RTC, port 0x80, PCI configuration, i8042 reset, the
 *             ACPI PM1 registers and PM timer
 *
 * Device models run under dev_lock, from the vCPU thread (exits and the
 * ring) and from the device threads (timer, terminal input, ring).  They
 * reach the guest only through pic_set_irq().
 */
#ifndef MVM_LAUNCHER_H
#define MVM_LAUNCHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
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

/* --- io.c ---------------------------------------------------------------- */

typedef void (*pio_fn)(void *opaque, uint16_t port, uint8_t size, bool write,
		       uint32_t *data);

extern pthread_mutex_t dev_lock;
extern bool debug_exits;

/* Claims ports [base, base + len) for @fn; at most one owner per port. */
void pio_register(uint16_t base, uint16_t len, const char *name, pio_fn fn,
		  void *opaque);
/* One guest access, dev_lock held; unclaimed ports read all ones. */
void pio_access(uint16_t port, uint8_t size, bool write, uint32_t *data);
/* An MMIO access: nothing is there; reads all ones, writes dropped. */
void mmio_access(uint64_t addr, uint8_t size, bool write, uint64_t *data);
/* Forget every registration (for tests that set up devices again). */
void pio_reset(void);

/* What a device asks of the machine, seen by the run loop after an exit. */
enum machine_request {
	REQ_NONE,
	REQ_POWEROFF,
	REQ_REBOOT,
};

void machine_request(enum machine_request req);
enum machine_request machine_pending(void);

/* --- pic.c --------------------------------------------------------------- */

/* @deliver queues a vector on the vCPU (MVM_INTERRUPT). */
void pic_init(void (*deliver)(void *ctx, uint8_t vector), void *ctx);
/* An ISA IRQ line, 0-15; edges set the request (dev_lock held). */
void pic_set_irq(unsigned int irq, int level);
static inline void pic_pulse_irq(unsigned int irq)
{
	pic_set_irq(irq, 1);
	pic_set_irq(irq, 0);
}

/* --- pit.c --------------------------------------------------------------- */

#define PIT_HZ		1193182ULL

/* Registers ports 0x40-0x43 and 0x61 and starts the channel 0 thread. */
int pit_init(void);

/* --- uart.c -------------------------------------------------------------- */

#define UART_COM1	0x3f8
#define UART_COM1_IRQ	4

/*
 * Registers the UART; its output goes to @out_fd, its input comes from
 * @in_fd (-1: none).  A terminal on @in_fd is put in raw mode until exit.
 */
int uart_init(int in_fd, int out_fd);
/* Writes what the guest sent since the last call (dev_lock held). */
void uart_flush(void);

/* --- platform.c ---------------------------------------------------------- */

#define ACPI_PM1A_EVT	0x600	/* PM1a status and enable, 4 ports */
#define ACPI_PM1A_CNT	0x604	/* PM1a control, 2 ports */
#define ACPI_PM_TMR	0x608	/* PM timer, 4 ports */
#define ACPI_SLP_TYP_S5	5	/* what _S5 tells the guest to write */

void platform_init(void);
uint64_t mono_ns(void);

/* --- acpi.c -------------------------------------------------------------- */

#define ACPI_TABLES	0xe0000UL	/* the BIOS area Linux scans for RSDP */
#define ACPI_TABLES_END	0x100000UL

/* Builds the tables at ACPI_TABLES in @mem; returns the RSDP's address. */
uint64_t acpi_build(uint8_t *mem);

/* --- loader.c ------------------------------------------------------------ */

struct guest_entry {
	int mode;		/* ENTRY_* */
	uint64_t rip, rsp, rsi;
	uint64_t gdt, cr3;	/* guest-physical tables the loader built */
};

enum {
	ENTRY_REAL,		/* real mode, CS:IP = rip >> 4 : 0 */
	ENTRY_PROT32,		/* 32-bit flat protected mode, no paging */
	ENTRY_LONG,		/* 64-bit mode, first 4 GiB identity-mapped */
};

struct guest_mem {
	uint8_t *mem;
	uint64_t size;
};

/* Each returns 0, or prints one line and returns EXIT_BAD_IMAGE. */
int load_bzimage(struct guest_mem *gm, const char *kernel, const char *initrd,
		 const char *cmdline, struct guest_entry *entry);
int load_elf_or_flat(struct guest_mem *gm, const char *path,
		     struct guest_entry *entry);

/* --- vm.c ---------------------------------------------------------------- */

struct vm_config {
	uint64_t mem_size;
	unsigned int cpus;
	const char *kernel, *initrd, *cmdline, *image;
};

int mvm_open(void);
int vm_run(const struct vm_config *cfg);

#endif /* MVM_LAUNCHER_H */
