// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: slots of the VM owner's memory at guest-physical addresses.
 *
 * A slot pins its pages (FOLL_LONGTERM) for as long as it exists and charges
 * them to the owner's RLIMIT_MEMLOCK, as VFIO does.  Pinning, rather than
 * following the owner's page tables through MMU notifiers, keeps the rule
 * simple: every page a guest can reach is a page the module holds a pin on.
 * Whatever userspace does to its mapping afterwards (munmap, mprotect,
 * mremap), the guest keeps the pages it had, and the host never sees one
 * freed under it.  The cost is that slot memory cannot be swapped, migrated
 * or shared with KSM; Documentation/mvm/api.rst says so.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/highmem.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/mvm.h>
#include "mvm.h"

static_assert(sizeof(struct mvm_memory_region) == 32);

/* Pin and unpin in batches: a huge slot stays killable, nothing stalls. */
#define MVM_PIN_BATCH	512

/*
 * The most pages a slot may have: kvmalloc() refuses, with a WARN, any
 * size above INT_MAX (mm/util.c in 6.1, mm/slub.c in 6.12), and the page
 * array is one such allocation.  With 4 KiB pages: 1 TiB less one page.
 */
#define MVM_SLOT_MAX_PAGES	(INT_MAX / sizeof(struct page *))

static void mvm_unpin(struct page **pages, unsigned long n, bool dirty)
{
	unsigned long done, k;

	for (done = 0; done < n; done += k) {
		k = min_t(unsigned long, MVM_PIN_BATCH, n - done);
		unpin_user_pages_dirty_lock(pages + done, k, dirty);
		cond_resched();
	}
}

static void mvm_unaccount(struct mm_struct *mm, unsigned long npages)
{
	/* An exited owner took its locked_vm count along. */
	if (mmget_not_zero(mm)) {
		account_locked_vm(mm, npages, false);
		mmput(mm);
	}
}

static void mvm_memslot_free(struct mvm_vm *vm, struct mvm_memslot *s)
{
	mvm_unpin(s->pages, s->npinned, !(s->flags & MVM_MEM_READONLY));
	mvm_unaccount(vm->mm, s->npages);
	kvfree(s->pages);
	kfree(s);
}

static int mvm_memslot_pin(struct mvm_memslot *s)
{
	unsigned int gup = FOLL_LONGTERM;

	if (!(s->flags & MVM_MEM_READONLY))
		gup |= FOLL_WRITE;

	while (s->npinned < s->npages) {
		unsigned long n = min_t(unsigned long, MVM_PIN_BATCH,
					s->npages - s->npinned);
		int r;

		if (fatal_signal_pending(current))
			return -EINTR;
		r = pin_user_pages_fast(s->uaddr + (s->npinned << PAGE_SHIFT),
					n, gup, s->pages + s->npinned);
		if (r <= 0)
			return r ? r : -EFAULT;
		s->npinned += r;
		cond_resched();
	}
	return 0;
}

static struct mvm_memslot *mvm_memslot_create(struct mvm_vm *vm,
					      const struct mvm_memory_region *r)
{
	struct mvm_memslot *s;
	int err;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->id = r->slot;
	s->flags = r->flags;
	s->gpa = r->guest_phys_addr;
	s->uaddr = r->userspace_addr;
	s->npages = r->memory_size >> PAGE_SHIFT;

	err = account_locked_vm(vm->mm, s->npages, true);
	if (err)
		goto err_free_slot;

	s->pages = kvmalloc_array(s->npages, sizeof(*s->pages),
				  GFP_KERNEL_ACCOUNT);
	if (!s->pages) {
		err = -ENOMEM;
		goto err_unaccount;
	}

	err = mvm_memslot_pin(s);
	if (err)
		goto err_unpin;
	return s;

err_unpin:
	mvm_unpin(s->pages, s->npinned, false);
	kvfree(s->pages);
err_unaccount:
	mvm_unaccount(vm->mm, s->npages);
err_free_slot:
	kfree(s);
	return ERR_PTR(err);
}

/* Does [gpa, gpa + size) meet a slot other than @except?  Slots lock held. */
static bool mvm_memslot_overlaps(struct mvm_vm *vm, u64 gpa, u64 size,
				 u32 except)
{
	u32 i;

	for (i = 0; i < MVM_NR_MEMSLOTS; i++) {
		struct mvm_memslot *s = vm->slots[i];

		if (s && i != except && gpa < s->gpa + (s->npages << PAGE_SHIFT) &&
		    s->gpa < gpa + size)
			return true;
	}
	return false;
}

static int mvm_memslot_delete(struct mvm_vm *vm, u32 id)
{
	struct mvm_memslot *s;

	/* mvm_region_check() bounded @id; a mispredicted branch must not. */
	id = array_index_nospec(id, MVM_NR_MEMSLOTS);
	mutex_lock(&vm->slots_lock);
	s = vm->slots[id];
	vm->slots[id] = NULL;
	/* No vCPU reaches the old pages once this returns. */
	if (s)
		mvm_mmu_zap(vm);
	mutex_unlock(&vm->slots_lock);

	if (!s)
		return -ENOENT;
	mvm_memslot_free(vm, s);
	return 0;
}

/*
 * Checks the caller's copy of the region; the user's memory is read once.
 * The size is checked before the place, so that a slot too large to have
 * is E2BIG wherever it would go.  Guest-physical addresses end where the
 * nested tables do, at mvm_mmu_gpa_bits() (MVM_CAP_GPA_BITS).
 */
static int mvm_region_check(const struct mvm_memory_region *r)
{
	u64 npages = r->memory_size >> PAGE_SHIFT, gpa_end, ua_end;

	if (r->flags & ~MVM_MEM_READONLY || r->slot >= MVM_NR_MEMSLOTS)
		return -EINVAL;
	if (!r->memory_size)
		return 0;
	if (!PAGE_ALIGNED(r->guest_phys_addr) || !PAGE_ALIGNED(r->memory_size) ||
	    !PAGE_ALIGNED(r->userspace_addr))
		return -EINVAL;
	if (npages > MVM_SLOT_MAX_PAGES || npages > totalram_pages())
		return -E2BIG;
	if (check_add_overflow(r->guest_phys_addr, r->memory_size, &gpa_end) ||
	    gpa_end > BIT_ULL(mvm_mmu_gpa_bits()))
		return -EINVAL;
	if (check_add_overflow(r->userspace_addr, r->memory_size, &ua_end) ||
	    !access_ok(u64_to_user_ptr(r->userspace_addr), r->memory_size))
		return -EFAULT;
	return 0;
}

/**
 * mvm_vm_set_memory_region - MVM_SET_MEMORY_REGION: add, replace or delete
 * @vm:		the VM, whose owner is the caller
 * @argp:	the user's struct mvm_memory_region
 *
 * A replaced slot's new pages are pinned before the old ones are let go, so
 * a failure leaves the old slot in place.
 */
int mvm_vm_set_memory_region(struct mvm_vm *vm, void __user *argp)
{
	struct mvm_memory_region r;
	struct mvm_memslot *s, *old;
	u32 id;
	int err;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	err = mvm_region_check(&r);
	if (err)
		return err;
	if (!r.memory_size)
		return mvm_memslot_delete(vm, r.slot);
	/* The slot number indexes vm->slots even under misprediction. */
	id = array_index_nospec(r.slot, MVM_NR_MEMSLOTS);

	s = mvm_memslot_create(vm, &r);
	if (IS_ERR(s))
		return PTR_ERR(s);

	mutex_lock(&vm->slots_lock);
	if (mvm_memslot_overlaps(vm, r.guest_phys_addr, r.memory_size, id)) {
		mutex_unlock(&vm->slots_lock);
		mvm_memslot_free(vm, s);
		return -EEXIST;
	}
	old = vm->slots[id];
	vm->slots[id] = s;
	if (old)
		mvm_mmu_zap(vm);
	mutex_unlock(&vm->slots_lock);

	if (old)
		mvm_memslot_free(vm, old);
	return 0;
}

/* The VM is going away: nothing else can reach its slots. */
void mvm_vm_free_memslots(struct mvm_vm *vm)
{
	u32 i;

	for (i = 0; i < MVM_NR_MEMSLOTS; i++) {
		if (vm->slots[i])
			mvm_memslot_free(vm, vm->slots[i]);
		vm->slots[i] = NULL;
	}
}

/**
 * mvm_gpa_to_memslot - the slot that holds a guest-physical address
 * @vm:		the VM; the caller holds its slots_lock
 * @gpa:	the address
 *
 * Return: the slot, or NULL where @gpa is not RAM.
 */
struct mvm_memslot *mvm_gpa_to_memslot(struct mvm_vm *vm, u64 gpa)
{
	u32 i;

	lockdep_assert_held(&vm->slots_lock);
	for (i = 0; i < MVM_NR_MEMSLOTS; i++) {
		struct mvm_memslot *s = vm->slots[i];

		if (s && gpa >= s->gpa &&
		    gpa - s->gpa < (u64)s->npages << PAGE_SHIFT)
			return s;
	}
	return NULL;
}

/* The pinned page behind @gpa, or NULL; slots lock held. */
static struct page *mvm_gpa_to_page(struct mvm_vm *vm, u64 gpa, bool write)
{
	struct mvm_memslot *s = mvm_gpa_to_memslot(vm, gpa);

	if (!s || (write && s->flags & MVM_MEM_READONLY))
		return NULL;
	return mvm_memslot_page(s, gpa >> PAGE_SHIFT);
}

/**
 * mvm_read_guest_phys - copy guest RAM out, for the emulator
 * @vm:		the VM; the caller may sleep and does not hold slots_lock
 * @gpa:	first guest-physical address
 * @buf:	where to copy to
 * @len:	bytes; the range may cross pages and slots
 *
 * The slot pages are pinned for as long as the slot exists, and the slots
 * lock keeps the slot, so a page cannot go away while it is mapped here.
 *
 * Return: 0, or -EFAULT if any byte of the range is not RAM (then @buf may
 * hold part of the range).
 */
int mvm_read_guest_phys(struct mvm_vm *vm, u64 gpa, void *buf,
			unsigned int len)
{
	u8 *dst = buf;
	int err = 0;

	mutex_lock(&vm->slots_lock);
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct page *page = mvm_gpa_to_page(vm, gpa, false);
		void *va;

		if (!page) {
			err = -EFAULT;
			break;
		}
		va = kmap_local_page(page);
		memcpy(dst, va + off, n);
		kunmap_local(va);
		gpa += n;
		dst += n;
		len -= n;
	}
	mutex_unlock(&vm->slots_lock);
	return err;
}

/**
 * mvm_write_guest_phys - copy into guest RAM, for the emulator
 * @vm:		the VM; the caller may sleep and does not hold slots_lock
 * @gpa:	first guest-physical address
 * @buf:	what to copy
 * @len:	bytes; the range may cross pages and slots
 *
 * A read-only slot is refused like MMIO: the guest could not write it
 * either.  The pages are marked dirty when the slot unpins them.
 *
 * Return: 0, or -EFAULT if any byte of the range is not writable RAM (then
 * part of it may have been written).
 */
int mvm_write_guest_phys(struct mvm_vm *vm, u64 gpa, const void *buf,
			 unsigned int len)
{
	const u8 *src = buf;
	int err = 0;

	mutex_lock(&vm->slots_lock);
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct page *page = mvm_gpa_to_page(vm, gpa, true);
		void *va;

		if (!page) {
			err = -EFAULT;
			break;
		}
		va = kmap_local_page(page);
		memcpy(va + off, src, n);
		kunmap_local(va);
		gpa += n;
		src += n;
		len -= n;
	}
	mutex_unlock(&vm->slots_lock);
	return err;
}
