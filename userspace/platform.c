// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the small PC devices.
 *
 * - CMOS RTC (0x70 index, 0x71 data): the host's UTC time in BCD, 24-hour
 *   mode, never "update in progress"; the other bytes of the 128 are kept
 *   as written.  No RTC interrupts.
 * - Port 0x80, the POST code port that Linux writes for I/O delays: posted,
 *   and dropped.
 * - PCI configuration mechanism #1 (0xcf8 address, 0xcfc-0xcff data): the
 *   address register reads back, so Linux finds the mechanism, and every
 *   function reads all ones: no devices.
 * - i8042 (0x60, 0x64): status 0 (nothing to read, room to write); the
 *   pulse-reset command 0xfe ends the guest as a reboot.
 * - The ACPI PM1a event (status, enable) and control registers and the PM
 *   timer that acpi.c's FADT points at: writing SLP_EN with SLP_TYP 5, the
 *   _S5 value of the DSDT, powers the guest off.  SCI_EN reads as set, so
 *   the guest sees ACPI mode without an SMI command port.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "launcher.h"

#define PM1_SCI_EN	0x0001
#define PM1_SLP_TYP(v)	(((v) >> 10) & 7)
#define PM1_SLP_EN	0x2000
#define PM_TMR_HZ	3579545ULL

#define I8042_RESET	0xfe

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct {
	uint8_t cmos_index;
	uint8_t cmos[128];
	uint32_t pci_addr;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
} plat;

static uint8_t bcd(int v)
{
	return (v / 10) << 4 | (v % 10);
}

static uint8_t cmos_read(uint8_t idx)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (idx) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x0a: return 0x26;	/* 32.768 kHz base, 1024 Hz, no UIP */
	case 0x0b: return 0x02;	/* 24-hour, BCD, no interrupts */
	case 0x0c: return 0x00;	/* no interrupt flags */
	case 0x0d: return 0x80;	/* valid RAM and time */
	case 0x32: return bcd(tm.tm_year / 100 + 19);
	default: return plat.cmos[idx];
	}
}

static void cmos_io(void *opaque, uint16_t port, uint8_t size, bool write,
		    uint32_t *data)
{
	(void)opaque;
	(void)size;
	if (port == 0x70) {
		if (write)
			plat.cmos_index = *data & 0x7f;	/* bit 7: NMI mask */
		else
			*data = 0xff;
		return;
	}
	if (write)
		plat.cmos[plat.cmos_index] = *data;
	else
		*data = cmos_read(plat.cmos_index);
}

static void port80_io(void *opaque, uint16_t port, uint8_t size, bool write,
		      uint32_t *data)
{
	(void)opaque;
	(void)port;
	(void)size;
	if (!write)
		*data = 0xff;
}

static void pci_io(void *opaque, uint16_t port, uint8_t size, bool write,
		   uint32_t *data)
{
	(void)opaque;
	if (port == 0xcf8 && size == 4) {
		if (write)
			plat.pci_addr = *data & 0x80fffffc;
		else
			*data = plat.pci_addr;
		return;
	}
	if (!write)	/* no function answers: all ones */
		*data = size == 4 ? 0xffffffff : (1U << (8 * size)) - 1;
}

static void i8042_io(void *opaque, uint16_t port, uint8_t size, bool write,
		     uint32_t *data)
{
	(void)opaque;
	(void)size;
	if (!write) {
		*data = 0;
		return;
	}
	if (port == 0x64 && (*data & 0xff) == I8042_RESET)
		machine_request(REQ_REBOOT);
}

static void pm_io(void *opaque, uint16_t port, uint8_t size, bool write,
		  uint32_t *data)
{
	uint64_t ticks;
	uint32_t v = *data;

	(void)opaque;
	if (port >= ACPI_PM_TMR) {
		if (!write) {	/* 24 bits, wrapping */
			ticks = (unsigned __int128)mono_ns() * PM_TMR_HZ /
				1000000000ULL;
			*data = (ticks & 0xffffff) >> (8 * (port - ACPI_PM_TMR));
		}
		return;
	}
	if (!write) {
		switch (port) {
		case ACPI_PM1A_EVT:
			*data = plat.pm1_sts | (uint32_t)plat.pm1_en << 16;
			break;
		case ACPI_PM1A_EVT + 2:
			*data = plat.pm1_en;
			break;
		case ACPI_PM1A_CNT:
			*data = plat.pm1_cnt | PM1_SCI_EN;
			break;
		default:
			*data = 0;
			break;
		}
		if (size < 4)
			*data &= (1U << (8 * size)) - 1;
		return;
	}
	switch (port) {
	case ACPI_PM1A_EVT:	/* status bits are cleared by writing 1 */
		plat.pm1_sts &= ~v;
		if (size == 4)
			plat.pm1_en = v >> 16;
		break;
	case ACPI_PM1A_EVT + 2:
		plat.pm1_en = v;
		break;
	case ACPI_PM1A_CNT:
		plat.pm1_cnt = v & ~PM1_SLP_EN;
		if ((v & PM1_SLP_EN) && PM1_SLP_TYP(v) == ACPI_SLP_TYP_S5)
			machine_request(REQ_POWEROFF);
		break;
	}
}

void platform_init(void)
{
	memset(&plat, 0, sizeof(plat));
	pio_register(0x70, 2, "cmos", cmos_io, NULL);
	pio_register(0x80, 1, "post", port80_io, NULL);
	pio_register(0xcf8, 8, "pci", pci_io, NULL);
	pio_register(0x60, 1, "i8042-data", i8042_io, NULL);
	pio_register(0x64, 1, "i8042", i8042_io, NULL);
	pio_register(ACPI_PM1A_EVT, 4, "acpi-pm1-evt", pm_io, NULL);
	pio_register(ACPI_PM1A_CNT, 2, "acpi-pm1-cnt", pm_io, NULL);
	pio_register(ACPI_PM_TMR, 4, "acpi-pm-tmr", pm_io, NULL);
}
