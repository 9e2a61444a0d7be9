// SPDX-License-Identifier: GPL-2.0
/*
 * The exit path, once for both backends.
 *
 * A backend's vcpu_run enters the guest once, does what only the vendor
 * can (re-injecting an event the exit cut short, its own intercepts), and
 * decodes the hardware exit into a struct mvm_exit.  mvm_handle_exit() does
 * the rest through the backend's primitives: get_gpr and set_gpr, skip,
 * queue_exception.  Nothing here knows the vendor, and no backend writes
 * vcpu->run.
 *
 * One return convention for the whole path, the backends' helpers too:
 * 0 to enter the guest again, 1 when vcpu->run holds an exit for
 * userspace, a negative errno for MVM_RUN to fail with.  A function that
 * can only go on or fail returns 0 or the errno.
 *
 * Called from the run loop (vcpu.c) with preemption on: everything here
 * may sleep.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include <linux/mvm.h>
#include "mvm.h"

int mvm_vcpu_exit_internal(struct mvm_vcpu *vcpu, u32 suberror, u64 d0,
			   u64 d1)
{
	struct mvm_run *run = vcpu->run;

	run->exit_reason = MVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.pad = 0;
	run->internal.data[0] = d0;
	run->internal.data[1] = d1;
	run->internal.data[2] = 0;
	run->internal.data[3] = 0;
	return 1;
}

/*
 * The opcode bytes of each instruction exit, for stepping over it by
 * decoding (mvm_insn_skip()) where the CPU gave no next RIP.
 */
static const struct {
	u8 len;
	u8 op[3];
} mvm_exit_op[MVM_VMEXIT_NR] = {
	[MVM_VMEXIT_MSR_READ] = { 2, { 0x0f, 0x32 } },
	[MVM_VMEXIT_MSR_WRITE] = { 2, { 0x0f, 0x30 } },
	[MVM_VMEXIT_CPUID] = { 2, { 0x0f, 0xa2 } },
	[MVM_VMEXIT_XSETBV] = { 3, { 0x0f, 0x01, 0xd1 } },
	[MVM_VMEXIT_RDTSCP] = { 3, { 0x0f, 0x01, 0xf9 } },
	[MVM_VMEXIT_HLT] = { 1, { 0xf4 } },
	[MVM_VMEXIT_INVD] = { 2, { 0x0f, 0x08 } },
	[MVM_VMEXIT_WBINVD] = { 2, { 0x0f, 0x09 } },
};

/* The instruction that exited has run: step over it. */
static int mvm_exit_skip(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	if (exit->skip_by_decode)
		return mvm_insn_skip(vcpu, mvm_exit_op[exit->reason].op,
				     mvm_exit_op[exit->reason].len);
	mvm_ops->skip(vcpu, exit->next_rip);
	return 0;
}

static u64 mvm_get_edx_eax(struct mvm_vcpu *vcpu)
{
	return (u32)mvm_ops->get_gpr(vcpu, MVM_GPR_RAX) |
	       mvm_ops->get_gpr(vcpu, MVM_GPR_RDX) << 32;
}

/* A 32-bit register write clears bits 63:32 (SDM vol. 1, 3.4.1.1). */
static void mvm_set_edx_eax(struct mvm_vcpu *vcpu, u64 val)
{
	mvm_ops->set_gpr(vcpu, MVM_GPR_RAX, (u32)val);
	mvm_ops->set_gpr(vcpu, MVM_GPR_RDX, val >> 32);
}

static void mvm_inject_gp(struct mvm_vcpu *vcpu)
{
	mvm_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0, 0);
}

static void mvm_inject_ud(struct mvm_vcpu *vcpu)
{
	mvm_ops->queue_exception(vcpu, X86_TRAP_UD, false, 0, 0);
}

static int mvm_exit_cpuid(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	u32 eax = mvm_ops->get_gpr(vcpu, MVM_GPR_RAX), ebx;
	u32 ecx = mvm_ops->get_gpr(vcpu, MVM_GPR_RCX), edx;
	int r = mvm_exit_skip(vcpu, exit);

	if (r)
		return r;
	mvm_handle_cpuid(vcpu, exit->mode.cr4, &eax, &ebx, &ecx, &edx);
	mvm_ops->set_gpr(vcpu, MVM_GPR_RAX, eax);
	mvm_ops->set_gpr(vcpu, MVM_GPR_RBX, ebx);
	mvm_ops->set_gpr(vcpu, MVM_GPR_RCX, ecx);
	mvm_ops->set_gpr(vcpu, MVM_GPR_RDX, edx);
	return 0;
}

/* RDMSR and WRMSR of what state.c does not know are the guest's #GP. */
static int mvm_exit_msr(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	u32 index = mvm_ops->get_gpr(vcpu, MVM_GPR_RCX);
	u64 data;
	int r;

	if (exit->reason == MVM_VMEXIT_MSR_WRITE) {
		if (mvm_guest_wrmsr(vcpu, index, mvm_get_edx_eax(vcpu))) {
			mvm_inject_gp(vcpu);
			return 0;
		}
		return mvm_exit_skip(vcpu, exit);
	}
	if (mvm_guest_rdmsr(vcpu, index, &data)) {
		mvm_inject_gp(vcpu);
		return 0;
	}
	r = mvm_exit_skip(vcpu, exit);
	if (!r)
		mvm_set_edx_eax(vcpu, data);
	return r;
}

/* SDM vol. 2, XSETBV: #UD without CR4.OSXSAVE, #GP outside ring 0. */
static int mvm_exit_xsetbv(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	u32 index = mvm_ops->get_gpr(vcpu, MVM_GPR_RCX);

	if (!(exit->mode.cr4 & X86_CR4_OSXSAVE)) {
		mvm_inject_ud(vcpu);
		return 0;
	}
	if (exit->mode.cpl ||
	    mvm_guest_xsetbv(vcpu, index, mvm_get_edx_eax(vcpu))) {
		mvm_inject_gp(vcpu);
		return 0;
	}
	return mvm_exit_skip(vcpu, exit);
}

/* The guest's TSC and TSC_AUX, as its own RDTSC and RDPID would read. */
static int mvm_exit_rdtscp(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	u64 tsc = 0, aux = 0;
	int r;

	mvm_ops->get_msr(vcpu, MSR_IA32_TSC, &tsc);
	mvm_ops->get_msr(vcpu, MSR_TSC_AUX, &aux);
	r = mvm_exit_skip(vcpu, exit);
	if (r)
		return r;
	mvm_set_edx_eax(vcpu, tsc);
	mvm_ops->set_gpr(vcpu, MVM_GPR_RCX, (u32)aux);
	return 0;
}

/* The run loop sleeps until an event could wake the guest. */
static int mvm_exit_hlt(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	int r = mvm_exit_skip(vcpu, exit);

	if (!r)
		vcpu->halted = true;
	return r;
}

/*
 * Port I/O.  IN completes into RAX at the next MVM_RUN, which also moves
 * RIP on; OUT has run once the ring or userspace has the value.  The
 * address size and segment of INS and OUTS come from the instruction:
 * SVM's EXITINFO1 has them only with decode assists, and QEMU's emulated
 * SVM puts the address size one bit too high, over the segment field.
 */
static int mvm_exit_io(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	u16 port = exit->io.port;
	u8 size = exit->io.size;
	int r;

	if (size != 1 && size != 2 && size != 4)
		return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_UNEXPECTED,
					      exit->hw_reason, exit->hw_info);
	if (exit->io.string)
		return mvm_emulate_string_io(vcpu, port, size, exit->io.in,
					     exit->io.rep, 0, MVM_SEG_NONE);
	if (exit->io.in) {
		vcpu->pending = (struct mvm_pending_read) {
			.active = true, .size = size, .reg = MVM_GPR_RAX,
			.dst_size = size, .next_rip = exit->next_rip,
		};
		r = mvm_handle_io(vcpu, MVM_SPACE_PIO, port, size, false, 0);
		if (r <= 0)
			vcpu->pending.active = false;
		return r;
	}
	r = mvm_handle_io(vcpu, MVM_SPACE_PIO, port, size, true,
			  mvm_ops->get_gpr(vcpu, MVM_GPR_RAX));
	if (r >= 0)
		mvm_ops->skip(vcpu, exit->next_rip);
	return r;
}

/*
 * A nested page fault: RAM not mapped yet, or an access to what is not
 * RAM, which is emulated.  A fault in the CPU's walk of the guest's own
 * page tables has no instruction to emulate: its tables are not in RAM.
 */
static int mvm_exit_mmio(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	int r = mvm_mmu_fault(vcpu, exit->mmio.gpa, exit->mmio.write);

	if (r != 1)
		return r;
	if (exit->mmio.in_walk)
		return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_EMULATION,
					      exit->mmio.gpa, exit->hw_info);
	return mvm_emulate_mmio(vcpu, exit->mmio.gpa, exit->mmio.write);
}

/**
 * mvm_handle_exit - do what an exit asks for
 * @vcpu:	the vCPU, just out of the backend's vcpu_run
 * @exit:	the exit, as the backend decoded it
 *
 * Return: 0 to enter the guest again, 1 when vcpu->run holds an exit for
 * userspace, or a negative errno.
 */
int mvm_handle_exit(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	struct mvm_run *run = vcpu->run;

	/* rip and flags stay as the last exit left them (api.rst). */
	if (exit->reason == MVM_VMEXIT_RETRY)
		return 0;
	run->rip = exit->rip;
	run->flags = exit->interruptible ? MVM_RUN_IF_FLAG : 0;

	switch (exit->reason) {
	case MVM_VMEXIT_NONE:
		return 0;
	case MVM_VMEXIT_IO:
		return mvm_exit_io(vcpu, exit);
	case MVM_VMEXIT_MMIO:
		return mvm_exit_mmio(vcpu, exit);
	case MVM_VMEXIT_MSR_READ:
	case MVM_VMEXIT_MSR_WRITE:
		return mvm_exit_msr(vcpu, exit);
	case MVM_VMEXIT_CPUID:
		return mvm_exit_cpuid(vcpu, exit);
	case MVM_VMEXIT_XSETBV:
		return mvm_exit_xsetbv(vcpu, exit);
	case MVM_VMEXIT_RDTSCP:
		return mvm_exit_rdtscp(vcpu, exit);
	case MVM_VMEXIT_HLT:
		return mvm_exit_hlt(vcpu, exit);
	case MVM_VMEXIT_INVD:
	case MVM_VMEXIT_WBINVD:
		return mvm_exit_skip(vcpu, exit);
	case MVM_VMEXIT_UD:
		/* As on a CPU without the feature. */
		mvm_inject_ud(vcpu);
		return 0;
	case MVM_VMEXIT_SHUTDOWN:
		run->exit_reason = MVM_EXIT_SHUTDOWN;
		return 1;
	case MVM_VMEXIT_FAIL_ENTRY:
		run->exit_reason = MVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_reason = exit->hw_reason;
		run->fail_entry.info[0] = exit->fail_entry.info[0];
		run->fail_entry.info[1] = exit->fail_entry.info[1];
		return 1;
	case MVM_VMEXIT_UNEXPECTED:
	default:
		return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_UNEXPECTED,
					      exit->hw_reason, exit->hw_info);
	}
}
