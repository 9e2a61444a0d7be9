// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the smallest ACPI table set that lets Linux power off.
 *
 * Linux powers a PC off through ACPI: it evaluates \_S5 in the DSDT for
 * the sleep type, then writes SLP_TYP and SLP_EN to the PM1a control
 * register the FADT names.  So: an RSDP in the BIOS area (0xe0000-0xfffff,
 * where Linux scans for it when no firmware hands it over), an XSDT and an
 * RSDT listing the FADT, a FACS, and a DSDT holding nothing but \_S5.
 * There is no MADT (no local APIC nor I/O APIC), no HPET, no MCFG; the
 * FADT says there is no i8042 (so Linux does not probe one; the reset
 * command still works) and no VGA.  Offsets are those of ACPI 6.4, 5.2.
 */
#define _GNU_SOURCE
#include <string.h>

#include "hw/hw.h"
#include "loader/loader.h"

#define RSDP_ADDR	(ACPI_TABLES + 0x000)
#define XSDT_ADDR	(ACPI_TABLES + 0x040)
#define RSDT_ADDR	(ACPI_TABLES + 0x080)
#define FACS_ADDR	(ACPI_TABLES + 0x0c0)	/* 64-byte aligned */
#define FADT_ADDR	(ACPI_TABLES + 0x100)
#define DSDT_ADDR	(ACPI_TABLES + 0x200)

#define HDR_LEN		36
#define FADT_LEN	244	/* revision 4: up to X_GPE1_BLK */
#define FACS_LEN	64

/* FADT flags and IA-PC boot architecture flags. */
#define FADT_WBINVD		(1U << 0)
#define FADT_PROC_C1		(1U << 2)
#define FADT_PWR_BUTTON		(1U << 4)	/* no fixed power button */
#define FADT_SLP_BUTTON		(1U << 5)	/* no fixed sleep button */
#define BOOT_LEGACY_DEVICES	(1U << 0)
#define BOOT_NO_VGA		(1U << 2)
#define BOOT_NO_MSI		(1U << 3)

/* Name (_S5, Package () { 5, 5, 0, 0 }), in AML. */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',		/* NameOp "_S5_" */
	0x12, 0x08, 0x04,			/* PackageOp, length, 4 items */
	0x0a, ACPI_SLP_TYP_S5,			/* BytePrefix: SLP_TYPa */
	0x0a, ACPI_SLP_TYP_S5,			/* BytePrefix: SLP_TYPb */
	0x00, 0x00,				/* Zero, Zero */
};

static void put8(uint8_t *p, unsigned int off, uint8_t v)
{
	p[off] = v;
}

static void put16(uint8_t *p, unsigned int off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}

static void put32(uint8_t *p, unsigned int off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void put64(uint8_t *p, unsigned int off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static uint8_t checksum(const uint8_t *p, unsigned int len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return -sum;
}

/* The common header; the checksum is set by table_done(). */
static void table_header(uint8_t *t, const char *sig, uint32_t len,
			 uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	put8(t, 8, rev);
	memcpy(t + 10, "MVM   ", 6);		/* OEM ID */
	memcpy(t + 16, "MVMTABLE", 8);		/* OEM table ID */
	put32(t, 24, 1);			/* OEM revision */
	memcpy(t + 28, "MVM ", 4);		/* creator ID */
	put32(t, 32, 1);			/* creator revision */
}

static void table_done(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

uint64_t acpi_build(uint8_t *mem)
{
	uint8_t *rsdp = mem + RSDP_ADDR, *xsdt = mem + XSDT_ADDR;
	uint8_t *rsdt = mem + RSDT_ADDR, *facs = mem + FACS_ADDR;
	uint8_t *fadt = mem + FADT_ADDR, *dsdt = mem + DSDT_ADDR;
	uint32_t dsdt_len = HDR_LEN + sizeof(dsdt_aml);

	memset(mem + ACPI_TABLES, 0, ACPI_TABLES_END - ACPI_TABLES);

	table_header(dsdt, "DSDT", dsdt_len, 2);
	memcpy(dsdt + HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	table_done(dsdt, dsdt_len);

	memcpy(facs, "FACS", 4);
	put32(facs, 4, FACS_LEN);
	put8(facs, 32, 2);			/* version */

	table_header(fadt, "FACP", FADT_LEN, 4);
	put32(fadt, 36, FACS_ADDR);		/* FIRMWARE_CTRL */
	put32(fadt, 40, DSDT_ADDR);
	put16(fadt, 46, 9);			/* SCI_INT, never raised */
	put32(fadt, 56, ACPI_PM1A_EVT);
	put32(fadt, 64, ACPI_PM1A_CNT);
	put32(fadt, 76, ACPI_PM_TMR);
	put8(fadt, 88, 4);			/* PM1_EVT_LEN */
	put8(fadt, 89, 2);			/* PM1_CNT_LEN */
	put8(fadt, 91, 4);			/* PM_TMR_LEN */
	put16(fadt, 96, 101);			/* P_LVL2_LAT: no C2 */
	put16(fadt, 98, 1001);			/* P_LVL3_LAT: no C3 */
	put8(fadt, 108, 0x32);			/* CENTURY in CMOS */
	put16(fadt, 109, BOOT_LEGACY_DEVICES | BOOT_NO_VGA | BOOT_NO_MSI);
	put32(fadt, 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON |
			 FADT_SLP_BUTTON);
	table_done(fadt, FADT_LEN);

	table_header(rsdt, "RSDT", HDR_LEN + 4, 1);
	put32(rsdt, HDR_LEN, FADT_ADDR);
	table_done(rsdt, HDR_LEN + 4);

	table_header(xsdt, "XSDT", HDR_LEN + 8, 1);
	put64(xsdt, HDR_LEN, FADT_ADDR);
	table_done(xsdt, HDR_LEN + 8);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "MVM   ", 6);
	put8(rsdp, 15, 2);			/* revision: has the XSDT */
	put32(rsdp, 16, RSDT_ADDR);
	put32(rsdp, 20, 36);
	put64(rsdp, 24, XSDT_ADDR);
	put8(rsdp, 8, checksum(rsdp, 20));
	put8(rsdp, 32, checksum(rsdp, 36));
	return RSDP_ADDR;
}
