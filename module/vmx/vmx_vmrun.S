/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering a VMX guest.  The VMCS holds the guest's RSP and RIP and the
 * host's whole return state but for the general registers, which travel
 * in an array indexed by register number (regs.h; RSP's slot unused).
 *
 * HOST_RIP names the instruction right after VMLAUNCH/VMRESUME, so a VM
 * exit and a failed entry continue at the same place: a VM exit leaves
 * RFLAGS at 2 (SDM vol. 3, 28.5.3), a failure sets CF or ZF (SDM vol. 3,
 * 31.2, "Conventions").  HOST_RSP is written here, where the stack is known.
 *
 * Called with interrupts off.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>

#include "vmrun.inc"
#include "vmx_vmrun.h"

	.text

/*
 * int mvm_vmx_vmrun(u64 *gprs, int launched)
 *
 * Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed.
 */
SYM_FUNC_START(mvm_vmx_vmrun)
	MVM_PUSH_CALLEE_SAVED
	push	%rdi		/* gprs, at 0(%rsp) after the exit */

	mov	$MVM_VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	mov	$MVM_VMCS_HOST_RIP, %eax
	lea	.Lvmx_return(%rip), %rdx
	vmwrite	%rdx, %rax

	mov	%esi, %ebx	/* launched: tested after the loads */
	test	%ebx, %ebx

	/* The guest's registers, RDI last; mov leaves the flags alone. */
	MVM_GPRS_LOAD rdi

	/*
	 * Enter with RFLAGS.IF set, as on SVM: Bochs recomputes which events
	 * may exit the guest from the IF change at VM entry, and with IF 0
	 * in both host and guest it never lets an external interrupt exit.
	 * STI's shadow covers the VMLAUNCH/VMRESUME; a VM exit clears IF.
	 */
	jnz	.Lvmx_resume
	sti
	vmlaunch
	jmp	.Lvmx_return
.Lvmx_resume:
	sti
	vmresume
.Lvmx_return:
	/* Here after a VM exit (flags 2) or a failed entry (CF or ZF). */
	cli
	push	%rdi
	mov	8(%rsp), %rdi
	MVM_GPRS_SAVE rdi
	pop	MVM_GPR_OFF(rdi)(%rdi)

	/* setbe: 1 for CF or ZF (a failed entry), 0 after an exit. */
	setbe	%al
	movzbl	%al, %eax

	MVM_SCRUB_GUEST_GPRS %rcx
	MVM_POP_CALLEE_SAVED_RET 1
SYM_FUNC_END(mvm_vmx_vmrun)

#if MVM_VMX_HOST_NMI
/*
 * void mvm_vmx_do_nmi(void)
 *
 * An NMI that exited the guest is the host's (the "NMI exiting" control,
 * SDM vol. 3, "Pin-Based VM-Execution Controls"): run the host's NMI
 * handler as if the CPU had delivered the NMI here, on this stack, through
 * an interrupt frame built by hand (the CPU aligns RSP to 16 bytes
 * first).  Its IRET ends the blocking of NMIs that such a VM exit leaves,
 * as it would after delivery through the IDT.  The frame's RFLAGS have IF
 * clear, so interrupts stay off.  RSP comes back from RBP, as the IRET
 * has restored it already, so that objtool can follow.
 */
SYM_FUNC_START(mvm_vmx_do_nmi)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	call	MVM_VMX_NMI_ENTRY
	mov	%rbp, %rsp
	pop	%rbp
	RET
SYM_FUNC_END(mvm_vmx_do_nmi)
#endif
