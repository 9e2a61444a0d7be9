// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit test of the launcher's loaders (userspace/loader/), built
 * with ASan and UBSan: the Multiboot test kernel, a synthetic bzImage and
 * a synthetic ELF64 load as they should, and every truncation and
 * thousands of mutations of them are either refused with an exit status
 * or loaded with an entry inside guest memory, never a read or write
 * outside the file or the guest's memory.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"
#include "loader/loader.h"
#include "lib/ktap.h"

__asm__(".pushsection .rodata\n"
	".balign 16\n"
	"mb_guest: .incbin \"" MB_GUEST "\"\n"
	"mb_guest_end:\n"
	".popsection\n");
extern const uint8_t mb_guest[], mb_guest_end[];

#define MEM_SIZE	(64 * MiB)
#define MUTATIONS	20000
/* Skips the bzImage loader's 20 ms TSC measurement. */
#define LINUX_CMDLINE	"console=ttyS0 tsc_early_khz=1000000"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng >> 32;
}

static struct guest_mem *new_mem(void)
{
	static struct guest_mem gm;

	if (!gm.mem) {
		gm.mem = malloc(MEM_SIZE);
		gm.size = MEM_SIZE;
	}
	if (gm.mem)
		memset(gm.mem, 0xaa, MEM_SIZE);
	return gm.mem ? &gm : NULL;
}

/* Loader messages of the mutation loops go nowhere. */
static void quiet(bool on)
{
	static FILE *saved;

	fflush(stderr);
	if (on && !saved) {
		saved = stderr;
		stderr = fopen("/dev/null", "w");
	} else if (!on && saved) {
		fclose(stderr);
		stderr = saved;
		saved = NULL;
	}
}

static bool status_ok(int ret)
{
	return ret == 0 || ret == EXIT_BAD_IMAGE || ret == EXIT_USAGE;
}

/* --- Multiboot ----------------------------------------------------------- */

#define MB_HDR	0x1000		/* where the test kernel's header is */

static void mb_fix_checksum(uint8_t *img)
{
	uint32_t *h = (uint32_t *)(img + MB_HDR);

	h[2] = -(h[0] + h[1]);
}

static int multiboot_elf_loads(void)
{
	size_t len = mb_guest_end - mb_guest;
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)mb_guest;
	struct guest_mem *gm = new_mem();
	struct guest_entry e = { 0 };
	const uint8_t *mbi;
	Elf32_Phdr ph;
	unsigned int i;

	CHECK(gm, "malloc");
	CHECK(is_multiboot(mb_guest, len), "no header found");
	CHECK(load_multiboot(gm, "k", mb_guest, len, "a b", NULL, &e) == 0,
	      "load");
	CHECK(e.mode == ENTRY_PROT32 && e.rip == eh->e_entry &&
	      e.rax == 0x2badb002 && e.rbx == 0x8000, "entry %#llx",
	      (unsigned long long)e.rip);
	mbi = gm->mem + e.rbx;
	CHECK(rd32(mbi, 0) & (1 << 2), "no command line");
	CHECK(!strcmp((const char *)gm->mem + rd32(mbi, 16), "k a b"),
	      "command line '%s'", gm->mem + rd32(mbi, 16));
	CHECK(rd32(mbi, 8) == (MEM_SIZE - MiB) / KiB, "mem_upper %u",
	      rd32(mbi, 8));
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, mb_guest + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		CHECK(!memcmp(gm->mem + ph.p_paddr, mb_guest + ph.p_offset,
			      ph.p_filesz), "segment %u", i);
		for (size_t j = ph.p_filesz; j < ph.p_memsz; j++)
			CHECK(!gm->mem[ph.p_paddr + j], "BSS byte %zu", j);
	}
	return KTAP_PASS;
}

/* Every length cut short of the segment's end is refused. */
static int multiboot_truncations_refused(void)
{
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)mb_guest;
	struct guest_mem *gm = new_mem();
	struct guest_entry e;
	size_t n, end = 0;
	Elf32_Phdr ph;
	unsigned int i;
	int ret;

	CHECK(gm, "malloc");
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, mb_guest + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
	}
	CHECK(end > MB_HDR, "segments end at %zu", end);
	quiet(true);
	for (n = 0; n < end; n += 7) {
		if (!is_multiboot(mb_guest, n))
			continue;
		ret = load_multiboot(gm, "k", mb_guest, n, "", NULL, &e);
		if (ret != EXIT_BAD_IMAGE) {
			quiet(false);
			CHECK(0, "cut at %zu bytes: status %d", n, ret);
		}
	}
	quiet(false);
	return KTAP_PASS;
}

/*
 * Random bytes of the ELF and Multiboot headers changed, the checksum
 * fixed half the time so the header stays valid and the deeper checks
 * are reached; half the mutants use the header's addresses (flag 16).
 */
static int multiboot_mutants_safe(void)
{
	size_t len = mb_guest_end - mb_guest;
	uint8_t *img = malloc(len);
	struct guest_mem *gm = new_mem();
	struct guest_entry e;
	unsigned int i, j, loaded = 0, refused = 0;
	uint32_t *h;
	int ret;

	CHECK(img && gm, "malloc");
	quiet(true);
	for (i = 0; i < MUTATIONS; i++) {
		memcpy(img, mb_guest, len);
		h = (uint32_t *)(img + MB_HDR);
		if (i & 1) {	/* header addresses, near the right ones */
			h[1] |= 1U << 16;
			h[3] = 0x200000;
			h[4] = 0x200000 - (rnd() % 3) * 0x800;
			h[5] = rnd() % 4 ? 0 : 0x200000 + rnd() % 0x10000;
			h[6] = rnd() % 4 ? 0x203000 : rnd();
			h[7] = 0x200020;
		}
		for (j = rnd() % 6 + 1; j; j--) {
			size_t at = rnd() % 2 ? rnd() % 0x60 :
				    MB_HDR + rnd() % 32;

			if (rnd() % 2)
				img[at] = rnd();
			else
				img[at] ^= 1 << (rnd() % 8);
		}
		if (rnd() % 2)
			mb_fix_checksum(img);
		if (!is_multiboot(img, len))
			continue;
		ret = load_multiboot(gm, "k", img, len, "x",
				     NULL, &e);
		if (!status_ok(ret) ||
		    (!ret && (e.rip < 0x10000 || e.rip >= MEM_SIZE))) {
			quiet(false);
			CHECK(0, "mutant %u: status %d, entry %#llx", i, ret,
			      (unsigned long long)e.rip);
		}
		ret ? refused++ : loaded++;
	}
	quiet(false);
	free(img);
	ktap_diag("%u mutants loaded, %u refused", loaded, refused);
	CHECK(loaded && refused, "the mutations reach both outcomes");
	return KTAP_PASS;
}

/* Odd module lists: each loads what it names, or is refused. */
static int multiboot_module_lists(void)
{
	static const struct {
		const char *list;
		int status;
		unsigned int mods;
	} lists[] = {
		{ "", 0, 0 },
		{ "M", 0, 1 },
		{ "M a,,b", 0, 1 },
		{ "M,M x", 0, 2 },
		{ "M,", 0, 1 },
		{ ",", EXIT_USAGE, 0 },
		{ ",,", EXIT_BAD_IMAGE, 0 },	/* a file named "," */
		{ " M", EXIT_USAGE, 0 },
		{ "M,,", EXIT_BAD_IMAGE, 0 },	/* "M," */
		{ "/nonexistent", EXIT_BAD_IMAGE, 0 },
	};
	size_t len = mb_guest_end - mb_guest;
	struct guest_mem *gm = new_mem();
	char list[64], *big;
	struct guest_entry e;
	unsigned int i;
	FILE *f;
	int ret;

	CHECK(gm, "malloc");
	f = fopen("/tmp/loader_test.mod", "w");
	CHECK(f && fputs("module", f) >= 0 && !fclose(f), "module file");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		/* M is the module file. */
		const char *p = lists[i].list;
		size_t n = 0;

		for (; *p && n < sizeof(list) - 24; p++)
			n += *p == 'M' ? (size_t)sprintf(list + n, "/tmp/loader_test.mod") :
				(size_t)sprintf(list + n, "%c", *p);
		list[n] = 0;
		quiet(true);
		ret = load_multiboot(gm, "k", mb_guest, len, "", list, &e);
		quiet(false);
		CHECK(ret == lists[i].status, "'%s': status %d", list, ret);
		CHECK(ret || rd32(gm->mem + e.rbx, 20) == lists[i].mods,
		      "'%s': %u modules", list, rd32(gm->mem + e.rbx, 20));
	}
	/* A name longer than any buffer, and more modules than fit. */
	big = malloc(20000);
	CHECK(big, "malloc");
	memset(big, 'x', 19999);
	big[19999] = 0;
	quiet(true);
	ret = load_multiboot(gm, "k", mb_guest, len, "", big, &e);
	for (i = 0; i < 19999 - 20; i += 21)
		memcpy(big + i, "/tmp/loader_test.mod,", 21);
	big[i] = 0;
	if (ret == EXIT_USAGE)
		ret = load_multiboot(gm, "k", mb_guest, len, "", big, &e);
	quiet(false);
	free(big);
	CHECK(ret == EXIT_USAGE, "too many modules: status %d", ret);
	/* A command line longer than the boot information's room. */
	big = calloc(1, 40000);
	CHECK(big, "malloc");
	memset(big, 'y', 39999);
	quiet(true);
	ret = load_multiboot(gm, "k", mb_guest, len, big, NULL, &e);
	quiet(false);
	free(big);
	CHECK(ret == EXIT_USAGE, "long command line: status %d", ret);
	remove("/tmp/loader_test.mod");
	return KTAP_PASS;
}

/* --- bzImage ------------------------------------------------------------- */

#define BZ_SETUP	1024		/* setup_sects 1, plus the boot sector */
#define BZ_PM		8192		/* the protected-mode part */

static uint8_t *make_bzimage(size_t *len)
{
	uint8_t *img = calloc(1, BZ_SETUP + BZ_PM);

	if (!img)
		return NULL;
	img[0x1f1] = 1;				/* setup_sects */
	wr32(img, 0x1f4, BZ_PM / 16);		/* syssize */
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	img[0x200] = 0xeb;			/* jmp over the header */
	img[0x201] = 0x66;			/* to 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;			/* protocol 2.15 */
	img[0x207] = 0x02;
	img[0x211] = 0x01;			/* LOADED_HIGH */
	wr32(img, 0x214, 0x100000);		/* code32_start */
	wr32(img, 0x22c, 0x37ffffff);		/* initrd_addr_max */
	wr32(img, 0x238, 2047);			/* cmdline_size */
	wr32(img, 0x248, 0x100);		/* payload_offset */
	wr32(img, 0x24c, BZ_PM - 0x200);	/* payload_length */
	wr64(img, 0x258, 0x1000000);		/* pref_address */
	wr32(img, 0x260, 0x400000);		/* init_size */
	memset(img + BZ_SETUP, 0x90, BZ_PM);
	*len = BZ_SETUP + BZ_PM;
	return img;
}

static int bzimage_loads_and_cuts_are_refused(void)
{
	struct guest_mem *gm = new_mem();
	struct guest_entry e = { 0 };
	uint8_t *img;
	size_t len, n;
	int ret;

	img = make_bzimage(&len);
	CHECK(img && gm, "malloc");
	ret = load_bzimage(gm, "k", img, len, NULL, LINUX_CMDLINE, &e);
	CHECK(ret == 0, "load: %d", ret);
	CHECK(e.mode == ENTRY_PROT32 && e.rip == 0x100000 && e.rsi == 0x7000,
	      "entry");
	CHECK(!memcmp(gm->mem + 0x100000, img + BZ_SETUP, BZ_PM), "kernel");
	CHECK(!strncmp((const char *)gm->mem + rd32(gm->mem + 0x7000, 0x228),
		       LINUX_CMDLINE, sizeof(LINUX_CMDLINE)), "command line");
	quiet(true);
	for (n = 0; n < len; n += 5) {
		ret = load_bzimage(gm, "k", img, n, NULL, LINUX_CMDLINE, &e);
		if (ret != EXIT_BAD_IMAGE) {
			quiet(false);
			CHECK(0, "cut at %zu bytes: status %d", n, ret);
		}
	}
	quiet(false);
	free(img);
	return KTAP_PASS;
}

static int bzimage_mutants_safe(void)
{
	struct guest_mem *gm = new_mem();
	struct guest_entry e;
	unsigned int i, j, loaded = 0, refused = 0;
	uint8_t *ref, *img;
	size_t len;
	int ret;

	ref = make_bzimage(&len);
	img = malloc(len);
	CHECK(ref && img && gm, "malloc");
	quiet(true);
	for (i = 0; i < MUTATIONS; i++) {
		memcpy(img, ref, len);
		for (j = rnd() % 4 + 1; j; j--) {
			size_t at = 0x1f1 + rnd() % (0x268 - 0x1f1);

			if (rnd() % 2)
				img[at] = rnd();
			else
				img[at] ^= 1 << (rnd() % 8);
		}
		ret = load_bzimage(gm, "k", img, len, NULL, LINUX_CMDLINE, &e);
		if (!status_ok(ret) || (!ret && e.rip != 0x100000)) {
			quiet(false);
			CHECK(0, "mutant %u: status %d", i, ret);
		}
		ret ? refused++ : loaded++;
	}
	quiet(false);
	free(img);
	free(ref);
	ktap_diag("%u mutants loaded, %u refused", loaded, refused);
	CHECK(loaded && refused, "the mutations reach both outcomes");
	return KTAP_PASS;
}

/* --- ELF64 --------------------------------------------------------------- */

static int elf64_mutants_safe(void)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		uint8_t code[64];
	} ref = {
		.eh = {
			.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3,
				     ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
			.e_type = ET_EXEC,
			.e_machine = EM_X86_64,
			.e_version = EV_CURRENT,
			.e_entry = 0x400000,
			.e_phoff = sizeof(Elf64_Ehdr),
			.e_ehsize = sizeof(Elf64_Ehdr),
			.e_phentsize = sizeof(Elf64_Phdr),
			.e_phnum = 1,
		},
		.ph = {
			.p_type = PT_LOAD,
			.p_offset = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr),
			.p_paddr = 0x400000,
			.p_filesz = 64,
			.p_memsz = 0x2000,
		},
	}, img;
	struct guest_mem *gm = new_mem();
	struct guest_entry e;
	unsigned int i, j, loaded = 0, refused = 0;
	int ret;

	CHECK(gm, "malloc");
	CHECK(load_elf(gm, "i", (uint8_t *)&ref, sizeof(ref), &e) == 0 &&
	      e.mode == ENTRY_LONG && e.rip == 0x400000, "load");
	img = ref;
	img.eh.e_entry = 0x402000;		/* just past the segment */
	quiet(true);
	ret = load_elf(gm, "i", (uint8_t *)&img, sizeof(img), &e);
	quiet(false);
	CHECK(ret == EXIT_BAD_IMAGE, "entry outside: status %d", ret);
	quiet(true);
	for (i = 0; i < MUTATIONS; i++) {
		img = ref;
		for (j = rnd() % 4 + 1; j; j--) {
			size_t at = rnd() % (sizeof(img.eh) + sizeof(img.ph));

			if (rnd() % 2)
				((uint8_t *)&img)[at] = rnd();
			else
				((uint8_t *)&img)[at] ^= 1 << (rnd() % 8);
		}
		ret = load_elf(gm, "i", (uint8_t *)&img, sizeof(img), &e);
		if (!status_ok(ret)) {
			quiet(false);
			CHECK(0, "mutant %u: status %d", i, ret);
		}
		ret ? refused++ : loaded++;
	}
	quiet(false);
	ktap_diag("%u mutants loaded, %u refused", loaded, refused);
	CHECK(loaded && refused, "the mutations reach both outcomes");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(multiboot_elf_loads),
	KTAP_CASE(multiboot_truncations_refused),
	KTAP_CASE(multiboot_mutants_safe),
	KTAP_CASE(multiboot_module_lists),
	KTAP_CASE(bzimage_loads_and_cuts_are_refused),
	KTAP_CASE(bzimage_mutants_safe),
	KTAP_CASE(elf64_mutants_safe),
};

KTAP_MAIN(cases)
