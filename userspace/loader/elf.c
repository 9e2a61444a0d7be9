// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: ELF64 executables, PT_LOAD segments at their physical
 * addresses, entered in 64-bit mode at e_entry with the first 4 GiB
 * identity-mapped.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "launcher.h"
#include "loader/loader.h"

#define ELF_MIN		0x10000UL	/* segments start above the tables */

int load_elf(struct guest_mem *gm, const char *path, const uint8_t *img,
		    size_t len, struct guest_entry *entry)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	Elf64_Phdr ph;
	unsigned int i, loaded = 0;
	bool entry_loaded = false;

	if (len < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC ||
	    eh->e_phentsize != sizeof(ph) || eh->e_phoff > len ||
	    (len - eh->e_phoff) / sizeof(ph) < eh->e_phnum) {
		fprintf(stderr, "mvm: %s: not an x86-64 ELF executable\n", path);
		return EXIT_BAD_IMAGE;
	}
	for (i = 0; i < eh->e_phnum; i++) {
		/* e_phoff need not be aligned: a copy, not a cast. */
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz ||
		    ph.p_offset > len || len - ph.p_offset < ph.p_filesz ||
		    ph.p_paddr < ELF_MIN || ph.p_paddr > gm->size ||
		    gm->size - ph.p_paddr < ph.p_memsz ||
		    (ph.p_paddr < ACPI_TABLES_END &&
		     ph.p_paddr + ph.p_memsz > ACPI_TABLES)) {
			fprintf(stderr, "mvm: %s: segment %u (%#llx, %llu bytes) does not fit in guest memory\n",
				path, i, (unsigned long long)ph.p_paddr,
				(unsigned long long)ph.p_memsz);
			return EXIT_BAD_IMAGE;
		}
		memcpy(gm->mem + ph.p_paddr, img + ph.p_offset,
		       ph.p_filesz);
		memset(gm->mem + ph.p_paddr + ph.p_filesz, 0,
		       ph.p_memsz - ph.p_filesz);
		loaded++;
		entry_loaded |= eh->e_entry >= ph.p_paddr &&
				eh->e_entry - ph.p_paddr < ph.p_memsz;
	}
	if (!loaded) {
		fprintf(stderr, "mvm: %s: no loadable segment\n", path);
		return EXIT_BAD_IMAGE;
	}
	/* The first 4 GiB are identity-mapped: virtual is physical. */
	if (!entry_loaded) {
		fprintf(stderr, "mvm: %s: entry point %#llx is in no loaded segment\n",
			path, (unsigned long long)eh->e_entry);
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

