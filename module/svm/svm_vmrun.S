/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering an SVM guest.  APM vol. 2, 15.5: VMRUN saves part of the host's
 * state (RSP, RAX, RIP, RFLAGS, CR0/3/4, EFER, segment selectors, GDTR,
 * IDTR) to the host save area and #VMEXIT restores it; the rest of the
 * state VMLOAD and VMSAVE handle (FS, GS, TR and LDTR with their hidden
 * parts, KERNEL_GS_BASE, STAR, LSTAR, CSTAR, SFMASK, SYSENTER_*), so the
 * host's copy goes to its own VMSAVE area around the guest's.  The general
 * registers other than RAX and RSP are the caller's to save: they travel
 * in an array indexed by register number (regs.h).
 *
 * Called with interrupts off and GIF clear; returns the same way.
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#include "vmrun.inc"

/* Stack slots below the callee-saved registers. */
#define HOST_SAVE_PA	0
#define VMCB_PA		8
#define GPRS		16

	.text

/*
 * void mvm_svm_vmrun(u64 vmcb_pa, u64 host_save_pa, u64 *gprs)
 */
SYM_FUNC_START(mvm_svm_vmrun)
	MVM_PUSH_CALLEE_SAVED
	push	%rdx
	push	%rdi
	push	%rsi

	/* The host's VMLOAD/VMSAVE state. */
	mov	%rsi, %rax
	vmsave	%rax

	/*
	 * The guest's general registers but RAX, which VMRUN loads from the
	 * VMCB; RDX goes last, it holds gprs.
	 */
	MVM_GPRS_LOAD rdx, skip=rax

	mov	VMCB_PA(%rsp), %rax
	vmload	%rax
	/*
	 * 15.21.1: with V_INTR_MASKING the host's RFLAGS.IF at VMRUN decides
	 * whether a physical interrupt exits the guest.  GIF is clear, so
	 * setting IF here lets no interrupt in on the host side.  The NOP
	 * ends STI's interrupt shadow before VMRUN: hardware keeps the host's
	 * shadow out of the guest, but QEMU's TCG carries it in, reports it
	 * as the guest's (int_state) when the first guest instruction exits,
	 * and, entered again in that shadow, has been seen to deliver a host
	 * interrupt through the host's real-mode IVT into the guest.
	 */
	sti
	nop
	vmrun	%rax
	/* Where #VMEXIT returns; svm.c's svm_vmcb_clobbered() looks for it. */
SYM_INNER_LABEL(mvm_svm_vmrun_ret, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR	/* compared with, never branched to */
	cli
	vmsave	%rax

	/* #VMEXIT restored RSP, so the slots are where they were. */
	mov	GPRS(%rsp), %rax
	MVM_GPRS_SAVE rax

	mov	HOST_SAVE_PA(%rsp), %rax
	vmload	%rax

	MVM_SCRUB_GUEST_GPRS %rax
	/* RAX holds the host's save area address: nothing of the guest's. */
	MVM_POP_CALLEE_SAVED_RET 3
SYM_FUNC_END(mvm_svm_vmrun)
