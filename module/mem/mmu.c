// SPDX-License-Identifier: GPL-2.0
/*
 * Nested page tables (AMD NPT, Intel EPT), built on demand from the slots.
 *
 * Both formats are four (or five) levels of 512 eight-byte entries indexed
 * by guest-physical address bits 47:12 (56:12), with the next table's address in bits
 * 51:12 and bit 7 marking a 2 MiB leaf at level 2 (APM vol. 2, 15.25.5; SDM
 * vol. 3, 29.3.2).  The backend encodes the permission bits.  An entry is
 * either 0 or valid: this file never writes a non-present entry that is not
 * 0, so "nonzero" means "present" for both.
 *
 * The tables map slot memory only; a guest access anywhere else faults to
 * mvm_mmu_fault(), which says "MMIO" and maps nothing, so every such access
 * exits.  Changing a slot zaps everything: simple, and slot changes are rare.
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/io.h>

#include "mvm.h"

#define MVM_PT_ENTRIES		512
#define MVM_PT_LEAF_2M		BIT_ULL(7)
#define MVM_PT_ADDR_MASK	GENMASK_ULL(51, 12)

/*
 * Four levels, or five: NPT walks with the host's paging mode, so a host
 * with 5-level paging (CR4.LA57) has 5-level nested tables (APM vol. 2,
 * 15.25.3).  The backend sets this at setup.
 */
int mvm_pt_levels = 4;

/*
 * The guest-physical width the nested tables cover: each level resolves
 * nine bits above the page offset's twelve, so four levels reach 48 bits
 * and five 57 (4-level EPT uses bits 47:0 of a guest-physical address,
 * SDM vol. 3, 29.3.2).  The walk in mvm_mmu_fault(), like the CPU's, drops
 * the bits above: a slot past this width would alias one below it.  The
 * host's MAXPHYADDR bounds it too, since the CPU maps nothing above that.
 */
unsigned int mvm_mmu_gpa_bits(void)
{
	return min_t(unsigned int, boot_cpu_data.x86_phys_bits,
		     PAGE_SHIFT + 9 * mvm_pt_levels);
}

static struct page *mvm_mmu_alloc_table(struct mvm_vm *vm)
{
	struct page *p = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (p) {
		list_add(&p->lru, &vm->mmu.pages);
		vm->mmu.nr_pages++;
	}
	return p;
}

int mvm_mmu_init(struct mvm_vm *vm)
{
	INIT_LIST_HEAD(&vm->mmu.pages);
	vm->mmu.root = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	return vm->mmu.root ? 0 : -ENOMEM;
}

static void mvm_mmu_free_tables(struct mvm_vm *vm)
{
	struct page *p, *n;

	list_for_each_entry_safe(p, n, &vm->mmu.pages, lru) {
		list_del(&p->lru);
		__free_page(p);
	}
	vm->mmu.nr_pages = 0;
}

void mvm_mmu_destroy(struct mvm_vm *vm)
{
	mvm_mmu_free_tables(vm);
	if (vm->mmu.root)
		__free_page(vm->mmu.root);
}

u64 mvm_mmu_root_pa(struct mvm_vm *vm)
{
	return page_to_phys(vm->mmu.root);
}

/*
 * Unmap everything.  Returns with no vCPU in the guest on the old tables,
 * and every vCPU bound to flush its TLB before it enters again; only then
 * are the table pages, and the slot pages they pointed to, safe to free.
 */
void mvm_mmu_zap(struct mvm_vm *vm)
{
	u64 *root = page_address(vm->mmu.root);
	int i;

	lockdep_assert_held(&vm->slots_lock);
	for (i = 0; i < MVM_PT_ENTRIES; i++)
		WRITE_ONCE(root[i], 0);
	mvm_kick_all(vm, MVM_REQ_TLB_FLUSH);
	mvm_mmu_free_tables(vm);
}

/* Can gfn's 2 MiB frame be one leaf: all in the slot, host-contiguous? */
static bool mvm_mmu_can_map_2m(const struct mvm_memslot *s, u64 gfn)
{
	u64 first = s->gpa >> PAGE_SHIFT, base = gfn & ~(u64)511;
	unsigned long pfn, k;

	if (base < first || base + 512 > first + s->npages)
		return false;
	pfn = page_to_pfn(mvm_memslot_page(s, base));
	if (pfn & 511)
		return false;
	for (k = 1; k < 512; k++)
		if (page_to_pfn(mvm_memslot_page(s, base + k)) != pfn + k)
			return false;
	return true;
}

/*
 * The guest touched @gpa and the tables had nothing there.  Returns 0 once
 * it is mapped, 1 if it is not RAM the guest may access that way (MMIO, or
 * a write to a read-only slot), or -ENOMEM.
 */
int mvm_mmu_fault(struct mvm_vcpu *vcpu, u64 gpa, bool write)
{
	struct mvm_vm *vm = vcpu->vm;
	struct mvm_memslot *s;
	u64 gfn = gpa >> PAGE_SHIFT, *table, pfn;
	int level, leaf_level, r = 0;
	bool writable;

	mutex_lock(&vm->slots_lock);
	s = mvm_gpa_to_memslot(vm, gpa);
	if (!s || (write && (s->flags & MVM_MEM_READONLY))) {
		r = 1;
		goto out;
	}
	writable = !(s->flags & MVM_MEM_READONLY);
	leaf_level = mvm_mmu_can_map_2m(s, gfn) ? 2 : 1;

	table = page_address(vm->mmu.root);
	for (level = mvm_pt_levels; level > leaf_level; level--) {
		unsigned int i = (gpa >> (12 + 9 * (level - 1))) & 511;
		u64 e = READ_ONCE(table[i]);
		struct page *next;

		if (e && level == 2 && (e & MVM_PT_LEAF_2M))
			goto out;	/* another vCPU mapped it */
		if (!e) {
			next = mvm_mmu_alloc_table(vm);
			if (!next) {
				r = -ENOMEM;
				goto out;
			}
			e = mvm_ops->pte(page_to_pfn(next), level, false, true);
			WRITE_ONCE(table[i], e);
		}
		table = phys_to_virt(e & MVM_PT_ADDR_MASK);
	}

	if (leaf_level == 2)
		gfn &= ~(u64)511;
	pfn = page_to_pfn(mvm_memslot_page(s, gfn));
	WRITE_ONCE(table[(gpa >> (12 + 9 * (leaf_level - 1))) & 511],
		   mvm_ops->pte(pfn, leaf_level, true, writable));
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}
