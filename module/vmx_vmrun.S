/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering a VMX guest.  The VMCS holds the guest's RSP and RIP and the
 * host's whole return state but for the general registers, which travel
 * in an array indexed by register number (RSP's slot unused).
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

#include "vmx_vmrun.h"

#define REG(n)	((n) * 8)
#define RAX	REG(0)
#define RCX	REG(1)
#define RDX	REG(2)
#define RBX	REG(3)
#define RBP	REG(5)
#define RSI	REG(6)
#define RDI	REG(7)
#define R8	REG(8)
#define R9	REG(9)
#define R10	REG(10)
#define R11	REG(11)
#define R12	REG(12)
#define R13	REG(13)
#define R14	REG(14)
#define R15	REG(15)

#define VMCS_HOST_RSP	0x6c14
#define VMCS_HOST_RIP	0x6c16

	.text

/*
 * int mvm_vmx_vmrun(u64 *gprs, int launched)
 *
 * Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed.
 */
SYM_FUNC_START(mvm_vmx_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi		/* gprs, at 0(%rsp) after the exit */

	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	mov	$VMCS_HOST_RIP, %eax
	lea	.Lvmx_return(%rip), %rdx
	vmwrite	%rdx, %rax

	mov	%esi, %ebx	/* launched: tested after the loads */
	test	%ebx, %ebx

	/* The guest's registers; mov leaves the flags alone. */
	mov	RAX(%rdi), %rax
	mov	RCX(%rdi), %rcx
	mov	RDX(%rdi), %rdx
	mov	RBX(%rdi), %rbx
	mov	RBP(%rdi), %rbp
	mov	RSI(%rdi), %rsi
	mov	R8(%rdi), %r8
	mov	R9(%rdi), %r9
	mov	R10(%rdi), %r10
	mov	R11(%rdi), %r11
	mov	R12(%rdi), %r12
	mov	R13(%rdi), %r13
	mov	R14(%rdi), %r14
	mov	R15(%rdi), %r15
	mov	RDI(%rdi), %rdi

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
	mov	%rax, RAX(%rdi)
	mov	%rcx, RCX(%rdi)
	mov	%rdx, RDX(%rdi)
	mov	%rbx, RBX(%rdi)
	mov	%rbp, RBP(%rdi)
	mov	%rsi, RSI(%rdi)
	mov	%r8, R8(%rdi)
	mov	%r9, R9(%rdi)
	mov	%r10, R10(%rdi)
	mov	%r11, R11(%rdi)
	mov	%r12, R12(%rdi)
	mov	%r13, R13(%rdi)
	mov	%r14, R14(%rdi)
	mov	%r15, R15(%rdi)
	pop	RDI(%rdi)

	/* setbe: 1 for CF or ZF (a failed entry), 0 after an exit. */
	setbe	%al
	movzbl	%al, %eax

	/* The guest filled the return stack buffer: refill it. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$8, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
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
