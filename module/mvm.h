/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm: the interface between the generic code and the backends.
 *
 * Nothing outside svm.c and vmx.c knows which vendor it runs on: the generic
 * code reaches the hardware only through struct mvm_backend_ops.
 */
#ifndef MVM_H
#define MVM_H

#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <linux/mvm.h>

/* struct mvm_pending_read lives there, so the host unit test can see it. */
#include "emul/decode.h"

struct mvm_exit;
struct mvm_irq_source;
struct mvm_cpuid_index;
struct mvm_vcpu;
struct mvm_vm;
struct dentry;

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
 * @pte:	the nested (NPT or EPT) page-table entry that maps host page
 *		frame @pfn: a leaf at @level (1 = 4 KiB, 2 = 2 MiB) when
 *		@leaf, else a pointer to the next table.
 * @vcpu_alloc:	allocate the backend's vCPU, which embeds struct mvm_vcpu,
 *		and set it up in the architectural reset state (real mode,
 *		CS:IP f000:fff0).  Returns an ERR_PTR on failure.
 * @vcpu_free:	free it; the vCPU never runs again.
 * @vcpu_run:	enter the guest once, and decode its exit into *@exit
 *		(struct mvm_exit) after the work only the vendor can do:
 *		re-injecting an event the exit cut short, its own intercepts
 *		(interrupt and NMI windows, exceptions, VMX's CR accesses).
 *		Called with preemption on and vcpu->mutex held.  Returns 0
 *		with *@exit filled in (MVM_VMEXIT_RETRY when the guest did
 *		not run), or a negative errno; what the exit asks for is then
 *		mvm_handle_exit()'s (exit.c).
 * @get_gpr, @set_gpr: guest register @reg (MVM_GPR_*, regs.h), all 64
 *		bits; for exit.c, between @vcpu_run and the next entry.
 * @skip:	the instruction at RIP has run: RIP to @next_rip, and the
 *		interrupt shadow of an STI or MOV SS before it is over.
 * @get_regs, @set_regs, @get_sregs, @set_sregs: the state of
 *		struct mvm_regs and struct mvm_sregs.  The set functions get
 *		state that mvm_check_sregs() accepted.
 * @get_events:	fill in, of struct mvm_vcpu_events (zeroed by the caller),
 *		what the backend keeps: the injected exception, interrupt or
 *		NMI, the interrupt shadow and NMI masking.
 * @set_events:	set them, from events that mvm_check_events() accepted
 *		(exception.pending already folded into exception.injected).
 * @get_msr, @set_msr: one MSR of those state.c's mvm_msr_check() knows.
 * @get_debugregs, @set_debugregs: DR0-3, DR6, DR7.
 * @queue_exception: deliver exception @vector (with @error if @has_error;
 *		@cr2 for #PF) to the guest at the next entry.
 * @nmi_allowed, @interrupt_allowed: could the guest take an NMI, an
 *		external interrupt, at the next entry: nothing is being
 *		injected already, no STI or MOV SS shadow, NMIs not blocked
 *		(for an interrupt: RFLAGS.IF set).  For events.c, which
 *		calls these and the next four from @vcpu_run before it
 *		enters, with the vCPU's hardware state at hand.
 * @inject_nmi, @inject_irq: inject that event at the next entry; only
 *		after the matching @*_allowed said yes.
 * @enable_nmi_window, @enable_irq_window: when @on, exit as soon as the
 *		guest can take an NMI or an interrupt (the vendor's window
 *		exits); when not, those exits are no longer needed.
 * @exit_class:	the MVM_XC_* class of the exit @vcpu_run decoded into
 *		@exit, from its @hw_reason; for the counters and the
 *		mvm_exit tracepoint only.
 */
struct mvm_backend_ops {
	const char *name;
	u32 backend;
	int (*probe)(const char **why);
	int (*setup)(void);
	void (*unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);

	u64 (*pte)(u64 pfn, int level, bool leaf, bool writable);

	struct mvm_vcpu *(*vcpu_alloc)(struct mvm_vm *vm, u32 id);
	void (*vcpu_free)(struct mvm_vcpu *vcpu);
	int (*vcpu_run)(struct mvm_vcpu *vcpu, struct mvm_exit *exit);
	u64 (*get_gpr)(struct mvm_vcpu *vcpu, unsigned int reg);
	void (*set_gpr)(struct mvm_vcpu *vcpu, unsigned int reg, u64 val);
	void (*skip)(struct mvm_vcpu *vcpu, u64 next_rip);
	void (*get_regs)(struct mvm_vcpu *vcpu, struct mvm_regs *regs);
	void (*set_regs)(struct mvm_vcpu *vcpu, const struct mvm_regs *regs);
	void (*get_sregs)(struct mvm_vcpu *vcpu, struct mvm_sregs *sregs);
	void (*set_sregs)(struct mvm_vcpu *vcpu,
			  const struct mvm_sregs *sregs);
	void (*get_events)(struct mvm_vcpu *vcpu,
			   struct mvm_vcpu_events *ev);
	void (*set_events)(struct mvm_vcpu *vcpu,
			   const struct mvm_vcpu_events *ev);
	int (*get_msr)(struct mvm_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct mvm_vcpu *vcpu, u32 index, u64 data);
	void (*get_debugregs)(struct mvm_vcpu *vcpu,
			      struct mvm_debugregs *dbg);
	void (*set_debugregs)(struct mvm_vcpu *vcpu,
			      const struct mvm_debugregs *dbg);
	void (*queue_exception)(struct mvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error, u64 cr2);
	bool (*nmi_allowed)(struct mvm_vcpu *vcpu);
	bool (*interrupt_allowed)(struct mvm_vcpu *vcpu);
	void (*inject_nmi)(struct mvm_vcpu *vcpu);
	void (*inject_irq)(struct mvm_vcpu *vcpu, u8 vector);
	void (*enable_nmi_window)(struct mvm_vcpu *vcpu, bool on);
	void (*enable_irq_window)(struct mvm_vcpu *vcpu, bool on);
	u32 (*exit_class)(const struct mvm_exit *exit);
};

/*
 * What kind of hardware exit it was, vendor-neutral, for the counters and
 * tracepoints (stats.c, trace.h).  Keep mvm_stat_names[] in step.
 */
enum mvm_exit_class {
	MVM_XC_IO,		/* IN, OUT, INS, OUTS */
	MVM_XC_NPF,		/* NPF, EPT violation: MMIO or a fault-in */
	MVM_XC_MSR,		/* RDMSR, WRMSR */
	MVM_XC_CPUID,
	MVM_XC_HLT,
	MVM_XC_INTR,		/* the host's: interrupt, NMI, SMI, timer */
	MVM_XC_INTR_WINDOW,	/* interrupt or NMI window, IRET */
	MVM_XC_EXCEPTION,	/* an intercepted exception */
	MVM_XC_OTHER,		/* the rest: XSETBV, CRs, #UD, shutdown... */
	MVM_XC_NR,
};

/*
 * The counters of a vCPU: plain u64s that only its thread (under
 * vcpu->mutex) increments, and debugfs readers load (READ_ONCE); a VM's
 * are summed at read.  Documentation/mvm/api.rst lists them.
 */
enum mvm_stat {
	MVM_STAT_EXITS,
	MVM_STAT_EXIT_CLASS,	/* MVM_XC_NR of them, by class */
	MVM_STAT_IO_EXITS = MVM_STAT_EXIT_CLASS + MVM_XC_NR,
	MVM_STAT_MMIO_EXITS,
	MVM_STAT_POSTED_WRITES,
	MVM_STAT_RING_FULL,
	MVM_STAT_HALT_WAKEUP,
	MVM_STAT_SIGNAL_EXITS,
	MVM_STAT_NR,
};

struct mvm_vcpu_stat {
	u64 v[MVM_STAT_NR];
};

/* A debugfs file of a VM: which counter to sum. */
struct mvm_vm_stat_file {
	struct mvm_vm *vm;
	unsigned int stat;
};

/*
 * What a guest's exit asks the generic code (exit.c) to do; the backend
 * decodes its hardware exit into one of these.
 */
enum mvm_vmexit {
	MVM_VMEXIT_RETRY,	/* the guest did not run: enter again */
	MVM_VMEXIT_NONE,	/* nothing more: the backend did all */
	MVM_VMEXIT_IO,		/* IN, OUT, INS, OUTS: @io */
	MVM_VMEXIT_MMIO,	/* a nested page fault: @mmio */
	MVM_VMEXIT_MSR_READ,	/* RDMSR */
	MVM_VMEXIT_MSR_WRITE,	/* WRMSR */
	MVM_VMEXIT_CPUID,	/* @mode */
	MVM_VMEXIT_XSETBV,	/* @mode */
	MVM_VMEXIT_RDTSCP,	/* where the CPU cannot run it for the guest */
	MVM_VMEXIT_HLT,
	MVM_VMEXIT_INVD,	/* guest memory is coherent: both are no-ops */
	MVM_VMEXIT_WBINVD,
	MVM_VMEXIT_UD,		/* an instruction the guest may not run */
	MVM_VMEXIT_SHUTDOWN,	/* the backend has reset the vCPU already */
	MVM_VMEXIT_FAIL_ENTRY,	/* @fail_entry */
	MVM_VMEXIT_UNEXPECTED,	/* one mvm does not handle */
	MVM_VMEXIT_NR,
};

/**
 * struct mvm_exit - one exit, as the backend decoded it
 * @reason:	MVM_VMEXIT_*; with MVM_VMEXIT_RETRY nothing else is set
 * @interruptible: RFLAGS.IF was set and no STI or MOV SS shadow was on
 *		(MVM_RUN_IF_FLAG)
 * @skip_by_decode: the CPU gave no next RIP (SVM without NRIP save):
 *		@next_rip is not valid, and a skip decodes the instruction
 * @hw_reason:	the vendor's exit code (SVM EXITCODE, VMX exit reason), or 0
 *		when VMX refused the entry (VMfail)
 * @hw_info:	the vendor's detail of it (EXITINFO1, the exit qualification),
 *		where exit.c reports it: MVM_VMEXIT_IO, MMIO, UNEXPECTED
 * @rip:	the guest's RIP at the exit, before anything was done for it
 * @next_rip:	for an instruction exit, RIP after the instruction
 * @io:		@port, @size in bytes as the CPU reported it (exit.c refuses
 *		all but 1, 2 and 4), @in, and for INS/OUTS @string and @rep
 * @mmio:	guest-physical @gpa and @write; @in_walk when the access was
 *		the CPU's walk of the guest's page tables
 * @mode:	CPUID and XSETBV: the guest's CR4 (CPUID reflects OSXSAVE and
 *		PKE, XSETBV is #UD without OSXSAVE) and CPL (#GP above 0)
 * @fail_entry: the vendor's detail for MVM_EXIT_FAIL_ENTRY, which takes
 *		its hardware_reason from @hw_reason
 */
struct mvm_exit {
	u32 reason;
	bool interruptible;
	bool skip_by_decode;
	u64 hw_reason;
	u64 hw_info;
	u64 rip;
	u64 next_rip;
	union {
		struct {
			u16 port;
			u8 size;
			bool in;
			bool string;
			bool rep;
		} io;
		struct {
			u64 gpa;
			bool write;
			bool in_walk;
		} mmio;
		struct {
			u64 cr4;
			u8 cpl;
		} mode;
		struct {
			u64 info[2];
		} fail_entry;
	};
};

extern const struct mvm_backend_ops svm_backend_ops;
extern const struct mvm_backend_ops vmx_backend_ops;

/* The backend chosen at load time; set before /dev/mvm exists. */
extern const struct mvm_backend_ops *mvm_ops;

/*
 * The MSR ranges that SVM's permission map (APM 15.11) and VMX's MSR
 * bitmaps (SDM 24.6.9) cover, 8 Ki MSRs each: 0 for 0-0x1fff, 1 for
 * 0xc0000000-0xc0001fff, 2 for 0xc0010000-0xc0011fff (SVM's alone);
 * -1 for any other MSR, whose accesses always exit.
 */
static inline int mvm_msr_range(u32 msr)
{
	static const u32 start[] = { 0, 0xc0000000, 0xc0010000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(start); i++)
		if (msr - start[i] <= 0x1fff)
			return i;
	return -1;
}

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

/*
 * The pinned page of guest frame @gfn, which the caller found inside @s
 * (mvm_gpa_to_memslot()).  The offset comes from a guest's address: it is
 * clamped to the slot even when the caller's bounds check is mispredicted
 * (Spectre v1).
 */
static inline struct page *mvm_memslot_page(const struct mvm_memslot *s,
					    u64 gfn)
{
	unsigned long i = gfn - (s->gpa >> PAGE_SHIFT);

	return s->pages[array_index_nospec(i, s->npages)];
}

#define MVM_MAX_VCPUS	64
#define MVM_NR_POSTED	16
#define MVM_RING_ENTRIES 1024

/* The posted ranges of a VM: immutable, replaced as a whole under RCU. */
struct mvm_posted {
	struct rcu_head rcu;
	unsigned int n;
	struct mvm_posted_range r[MVM_NR_POSTED];
};

/**
 * struct mvm_mmu - the nested page tables of a VM
 * @root:	the top-level (PML4) table; never freed before the VM
 * @pages:	every table page below @root, to free them on a zap
 * @nr_pages:	how many there are
 *
 * Guarded by mvm_vm.slots_lock: the fault path and the slot changes that
 * zap the tables both hold it.
 */
struct mvm_mmu {
	struct page *root;
	struct list_head pages;
	unsigned long nr_pages;
};

/**
 * struct mvm_vm - one virtual machine, owned by its file descriptor
 * @ref:	dropped by the VM fd's release and by each vCPU; the last put
 *		frees the VM
 * @mm:		the creator's address space (mmgrab()ed); VM ioctls come
 *		from it only, and slot pages are charged to it
 * @slots_lock:	guards @slots, @mmu and @vcpus
 * @slots:	memory slots by number; NULL where none
 * @mmu:	the nested page tables, built on demand from @slots
 * @vcpus:	the vCPUs by id, to kick them when the tables change
 * @posted:	RCU-protected posted ranges; writers hold @slots_lock
 * @retired:	the counters of vCPUs that are gone, under @slots_lock
 * @debugfs:	its directory under mvm/ in debugfs, made at the first run
 *		of a vCPU: NULL until then, an ERR_PTR if it could not be
 * @debugfs_pid, @debugfs_fd: the creator's pid and the VM's fd, its name
 * @stat_files:	what each of its counter files sums
 */
struct mvm_vm {
	struct kref ref;
	struct mm_struct *mm;
	struct mutex slots_lock;	/* guards slots, mmu, vcpus */
	struct mvm_memslot *slots[MVM_NR_MEMSLOTS];
	struct mvm_mmu mmu;
	struct mvm_vcpu *vcpus[MVM_MAX_VCPUS];
	struct mvm_posted __rcu *posted;
	struct mvm_vcpu_stat retired;
	struct dentry *debugfs;
	pid_t debugfs_pid;
	int debugfs_fd;
	struct mvm_vm_stat_file stat_files[MVM_STAT_NR];
};

/* mvm_vcpu.mode: where the vCPU thread is, for kicks and TLB requests. */
enum mvm_vcpu_mode {
	MVM_OUTSIDE_GUEST,
	MVM_IN_GUEST,
};

/* mvm_vcpu.requests: bits a kick asks the vCPU to act on before entry. */
#define MVM_REQ_TLB_FLUSH	0

/**
 * struct mvm_vcpu - the vendor-independent part of a vCPU
 * @vm:		its VM, which it holds a reference on
 * @id:		the id userspace gave it
 * @mutex:	serialises the vCPU ioctls, except MVM_INTERRUPT and MVM_NMI
 * @run:	the exit page userspace maps (vmalloc_user())
 * @ring:	the posted-write ring userspace maps (vmalloc_user())
 * @ring_head:	the kernel's copy of ring->head; userspace cannot change it
 * @ring_eventfd: signalled when the ring goes from empty to not empty
 * @pending:	the read that the next MVM_RUN completes
 * @irq_source: where the vCPU's external interrupts come from (events.c);
 *		today always mvm_irq_queue, over @irqs
 * @irqs:	pending external interrupt vectors (any thread sets them)
 * @nmi:	an NMI is pending (any thread sets it)
 * @saw_nmi, @saw_irq: what mvm_inject_events() found pending, for
 *		mvm_events_must_retry() right before the entry
 * @halted:	the guest ran HLT and nothing has woken it yet; it stays
 *		halted across a signal, until an event or a register set
 * @mode:	MVM_IN_GUEST from just before entry to just after the exit
 * @cpu:	the CPU it last ran on, for kicks
 * @requests:	MVM_REQ_* bits
 * @wq:		a halted vCPU sleeps here
 * @cpuid:	the CPUID table the guest sees; @cpuid_nent entries
 * @cpuid_index: its direct lookup (cpuid.c), in @cpuid's allocation
 * @xcr0:	the guest's XCR0
 * @xsave:	the guest's x87/SSE/AVX state, XSAVE standard format, loaded
 *		only between mvm_fpu_load() and mvm_fpu_put()
 * @db:		the guest's DR0-3 (DR6 and DR7 live in the backend)
 * @stat:	the counters (enum mvm_stat)
 * @debugfs:	its vcpuN directory in the VM's, made at its first MVM_RUN:
 *		NULL until then, an ERR_PTR if there is none
 */
struct mvm_vcpu {
	struct mvm_vm *vm;
	u32 id;
	struct mutex mutex;		/* vCPU ioctls */
	struct mvm_run *run;
	struct mvm_ring *ring;
	u32 ring_head;
	struct eventfd_ctx *ring_eventfd;
	struct mvm_pending_read pending;
	const struct mvm_irq_source *irq_source;
	unsigned long irqs[BITS_TO_LONGS(256)];
	bool nmi;
	bool saw_nmi;
	int saw_irq;
	bool halted;
	int mode;
	int cpu;
	unsigned long requests;
	wait_queue_head_t wq;
	struct mvm_cpuid_entry *cpuid;
	u32 cpuid_nent;
	struct mvm_cpuid_index *cpuid_index;
	u64 xcr0;
	struct mvm_xsave *xsave;
	u64 db[4];
	struct mvm_vcpu_stat stat;
	struct dentry *debugfs;
};

/**
 * struct mvm_irq_source - where a vCPU's external interrupts come from
 * @name:	for messages
 * @highest:	the highest vector pending, or -1
 * @ack:	@vector, which @highest gave, is being injected: for a queue
 *		no longer pending, for a local APIC in service
 *
 * Today's one source is mvm_irq_queue, the 256 bits MVM_INTERRUPT sets;
 * a local APIC is meant to be the next.  events.c asks it.
 */
struct mvm_irq_source {
	const char *name;
	int (*highest)(struct mvm_vcpu *vcpu);
	void (*ack)(struct mvm_vcpu *vcpu, int vector);
};

extern const struct mvm_irq_source mvm_irq_queue;

/*
 * The queue's highest vector, or -1.  Every entry asks, up to four times:
 * inline, and a word at a time from the top, with no call to
 * find_last_bit().  Other threads set bits (MVM_INTERRUPT): one read each.
 */
static inline int mvm_irq_queue_highest(struct mvm_vcpu *vcpu)
{
	int i;

	for (i = ARRAY_SIZE(vcpu->irqs) - 1; i >= 0; i--) {
		unsigned long w = READ_ONCE(vcpu->irqs[i]);

		if (w)
			return i * BITS_PER_LONG + __fls(w);
	}
	return -1;
}

/* The highest pending interrupt vector of the vCPU's source, or -1. */
static inline int mvm_vcpu_pending_irq(struct mvm_vcpu *vcpu)
{
	const struct mvm_irq_source *src = vcpu->irq_source;

	if (likely(src == &mvm_irq_queue))
		return mvm_irq_queue_highest(vcpu);
	return src->highest(vcpu);
}

/*
 * events.c: the one injection policy, over the backend's six event
 * primitives (struct mvm_backend_ops).
 */
void mvm_inject_events(struct mvm_vcpu *vcpu);

/*
 * Did an NMI or a higher interrupt arrive after mvm_inject_events()
 * looked?  Then the backend must not enter a guest that would not see
 * it.  With interrupts off, after vcpu->mode is MVM_IN_GUEST (see
 * mvm_vcpu_kick()).
 */
static inline bool mvm_events_must_retry(struct mvm_vcpu *vcpu)
{
	return (READ_ONCE(vcpu->nmi) && !vcpu->saw_nmi) ||
	       mvm_vcpu_pending_irq(vcpu) > vcpu->saw_irq;
}

#define MVM_TRIPLE_FAULT	(-1)
int mvm_exception_merge(u8 first, u8 second);

/* mem.c */
int mvm_vm_set_memory_region(struct mvm_vm *vm, void __user *argp);
void mvm_vm_free_memslots(struct mvm_vm *vm);
struct mvm_memslot *mvm_gpa_to_memslot(struct mvm_vm *vm, u64 gpa);
int mvm_read_guest_phys(struct mvm_vm *vm, u64 gpa, void *buf,
			unsigned int len);
int mvm_write_guest_phys(struct mvm_vm *vm, u64 gpa, const void *buf,
			 unsigned int len);

/* mmu.c */
extern int mvm_pt_levels;
unsigned int mvm_mmu_gpa_bits(void);
int mvm_mmu_init(struct mvm_vm *vm);
void mvm_mmu_destroy(struct mvm_vm *vm);
void mvm_mmu_zap(struct mvm_vm *vm);
int mvm_mmu_fault(struct mvm_vcpu *vcpu, u64 gpa, bool write);
u64 mvm_mmu_root_pa(struct mvm_vm *vm);

/* vcpu.c */
int mvm_vm_create_vcpu(struct mvm_vm *vm, unsigned long id);
int mvm_vm_set_posted_range(struct mvm_vm *vm, void __user *argp);
void mvm_vm_get(struct mvm_vm *vm);
void mvm_vm_put(struct mvm_vm *vm);
int mvm_vcpu_init_common(struct mvm_vcpu *vcpu, struct mvm_vm *vm, u32 id);
int mvm_handle_io(struct mvm_vcpu *vcpu, u8 space, u64 addr, u8 size,
		  bool write, u64 data);
void mvm_kick_all(struct mvm_vm *vm, int req);
int mvm_check_sregs(const struct mvm_sregs *s);
int mvm_guest_xsetbv(struct mvm_vcpu *vcpu, u32 index, u64 value);
int mvm_guest_rdmsr(struct mvm_vcpu *vcpu, u32 index, u64 *data);
int mvm_guest_wrmsr(struct mvm_vcpu *vcpu, u32 index, u64 data);
void mvm_fpu_load(struct mvm_vcpu *vcpu);
void mvm_fpu_put(struct mvm_vcpu *vcpu);
int mvm_vcpu_module_init(void);
void mvm_vcpu_module_exit(void);
long mvm_vcpu_mmap_size(void);
long mvm_vcpu_state_ioctl(struct mvm_vcpu *vcpu, unsigned int cmd,
			  void __user *argp);
void mvm_vcpu_init_fpu(struct mvm_vcpu *vcpu);

/*
 * exit.c: what an exit asks for.  Like every function on the exit path,
 * these return 0 to enter the guest again, 1 when vcpu->run holds an exit
 * for userspace, or a negative errno for MVM_RUN to fail with.
 */
int mvm_handle_exit(struct mvm_vcpu *vcpu, const struct mvm_exit *exit);
int mvm_vcpu_exit_internal(struct mvm_vcpu *vcpu, u32 suberror, u64 d0,
			   u64 d1);

/* stats.c: counters in debugfs; the tracepoints are trace.h's. */
void mvm_debugfs_init(void);
void mvm_debugfs_exit(void);
void mvm_vm_debugfs_name(struct mvm_vm *vm, int fd);
void mvm_vm_debugfs_destroy(struct mvm_vm *vm);
void mvm_vcpu_debugfs_create(struct mvm_vcpu *vcpu);
void mvm_vcpu_debugfs_destroy(struct mvm_vcpu *vcpu);
void mvm_vcpu_count_exit(struct mvm_vcpu *vcpu,
			 const struct mvm_exit *exit);
void mvm_vcpu_count_fastpath(struct mvm_vcpu *vcpu,
			     const struct mvm_exit *exit);

static inline void mvm_stat_inc(struct mvm_vcpu *vcpu, enum mvm_stat stat)
{
	vcpu->stat.v[stat]++;
}

/* cpuid.c: the CPUID table guests see. */
int mvm_cpuid_init(u64 xcr0, unsigned int xsave_size);
void mvm_cpuid_exit(void);
long mvm_get_supported_cpuid(void __user *argp);
int mvm_vcpu_init_cpuid(struct mvm_vcpu *vcpu);
int mvm_vcpu_get_cpuid(struct mvm_vcpu *vcpu, void __user *argp);
int mvm_vcpu_set_cpuid(struct mvm_vcpu *vcpu, void __user *argp);
void mvm_handle_cpuid(struct mvm_vcpu *vcpu, u64 cr4, u32 *eax, u32 *ebx,
		      u32 *ecx, u32 *edx);

/* uret.c: MSRs only user mode reads, restored on the return to it. */
enum {
	MVM_URET_STAR, MVM_URET_LSTAR, MVM_URET_CSTAR, MVM_URET_SFMASK,
	MVM_URET_TSC_AUX, MVM_NR_URET
};

void mvm_uret_cpu_init(void);
void mvm_uret_cpu_drop(void);
int mvm_uret_slot(u32 msr);
void mvm_uret_set(unsigned int slot, u64 value);
void mvm_uret_load(const u64 *values, u64 owner);
u64 mvm_uret_new_owner(void);
#ifdef CONFIG_USER_RETURN_NOTIFIER
/* The host's values come back at the return to user mode (uret.c). */
static inline void mvm_uret_exit(void)
{
}
#else
void mvm_uret_exit(void);
#endif

DECLARE_PER_CPU(u64, mvm_uret_owner);

/* Does this CPU hold the values mvm_uret_load() put there for @owner? */
static inline bool mvm_uret_owned(u64 owner)
{
	return __this_cpu_read(mvm_uret_owner) == owner;
}

/* emulate.c: guest memory by virtual address, and MMIO instructions. */
int mvm_emulate_mmio(struct mvm_vcpu *vcpu, u64 gpa, bool write);
int mvm_emulate_string_io(struct mvm_vcpu *vcpu, u16 port, u8 size,
			  bool in, bool rep, u8 addr_size, int seg);
int mvm_insn_skip(struct mvm_vcpu *vcpu, const u8 *op, unsigned int oplen);

/* hw.c: virtualization is on while at least one VM exists. */
int mvm_hw_init(void);
void mvm_hw_exit(void);
int mvm_hw_get(void);
void mvm_hw_put(void);
bool mvm_hw_cpu_enabled(void);
void mvm_rcu_guest_enter(void);
void mvm_machine_check(void);
bool mvm_hw_usable(void);
int mvm_alloc_cpu_pages(struct page *__percpu *pages);
void mvm_free_cpu_pages(struct page *__percpu *pages);

#endif /* MVM_H */
