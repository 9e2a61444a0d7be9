// SPDX-License-Identifier: GPL-2.0
/*
 * The guest page-table walk: see paging.h.
 *
 * Covers every paging mode of SDM vol. 3, chapter 4 (APM vol. 2, chapter
 * 5): none, 32-bit with 4 MiB pages under CR4.PSE, PAE, and 4- and 5-level.
 * The walk reads the tables only: it sets no accessed or dirty bits, which
 * the emulator does not need, since the hardware set them when it ran the
 * instruction that exited.  Protection keys are not checked.
 */
#include <linux/const.h>
#include <linux/errno.h>
#include <linux/types.h>

#include "paging.h"

/* Page-table entry bits (SDM vol. 3, 4.3 to 4.5). */
#define PTE_PRESENT	_BITULL(0)
#define PTE_WRITE	_BITULL(1)
#define PTE_USER	_BITULL(2)
#define PTE_PS		_BITULL(7)
#define PTE_NX		_BITULL(63)

/* Bits @hi down to @lo; empty if @hi < @lo. */
static u64 mvm_bits(unsigned int hi, unsigned int lo)
{
	if (hi < lo || lo > 63)
		return 0;
	return (~0ULL >> (63 - hi)) & (~0ULL << lo);
}

/* The reserved physical-address bits of a 64-bit entry: M up to @top. */
static u64 mvm_rsvd_phys(const struct mvm_paging *p, unsigned int top)
{
	return mvm_bits(top, p->maxphyaddr);
}

/* Guest-physical address of the entry for @gva in the table at @table. */
static u64 mvm_pte_gpa(u64 table, u64 gva, unsigned int level,
		       unsigned int bits, unsigned int esize)
{
	unsigned int shift = 12 + bits * (level - 1);

	return table + ((gva >> shift) & mvm_bits(bits - 1, 0)) * esize;
}

/*
 * A 4 MiB page of 32-bit paging (SDM vol. 3, 4.3, table 4-4): PDE bits
 * 20:13 are physical-address bits 39:32; bit 21 is reserved, and so are
 * the bits of 20:13 at or above MAXPHYADDR.
 */
static int mvm_large_page_32(const struct mvm_paging *p, u64 pde, u64 gva,
			     u64 *gpa)
{
	u64 hi = (pde >> 13) & 0xff;

	if (pde & _BITULL(21) || hi & mvm_bits(7, p->maxphyaddr - 32))
		return -EINVAL;
	*gpa = hi << 32 | (pde & mvm_bits(31, 22)) | (gva & mvm_bits(21, 0));
	return 0;
}

/*
 * A 2 MiB or 1 GiB page of PAE, 4- or 5-level paging (tables 4-9, 4-17,
 * 4-18): the address bits below the page size, above the PAT bit (12),
 * are reserved.
 */
static int mvm_large_page_64(u64 pte, u64 gva, unsigned int level, u64 *gpa)
{
	unsigned int shift = 12 + 9 * (level - 1);

	if (pte & mvm_bits(shift - 1, 13))
		return -EINVAL;
	*gpa = (pte & mvm_bits(51, shift)) | (gva & mvm_bits(shift - 1, 0));
	return 0;
}

/*
 * The rights of a translation (SDM vol. 3, 4.6.1): a user access needs U/S
 * at every level, and R/W too for a write; a supervisor write needs R/W
 * only with CR0.WP; a fetch faults on XD, and a supervisor fetch from a
 * user page with CR4.SMEP; a supervisor data access to a user page faults
 * with CR4.SMAP unless RFLAGS.AC.
 */
static bool mvm_allowed(const struct mvm_paging *p, u32 access,
			bool writable, bool user, bool nx)
{
	bool write = access & MVM_PFERR_WRITE, fetch = access & MVM_PFERR_FETCH;

	if (fetch && nx)
		return false;
	if (access & MVM_PFERR_USER)
		return user && (writable || !write);
	if (write && !writable && p->cr0 & MVM_CR0_WP)
		return false;
	if (user && fetch && p->cr4 & MVM_CR4_SMEP)
		return false;
	if (user && !fetch && p->cr4 & MVM_CR4_SMAP &&
	    !(p->rflags & MVM_RFLAGS_AC))
		return false;
	return true;
}

/**
 * mvm_paging_walk - translate a linear address as the guest's MMU would
 * @p:		the guest's registers and memory
 * @gva:	the linear address; outside 64-bit mode the caller has
 *		truncated it to 32 bits
 * @access:	MVM_PFERR_WRITE, MVM_PFERR_USER and MVM_PFERR_FETCH, as the
 *		access is a write, from CPL 3, an instruction fetch
 * @gpa:	the guest-physical address, on success
 * @error:	the #PF error code, on -EACCES
 *
 * Return: 0; -EACCES for a page fault (error code in *@error); -EINVAL for
 * a non-canonical address in long mode, which is #GP rather than #PF (SDM
 * vol. 1, 3.3.7.1); or -EFAULT when a table is not in guest RAM, which a
 * guest can do but which is not emulated.
 */
int mvm_paging_walk(const struct mvm_paging *p, u64 gva, u32 access,
		    u64 *gpa, u32 *error)
{
	bool nxe = p->efer & MVM_EFER_NXE, la57 = p->cr4 & MVM_CR4_LA57;
	bool pae = p->cr4 & MVM_CR4_PAE;
	unsigned int level, levels, bits, esize, large_top;
	bool writable = true, user = true, nx = false;
	u32 err = access & (MVM_PFERR_WRITE | MVM_PFERR_USER | MVM_PFERR_FETCH);
	u64 table, rsvd;

	if (!(p->cr0 & MVM_CR0_PG)) {
		*gpa = gva;
		return 0;
	}

	if (p->efer & MVM_EFER_LMA) {
		unsigned int vbits = la57 ? 57 : 48;

		if ((u64)((s64)(gva << (64 - vbits)) >> (64 - vbits)) != gva)
			return -EINVAL;
		levels = la57 ? 5 : 4;
		bits = 9;
		esize = 8;
		large_top = 3;		/* 1 GiB and 2 MiB pages */
		rsvd = mvm_rsvd_phys(p, 51) | (nxe ? 0 : PTE_NX);
		table = p->cr3 & mvm_bits(51, 12);
	} else if (pae) {
		u64 pdpte;

		/*
		 * PAE: four PDPTEs at CR3[31:5], then two 9-bit levels (SDM
		 * vol. 3, 4.4).  Intel processors load the PDPTEs with CR3;
		 * AMD ones under nested paging read them during the walk, as
		 * this does.  A PDPTE has no U/S, R/W or XD.
		 */
		if (p->read_phys(p->opaque, (p->cr3 & mvm_bits(31, 5)) +
				 ((gva >> 30) & 3) * 8, &pdpte, 8))
			return -EFAULT;
		if (!(pdpte & PTE_PRESENT))
			goto fault;
		if (pdpte & (mvm_rsvd_phys(p, 63) | mvm_bits(8, 5) |
			     mvm_bits(2, 1)))
			goto reserved;
		levels = 2;
		bits = 9;
		esize = 8;
		large_top = 2;		/* 2 MiB pages */
		rsvd = mvm_rsvd_phys(p, 62) | (nxe ? 0 : PTE_NX);
		table = pdpte & mvm_bits(51, 12);
	} else {
		/* 32-bit paging: two 10-bit levels of 4-byte entries. */
		levels = 2;
		bits = 10;
		esize = 4;
		large_top = p->cr4 & MVM_CR4_PSE ? 2 : 0;
		rsvd = 0;
		table = p->cr3 & mvm_bits(31, 12);
	}

	/* Each pass goes down a level; level 1 always ends the walk. */
	for (level = levels; level >= 1; level--) {
		u64 pte = 0;

		/* 4-byte entries land in the low half: x86 is little-endian. */
		if (p->read_phys(p->opaque,
				 mvm_pte_gpa(table, gva, level, bits, esize),
				 &pte, esize))
			return -EFAULT;
		if (!(pte & PTE_PRESENT))
			goto fault;
		if (pte & rsvd)
			goto reserved;
		writable &= !!(pte & PTE_WRITE);
		user &= !!(pte & PTE_USER);
		nx |= !!(pte & PTE_NX);

		if (level == 1) {
			*gpa = (pte & mvm_bits(51, 12)) | (gva & mvm_bits(11, 0));
			break;
		}
		/* Bit 7 maps a page, is reserved, or (no CR4.PSE) ignored. */
		if (pte & PTE_PS && level <= large_top) {
			if (esize == 4 ?
			    mvm_large_page_32(p, pte, gva, gpa) :
			    mvm_large_page_64(pte, gva, level, gpa))
				goto reserved;
			break;
		}
		if (pte & PTE_PS && esize == 8)
			goto reserved;
		table = pte & mvm_bits(esize == 4 ? 31 : 51, 12);
	}

	if (mvm_allowed(p, access, writable, user, nx))
		return 0;
	err |= MVM_PFERR_PRESENT;
	goto fault;

reserved:
	err |= MVM_PFERR_RSVD | MVM_PFERR_PRESENT;
fault:
	/*
	 * I/D is reported only where a fetch can fault for being one: with
	 * CR4.SMEP, or PAE-style entries and EFER.NXE (SDM vol. 3, 4.7).
	 */
	if (!(p->cr4 & MVM_CR4_SMEP) && !(pae && nxe))
		err &= ~MVM_PFERR_FETCH;
	*error = err;
	return -EACCES;
}
