/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mvm: the userspace ABI of the minimal virtual machine monitor.
 *
 * File descriptors form a hierarchy, as in KVM:
 *
 *   open("/dev/mvm")  ->  system fd
 *   MVM_CREATE_VM     ->  VM fd
 *   MVM_CREATE_VCPU   ->  vCPU fd, which mmap()s a struct mvm_run page and
 *                         a struct mvm_ring
 *
 * A VM belongs to the process that created it: VM ioctls from a process with
 * another address space fail with -EIO.
 *
 * Ioctl numbers are allocated in ranges, one range per kind of file
 * descriptor, and a number is never reused: a structure that has to change
 * gets a new ioctl.  Every structure uses fixed-width types only, pointers
 * travel as __u64, padding is explicit, sizes are multiples of 8 bytes, and
 * unknown flags or nonzero reserved fields are rejected with -EINVAL.
 *
 * Documentation/mvm/api.rst describes each ioctl.
 */
#ifndef _UAPI_LINUX_MVM_H
#define _UAPI_LINUX_MVM_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Bumped only when an existing ioctl changes meaning, which we try never to
 * do; new features are discovered with MVM_CHECK_EXTENSION instead.
 */
#define MVM_API_VERSION		1

#define MVMIO			0xB7

/* System ioctls, on the /dev/mvm fd: 0x00 - 0x3f. */
#define MVM_GET_API_VERSION	_IO(MVMIO, 0x00)
#define MVM_CREATE_VM		_IO(MVMIO, 0x01)	/* arg: type, must be 0 */
#define MVM_CHECK_EXTENSION	_IO(MVMIO, 0x02)	/* arg: MVM_CAP_* */
#define MVM_GET_VCPU_MMAP_SIZE	_IO(MVMIO, 0x03)	/* arg: 0 */
#define MVM_GET_SUPPORTED_CPUID	_IOWR(MVMIO, 0x04, struct mvm_cpuid)

/* VM ioctls, on a VM fd: 0x40 - 0x7f. */
#define MVM_SET_MEMORY_REGION	_IOW(MVMIO, 0x40, struct mvm_memory_region)
#define MVM_CREATE_VCPU		_IO(MVMIO, 0x41)	/* arg: vCPU id */
#define MVM_SET_POSTED_RANGE	_IOW(MVMIO, 0x42, struct mvm_posted_range)

/*
 * vCPU ioctls, on a vCPU fd: 0x80 - 0xbf.  MVM_INTERRUPT and MVM_NMI may come
 * from any thread of the VM's process; the others wait for a running
 * MVM_RUN to return.
 */
#define MVM_RUN			_IO(MVMIO, 0x80)	/* arg: 0 */
#define MVM_GET_REGS		_IOR(MVMIO, 0x81, struct mvm_regs)
#define MVM_SET_REGS		_IOW(MVMIO, 0x82, struct mvm_regs)
#define MVM_GET_SREGS		_IOR(MVMIO, 0x83, struct mvm_sregs)
#define MVM_SET_SREGS		_IOW(MVMIO, 0x84, struct mvm_sregs)
#define MVM_GET_MSRS		_IOWR(MVMIO, 0x85, struct mvm_msrs)
#define MVM_SET_MSRS		_IOW(MVMIO, 0x86, struct mvm_msrs)
#define MVM_GET_XSAVE		_IOR(MVMIO, 0x87, struct mvm_xsave)
#define MVM_SET_XSAVE		_IOW(MVMIO, 0x88, struct mvm_xsave)
#define MVM_GET_DEBUGREGS	_IOR(MVMIO, 0x89, struct mvm_debugregs)
#define MVM_SET_DEBUGREGS	_IOW(MVMIO, 0x8a, struct mvm_debugregs)
#define MVM_GET_CPUID		_IOWR(MVMIO, 0x8b, struct mvm_cpuid)
#define MVM_SET_CPUID		_IOW(MVMIO, 0x8c, struct mvm_cpuid)
#define MVM_INTERRUPT		_IOW(MVMIO, 0x8d, struct mvm_interrupt)
#define MVM_NMI			_IO(MVMIO, 0x8e)	/* arg: 0 */
#define MVM_SET_RING_EVENTFD	_IOW(MVMIO, 0x8f, struct mvm_ring_eventfd)
#define MVM_GET_VCPU_EVENTS	_IOR(MVMIO, 0x90, struct mvm_vcpu_events)
#define MVM_SET_VCPU_EVENTS	_IOW(MVMIO, 0x91, struct mvm_vcpu_events)

/*
 * Extensions, for MVM_CHECK_EXTENSION.  The ioctl returns 0 for an
 * extension this module does not have, and a positive value for one it has.
 */
#define MVM_CAP_BACKEND		0	/* returns MVM_BACKEND_* */
#define MVM_CAP_NR_MEMSLOTS	1	/* returns the number of slots */
#define MVM_CAP_MAX_VCPUS	2	/* vCPU ids are below this */
#define MVM_CAP_RING_ENTRIES	3	/* entries in each vCPU's ring */
#define MVM_CAP_NR_POSTED	4	/* posted ranges per VM */
#define MVM_CAP_GPA_BITS	5	/* slots end at or below 1 << this */
#define MVM_CAP_VCPU_EVENTS	6	/* MVM_GET/SET_VCPU_EVENTS */

#define MVM_BACKEND_SVM		1	/* AMD SVM with nested paging */
#define MVM_BACKEND_VMX		2	/* Intel VMX with EPT and VPID */

/**
 * struct mvm_memory_region - a slot of guest-physical memory
 * @slot:		slot number, below MVM_CAP_NR_MEMSLOTS
 * @flags:		MVM_MEM_*; other bits must be 0
 * @guest_phys_addr:	where the guest sees the slot; page aligned
 * @memory_size:	bytes, page aligned; 0 deletes the slot
 * @userspace_addr:	the caller's memory backing the slot; page aligned
 *
 * Setting a slot that exists replaces it: that is how a slot moves or
 * changes size.  The module pins the backing pages for the slot's life.
 */
struct mvm_memory_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
};

/* The guest may read the slot; its writes exit to userspace as MMIO. */
#define MVM_MEM_READONLY	_BITUL(0)

/**
 * struct mvm_posted_range - guest writes that need no answer
 * @space:	MVM_SPACE_PIO or MVM_SPACE_MMIO
 * @flags:	MVM_POSTED_DELETE to remove the range; other bits must be 0
 * @addr:	first port, or first guest-physical address
 * @len:	bytes (ports) in the range, not 0
 *
 * A guest write that falls wholly inside a posted range is appended to the
 * vCPU's ring and the guest goes on without an exit.  Reads, and writes
 * anywhere else, exit from MVM_RUN.  Ranges may not overlap (-EEXIST); a
 * delete names a range exactly as it was added (-ENOENT otherwise).
 */
struct mvm_posted_range {
	__u32 space;
	__u32 flags;
	__u64 addr;
	__u64 len;
};

#define MVM_POSTED_DELETE	_BITUL(0)

#define MVM_SPACE_PIO		1
#define MVM_SPACE_MMIO		2

/**
 * struct mvm_access - one port or MMIO access by the guest
 * @addr:	the port, or the guest-physical address
 * @data:	the value written, or, for a read, where userspace puts the
 *		value read; little-endian, the low @size bytes count
 * @space:	MVM_SPACE_PIO or MVM_SPACE_MMIO
 * @size:	1, 2, 4 or 8 bytes
 * @write:	1 for a write, 0 for a read
 * @pad:	zero
 */
struct mvm_access {
	__u64 addr;
	__u64 data;
	__u8 space;
	__u8 size;
	__u8 write;
	__u8 pad[5];
};

/*
 * The exits MVM_RUN reports in mvm_run.exit_reason.
 *
 * MVM_EXIT_IO, MVM_EXIT_MMIO	mvm_run.io holds the access.  For a read,
 *				userspace stores the value in io.data before
 *				the next MVM_RUN, which completes the
 *				instruction.
 * MVM_EXIT_SHUTDOWN		the guest triple-faulted (or shut down).
 *				mvm_run.rip is where; the vCPU is then reset
 *				to its state at creation (not its FPU, XCR0,
 *				DR0-3, TSC_AUX, CPUID or pending events).
 * MVM_EXIT_FAIL_ENTRY		the hardware refused the guest state; see
 *				mvm_run.fail_entry.
 * MVM_EXIT_INTERNAL_ERROR	mvm cannot go on; see mvm_run.internal.
 * MVM_EXIT_INTR		a signal or immediate_exit; MVM_RUN returns
 *				-EINTR.
 * MVM_EXIT_RING_FULL		a posted write found the ring full.
 *				mvm_run.io holds that write: drain the ring,
 *				then perform it as for MVM_EXIT_IO/MMIO.  It
 *				is never in the ring, and never lost.
 */
#define MVM_EXIT_UNKNOWN	0
#define MVM_EXIT_IO		1
#define MVM_EXIT_MMIO		2
#define MVM_EXIT_SHUTDOWN	3
#define MVM_EXIT_FAIL_ENTRY	4
#define MVM_EXIT_INTERNAL_ERROR	5
#define MVM_EXIT_INTR		6
#define MVM_EXIT_RING_FULL	7

/* mvm_run.internal.suberror */
#define MVM_INTERNAL_EMULATION	1	/* an instruction mvm cannot emulate */
#define MVM_INTERNAL_STRING_IO	2	/* string I/O it does not handle */
#define MVM_INTERNAL_EVENT	3	/* reserved, not produced */
#define MVM_INTERNAL_UNEXPECTED	4	/* an exit code mvm does not expect */

/**
 * struct mvm_run - the vCPU's exit page, mmap()ed at offset 0 of the vCPU fd
 * @immediate_exit: written by userspace; if nonzero MVM_RUN returns -EINTR
 *		at once, without entering the guest
 * @pad0:	zero
 * @exit_reason: MVM_EXIT_*; written by the kernel
 * @flags:	MVM_RUN_IF_FLAG: the guest could take an interrupt now
 * @rip:	the guest's RIP at the exit
 * @io:		MVM_EXIT_IO, MVM_EXIT_MMIO
 * @fail_entry:	MVM_EXIT_FAIL_ENTRY: the vendor's code and its detail
 * @internal:	MVM_EXIT_INTERNAL_ERROR: MVM_INTERNAL_* and detail
 *
 * The kernel reads nothing from this page but @immediate_exit, and the
 * value of a read (@io.data), once, when the MVM_RUN that completes the
 * read starts.
 */
struct mvm_run {
	__u8 immediate_exit;
	__u8 pad0[3];
	__u32 exit_reason;
	__u32 flags;
	__u32 pad1;
	__u64 rip;
	union {
		struct mvm_access io;
		struct {
			__u64 hardware_reason;
			__u64 info[2];
		} fail_entry;
		struct {
			__u32 suberror;
			__u32 pad;
			__u64 data[4];
		} internal;
		__u8 pad2[232];
	};
};

#define MVM_RUN_IF_FLAG		_BITUL(0)

/*
 * The ring of posted writes, mmap()ed at page MVM_RING_PGOFF of the vCPU fd.
 * Entries MVM_CAP_RING_ENTRIES, a power of two.
 *
 * @head and @tail count entries since the vCPU was created and wrap at 2^32;
 * entry i lives at entries[i % nr_entries].  The kernel produces: it fills
 * entries[head % n], then stores head + 1 with release semantics.  Userspace
 * consumes: it loads head with acquire semantics, reads the entries before
 * it, then stores its new tail with release semantics.  The kernel loads
 * @tail once per append, and a tail behind or past head by more than the
 * ring holds stops the vCPU with -EINVAL from MVM_RUN; it never writes
 * outside entries[], whatever userspace stores here.
 *
 * Every posted write the guest made before a synchronous exit is in the ring
 * (head stored) before MVM_RUN returns, so a device model that drains the
 * ring first sees all accesses in guest order.
 */
struct mvm_ring {
	__u32 head;			/* written by the kernel */
	__u32 nr_entries;		/* written by the kernel, once */
	__u32 pad0[14];
	__u32 tail;			/* written by userspace */
	__u32 pad1[15];
	struct mvm_access entries[];
};

#define MVM_RING_PGOFF		1

/**
 * struct mvm_ring_eventfd - wake a device thread when posted writes arrive
 * @fd:		an eventfd, or -1 to detach
 * @flags:	zero
 *
 * The kernel signals the eventfd when it appends an entry the consumer had
 * caught up to: it stores head, then (full barrier) loads tail.  A consumer
 * that sleeps stores tail, then (full barrier) loads head again first.
 */
struct mvm_ring_eventfd {
	__s32 fd;
	__u32 flags;
};

/* General-purpose registers, RIP and RFLAGS. */
struct mvm_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

/**
 * struct mvm_segment - a segment register, with its hidden part
 * @base, @limit, @selector: as loaded (limit in bytes, already scaled by g)
 * @type, @s, @dpl, @present, @avl, @l, @db, @g: the descriptor's fields
 * @unusable:	the segment is null (a loaded null selector)
 * @pad:	zero
 */
struct mvm_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u8 type;
	__u8 s;
	__u8 dpl;
	__u8 present;
	__u8 avl;
	__u8 l;
	__u8 db;
	__u8 g;
	__u8 unusable;
	__u8 pad;
};

struct mvm_dtable {
	__u64 base;
	__u16 limit;
	__u16 pad[3];
};

/**
 * struct mvm_sregs - segment, control and descriptor-table registers
 * @cs ... @ldt: segment registers
 * @gdt, @idt:	descriptor-table registers
 * @cr0 ... @cr8: control registers (cr8 is the task priority, 0-15)
 * @efer:	EFER; LMA must equal LME && CR0.PG
 * @xcr0:	XCR0; x87 must be set, and only bits of MVM_GET_XSAVE's state
 * @reserved:	zero
 *
 * MVM_SET_SREGS checks the whole set against the rules the hardware checks
 * on entry (APM vol. 2, 15.5.1; SDM vol. 3, 27.3.1) and returns -EINVAL on
 * any violation, changing nothing.
 */
struct mvm_sregs {
	struct mvm_segment cs, ds, es, fs, gs, ss;
	struct mvm_segment tr, ldt;
	struct mvm_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 xcr0;
	__u64 reserved[9];
};

/**
 * struct mvm_msrs - model-specific registers, for MVM_GET/SET_MSRS
 * @nmsrs:	number of entries, at most MVM_MAX_MSRS
 * @pad:	zero
 * @entries:	index and value; reserved must be zero
 *
 * The ioctls return how many entries they processed; they stop at the
 * first index that is not in the list Documentation/mvm/api.rst gives, or
 * at a value the guest could not have written.
 */
struct mvm_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

struct mvm_msrs {
	__u32 nmsrs;
	__u32 pad;
	struct mvm_msr_entry entries[];
};

#define MVM_MAX_MSRS		64

/* The x87/SSE/AVX state in the XSAVE standard format (SDM vol. 1, 13.4). */
struct mvm_xsave {
	__u32 region[1024];
};

struct mvm_debugregs {
	__u64 db[4];
	__u64 dr6;
	__u64 dr7;
	__u64 reserved[10];
};

/**
 * struct mvm_cpuid - the CPUID table the guest sees
 * @nent:	entries; at most MVM_MAX_CPUID_ENTRIES.  MVM_GET_CPUID and
 *		MVM_GET_SUPPORTED_CPUID set it to the number they store, and
 *		fail with -E2BIG if the caller's array is too short.
 * @entries:	one per leaf and, with MVM_CPUID_FLAG_INDEX, per subleaf
 *
 * A leaf missing from the table reads as zeros.  mvm_cpuid_entry.pad and
 * unknown flags must be zero.
 */
struct mvm_cpuid_entry {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 pad;
};

#define MVM_CPUID_FLAG_INDEX	_BITUL(0)	/* index (ECX) is significant */

struct mvm_cpuid {
	__u32 nent;
	__u32 pad;
	struct mvm_cpuid_entry entries[];
};

#define MVM_MAX_CPUID_ENTRIES	256

/**
 * struct mvm_interrupt - queue an external interrupt
 * @vector:	32 - 255
 * @flags:	zero
 *
 * The vCPU takes the highest pending vector when its RFLAGS.IF allows;
 * queueing a vector already pending does nothing.
 */
struct mvm_interrupt {
	__u32 vector;
	__u32 flags;
};

/**
 * struct mvm_vcpu_events - the vCPU's events, for MVM_GET/SET_VCPU_EVENTS
 * @exception:	an exception the next entry delivers
 * @exception.injected:	its delivery has begun (an exit cut it short), or
 *		mvm raised it; 0 or 1
 * @exception.pending:	raised, delivery not begun.  mvm raises exceptions
 *		straight into delivery, so GET reports 0; SET takes 1 as
 *		@exception.injected.  Not both.
 * @exception.vector:	0-19, not 2 (NMI) or 15; 0 when none
 * @exception.has_error: 1 if an error code is pushed: in protected mode
 *		exactly for 8, 10-14 and 17, never in real mode
 * @exception.error_code: the error code; 0 without @has_error.  (A #PF's
 *		address is CR2, in struct mvm_sregs, set when it was raised.)
 * @interrupt:	external interrupts
 * @interrupt.injected:	@interrupt.vector is being delivered; 0 or 1
 * @interrupt.vector:	32-255 if @injected, else 0
 * @interrupt.shadow:	MVM_SHADOW_*: the guest is in the shadow of STI or
 *		of MOV SS / POP SS (not both)
 * @interrupt.pad:	zero
 * @interrupt.pending:	the set of pending vectors, as MVM_INTERRUPT queues
 *		them: bit v of word v / 64; vectors 0-31 are 0
 * @nmi:	non-maskable interrupts
 * @nmi.injected:	an NMI is being delivered; 0 or 1
 * @nmi.pending:	an NMI is pending (MVM_NMI); 0 or 1
 * @nmi.masked:	NMIs are blocked until the next IRET completes; 0 or 1
 * @nmi.pad:	zero
 * @halted:	the guest ran HLT and waits for an event; 0 or 1
 * @pad:	zero
 * @flags:	MVM_VCPU_EVENTS_*; other bits must be 0
 * @reserved:	zero
 *
 * At most one of the three "injected" is set: the one event the next entry
 * delivers.  Documentation/mvm/api.rst gives every rule SET checks.
 */
struct mvm_vcpu_events {
	struct {
		__u8 injected;
		__u8 pending;
		__u8 vector;
		__u8 has_error;
		__u32 error_code;
	} exception;
	struct {
		__u8 injected;
		__u8 vector;
		__u8 shadow;
		__u8 pad[5];
		__u64 pending[4];
	} interrupt;
	struct {
		__u8 injected;
		__u8 pending;
		__u8 masked;
		__u8 pad[5];
	} nmi;
	__u8 halted;
	__u8 pad[3];
	__u32 flags;
	__u64 reserved[8];
};

#define MVM_SHADOW_STI		_BITUL(0)
#define MVM_SHADOW_MOV_SS	_BITUL(1)

/*
 * interrupt.pending and nmi.pending are valid.  GET always sets it; SET
 * replaces the pending interrupts and NMI only with it, and without it they
 * must be 0 and the vCPU's stay as they are.
 */
#define MVM_VCPU_EVENTS_PENDING	_BITUL(0)

#endif /* _UAPI_LINUX_MVM_H */
