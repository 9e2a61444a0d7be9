/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm: the interface between the generic code and the backends.
 *
 * Nothing outside svm.c and vmx.c knows which vendor it runs on: the generic
 * code reaches the hardware only through struct mvm_backend_ops.
 */
#ifndef MVM_H
#define MVM_H

#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>

/**
 * struct mvm_backend_ops - what a hardware backend provides
 * @name:	"svm" or "vmx", for messages
 * @backend:	MVM_BACKEND_*, reported to userspace
 * @probe:	is this backend usable on this machine?  Returns 0, or a
 *		negative errno and a short reason in *@why.  Runs once at load.
 * @setup:	allocate what every CPU needs while the hardware is on (host
 *		save areas, VMXON regions).  Runs once at load, after @probe.
 * @unsetup:	free what @setup allocated.
 * @cpu_enable:	switch virtualization on for this CPU.  Called with
 *		interrupts off.  Returns -EBUSY if another hypervisor owns the
 *		CPU, without changing anything.
 * @cpu_disable: switch it off again.  Called with interrupts off, only on
 *		a CPU that @cpu_enable succeeded on.
 */
struct mvm_backend_ops {
	const char *name;
	u32 backend;
	int (*probe)(const char **why);
	int (*setup)(void);
	void (*unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);
};

extern const struct mvm_backend_ops svm_backend_ops;
extern const struct mvm_backend_ops vmx_backend_ops;

/* The backend chosen at load time; set before /dev/mvm exists. */
extern const struct mvm_backend_ops *mvm_ops;

#define MVM_NR_MEMSLOTS	32

/**
 * struct mvm_memslot - guest-physical memory backed by pinned user pages
 * @id:		the slot number userspace chose
 * @flags:	MVM_MEM_*
 * @gpa:	first guest-physical address
 * @uaddr:	the owner's virtual address of the first page
 * @npages:	size in pages
 * @npinned:	how many of @pages are pinned (all of them, once created)
 * @pages:	the pinned pages, in guest-physical order
 *
 * Immutable once published in mvm_vm.slots; replaced as a whole.
 */
struct mvm_memslot {
	u32 id;
	u32 flags;
	u64 gpa;
	u64 uaddr;
	unsigned long npages;
	unsigned long npinned;
	struct page **pages;
};

/**
 * struct mvm_vm - one virtual machine, owned by its file descriptor
 * @ref:	dropped by the VM fd's release; the last put frees the VM
 * @mm:		the creator's address space (mmgrab()ed); VM ioctls come
 *		from it only, and slot pages are charged to it
 * @slots_lock:	guards @slots
 * @slots:	memory slots by number; NULL where none
 */
struct mvm_vm {
	struct kref ref;
	struct mm_struct *mm;
	struct mutex slots_lock;	/* guards slots */
	struct mvm_memslot *slots[MVM_NR_MEMSLOTS];
};

/* mem.c */
int mvm_vm_set_memory_region(struct mvm_vm *vm, void __user *argp);
void mvm_vm_free_memslots(struct mvm_vm *vm);

/* hw.c: virtualization is on while at least one VM exists. */
int mvm_hw_init(void);
void mvm_hw_exit(void);
int mvm_hw_get(void);
void mvm_hw_put(void);
int mvm_alloc_cpu_pages(struct page *__percpu *pages);
void mvm_free_cpu_pages(struct page *__percpu *pages);

#endif /* MVM_H */
