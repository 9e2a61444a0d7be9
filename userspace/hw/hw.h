/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm launcher: the PC devices of hw/.
 *
 * i8259.c     the i8259 pair and the ELCRs
 * i8254.c     the i8254 and port 0x61
 * serial.c    the 16550A on 0x3f8 and the terminal behind it
 * platform.c  CMOS RTC, port 0x80, PCI configuration, i8042 reset, the
 *             ACPI PM1 registers and PM timer
 * qemu.c      QEMU's fw_cfg and isa-debug-exit, for test kernels
 *
 * Each *_create() registers its device and its ranges on @m and returns
 * the device, or NULL with errno set.
 */
#ifndef MVM_HW_H
#define MVM_HW_H

#include "device.h"

/* --- i8259.c ------------------------------------------------------------- */

#define PIC_MASTER	0x20
#define PIC_SLAVE	0xa0
#define PIC_ELCR	0x4d0

/* @deliver hands a vector to the CPU (MVM_INTERRUPT), under the PIC lock. */
struct device *i8259_create(struct machine *m,
			    void (*deliver)(void *ctx, uint8_t vector),
			    void *ctx);
/*
 * An ISA IRQ line, 0-15; a rising edge sets the request.  @pic is what
 * i8259_create() returned (a machine's irq_ctx).
 */
void i8259_set_irq(void *pic, unsigned int irq, int level);

/* --- i8254.c ------------------------------------------------------------- */

#define PIT_BASE	0x40
#define PIT_HZ		1193182ULL
#define PIT_IRQ		0
#define PORT_B		0x61

/* Claims 0x40-0x43 and 0x61 and starts channel 0's thread. */
struct device *i8254_create(struct machine *m);

/* --- serial.c ------------------------------------------------------------ */

#define SERIAL_COM1	0x3f8
#define SERIAL_COM1_IRQ	4
#define SERIAL_NAME	"serial"

/*
 * COM1; its output goes to @out_fd, its input comes from @in_fd (-1:
 * none).  A terminal on @in_fd is in raw mode until the program exits.
 */
struct device *serial_create(struct machine *m, int in_fd, int out_fd);

/* --- platform.c ---------------------------------------------------------- */

#define PORT_POST	0x80
#define ACPI_PM1A_EVT	0x600	/* PM1a status and enable, 4 ports */
#define ACPI_PM1A_CNT	0x604	/* PM1a control, 2 ports */
#define ACPI_PM_TMR	0x608	/* PM timer, 4 ports */
#define ACPI_SLP_TYP_S5	5	/* what _S5 tells the guest to write */

struct device *platform_create(struct machine *m);

/* --- qemu.c ------------------------------------------------------------- */

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511
#define DEBUG_EXIT_PORT		0xf4

/* fw_cfg's items: what the machine has, and the kernel's command line. */
struct device *fw_cfg_create(struct machine *m, uint64_t ram_size,
			     uint16_t cpus, const char *cmdline);
/* isa-debug-exit at 0xf4-0xf7: a write of V ends with (V << 1) | 1. */
struct device *debug_exit_create(struct machine *m);

#endif /* MVM_HW_H */
