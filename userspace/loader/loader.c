// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: putting a guest into memory (loader.h), and what the
 * loaders share.
 *
 * An image is an ELF64 executable (elf.c) or else a flat binary, entered
 * in real mode at 1000:0000 (physical 0x10000).  A kernel (-k) is a
 * Linux bzImage (bzimage.c), or else a Multiboot kernel (multiboot.c), as
 * QEMU's -kernel takes them.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher.h"
#include "loader/loader.h"

#define FLAT_ADDR	0x10000UL
#define FLAT_MAX	(0xa0000UL - FLAT_ADDR)

uint8_t *read_file(const char *what, const char *path, size_t *len)
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

/* Flat 4 GiB code (0x10) and data (0x18) for the 32-bit entry. */
void build_gdt(uint8_t *mem)
{
	static const uint64_t gdt[] = {
		0,
		0x00af9b000000ffffULL,	/* 0x08: 64-bit code */
		0x00cf9b000000ffffULL,	/* 0x10: __BOOT_CS, 32-bit code */
		0x00cf93000000ffffULL,	/* 0x18: __BOOT_DS, data */
	};

	memcpy(mem + GDT_ADDR, gdt, sizeof(gdt));
}

void build_page_tables(uint8_t *mem)
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

static int load_elf_or_flat(struct guest_mem *gm, const char *path,
			    const uint8_t *img, size_t len,
			    struct guest_entry *entry)
{
	if (len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG))
		return load_elf(gm, path, img, len, entry);
	if (len > FLAT_MAX) {
		fprintf(stderr, "mvm: %s: a flat binary is at most %lu KiB (it runs in real mode at 0x%lx)\n",
			path, FLAT_MAX / 1024, FLAT_ADDR);
		return EXIT_BAD_IMAGE;
	}
	memcpy(gm->mem + FLAT_ADDR, img, len);
	entry->mode = ENTRY_REAL;
	entry->rip = FLAT_ADDR;
	entry->rsp = 0xfff0;
	return 0;
}

int load_guest(struct guest_mem *gm, const char *kernel, const char *image,
	       const char *initrd, const char *cmdline,
	       struct guest_entry *entry)
{
	const char *path = kernel ? kernel : image;
	uint8_t *img;
	size_t len;
	int ret;

	img = read_file(kernel ? "kernel" : "image", path, &len);
	if (!img)
		return EXIT_BAD_IMAGE;
	if (!kernel)
		ret = load_elf_or_flat(gm, path, img, len, entry);
	else if ((len < 0x206 || memcmp(img + 0x202, "HdrS", 4)) &&
		 is_multiboot(img, len))
		ret = load_multiboot(gm, path, img, len,
				     cmdline ? cmdline : "", initrd, entry);
	else
		ret = load_bzimage(gm, path, img, len, initrd,
				   cmdline ? cmdline : CMDLINE_DEFAULT, entry);
	free(img);
	return ret;
}
