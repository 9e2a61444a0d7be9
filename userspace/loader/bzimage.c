// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: bzImage, the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst in Linux), entered at the 32-bit entry
 * point.  The launcher does what the real-mode setup code would have done:
 * it fills boot_params (the "zero page") with the image's setup header, an
 * e820 map, the command line, the initramfs and the ACPI RSDP, loads the
 * protected-mode kernel at 1 MiB, and starts it in flat 32-bit protected
 * mode without paging, ESI pointing at boot_params.  The kernel's own
 * decompressor then builds its page tables and enters long mode, so the
 * launcher needs none.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "launcher.h"
#include "loader/loader.h"

#define ZERO_PAGE	0x7000UL
#define CMDLINE_ADDR	0x20000UL
#define CMDLINE_MAX	0x10000UL

/* boot_params and setup header offsets (Linux boot protocol 2.15). */
#define BP_ACPI_RSDP	0x070
#define BP_E820_ENTRIES	0x1e8
#define BP_SETUP_SECTS	0x1f1
#define BP_SYSSIZE	0x1f4
#define BP_VID_MODE	0x1fa
#define BP_BOOT_FLAG	0x1fe
#define BP_JUMP		0x200
#define BP_HEADER	0x202
#define BP_VERSION	0x206
#define BP_LOADER_TYPE	0x210
#define BP_LOADFLAGS	0x211
#define BP_CODE32_START	0x214
#define BP_RAMDISK	0x218
#define BP_RAMDISK_SIZE	0x21c
#define BP_CMDLINE_PTR	0x228
#define BP_INITRD_MAX	0x22c
#define BP_CMDLINE_SIZE	0x238
#define BP_PAYLOAD_OFFSET 0x248
#define BP_PAYLOAD_LENGTH 0x24c
#define BP_PREF_ADDRESS	0x258
#define BP_INIT_SIZE	0x260
#define BP_E820_TABLE	0x2d0

#define LOADED_HIGH	0x01
#define E820_RAM	1
#define E820_RESERVED	2

/* Slack above what the kernel needs to decompress and start, for it to run. */
#define KERNEL_RUN_SLACK (32 * MiB)

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	unsigned int n = bp[BP_E820_ENTRIES];
	uint8_t *e = bp + BP_E820_TABLE + 20 * n;

	wr64(e, 0, addr);
	wr64(e, 8, size);
	wr32(e, 16, type);
	bp[BP_E820_ENTRIES] = n + 1;
}

/*
 * The guest's TSC is the host's.  Linux measures its frequency against the
 * PIT, the PM timer or the HPET with loops that need each port read to take
 * well under 20 us; an exit to userspace can take longer (always, under an
 * emulator), and a kernel that fails marks the TSC unstable and keeps time
 * with the PM timer, an exit per clock read.  So the launcher measures the
 * frequency against CLOCK_MONOTONIC and hands it over with tsc_early_khz=,
 * unless the command line has one.  With it goes tsc=reliable: the guest's
 * TSC is the host's, which Linux on the host already trusts, while the
 * guest's clocksource watchdog would compare it with jiffies, which lag
 * whenever the guest keeps interrupts off for long (printing to the serial
 * console, for one), and switch to the PM timer, an exit per clock read.
 */
static uint64_t tsc_khz(void)
{
	struct timespec d = { .tv_nsec = 20 * 1000 * 1000 };
	uint64_t t0, t1, c0, c1;

	t0 = mono_ns();
	c0 = __builtin_ia32_rdtsc();
	nanosleep(&d, NULL);
	t1 = mono_ns();
	c1 = __builtin_ia32_rdtsc();
	return (c1 - c0) * 1000000ULL / (t1 - t0);
}

int load_bzimage(struct guest_mem *gm, const char *kernel, const uint8_t *img,
		 size_t img_len, const char *initrd, const char *cmdline,
		 struct guest_entry *entry)
{
	uint8_t *rd = NULL, *bp = gm->mem + ZERO_PAGE;
	size_t rd_len = 0, setup_len, hdr_end, cmd_len;
	uint64_t pref, init_size, need, rd_addr = 0, rd_max;
	uint16_t version;
	unsigned int setup_sects;
	int ret = EXIT_BAD_IMAGE;
	char tsc[64] = "";

	if (img_len < 0x400 || rd16(img, BP_BOOT_FLAG) != 0xaa55 ||
	    memcmp(img + BP_HEADER, "HdrS", 4)) {
		fprintf(stderr, "mvm: kernel %s: neither a bzImage (no Linux boot header) nor Multiboot\n",
			kernel);
		goto out;
	}
	version = rd16(img, BP_VERSION);
	if (version < 0x20a || !(img[BP_LOADFLAGS] & LOADED_HIGH)) {
		fprintf(stderr, "mvm: kernel %s: boot protocol %u.%02u or not a bzImage; need 2.10 or later\n",
			kernel, version >> 8, version & 0xff);
		goto out;
	}
	setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	setup_len = (setup_sects + 1) * 512;
	hdr_end = BP_HEADER + img[BP_JUMP + 1];
	/*
	 * The protected-mode part is syssize 16-byte units, and the
	 * compressed kernel in it lies at payload_offset (protocol 2.08): a
	 * file cut short anywhere is refused here, not by a guest that
	 * decompresses garbage and triple-faults.
	 */
	if (setup_len >= img_len || hdr_end > 0x1000 || hdr_end > setup_len ||
	    (uint64_t)rd32(img, BP_SYSSIZE) * 16 > img_len - setup_len ||
	    (uint64_t)rd32(img, BP_PAYLOAD_OFFSET) +
	    rd32(img, BP_PAYLOAD_LENGTH) > img_len - setup_len) {
		fprintf(stderr, "mvm: kernel %s: truncated or corrupt bzImage\n",
			kernel);
		goto out;
	}
	pref = rd64(img, BP_PREF_ADDRESS);
	init_size = rd32(img, BP_INIT_SIZE);
	if (pref < KERNEL_ADDR)
		pref = KERNEL_ADDR;
	if (initrd) {
		rd = read_file("initramfs", initrd, &rd_len);
		if (!rd)
			goto out;
	}
	need = align_up(pref + init_size, 2 * MiB) + align_up(rd_len, MiB) +
	       KERNEL_RUN_SLACK;
	if (gm->size < need || KERNEL_ADDR + img_len - setup_len > gm->size) {
		fprintf(stderr, "mvm: %llu MiB of memory is too little for this kernel%s: it needs at least %llu MiB\n",
			(unsigned long long)(gm->size / MiB),
			initrd ? " and initramfs" : "",
			(unsigned long long)(align_up(need, MiB) / MiB));
		ret = EXIT_USAGE;
		goto out;
	}
	memset(bp, 0, 0x1000);
	memcpy(bp + BP_SETUP_SECTS, img + BP_SETUP_SECTS,
	       hdr_end - BP_SETUP_SECTS);
	memcpy(gm->mem + KERNEL_ADDR, img + setup_len, img_len - setup_len);

	bp[BP_LOADER_TYPE] = 0xff;		/* no registered loader id */
	bp[BP_VID_MODE] = 0xff;			/* "normal" video mode */
	bp[BP_VID_MODE + 1] = 0xff;
	cmd_len = strlen(cmdline);
	if (!strstr(cmdline, "tsc_early_khz=")) {
		/* The TSC's frequency, see tsc_khz(). */
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%llu tsc=reliable",
			 (unsigned long long)tsc_khz());
		cmd_len += strlen(tsc);
	}
	if (cmd_len >= CMDLINE_MAX || (version >= 0x206 &&
	    cmd_len >= rd32(img, BP_CMDLINE_SIZE))) {
		fprintf(stderr, "mvm: the kernel command line is too long (%zu bytes)\n",
			cmd_len);
		ret = EXIT_USAGE;
		goto out;
	}
	snprintf((char *)gm->mem + CMDLINE_ADDR, CMDLINE_MAX, "%s%s", cmdline,
		 tsc);
	wr32(bp, BP_CMDLINE_PTR, CMDLINE_ADDR);

	if (rd) {
		/* As high as the kernel allows, as bootloaders do. */
		rd_max = (uint64_t)rd32(img, BP_INITRD_MAX) + 1;
		if (rd_max > gm->size)
			rd_max = gm->size;
		rd_addr = (rd_max - rd_len) & ~0xfffULL;
		memcpy(gm->mem + rd_addr, rd, rd_len);
		wr32(bp, BP_RAMDISK, rd_addr);
		wr32(bp, BP_RAMDISK_SIZE, rd_len);
	}

	/* RAM, except the BIOS area the ACPI tables sit in. */
	e820_add(bp, 0, LOW_RAM_END, E820_RAM);
	e820_add(bp, ACPI_TABLES, ACPI_TABLES_END - ACPI_TABLES, E820_RESERVED);
	e820_add(bp, KERNEL_ADDR, gm->size - KERNEL_ADDR, E820_RAM);
	if (gm->high)
		e820_add(bp, HIGH_RAM_BASE, gm->high, E820_RAM);
	if (version >= 0x20e)
		wr64(bp, BP_ACPI_RSDP, ACPI_TABLES);

	build_gdt(gm->mem);
	entry->mode = ENTRY_PROT32;
	entry->rip = rd32(img, BP_CODE32_START);
	if (entry->rip != KERNEL_ADDR)	/* a loader that moves it adjusts */
		entry->rip = KERNEL_ADDR;
	entry->rsi = ZERO_PAGE;
	entry->rsp = 0;
	entry->gdt = GDT_ADDR;
	ret = 0;
out:
	free(rd);
	return ret;
}

