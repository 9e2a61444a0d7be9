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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/hw.h"

#define PM1_SCI_EN	0x0001
#define PM1_SLP_TYP(v)	(((v) >> 10) & 7)
#define PM1_SLP_EN	0x2000
#define PM_TMR_HZ	3579545ULL

#define I8042_RESET	0xfe

struct platform {
	struct device dev;
	uint8_t cmos_index;
	uint8_t cmos[128];
	uint32_t pci_addr;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
};

static uint8_t bcd(int v)
{
	return (v / 10) << 4 | (v % 10);
}

static uint8_t cmos_read(const struct platform *plat, uint8_t idx)
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
	default: return plat->cmos[idx];
	}
}

static void cmos_io(struct vcpu *vcpu, uint64_t port, void *data,
		    uint32_t len, bool write, void *opaque)
{
	struct platform *plat = opaque;
	uint8_t v = bus_get(data, 1);

	(void)vcpu;
	if (!write)
		memset(data, 0, len);
	if (port == 0x70) {
		if (write)
			plat->cmos_index = v & 0x7f;	/* bit 7: NMI mask */
		else
			bus_put(data, 1, 0xff);
		return;
	}
	if (write)
		plat->cmos[plat->cmos_index] = v;
	else
		bus_put(data, 1, cmos_read(plat, plat->cmos_index));
}

static void port80_io(struct vcpu *vcpu, uint64_t port, void *data,
		      uint32_t len, bool write, void *opaque)
{
	(void)vcpu;
	(void)port;
	(void)opaque;
	if (!write) {
		memset(data, 0, len);
		bus_put(data, 1, 0xff);
	}
}

static void pci_io(struct vcpu *vcpu, uint64_t port, void *data, uint32_t len,
		   bool write, void *opaque)
{
	struct platform *plat = opaque;

	(void)vcpu;
	if (port == 0xcf8 && len == 4) {
		if (write)
			plat->pci_addr = bus_get(data, 4) & 0x80fffffc;
		else
			bus_put(data, 4, plat->pci_addr);
		return;
	}
	if (!write)	/* no function answers: all ones */
		memset(data, 0xff, len);
}

static void i8042_io(struct vcpu *vcpu, uint64_t port, void *data,
		     uint32_t len, bool write, void *opaque)
{
	struct platform *plat = opaque;

	(void)vcpu;
	if (!write) {
		memset(data, 0, len);
		return;
	}
	if (port == 0x64 && bus_get(data, 1) == I8042_RESET)
		machine_request(plat->dev.machine, REQ_REBOOT);
}

static void pm_io(struct vcpu *vcpu, uint64_t port, void *data, uint32_t len,
		  bool write, void *opaque)
{
	struct platform *plat = opaque;
	uint32_t v = bus_get(data, len), r;
	uint64_t ticks;

	(void)vcpu;
	if (port >= ACPI_PM_TMR) {
		if (!write) {	/* 24 bits, wrapping */
			ticks = (unsigned __int128)mono_ns() * PM_TMR_HZ /
				1000000000ULL;
			memset(data, 0, len);
			bus_put(data, len > 4 ? 4 : len,
				(ticks & 0xffffff) >> (8 * (port - ACPI_PM_TMR)));
		}
		return;
	}
	if (!write) {
		switch (port) {
		case ACPI_PM1A_EVT:
			r = plat->pm1_sts | (uint32_t)plat->pm1_en << 16;
			break;
		case ACPI_PM1A_EVT + 2:
			r = plat->pm1_en;
			break;
		case ACPI_PM1A_CNT:
			r = plat->pm1_cnt | PM1_SCI_EN;
			break;
		default:
			r = 0;
			break;
		}
		memset(data, 0, len);
		bus_put(data, len > 4 ? 4 : len, r);
		return;
	}
	switch (port) {
	case ACPI_PM1A_EVT:	/* status bits are cleared by writing 1 */
		plat->pm1_sts &= ~v;
		if (len == 4)
			plat->pm1_en = v >> 16;
		break;
	case ACPI_PM1A_EVT + 2:
		plat->pm1_en = v;
		break;
	case ACPI_PM1A_CNT:
		plat->pm1_cnt = v & ~PM1_SLP_EN;
		if ((v & PM1_SLP_EN) && PM1_SLP_TYP(v) == ACPI_SLP_TYP_S5)
			machine_request(plat->dev.machine, REQ_POWEROFF);
		break;
	}
}

static void platform_reset(struct device *dev)
{
	struct platform *plat = container_of(dev, struct platform, dev);

	plat->cmos_index = 0;
	memset(plat->cmos, 0, sizeof(plat->cmos));
	plat->pci_addr = 0;
	plat->pm1_sts = plat->pm1_en = plat->pm1_cnt = 0;
}

/* The clock bytes of CMOS are the host's time, not state. */
static void platform_save(struct device *dev, struct state_buf *b)
{
	struct platform *plat = container_of(dev, struct platform, dev);

	save_u8(b, plat->cmos_index);
	save_bytes(b, plat->cmos, sizeof(plat->cmos));
	save_u32(b, plat->pci_addr);
	save_u16(b, plat->pm1_sts);
	save_u16(b, plat->pm1_en);
	save_u16(b, plat->pm1_cnt);
}

static int platform_load(struct device *dev, struct state_buf *b)
{
	struct platform *plat = container_of(dev, struct platform, dev);

	plat->cmos_index = load_u8(b);
	load_bytes(b, plat->cmos, sizeof(plat->cmos));
	plat->pci_addr = load_u32(b);
	plat->pm1_sts = load_u16(b);
	plat->pm1_en = load_u16(b);
	plat->pm1_cnt = load_u16(b);
	if (plat->cmos_index & 0x80 || plat->pci_addr & ~0x80fffffcU ||
	    plat->pm1_cnt & PM1_SLP_EN)
		return -EINVAL;
	return 0;
}

static const struct device_ops platform_ops = {
	.name = "platform",
	.version = 1,
	.reset = platform_reset,
	.save = platform_save,
	.load = platform_load,
};

struct device *platform_create(struct machine *m)
{
	static const struct {
		uint16_t base, len;
		bus_fn fn;
	} ranges[] = {
		{ 0x70, 2, cmos_io },
		{ PORT_POST, 1, port80_io },
		{ 0xcf8, 8, pci_io },
		{ 0x60, 1, i8042_io },
		{ 0x64, 1, i8042_io },
		{ ACPI_PM1A_EVT, 4, pm_io },
		{ ACPI_PM1A_CNT, 2, pm_io },
		{ ACPI_PM_TMR, 4, pm_io },
	};
	struct platform *plat = calloc(1, sizeof(*plat));
	unsigned int i;

	if (!plat)
		return NULL;
	device_register(m, &plat->dev, &platform_ops);
	platform_reset(&plat->dev);
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (bus_register(&m->bus, BUS_PIO, ranges[i].base,
				 ranges[i].len, &plat->dev, ranges[i].fn,
				 plat)) {
			errno = EBUSY;
			return NULL;
		}
	}
	return &plat->dev;
}
