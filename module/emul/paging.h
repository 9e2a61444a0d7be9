/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm: a software walk of the guest's page tables, for the emulator.
 *
 * Pure code like decode.c: the guest's control registers come in a
 * struct, guest-physical memory through a callback, so selftests/unit
 * tests it on the host against page tables it builds in an array.
 */
#ifndef MVM_PAGING_H
#define MVM_PAGING_H

#include <linux/const.h>
#include <linux/types.h>

/* The control-register bits the walk looks at (SDM vol. 3, 2.5; 2.2.1). */
#define MVM_CR0_WP		_BITULL(16)
#define MVM_CR0_PG		_BITULL(31)
#define MVM_CR4_PSE		_BITULL(4)
#define MVM_CR4_PAE		_BITULL(5)
#define MVM_CR4_LA57		_BITULL(12)
#define MVM_CR4_SMEP		_BITULL(20)
#define MVM_CR4_SMAP		_BITULL(21)
#define MVM_EFER_LMA		_BITULL(10)
#define MVM_EFER_NXE		_BITULL(11)
#define MVM_RFLAGS_AC		_BITULL(18)

/*
 * Page-fault error code bits (SDM vol. 3, 4.7), which also describe the
 * access asked for: WRITE, USER (CPL 3) and FETCH.
 */
#define MVM_PFERR_PRESENT	_BITUL(0)
#define MVM_PFERR_WRITE		_BITUL(1)
#define MVM_PFERR_USER		_BITUL(2)
#define MVM_PFERR_RSVD		_BITUL(3)
#define MVM_PFERR_FETCH		_BITUL(4)

/**
 * struct mvm_paging - what a walk needs of the vCPU and the VM
 * @cr0, @cr3, @cr4, @efer, @rflags: the guest's registers
 * @maxphyaddr:	physical-address width; higher address bits are reserved
 * @read_phys:	reads guest-physical memory: 0, or -EFAULT if not RAM
 * @opaque:	passed to @read_phys
 */
struct mvm_paging {
	u64 cr0, cr3, cr4, efer, rflags;
	unsigned int maxphyaddr;
	int (*read_phys)(void *opaque, u64 gpa, void *buf, unsigned int len);
	void *opaque;
};

int mvm_paging_walk(const struct mvm_paging *p, u64 gva, u32 access,
		    u64 *gpa, u32 *error);

#endif /* MVM_PAGING_H */
