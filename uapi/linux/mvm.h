/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mvm: the userspace ABI of the minimal virtual machine monitor.
 *
 * File descriptors form a hierarchy, as in KVM:
 *
 *   open("/dev/mvm")  ->  system fd
 *   MVM_CREATE_VM     ->  VM fd
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

/* VM ioctls, on a VM fd: 0x40 - 0x7f. */
#define MVM_SET_MEMORY_REGION	_IOW(MVMIO, 0x40, struct mvm_memory_region)

/* vCPU ioctls, on a vCPU fd: 0x80 - 0xbf. */

/*
 * Extensions, for MVM_CHECK_EXTENSION.  The ioctl returns 0 for an
 * extension this module does not have, and a positive value for one it has.
 */
#define MVM_CAP_BACKEND		0	/* returns MVM_BACKEND_* */
#define MVM_CAP_NR_MEMSLOTS	1	/* returns the number of slots */

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

#endif /* _UAPI_LINUX_MVM_H */
