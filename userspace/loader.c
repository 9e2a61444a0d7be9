// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: putting a guest into memory.
 *
 * bzImage: the Linux x86 boot protocol (Documentation/arch/x86/boot.rst in
 * Linux), entered at the 32-bit entry point.  The launcher does what the
 * real-mode setup code would have done: it fills boot_params (the "zero
 * page") with the image's setup header, an e820 map, the command line, the
 * initramfs and the ACPI RSDP, loads the protected-mode kernel at 1 MiB, and
 * starts it in flat 32-bit protected mode without paging, ESI pointing at
 * boot_params.  The kernel's own decompressor then builds its page tables
 * and enters long mode, so the launcher needs none.
 *
 * ELF64: PT_LOAD segments at their physical addresses, entered in 64-bit
 * mode at e_entry with the first 4 GiB identity-mapped.  Anything else is a
 * flat binary, entered in real mode at 1000:0000 (physical 0x10000).
 *
 * Guest-physical layout below 1 MiB: GDT at 0x500, the long-mode page
 * tables at 0x1000-0x6fff, boot_params at 0x7000, the command line at
 * 0x20000, ACPI tables at 0xe0000 (acpi.c).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

#define GDT_ADDR	0x500UL
#define PML4_ADDR	0x1000UL
#define PDPT_ADDR	0x2000UL
#define PD_ADDR		0x3000UL	/* four pages: 4 GiB of 2 MiB pages */
#define ZERO_PAGE	0x7000UL
#define CMDLINE_ADDR	0x20000UL
#define CMDLINE_MAX	0x10000UL
#define FLAT_ADDR	0x10000UL
#define FLAT_MAX	(0xa0000UL - FLAT_ADDR)
#define ELF_MIN		0x10000UL	/* segments start above the tables */
#define KERNEL_ADDR	0x100000UL
#define LOW_RAM_END	0xa0000UL

/* boot_params and setup header offsets (Linux boot protocol 2.15). */
#define BP_ACPI_RSDP	0x070
#define BP_E820_ENTRIES	0x1e8
#define BP_SETUP_SECTS	0x1f1
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
#define BP_PREF_ADDRESS	0x258
#define BP_INIT_SIZE	0x260
#define BP_E820_TABLE	0x2d0

#define LOADED_HIGH	0x01
#define E820_RAM	1
#define E820_RESERVED	2

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

/* Slack above what the kernel needs to decompress and start, for it to run. */
#define KERNEL_RUN_SLACK (32 * MiB)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint16_t rd16(const uint8_t *p, unsigned int off)
{
	uint16_t v;

	memcpy(&v, p + off, 2);
	return v;
}

static uint32_t rd32(const uint8_t *p, unsigned int off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p, unsigned int off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static void wr32(uint8_t *p, unsigned int off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void wr64(uint8_t *p, unsigned int off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/* Reads a whole file; prints why not and returns NULL on failure. */
static uint8_t *read_file(const char *what, const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "mvm: cannot open %s %s: %s\n", what, path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		fprintf(stderr, "mvm: %s %s: %s\n", what, path,
			S_ISREG(st.st_mode) ? "empty file" : "not a file");
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size);
	if (!buf) {
		fprintf(stderr, "mvm: %s %s: out of memory\n", what, path);
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, st.st_size - off);
		if (n <= 0) {
			fprintf(stderr, "mvm: cannot read %s %s: %s\n", what,
				path, n ? strerror(errno) : "short file");
			free(buf);
			close(fd);
			return NULL;
		}
		off += n;
	}
	close(fd);
	*len = off;
	return buf;
}

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	unsigned int n = bp[BP_E820_ENTRIES];
	uint8_t *e = bp + BP_E820_TABLE + 20 * n;

	wr64(e, 0, addr);
	wr64(e, 8, size);
	wr32(e, 16, type);
	bp[BP_E820_ENTRIES] = n + 1;
}

/* Flat 4 GiB code (0x10) and data (0x18) for the 32-bit entry. */
static void build_gdt(uint8_t *mem)
{
	static const uint64_t gdt[] = {
		0,
		0x00af9b000000ffffULL,	/* 0x08: 64-bit code */
		0x00cf9b000000ffffULL,	/* 0x10: __BOOT_CS, 32-bit code */
		0x00cf93000000ffffULL,	/* 0x18: __BOOT_DS, data */
	};

	memcpy(mem + GDT_ADDR, gdt, sizeof(gdt));
}

static void build_page_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(mem + PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(mem + PD_ADDR);
	uint64_t i;

	memset(pml4, 0, 0x6000);
	pml4[0] = PDPT_ADDR | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD_ADDR + i * 0x1000) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
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

int load_bzimage(struct guest_mem *gm, const char *kernel, const char *initrd,
		 const char *cmdline, struct guest_entry *entry)
{
	uint8_t *img, *rd = NULL, *bp = gm->mem + ZERO_PAGE;
	size_t img_len, rd_len = 0, setup_len, hdr_end, cmd_len;
	uint64_t pref, init_size, need, rd_addr = 0, rd_max;
	uint16_t version;
	unsigned int setup_sects;
	int ret = EXIT_BAD_IMAGE;
	char tsc[64] = "";

	img = read_file("kernel", kernel, &img_len);
	if (!img)
		return EXIT_BAD_IMAGE;
	if (img_len < 0x400 || rd16(img, BP_BOOT_FLAG) != 0xaa55 ||
	    memcmp(img + BP_HEADER, "HdrS", 4)) {
		fprintf(stderr, "mvm: kernel %s: not a bzImage (no Linux boot header)\n",
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
	if (setup_len >= img_len || hdr_end > 0x1000 || hdr_end > setup_len) {
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
	free(img);
	return ret;
}

static int load_elf(struct guest_mem *gm, const char *path, const uint8_t *img,
		    size_t len, struct guest_entry *entry)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph;
	unsigned int i, loaded = 0;

	if (len < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC ||
	    eh->e_phentsize != sizeof(*ph) || eh->e_phoff > len ||
	    (len - eh->e_phoff) / sizeof(*ph) < eh->e_phnum) {
		fprintf(stderr, "mvm: %s: not an x86-64 ELF executable\n", path);
		return EXIT_BAD_IMAGE;
	}
	ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz ||
		    ph[i].p_offset > len || len - ph[i].p_offset < ph[i].p_filesz ||
		    ph[i].p_paddr < ELF_MIN || ph[i].p_paddr > gm->size ||
		    gm->size - ph[i].p_paddr < ph[i].p_memsz ||
		    (ph[i].p_paddr < ACPI_TABLES_END &&
		     ph[i].p_paddr + ph[i].p_memsz > ACPI_TABLES)) {
			fprintf(stderr, "mvm: %s: segment %u (%#llx, %llu bytes) does not fit in guest memory\n",
				path, i, (unsigned long long)ph[i].p_paddr,
				(unsigned long long)ph[i].p_memsz);
			return EXIT_BAD_IMAGE;
		}
		memcpy(gm->mem + ph[i].p_paddr, img + ph[i].p_offset,
		       ph[i].p_filesz);
		memset(gm->mem + ph[i].p_paddr + ph[i].p_filesz, 0,
		       ph[i].p_memsz - ph[i].p_filesz);
		loaded++;
	}
	if (!loaded) {
		fprintf(stderr, "mvm: %s: no loadable segment\n", path);
		return EXIT_BAD_IMAGE;
	}
	build_gdt(gm->mem);
	build_page_tables(gm->mem);
	entry->mode = ENTRY_LONG;
	entry->rip = eh->e_entry;
	entry->rsp = (gm->size < 4 * GiB ? gm->size : 4 * GiB) & ~0xfULL;
	entry->gdt = GDT_ADDR;
	entry->cr3 = PML4_ADDR;
	return 0;
}

int load_elf_or_flat(struct guest_mem *gm, const char *path,
		     struct guest_entry *entry)
{
	uint8_t *img;
	size_t len;
	int ret;

	img = read_file("image", path, &len);
	if (!img)
		return EXIT_BAD_IMAGE;
	if (len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG)) {
		ret = load_elf(gm, path, img, len, entry);
		free(img);
		return ret;
	}
	if (len > FLAT_MAX) {
		fprintf(stderr, "mvm: %s: a flat binary is at most %lu KiB (it runs in real mode at 0x%lx)\n",
			path, FLAT_MAX / 1024, FLAT_ADDR);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	memcpy(gm->mem + FLAT_ADDR, img, len);
	free(img);
	entry->mode = ENTRY_REAL;
	entry->rip = FLAT_ADDR;
	entry->rsp = 0xfff0;
	return 0;
}
