// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: Multiboot (version 0.6.96, "Multiboot Specification"),
 * the format of the bare-metal test kernels written for QEMU's -kernel.
 *
 * The header is a 32-bit aligned magic, flags and checksum in the first
 * 8192 bytes.  With flag 16 the header also says where the image goes
 * (the "a.out kludge"); else the image is an ELF32 executable, loaded by
 * its PT_LOAD segments at their physical addresses.  The kernel starts in
 * flat 32-bit protected mode without paging, interrupts off, EAX holding
 * 0x2badb002 and EBX the physical address of the boot information: memory
 * sizes and map, the command line, the modules.
 *
 * Modules come from -i as QEMU's -initrd gives them: "FILE[ ARGS][,FILE
 * [ ARGS]...]", each loaded at the next page above the kernel and
 * described by its file name and arguments (a ",," is a comma in them).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"
#include "loader/loader.h"

#define MB_MAGIC		0x1badb002U
#define MB_BOOT_MAGIC		0x2badb002U
#define MB_SEARCH		8192
#define MB_HDR_MIN		12
#define MB_HDR_ADDR_LEN		32	/* with the flag 16 fields */

/* Header flags: what the kernel asks for. */
#define MB_PAGE_ALIGN		(1U << 0)	/* modules on page boundaries */
#define MB_MEMORY_INFO		(1U << 1)	/* mem_* (and the map) */
#define MB_VIDEO_MODE		(1U << 2)	/* a video mode: none given */
#define MB_AOUT_KLUDGE		(1U << 16)	/* the header's addresses */
#define MB_KNOWN_REQUIRED	(MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE)

/* Boot information flags: what the loader gives. */
#define MBI_MEMORY		(1U << 0)
#define MBI_CMDLINE		(1U << 2)
#define MBI_MODS		(1U << 3)
#define MBI_MMAP		(1U << 6)
#define MBI_LOADER_NAME		(1U << 9)

/* struct multiboot_info offsets */
#define MBI_FLAGS		0
#define MBI_MEM_LOWER		4
#define MBI_MEM_UPPER		8
#define MBI_CMDLINE_PTR		16
#define MBI_MODS_COUNT		20
#define MBI_MODS_ADDR		24
#define MBI_MMAP_LENGTH		44
#define MBI_MMAP_ADDR		48
#define MBI_LOADER_NAME_PTR	64
#define MBI_SIZE		128	/* 116, rounded */

/*
 * The boot information lives at 0x8000-0xffff: below what a kernel may
 * load (ELF_MIN, 0x10000) and above the page tables and boot_params of
 * the other loaders.  Strings are packed after the fixed parts.
 */
#define MBI_ADDR		0x8000UL
#define MBI_MMAP_AT		(MBI_ADDR + MBI_SIZE)	/* 24-byte entries */
#define MBI_MMAP_MAX		4
#define MBI_MODS_AT		(MBI_MMAP_AT + MBI_MMAP_MAX * 24)
#define MBI_MAX_MODS		64
#define MBI_STRINGS		(MBI_MODS_AT + MBI_MAX_MODS * 16)
#define MBI_END			0x10000UL

#define LOAD_MIN		0x10000UL

struct mb_load {
	struct guest_mem *gm;
	const char *path;
	uint64_t end;		/* the highest byte loaded, plus one */
};

/* The offset of a valid header in @img, or -1. */
static long find_header(const uint8_t *img, size_t len)
{
	size_t off, lim = len < MB_SEARCH ? len : MB_SEARCH;

	for (off = 0; off + MB_HDR_MIN <= lim; off += 4) {
		if (rd32(img, off) != MB_MAGIC)
			continue;
		if ((uint32_t)(rd32(img, off) + rd32(img, off + 4) +
			       rd32(img, off + 8)) == 0)
			return off;
	}
	return -1;
}

bool is_multiboot(const uint8_t *img, size_t len)
{
	return find_header(img, len) >= 0;
}

/*
 * Whether [addr, addr + size) may hold the kernel or a module: in RAM,
 * above the boot information, and clear of the ACPI tables.
 */
static bool fits(const struct guest_mem *gm, uint64_t addr, uint64_t size)
{
	return addr >= LOAD_MIN && addr <= gm->size &&
	       size <= gm->size - addr &&
	       !(addr < ACPI_TABLES_END && addr + size > ACPI_TABLES);
}

static int put(struct mb_load *l, uint64_t addr, const uint8_t *src,
	       uint64_t filesz, uint64_t memsz)
{
	if (filesz > memsz || !fits(l->gm, addr, memsz) ||
	    addr + memsz > 4 * GiB) {
		fprintf(stderr, "mvm: kernel %s: %llu bytes at %#llx do not fit in guest memory\n",
			l->path, (unsigned long long)memsz,
			(unsigned long long)addr);
		return -1;
	}
	memcpy(l->gm->mem + addr, src, filesz);
	memset(l->gm->mem + addr + filesz, 0, memsz - filesz);
	if (addr + memsz > l->end)
		l->end = addr + memsz;
	return 0;
}

/* Flag 16: the header's own load, BSS and entry addresses. */
static int load_aout(struct mb_load *l, const uint8_t *img, size_t len,
		     size_t hoff, uint32_t *entry)
{
	uint32_t header_addr, load_addr, load_end, bss_end;
	uint64_t off, filesz;

	if (hoff + MB_HDR_ADDR_LEN > len)
		goto bad;
	header_addr = rd32(img, hoff + 12);
	load_addr = rd32(img, hoff + 16);
	load_end = rd32(img, hoff + 20);
	bss_end = rd32(img, hoff + 24);
	*entry = rd32(img, hoff + 28);
	if (load_addr > header_addr || header_addr - load_addr > hoff)
		goto bad;
	off = hoff - (header_addr - load_addr);
	filesz = load_end ? (uint64_t)load_end - load_addr : len - off;
	if (load_end && load_end < load_addr)
		goto bad;
	if (filesz > len - off)
		goto bad;
	if (bss_end && bss_end < load_addr + filesz)
		goto bad;
	return put(l, load_addr, img + off, filesz,
		   bss_end ? (uint64_t)bss_end - load_addr : filesz);
bad:
	fprintf(stderr, "mvm: kernel %s: bad Multiboot load addresses\n",
		l->path);
	return -1;
}

static int load_elf32(struct mb_load *l, const uint8_t *img, size_t len,
		      uint32_t *entry)
{
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)img;
	Elf32_Phdr ph;
	unsigned int i, loaded = 0;

	if (len < sizeof(*eh) || memcmp(img, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_machine != EM_386 ||
	    eh->e_type != ET_EXEC || eh->e_phentsize != sizeof(ph) ||
	    eh->e_phoff > len || (len - eh->e_phoff) / sizeof(ph) < eh->e_phnum) {
		fprintf(stderr, "mvm: kernel %s: Multiboot, but neither an ELF32 executable nor load addresses in its header\n",
			l->path);
		return -1;
	}
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_offset > len || len - ph.p_offset < ph.p_filesz) {
			fprintf(stderr, "mvm: kernel %s: segment %u lies past the end of the file\n",
				l->path, i);
			return -1;
		}
		if (put(l, ph.p_paddr, img + ph.p_offset, ph.p_filesz,
			ph.p_memsz))
			return -1;
		loaded++;
	}
	if (!loaded) {
		fprintf(stderr, "mvm: kernel %s: no loadable segment\n", l->path);
		return -1;
	}
	*entry = eh->e_entry;
	return 0;
}

/* Appends @s (@n bytes) and a NUL to the strings area: its address, or 0. */
static uint32_t put_string(uint8_t *mem, uint64_t *next, const char *s,
			   size_t n)
{
	uint64_t at = *next;

	if (n >= MBI_END - at)
		return 0;
	memcpy(mem + at, s, n);
	mem[at + n] = 0;
	*next = at + n + 1;
	return at;
}

/*
 * The next module of QEMU's list at *@list: its file name and its whole
 * text ("FILE ARGS"), with ",," unescaped; advances *@list.
 */
static int next_module(const char **list, char *text, size_t cap,
		       char *file)
{
	const char *p = *list;
	size_t n = 0;

	while (*p && !(*p == ',' && p[1] != ',')) {
		if (*p == ',')
			p++;
		if (n + 1 >= cap)
			return -1;
		text[n++] = *p++;
	}
	text[n] = 0;
	*list = *p ? p + 1 : p;
	n = strcspn(text, " ");
	memcpy(file, text, n);
	file[n] = 0;
	return n ? 0 : -1;
}

static int load_modules(struct mb_load *l, const char *list, uint8_t *mbi,
			uint64_t *strings, bool page_align)
{
	char text[4096], file[4096];
	uint8_t *data, *mod;
	size_t len;
	uint32_t count = 0, str;
	uint64_t at;

	while (*list) {
		if (count == MBI_MAX_MODS ||
		    next_module(&list, text, sizeof(text), file)) {
			fprintf(stderr, "mvm: -i: bad Multiboot module list (\"FILE[ ARGS][,FILE[ ARGS]...]\", at most %u)\n",
				MBI_MAX_MODS);
			return EXIT_USAGE;
		}
		data = read_file("module", file, &len);
		if (!data)
			return EXIT_BAD_IMAGE;
		at = page_align ? align_up(l->end, 4096) : align_up(l->end, 16);
		str = put_string(l->gm->mem, strings, text, strlen(text));
		if (!str || !fits(l->gm, at, len) || at + len > 4 * GiB) {
			fprintf(stderr, "mvm: module %s does not fit in guest memory\n",
				file);
			free(data);
			return EXIT_USAGE;
		}
		memcpy(l->gm->mem + at, data, len);
		free(data);
		l->end = at + len;
		mod = l->gm->mem + MBI_MODS_AT + 16 * count++;
		wr32(mod, 0, at);		/* mod_start */
		wr32(mod, 4, at + len);		/* mod_end */
		wr32(mod, 8, str);		/* string */
		wr32(mod, 12, 0);
	}
	wr32(mbi, MBI_MODS_COUNT, count);
	wr32(mbi, MBI_MODS_ADDR, MBI_MODS_AT);
	return 0;
}

static void put_mmap(uint8_t *e, uint64_t addr, uint64_t len, uint32_t type)
{
	wr32(e, 0, 20);			/* size of the rest */
	wr64(e, 4, addr);
	wr64(e, 12, len);
	wr32(e, 20, type);
}

int load_multiboot(struct guest_mem *gm, const char *path, const uint8_t *img,
		   size_t len, const char *cmdline, const char *modules,
		   struct guest_entry *entry)
{
	struct mb_load l = { .gm = gm, .path = path };
	uint8_t *mem = gm->mem, *mbi = mem + MBI_ADDR;
	uint64_t strings = MBI_STRINGS, upper;
	uint32_t flags, entry32, str;
	long hoff = find_header(img, len);
	char *text;
	int ret;

	if (hoff < 0)
		return EXIT_BAD_IMAGE;
	flags = rd32(img, hoff + 4);
	if (flags & 0xffff & ~MB_KNOWN_REQUIRED) {
		fprintf(stderr, "mvm: kernel %s: Multiboot flags %#x ask for what mvm does not give\n",
			path, flags & 0xffff);
		return EXIT_BAD_IMAGE;
	}
	if (flags & MB_AOUT_KLUDGE)
		ret = load_aout(&l, img, len, hoff, &entry32);
	else
		ret = load_elf32(&l, img, len, &entry32);
	if (ret)
		return EXIT_BAD_IMAGE;
	if (entry32 < LOAD_MIN || entry32 >= l.end) {
		fprintf(stderr, "mvm: kernel %s: entry point %#x is not in the image\n",
			path, entry32);
		return EXIT_BAD_IMAGE;
	}

	memset(mbi, 0, MBI_END - MBI_ADDR);
	flags = MBI_MEMORY | MBI_MMAP | MBI_CMDLINE | MBI_MODS |
		MBI_LOADER_NAME;
	/* KiB below 640 KiB, and from 1 MiB to the first hole. */
	upper = gm->size - KERNEL_ADDR;
	wr32(mbi, MBI_MEM_LOWER, LOW_RAM_END / KiB);
	wr32(mbi, MBI_MEM_UPPER, upper / KiB);
	/* The e820 map of the bzImage loader. */
	put_mmap(mem + MBI_MMAP_AT, 0, LOW_RAM_END, 1);
	put_mmap(mem + MBI_MMAP_AT + 24, ACPI_TABLES,
		 ACPI_TABLES_END - ACPI_TABLES, 2);
	put_mmap(mem + MBI_MMAP_AT + 48, KERNEL_ADDR, gm->size - KERNEL_ADDR, 1);
	if (gm->high)
		put_mmap(mem + MBI_MMAP_AT + 72, HIGH_RAM_BASE, gm->high, 1);
	wr32(mbi, MBI_MMAP_LENGTH, (gm->high ? 4 : 3) * 24);
	wr32(mbi, MBI_MMAP_ADDR, MBI_MMAP_AT);

	/* As GRUB and QEMU do: the kernel's file name, then its arguments. */
	if (asprintf(&text, "%s%s%s", path, *cmdline ? " " : "", cmdline) < 0)
		return EXIT_ERROR;
	str = put_string(mem, &strings, text, strlen(text));
	free(text);
	if (!str) {
		fprintf(stderr, "mvm: the kernel command line is too long\n");
		return EXIT_USAGE;
	}
	wr32(mbi, MBI_CMDLINE_PTR, str);
	str = put_string(mem, &strings, "mvm", 3);
	if (!str)
		flags &= ~MBI_LOADER_NAME;
	wr32(mbi, MBI_LOADER_NAME_PTR, str);
	if (modules) {
		ret = load_modules(&l, modules, mbi, &strings,
				   rd32(img, hoff + 4) & MB_PAGE_ALIGN);
		if (ret)
			return ret;
	} else {
		wr32(mbi, MBI_MODS_ADDR, MBI_MODS_AT);
	}
	wr32(mbi, MBI_FLAGS, flags);

	build_gdt(mem);
	entry->mode = ENTRY_PROT32;
	entry->rip = entry32;
	entry->rax = MB_BOOT_MAGIC;
	entry->rbx = MBI_ADDR;
	entry->rsp = 0;
	entry->gdt = GDT_ADDR;
	return 0;
}
