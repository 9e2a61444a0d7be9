/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entering an SVM guest.  APM vol. 2, 15.5: VMRUN saves part of the host's
 * state (RSP, RAX, RIP, RFLAGS, CR0/3/4, EFER, segment selectors, GDTR,
 * IDTR) to the host save area and #VMEXIT restores it; the rest of the
 * state VMLOAD and VMSAVE handle (FS, GS, TR and LDTR with their hidden
 * parts, KERNEL_GS_BASE, STAR, LSTAR, CSTAR, SFMASK, SYSENTER_*), so the
 * host's copy goes to its own VMSAVE area around the guest's.  The general
 * registers other than RAX and RSP are the caller's to save: they travel
 * in an array indexed by register number.
 *
 * Called with interrupts off and GIF clear; returns the same way.
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define REG(n)	((n) * 8)
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

/* Stack slots below the callee-saved registers. */
#define HOST_SAVE_PA	0
#define VMCB_PA		8
#define GPRS		16

	.text

/*
 * void mvm_svm_vmrun(u64 vmcb_pa, u64 host_save_pa, u64 *gprs)
 */
SYM_FUNC_START(mvm_svm_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdx
	push	%rdi
	push	%rsi

	/* The host's VMLOAD/VMSAVE state. */
	mov	%rsi, %rax
	vmsave	%rax

	/* The guest's general registers; RDX goes last, it holds gprs. */
	mov	RCX(%rdx), %rcx
	mov	RBX(%rdx), %rbx
	mov	RBP(%rdx), %rbp
	mov	RSI(%rdx), %rsi
	mov	RDI(%rdx), %rdi
	mov	R8(%rdx), %r8
	mov	R9(%rdx), %r9
	mov	R10(%rdx), %r10
	mov	R11(%rdx), %r11
	mov	R12(%rdx), %r12
	mov	R13(%rdx), %r13
	mov	R14(%rdx), %r14
	mov	R15(%rdx), %r15
	mov	RDX(%rdx), %rdx

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
	mov	%rcx, RCX(%rax)
	mov	%rdx, RDX(%rax)
	mov	%rbx, RBX(%rax)
	mov	%rbp, RBP(%rax)
	mov	%rsi, RSI(%rax)
	mov	%rdi, RDI(%rax)
	mov	%r8, R8(%rax)
	mov	%r9, R9(%rax)
	mov	%r10, R10(%rax)
	mov	%r11, R11(%rax)
	mov	%r12, R12(%rax)
	mov	%r13, R13(%rax)
	mov	%r14, R14(%rax)
	mov	%r15, R15(%rax)

	mov	HOST_SAVE_PA(%rsp), %rax
	vmload	%rax

	/* The guest filled the return stack buffer: refill it (retbleed). */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	/* No guest value stays in a register for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(mvm_svm_vmrun)
