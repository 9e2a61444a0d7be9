// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit test of module/emul/paging.c, the guest page-table walk.
 *
 * Each case builds page tables in a small array standing for guest RAM
 * (each case runs in its own child, so it starts zeroed) and checks the
 * translation or the fault and its error code against SDM vol. 3,
 * chapter 4.
 */
#include "unit/shim.h"
#include "emul/paging.h"
#include "lib/ktap.h"

#define MEM_SIZE	(64 * 4096)

static u8 mem[MEM_SIZE];

static int read_phys(void *opaque, u64 gpa, void *buf, unsigned int len)
{
	(void)opaque;
	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return -EFAULT;
	memcpy(buf, mem + gpa, len);
	return 0;
}

static void set64(u64 gpa, u64 v)
{
	memcpy(mem + gpa, &v, 8);
}

static void set32(u64 gpa, u32 v)
{
	memcpy(mem + gpa, &v, 4);
}

#define P	0x1ULL
#define W	0x2ULL
#define U	0x4ULL
#define PS	0x80ULL
#define NX	(1ULL << 63)

#define PF_P	MVM_PFERR_PRESENT
#define PF_W	MVM_PFERR_WRITE
#define PF_U	MVM_PFERR_USER
#define PF_R	MVM_PFERR_RSVD
#define PF_I	MVM_PFERR_FETCH

/* Registers for a walk: the top table at 0x1000, MAXPHYADDR 46. */
static struct mvm_paging paging(u64 cr0, u64 cr4, u64 efer)
{
	return (struct mvm_paging){
		.cr0 = cr0, .cr3 = 0x1000, .cr4 = cr4, .efer = efer,
		.maxphyaddr = 46, .read_phys = read_phys,
	};
}

#define LONG_MODE	paging(MVM_CR0_PG, MVM_CR4_PAE, MVM_EFER_LMA)

/* A walk that must give @want. */
#define WALK_OK(p, gva, access, want)					\
	do {								\
		u64 g_ = ~0ULL;						\
		u32 e_ = 0;						\
		int r_ = mvm_paging_walk((p), (gva), (access), &g_, &e_); \
		CHECK(r_ == 0, "walk of %llx returned %d (error %x)",	\
		      (u64)(gva), r_, e_);				\
		CHECK(g_ == (want), "%llx -> %llx, want %llx",		\
		      (u64)(gva), g_, (u64)(want));			\
	} while (0)

/* A walk that must page-fault with error code @want. */
#define WALK_PF(p, gva, access, want)					\
	do {								\
		u64 g_;							\
		u32 e_ = ~0U;						\
		int r_ = mvm_paging_walk((p), (gva), (access), &g_, &e_); \
		CHECK(r_ == -EACCES, "walk of %llx returned %d",	\
		      (u64)(gva), r_);					\
		CHECK(e_ == (want), "error %x, want %x", e_,		\
		      (u32)(want));					\
	} while (0)

/* Index of @gva at @level of 9-bit tables. */
static u64 idx(u64 gva, unsigned int level)
{
	return (gva >> (12 + 9 * (level - 1))) & 511;
}

/*
 * 4- or 5-level tables for @gva: the top table at 0x1000, the next at
 * 0x2000 and so on, every table entry with @flags, and @leaf at
 * @leaf_level.
 */
static void map64(u64 gva, unsigned int levels, unsigned int leaf_level,
		  u64 leaf, u64 flags)
{
	u64 table = 0x1000;
	unsigned int l;

	for (l = levels; l > leaf_level; l--) {
		set64(table + idx(gva, l) * 8, (table + 0x1000) | flags);
		table += 0x1000;
	}
	set64(table + idx(gva, leaf_level) * 8, leaf);
}

static int no_paging(void)
{
	struct mvm_paging p = paging(0, 0, 0);

	WALK_OK(&p, 0x12345678, PF_W | PF_U | PF_I, 0x12345678);
	return KTAP_PASS;
}

static int bits32_4k(void)
{
	struct mvm_paging p = paging(MVM_CR0_PG, 0, 0);
	u64 gva = 0x00403123;	/* PDE 1, PTE 3 */

	set32(0x1000 + 1 * 4, 0x2000 | P | W | U);
	set32(0x2000 + 3 * 4, 0x5000 | P | W | U);
	WALK_OK(&p, gva, PF_W | PF_U, 0x5123);
	WALK_PF(&p, 0x00404000, PF_W, PF_W);		/* PTE 4 absent */
	WALK_PF(&p, 0x00800000, PF_U, PF_U);		/* PDE 2 absent */
	/* No XD in 32-bit paging, so no I/D either (SDM vol. 3, 4.7). */
	WALK_PF(&p, 0x00800000, PF_I, 0);
	return KTAP_PASS;
}

static int bits32_4m(void)
{
	struct mvm_paging p = paging(MVM_CR0_PG, MVM_CR4_PSE, 0);

	p.maxphyaddr = 36;

	/* PDE 3 maps 4 MiB at 0x1_00c0_0000: bits 20:13 hold 39:32. */
	set32(0x1000 + 3 * 4, 0x00c00000 | (1 << 13) | PS | P | W);
	WALK_OK(&p, 0x00c12345, 0, 0x100c12345ULL);
	/* Bit 21 is reserved, and so is PA bit 36 with MAXPHYADDR 36. */
	set32(0x1000 + 4 * 4, 0x01000000 | (1 << 21) | PS | P);
	WALK_PF(&p, 0x01000000, PF_W, PF_P | PF_W | PF_R);
	set32(0x1000 + 5 * 4, 0x01400000 | (0x10 << 13) | PS | P);
	WALK_PF(&p, 0x01400000, 0, PF_P | PF_R);
	/* Without CR4.PSE, bit 7 is ignored and the PDE points to a table. */
	p.cr4 = 0;
	set32(0x1000 + 6 * 4, 0x2000 | PS | P);
	set32(0x2000, 0x7000 | P);
	WALK_OK(&p, 0x01800abc, 0, 0x7abc);
	return KTAP_PASS;
}

static int pae_4k_2m(void)
{
	struct mvm_paging p = paging(MVM_CR0_PG, MVM_CR4_PAE, 0);
	u64 gva = 0x80603456;	/* PDPTE 2, PDE 3, PTE 3 */

	p.cr3 = 0x1020;
	set64(0x1020 + 2 * 8, 0x2000 | P);
	set64(0x2000 + 3 * 8, 0x3000 | P | W | U);
	set64(0x3000 + 3 * 8, 0x123456000ULL | P | W | U);
	WALK_OK(&p, gva, PF_U | PF_W, 0x123456456ULL);
	/* PDE 4 maps 2 MiB. */
	set64(0x2000 + 4 * 8, 0x40000000ULL | PS | P);
	WALK_OK(&p, 0x80812345, 0, 0x40012345ULL);
	/* PDPTE 0 absent. */
	WALK_PF(&p, 0x00001000, PF_W, PF_W);
	return KTAP_PASS;
}

static int pae_reserved(void)
{
	struct mvm_paging p = paging(MVM_CR0_PG, MVM_CR4_PAE, 0);

	p.cr3 = 0x1020;

	/* PDPTE bit 1 is reserved (SDM vol. 3, table 4-8). */
	set64(0x1020, 0x2000 | W | P);
	WALK_PF(&p, 0x1000, 0, PF_P | PF_R);
	/* A 2 MiB PDE with bit 13 set. */
	set64(0x1020 + 8, 0x2000 | P);
	set64(0x2000, 0x200000 | (1 << 13) | PS | P);
	WALK_PF(&p, 0x40000000, 0, PF_P | PF_R);
	/* XD without EFER.NXE is reserved. */
	set64(0x2000 + 8, 0x400000 | NX | PS | P);
	WALK_PF(&p, 0x40200000, 0, PF_P | PF_R);
	/* Bits 62:MAXPHYADDR are reserved in PAE entries. */
	set64(0x2000 + 16, 0x600000 | (1ULL << 52) | PS | P);
	WALK_PF(&p, 0x40400000, 0, PF_P | PF_R);
	return KTAP_PASS;
}

static int pae_nx(void)
{
	struct mvm_paging p = paging(MVM_CR0_PG, MVM_CR4_PAE, MVM_EFER_NXE);

	p.cr3 = 0x1020;

	set64(0x1020, 0x2000 | P);
	set64(0x2000, 0x200000 | NX | PS | P | W);
	WALK_OK(&p, 0x1234, PF_W, 0x201234);
	WALK_PF(&p, 0x1234, PF_I, PF_P | PF_I);
	/* A not-present fetch reports I/D too, with PAE and NXE. */
	WALK_PF(&p, 0x00400000, PF_I, PF_I);
	return KTAP_PASS;
}

static int long_4k(void)
{
	struct mvm_paging p = LONG_MODE;
	u64 gva = 0x00007f8040603123ULL;

	map64(gva, 4, 1, 0x00abcdef0000ULL | P | W | U, P | W | U);
	WALK_OK(&p, gva, PF_U | PF_W | PF_I, 0x00abcdef0123ULL);
	/* A canonical negative address, all tables absent. */
	WALK_PF(&p, 0xffff800000000000ULL, PF_W, PF_W);
	return KTAP_PASS;
}

static int long_large_pages(void)
{
	struct mvm_paging p = LONG_MODE;
	u64 g2m = 0x0000000080345678ULL, g1g = 0x0000004012345678ULL;

	map64(g2m, 4, 2, 0x7fe00000ULL | PS | P, P | W);
	WALK_OK(&p, g2m, 0, 0x7ff45678ULL);
	/* 1 GiB: PML4E 0 again, a second PDPT entry (index 256). */
	set64(0x2000 + idx(g1g, 3) * 8, 0x1c0000000ULL | PS | P);
	WALK_OK(&p, g1g, 0, 0x1d2345678ULL);
	/* 1 GiB with bit 13 set: reserved. */
	set64(0x2000 + 257 * 8, 0x200000000ULL | (1 << 13) | PS | P);
	WALK_PF(&p, 0x0000004040000000ULL, 0, PF_P | PF_R);
	return KTAP_PASS;
}

static int long_reserved(void)
{
	struct mvm_paging p = LONG_MODE;
	u64 gva = 0x1000;

	p.maxphyaddr = 40;
	/* PS in a PML4E is reserved. */
	set64(0x1000, 0x2000 | PS | P);
	WALK_PF(&p, gva, 0, PF_P | PF_R);
	/* An address bit at MAXPHYADDR. */
	set64(0x1000, 0x2000 | P);
	set64(0x2000, (1ULL << 40) | 0x3000 | P);
	WALK_PF(&p, gva, PF_U, PF_P | PF_R | PF_U);
	/* Bits 62:52 are ignored, not reserved, in 4-level entries. */
	set64(0x2000, (1ULL << 55) | 0x3000 | P);
	set64(0x3000, 0x4000 | P);
	set64(0x4000 + 8, 0x9000 | P);
	WALK_OK(&p, gva, 0, 0x9000);
	/* XD without EFER.NXE. */
	set64(0x4000 + 8, NX | 0x9000 | P);
	WALK_PF(&p, gva, 0, PF_P | PF_R);
	return KTAP_PASS;
}

static int long_non_canonical(void)
{
	struct mvm_paging p = LONG_MODE;
	u64 g;
	u32 e;

	CHECK(mvm_paging_walk(&p, 0x0000800000000000ULL, 0, &g, &e) == -EINVAL,
	      "bit 47 set, 63:48 clear");
	CHECK(mvm_paging_walk(&p, 0xfff0000000000000ULL, 0, &g, &e) == -EINVAL,
	      "57-bit address with 4 levels");
	return KTAP_PASS;
}

static int five_level(void)
{
	struct mvm_paging p = LONG_MODE;
	u64 gva = 0x00ff7f8040603123ULL;	/* canonical with LA57 */
	u64 g;
	u32 e;

	p.cr4 |= MVM_CR4_LA57;
	map64(gva, 5, 1, 0x5000 | P, P);
	WALK_OK(&p, gva, 0, 0x5123);
	CHECK(mvm_paging_walk(&p, 0x0100000000000000ULL, 0, &g, &e) == -EINVAL,
	      "bit 56 set, 63:57 clear");
	/* The same address with 4 levels is not canonical. */
	p.cr4 &= ~MVM_CR4_LA57;
	CHECK(mvm_paging_walk(&p, gva, 0, &g, &e) == -EINVAL, "4-level");
	return KTAP_PASS;
}

static int rights_user(void)
{
	struct mvm_paging p = LONG_MODE;
	u64 gva = 0x1000;

	/* U/S clear at one level (the PDPTE) makes the page supervisor. */
	set64(0x1000, 0x2000 | P | W | U);
	set64(0x2000, 0x3000 | P | W);
	set64(0x3000, 0x4000 | P | W | U);
	set64(0x4000 + 8, 0x9000 | P | W | U);
	WALK_PF(&p, gva, PF_U, PF_P | PF_U);
	WALK_OK(&p, gva, PF_W, 0x9000);
	/* R/W clear at one level: user writes fault, whatever CR0.WP. */
	set64(0x2000, 0x3000 | P | W | U);
	set64(0x3000, 0x4000 | P | U);
	WALK_OK(&p, gva, PF_U, 0x9000);
	WALK_PF(&p, gva, PF_U | PF_W, PF_P | PF_W | PF_U);
	return KTAP_PASS;
}

static int rights_wp(void)
{
	struct mvm_paging p = LONG_MODE;

	map64(0x1000, 4, 1, 0x9000 | P, P | W);
	/* A supervisor write to a read-only page needs CR0.WP to fault. */
	WALK_OK(&p, 0x1000, PF_W, 0x9000);
	p.cr0 |= MVM_CR0_WP;
	WALK_PF(&p, 0x1000, PF_W, PF_P | PF_W);
	return KTAP_PASS;
}

static int rights_nx_smep_smap(void)
{
	struct mvm_paging p = LONG_MODE;

	p.efer |= MVM_EFER_NXE;
	map64(0x1000, 4, 1, 0x9000 | P | U, P | W | U);
	WALK_OK(&p, 0x1000, PF_I, 0x9000);
	/* SMEP: no supervisor fetch from a user page. */
	p.cr4 |= MVM_CR4_SMEP;
	WALK_PF(&p, 0x1000, PF_I, PF_P | PF_I);
	WALK_OK(&p, 0x1000, PF_I | PF_U, 0x9000);
	/* SMAP: no supervisor data access to it, unless RFLAGS.AC. */
	p.cr4 |= MVM_CR4_SMAP;
	WALK_PF(&p, 0x1000, 0, PF_P);
	p.rflags = MVM_RFLAGS_AC;
	WALK_OK(&p, 0x1000, 0, 0x9000);
	/* XD at a higher level forbids fetches from the whole range. */
	set64(0x1000, NX | 0x2000 | P | W | U);
	WALK_PF(&p, 0x1000, PF_I | PF_U, PF_P | PF_I | PF_U);
	WALK_OK(&p, 0x1000, PF_U, 0x9000);
	return KTAP_PASS;
}

static int tables_not_in_ram(void)
{
	struct mvm_paging p = LONG_MODE;
	u64 g;
	u32 e;

	set64(0x1000, 0x40000000ULL | P);	/* PDPT beyond mem[] */
	CHECK(mvm_paging_walk(&p, 0x1000, 0, &g, &e) == -EFAULT, " ");
	p.cr3 = 0x80000000ULL;
	CHECK(mvm_paging_walk(&p, 0x1000, 0, &g, &e) == -EFAULT, "cr3");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(no_paging),
	KTAP_CASE(bits32_4k),
	KTAP_CASE(bits32_4m),
	KTAP_CASE(pae_4k_2m),
	KTAP_CASE(pae_reserved),
	KTAP_CASE(pae_nx),
	KTAP_CASE(long_4k),
	KTAP_CASE(long_large_pages),
	KTAP_CASE(long_reserved),
	KTAP_CASE(long_non_canonical),
	KTAP_CASE(five_level),
	KTAP_CASE(rights_user),
	KTAP_CASE(rights_wp),
	KTAP_CASE(rights_nx_smep_smap),
	KTAP_CASE(tables_not_in_ram),
};

KTAP_MAIN(cases)
