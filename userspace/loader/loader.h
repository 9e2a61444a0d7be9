/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm launcher: putting a guest into memory.
 *
 * loader.c    files, the GDT and page tables the entries share, and the
 *             choice between ELF64 and a flat binary
 * bzimage.c   the Linux boot protocol
 * elf.c       ELF64 executables
 * multiboot.c Multiboot kernels (ELF32, or the header's addresses)
 * acpi.c      the ACPI tables: RSDP, XSDT, FADT, FACS, DSDT with _S5
 *
 * Guest-physical layout below 1 MiB: GDT at 0x500, the long-mode page
 * tables at 0x1000-0x6fff, boot_params at 0x7000, the command line at
 * 0x20000, ACPI tables at 0xe0000 (acpi.c); for a Multiboot kernel its
 * boot information at 0x8000-0xffff instead of boot_params.
 */
#ifndef MVM_LOADER_H
#define MVM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct guest_entry {
	int mode;		/* ENTRY_* */
	uint64_t rip, rsp, rsi;
	uint64_t rax, rbx;	/* Multiboot's magic and boot information */
	uint64_t gdt, cr3;	/* guest-physical tables the loader built */
};

enum {
	ENTRY_REAL,		/* real mode, CS:IP = rip >> 4 : 0 */
	ENTRY_PROT32,		/* 32-bit flat protected mode, no paging */
	ENTRY_LONG,		/* 64-bit mode, first 4 GiB identity-mapped */
};

/*
 * RAM: @size bytes at guest-physical 0, below the 32-bit PCI hole, which
 * the loaders use; and @high bytes more at HIGH_RAM_BASE (4 GiB), which
 * they only describe.  @mem maps both, the high part at @mem + @size.
 */
struct guest_mem {
	uint8_t *mem;
	uint64_t size;
	uint64_t high;
};

#define LOW_RAM_MAX	0xc0000000ULL	/* 3 GiB; the PCI hole above */
#define HIGH_RAM_BASE	0x100000000ULL

/*
 * Puts -k @kernel (a bzImage, or else a Multiboot kernel, with @initrd as
 * its initramfs or its modules) or else @image (ELF64, or else a flat
 * binary) into @gm.  @cmdline is -p, NULL for the kernel's default.
 * Returns 0, or prints one line and returns an exit status: EXIT_BAD_IMAGE
 * for a file that cannot be used, EXIT_USAGE for one that does not fit
 * the machine or its options.  The loaders below return the same.
 */
int load_guest(struct guest_mem *gm, const char *kernel, const char *image,
	       const char *initrd, const char *cmdline,
	       struct guest_entry *entry);

#define ACPI_TABLES	0xe0000UL	/* the BIOS area Linux scans for RSDP */
#define ACPI_TABLES_END	0x100000UL

/* Builds the tables at ACPI_TABLES in @mem; returns the RSDP's address. */
uint64_t acpi_build(uint8_t *mem);

/* --- shared by the loaders ----------------------------------------------- */

#define GDT_ADDR	0x500UL
#define PML4_ADDR	0x1000UL
#define PDPT_ADDR	0x2000UL
#define PD_ADDR		0x3000UL	/* four pages: 4 GiB of 2 MiB pages */
#define KERNEL_ADDR	0x100000UL
#define LOW_RAM_END	0xa0000UL

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline uint16_t rd16(const uint8_t *p, unsigned int off)
{
	uint16_t v;

	memcpy(&v, p + off, 2);
	return v;
}

static inline uint32_t rd32(const uint8_t *p, unsigned int off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static inline uint64_t rd64(const uint8_t *p, unsigned int off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static inline void wr32(uint8_t *p, unsigned int off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static inline void wr64(uint8_t *p, unsigned int off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/* Reads a whole file; prints why not and returns NULL on failure. */
uint8_t *read_file(const char *what, const char *path, size_t *len);
void build_gdt(uint8_t *mem);
void build_page_tables(uint8_t *mem);
/* bzimage.c: @img, @img_len bytes, is the file @kernel. */
int load_bzimage(struct guest_mem *gm, const char *kernel, const uint8_t *img,
		 size_t img_len, const char *initrd, const char *cmdline,
		 struct guest_entry *entry);
/* multiboot.c: whether @img has a valid Multiboot header. */
bool is_multiboot(const uint8_t *img, size_t len);
int load_multiboot(struct guest_mem *gm, const char *path, const uint8_t *img,
		   size_t len, const char *cmdline, const char *modules,
		   struct guest_entry *entry);
/* elf.c: @img, @len bytes, is an ELF file. */
int load_elf(struct guest_mem *gm, const char *path, const uint8_t *img,
	     size_t len, struct guest_entry *entry);

#endif /* MVM_LOADER_H */
