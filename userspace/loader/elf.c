// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: ELF64 executables, PT_LOAD segments at their physical
 * addresses, entered in 64-bit mode at e_entry with the first 4 GiB
 * identity-mapped.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "launcher.h"
#include "loader/loader.h"

#define ELF_MIN		0x10000UL	/* segments start above the tables */

int load_elf(struct guest_mem *gm, const char *path, const uint8_t *img,
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

