// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU state: the get and set ioctls, their validation, the MSRs mvm
 * emulates, and the guest's FPU and XCR0.  The CPUID table is cpuid.c's.
 *
 * Everything userspace or the guest hands in is checked here against the
 * rules the hardware checks on entry, so that a backend never enters the
 * guest with state that makes VMRUN or VM entry fail, or that would reach
 * the host.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/trapnr.h>

#include "mvm.h"

static_assert(sizeof(struct mvm_regs) == 18 * 8);
static_assert(sizeof(struct mvm_segment) == 24);
static_assert(sizeof(struct mvm_sregs) % 8 == 0);
static_assert(sizeof(struct mvm_msr_entry) == 16);
static_assert(sizeof(struct mvm_xsave) == PAGE_SIZE);
static_assert(sizeof(struct mvm_vcpu_events) == 128);
static_assert(sizeof(((struct mvm_vcpu_events *)0)->interrupt.pending) ==
	      sizeof(((struct mvm_vcpu *)0)->irqs));

/* XSAVE feature bits (SDM vol. 1, 13.1). */
#define XF_X87		BIT_ULL(0)
#define XF_SSE		BIT_ULL(1)
#define XF_AVX		BIT_ULL(2)
#define XF_OPMASK	BIT_ULL(5)
#define XF_ZMM_HI256	BIT_ULL(6)
#define XF_HI16_ZMM	BIT_ULL(7)
#define XF_AVX512	(XF_OPMASK | XF_ZMM_HI256 | XF_HI16_ZMM)

/*
 * The guest may have x87, SSE, AVX and AVX-512 state, as far as the host
 * has them.  Not PKRU: WRPKRU in the guest would change the host's
 * protection keys under copy_to_user().  Not MPX, AMX or supervisor state.
 */
static u64 mvm_xcr0_supported;
static u64 mvm_host_xcr0;
static unsigned int mvm_xsave_size;
static u32 mvm_mxcsr_mask;

/* Control-register and EFER bits a guest may have. */
#define CR0_FIXED_ZERO	(~(u64)(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | \
			       X86_CR0_TS | X86_CR0_ET | X86_CR0_NE | \
			       X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | \
			       X86_CR0_CD | X86_CR0_PG))
#define CR4_ALLOWED	(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | \
			 X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | \
			 X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | \
			 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | \
			 X86_CR4_UMIP | X86_CR4_FSGSBASE | X86_CR4_PCIDE | \
			 X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP)
#define EFER_ALLOWED	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

/*
 * CR4 is the guest's to write without an exit, so MVM_GET_SREGS can show
 * any bit the CPU accepts; those that need a CPU feature are allowed where
 * the host has it, so state read back can always be set again.
 */
static u64 mvm_cr4_allowed(void)
{
	u64 cr4 = CR4_ALLOWED;

	if (boot_cpu_has(X86_FEATURE_PKU))
		cr4 |= X86_CR4_PKE;
	if (boot_cpu_has(X86_FEATURE_LA57))
		cr4 |= X86_CR4_LA57;
	return cr4;
}

static bool mvm_canonical(u64 v)
{
	return (u64)sign_extend64(v, 47) == v;
}

static bool mvm_seg_ok(const struct mvm_segment *s)
{
	return s->type < 16 && s->s <= 1 && s->dpl < 4 && s->present <= 1 &&
	       s->avl <= 1 && s->l <= 1 && s->db <= 1 && s->g <= 1 &&
	       s->unusable <= 1 && !s->pad;
}

static bool mvm_xcr0_ok(u64 xcr0)
{
	/* SDM vol. 1, 13.3: x87 always; AVX needs SSE; AVX-512 all or none. */
	if (!(xcr0 & XF_X87) || (xcr0 & ~mvm_xcr0_supported))
		return false;
	if ((xcr0 & XF_AVX) && !(xcr0 & XF_SSE))
		return false;
	if ((xcr0 & XF_AVX512) &&
	    ((xcr0 & XF_AVX512) != XF_AVX512 || !(xcr0 & XF_AVX)))
		return false;
	return true;
}

/*
 * The consistency checks of VMRUN (APM vol. 2, 15.5.1) and of VM entry
 * (SDM vol. 3, 27.3.1.1), for the state userspace controls.
 */
int mvm_check_sregs(const struct mvm_sregs *s)
{
	const struct mvm_segment *segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};
	bool lma = s->efer & EFER_LMA;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		if (s->reserved[i])
			return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(segs); i++)
		if (!mvm_seg_ok(segs[i]))
			return -EINVAL;
	if (s->gdt.pad[0] || s->gdt.pad[1] || s->gdt.pad[2] ||
	    s->idt.pad[0] || s->idt.pad[1] || s->idt.pad[2])
		return -EINVAL;

	if (s->cr0 & CR0_FIXED_ZERO)
		return -EINVAL;
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return -EINVAL;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return -EINVAL;
	if (s->cr4 & ~mvm_cr4_allowed())
		return -EINVAL;
	if (s->cr8 > 15)
		return -EINVAL;
	if (s->efer & ~(u64)EFER_ALLOWED)
		return -EINVAL;
	if (lma != ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)))
		return -EINVAL;
	if (lma) {
		if (!(s->cr4 & X86_CR4_PAE))
			return -EINVAL;
		if (s->cs.l && s->cs.db)
			return -EINVAL;
		if (s->cr3 >> boot_cpu_data.x86_phys_bits)
			return -EINVAL;
		if (!mvm_canonical(s->fs.base) || !mvm_canonical(s->gs.base) ||
		    !mvm_canonical(s->tr.base) || !mvm_canonical(s->ldt.base) ||
		    !mvm_canonical(s->gdt.base) || !mvm_canonical(s->idt.base))
			return -EINVAL;
	} else {
		if (s->cs.l)
			return -EINVAL;
		if (s->cr3 >> 32)
			return -EINVAL;
	}
	if ((s->cr4 & X86_CR4_PCIDE) && !lma)
		return -EINVAL;
	if (!mvm_xcr0_ok(s->xcr0))
		return -EINVAL;
	return 0;
}

/* MSRs. */

/*
 * mvm_msr_check() lists the MSRs userspace can get and set and the guest
 * can read and write: SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR, SFMASK,
 * KERNEL_GS_BASE, TSC, TSC_AUX and PAT, and EFER for the guest only (for
 * userspace it is part of struct mvm_sregs).  Every other MSR is #GP for
 * the guest and unknown to MVM_GET/SET_MSRS.
 */
#define EFER_GUEST	(EFER_SCE | EFER_LME | EFER_NX)

static bool mvm_pat_ok(u64 pat)
{
	int i;

	/* SDM vol. 3, 12.12.2: memory types 2 and 3, and above 7, are bad. */
	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static int mvm_msr_check(u32 index, u64 data)
{
	switch (index) {
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
		return mvm_canonical(data) ? 0 : -EINVAL;
	case MSR_IA32_SYSENTER_CS:
	case MSR_SYSCALL_MASK:
	case MSR_TSC_AUX:
		return data >> 32 ? -EINVAL : 0;
	case MSR_STAR:
	case MSR_IA32_TSC:
		return 0;
	case MSR_IA32_CR_PAT:
		return mvm_pat_ok(data) ? 0 : -EINVAL;
	case MSR_EFER:
		/* LMA is the CPU's to set; SVME is never the guest's. */
		return data & ~(u64)(EFER_GUEST | EFER_LMA) ? -EINVAL : 0;
	default:
		return -ENOENT;
	}
}

#define MVM_MISC_ENABLE	(MSR_IA32_MISC_ENABLE_FAST_STRING |	\
			 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL |	\
			 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)

int mvm_guest_rdmsr(struct mvm_vcpu *vcpu, u32 index, u64 *data)
{
	/*
	 * Linux reads this one without rdmsr_safe() once ACPI is up, on
	 * every CPU it takes for one with AMD erratum 400 (family 0xf from
	 * model 0x41, family 0x10: QEMU's qemu64 and TCG's max among them),
	 * to see whether C1E is on.  0 says it is not, as KVM answers; a #GP
	 * would cost the guest an "unchecked MSR access" splat.  Not
	 * writable, and not in the userspace list.
	 */
	if (index == MSR_K8_INT_PENDING_MSG) {
		*data = 0;
		return 0;
	}
	/*
	 * Linux's verify_cpu reads this one with a plain RDMSR on any Intel
	 * CPU of family 6 or later, before it has an IDT, to clear XD_DISABLE
	 * (SDM vol. 4, table 2-2): a #GP there is a triple fault.  Fast
	 * strings on, no BTS or PEBS (mvm has no debug store), XD not
	 * disabled, as KVM answers.  Writes of the same value are accepted.
	 */
	if (index == MSR_IA32_MISC_ENABLE) {
		*data = MVM_MISC_ENABLE;
		return 0;
	}
	/*
	 * Linux takes the microcode revision on Intel with a plain RDMSR,
	 * after a WRMSR of 0 and a CPUID (SDM vol. 4, table 2-2,
	 * IA32_BIOS_SIGN_ID; AMD's PATCH_LEVEL has the same index): a #GP
	 * is an "unchecked MSR access" splat at boot.  Revision 1 in EDX, as
	 * KVM answers; writes are accepted and change nothing.
	 */
	if (index == MSR_IA32_UCODE_REV) {
		*data = 1ULL << 32;
		return 0;
	}
	if (mvm_msr_check(index, 0) == -ENOENT)
		return -EINVAL;
	return mvm_ops->get_msr(vcpu, index, data);
}

int mvm_guest_wrmsr(struct mvm_vcpu *vcpu, u32 index, u64 data)
{
	int r;

	if (index == MSR_IA32_MISC_ENABLE)
		return data == MVM_MISC_ENABLE ? 0 : -EINVAL;
	if (index == MSR_IA32_UCODE_REV)
		return 0;
	r = mvm_msr_check(index, data);

	if (r)
		return -EINVAL;
	return mvm_ops->set_msr(vcpu, index, data);
}

static int mvm_vcpu_msrs(struct mvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct mvm_msrs hdr;
	struct mvm_msr_entry *e;
	u32 i;
	int r;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	if (hdr.nmsrs > MVM_MAX_MSRS)
		return -E2BIG;
	if (!hdr.nmsrs)
		return 0;

	/* One copy: the entries are validated and used from it. */
	e = memdup_user(argp + sizeof(hdr), hdr.nmsrs * sizeof(*e));
	if (IS_ERR(e))
		return PTR_ERR(e);

	for (i = 0; i < hdr.nmsrs; i++) {
		if (e[i].reserved) {
			r = -EINVAL;
			goto out;
		}
	}
	for (i = 0; i < hdr.nmsrs; i++) {
		if (e[i].index == MSR_EFER)
			break;
		if (set) {
			if (mvm_msr_check(e[i].index, e[i].data))
				break;
			if (mvm_ops->set_msr(vcpu, e[i].index, e[i].data))
				break;
		} else {
			if (mvm_msr_check(e[i].index, 0) == -ENOENT)
				break;
			if (mvm_ops->get_msr(vcpu, e[i].index, &e[i].data))
				break;
		}
	}
	r = i;
	if (!set && copy_to_user(argp + sizeof(hdr), e, i * sizeof(*e)))
		r = -EFAULT;
out:
	kfree(e);
	return r;
}

/* The guest's FPU. */

/* SDM vol. 1, 13.4.2: the XSAVE header follows the 512-byte legacy area. */
#define XSAVE_HDR_OFFSET	512
#define XSAVE_MXCSR_OFFSET	24

void mvm_vcpu_init_fpu(struct mvm_vcpu *vcpu)
{
	u8 *x = (u8 *)vcpu->xsave;

	/* The reset state (SDM vol. 3, 9.1.1): FCW 0x37f, MXCSR 0x1f80. */
	*(u16 *)x = 0x37f;
	*(u32 *)(x + XSAVE_MXCSR_OFFSET) = 0x1f80;
	*(u64 *)(x + XSAVE_HDR_OFFSET) = XF_X87 | XF_SSE;
	vcpu->xcr0 = XF_X87;
}

static int mvm_xsave_check(const struct mvm_xsave *xs)
{
	const u8 *x = (const u8 *)xs;
	u64 xstate_bv = *(const u64 *)(x + XSAVE_HDR_OFFSET);
	unsigned int i;

	/*
	 * SDM vol. 1, 13.8.1: XRSTOR of the standard form faults on
	 * XSTATE_BV bits outside XCR0, a nonzero XCOMP_BV, nonzero header
	 * bytes 16-63, or reserved MXCSR bits.
	 */
	if (xstate_bv & ~mvm_xcr0_supported)
		return -EINVAL;
	for (i = 8; i < 64; i++)
		if (x[XSAVE_HDR_OFFSET + i])
			return -EINVAL;
	if (*(const u32 *)(x + XSAVE_MXCSR_OFFSET) & ~mvm_mxcsr_mask)
		return -EINVAL;
	return 0;
}

/*
 * Load the guest's FPU and XCR0; the backend calls this with interrupts
 * off, inside kernel_fpu_begin(), right before entering the guest.  The
 * host's user FPU state was saved by kernel_fpu_begin() and comes back on
 * the return to userspace.
 */
void mvm_fpu_load(struct mvm_vcpu *vcpu)
{
	u64 *xstate_bv = (u64 *)((u8 *)vcpu->xsave + XSAVE_HDR_OFFSET);

	/*
	 * Restore every component the guest may have, under the host's XCR0:
	 * a guest whose XCR0 is x87 alone still has XMM registers (FXSAVE
	 * state), which a mask of its XCR0 would lose.  Only then the guest's
	 * XCR0 goes in.
	 */
	*xstate_bv &= mvm_xcr0_supported;
	asm volatile("xrstor64 %0"
		     : : "m" (*vcpu->xsave), "a" ((u32)mvm_xcr0_supported),
		       "d" ((u32)(mvm_xcr0_supported >> 32)) : "memory");
	if (vcpu->xcr0 != mvm_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
}

void mvm_fpu_put(struct mvm_vcpu *vcpu)
{
	u64 xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);

	/*
	 * XSETBV is intercepted, so XCR0 is normally what mvm_fpu_load() put
	 * there.  But QEMU's emulated SVM does not honour the XSETBV
	 * intercept: the guest's XSETBV then sets XCR0 itself, and the value
	 * the CPU holds now is the guest's.  Keep it, within what mvm
	 * supports, or the next entry would take it back from the guest.
	 */
	if (xcr0 != vcpu->xcr0 && mvm_xcr0_ok(xcr0 & mvm_xcr0_supported))
		vcpu->xcr0 = xcr0 & mvm_xcr0_supported;
	/* Whatever the guest did, the host's XCR0 goes back. */
	if (xcr0 != mvm_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, mvm_host_xcr0);
	asm volatile("xsave64 %0"
		     : "+m" (*vcpu->xsave) : "a" ((u32)mvm_xcr0_supported),
		       "d" ((u32)(mvm_xcr0_supported >> 32)) : "memory");
}

int mvm_guest_xsetbv(struct mvm_vcpu *vcpu, u32 index, u64 value)
{
	if (index != XCR_XFEATURE_ENABLED_MASK || !mvm_xcr0_ok(value))
		return -EINVAL;
	vcpu->xcr0 = value;
	return 0;
}

/* Debug registers. */

static int mvm_vcpu_set_debugregs(struct mvm_vcpu *vcpu, void __user *argp)
{
	struct mvm_debugregs d;
	unsigned int i;

	if (copy_from_user(&d, argp, sizeof(d)))
		return -EFAULT;
	for (i = 0; i < ARRAY_SIZE(d.reserved); i++)
		if (d.reserved[i])
			return -EINVAL;
	/* APM vol. 2, 15.5.1: bits 63:32 of DR6 and DR7 must be zero. */
	if ((d.dr6 >> 32) || (d.dr7 >> 32))
		return -EINVAL;
	/* Breakpoint addresses are linear addresses: canonical. */
	for (i = 0; i < 4; i++)
		if (!mvm_canonical(d.db[i]))
			return -EINVAL;
	memcpy(vcpu->db, d.db, sizeof(vcpu->db));
	mvm_ops->set_debugregs(vcpu, &d);
	return 0;
}

/* Events. */

/* Vectors mvm takes as an exception: 0-19 but NMI and the reserved 15. */
#define MVM_EXC_VECTORS	(GENMASK(19, 0) & ~(BIT(X86_TRAP_NMI) | BIT(15)))
/* Those that push an error code in protected mode (SDM vol. 3, 6.13). */
#define MVM_EXC_ERROR	(BIT(X86_TRAP_DF) | GENMASK(X86_TRAP_PF, X86_TRAP_TS) | \
			 BIT(X86_TRAP_AC))

static bool mvm_zero(const void *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

/*
 * The rules of MVM_SET_VCPU_EVENTS (Documentation/mvm/api.rst): each field
 * in range, and nothing the CPU would refuse at entry (SDM vol. 3,
 * 27.3.1.4-5; APM 15.20): one event at a time, no interrupt or NMI
 * injected into a shadow, an STI shadow only with IF set, an error code
 * exactly where the vector has one.
 */
static int mvm_check_events(struct mvm_vcpu *vcpu,
			    const struct mvm_vcpu_events *ev)
{
	const typeof(ev->exception) *e = &ev->exception;
	const typeof(ev->interrupt) *irq = &ev->interrupt;
	struct mvm_sregs sregs;
	struct mvm_regs regs;
	bool exc = e->injected || e->pending;
	bool pe;

	if (ev->flags & ~MVM_VCPU_EVENTS_PENDING ||
	    !mvm_zero(ev->reserved, sizeof(ev->reserved)) ||
	    !mvm_zero(ev->pad, sizeof(ev->pad)) ||
	    !mvm_zero(irq->pad, sizeof(irq->pad)) ||
	    !mvm_zero(ev->nmi.pad, sizeof(ev->nmi.pad)))
		return -EINVAL;
	if (e->injected > 1 || e->pending > 1 || e->has_error > 1 ||
	    irq->injected > 1 || ev->nmi.injected > 1 || ev->nmi.pending > 1 ||
	    ev->nmi.masked > 1 || ev->halted > 1)
		return -EINVAL;
	if (irq->shadow & ~(MVM_SHADOW_STI | MVM_SHADOW_MOV_SS) ||
	    irq->shadow == (MVM_SHADOW_STI | MVM_SHADOW_MOV_SS))
		return -EINVAL;

	mvm_ops->get_regs(vcpu, &regs);
	mvm_ops->get_sregs(vcpu, &sregs);
	pe = sregs.cr0 & X86_CR0_PE;
	if (!exc) {
		if (e->vector || e->has_error || e->error_code)
			return -EINVAL;
	} else {
		if (e->injected && e->pending)
			return -EINVAL;
		if (e->vector > 31 || !(MVM_EXC_VECTORS & BIT(e->vector)))
			return -EINVAL;
		if (e->has_error != (pe && (MVM_EXC_ERROR & BIT(e->vector))))
			return -EINVAL;
		if (!e->has_error && e->error_code)
			return -EINVAL;
	}

	if (irq->injected ? irq->vector < 32 : irq->vector)
		return -EINVAL;
	if (!(ev->flags & MVM_VCPU_EVENTS_PENDING)) {
		if (!mvm_zero(irq->pending, sizeof(irq->pending)) ||
		    ev->nmi.pending)
			return -EINVAL;
	} else if ((u32)irq->pending[0]) {
		return -EINVAL;
	}

	if (exc + irq->injected + ev->nmi.injected > 1)
		return -EINVAL;
	if ((irq->injected || ev->nmi.injected) && irq->shadow)
		return -EINVAL;
	if ((irq->injected || irq->shadow & MVM_SHADOW_STI) &&
	    !(regs.rflags & X86_EFLAGS_IF))
		return -EINVAL;
	/* HLT has completed: nothing is in delivery, no shadow is left. */
	if (ev->halted && (exc + irq->injected + ev->nmi.injected ||
			   irq->shadow))
		return -EINVAL;
	return 0;
}

/*
 * A read that an exit asked userspace for is half an instruction: it is
 * not state, and it is completed by an MVM_RUN with immediate_exit set
 * (api.rst, "MVM_GET_VCPU_EVENTS").  Until then both ioctls refuse.
 */
static int mvm_vcpu_get_events(struct mvm_vcpu *vcpu, void __user *argp)
{
	struct mvm_vcpu_events ev;
	unsigned int i;

	if (vcpu->pending.active)
		return -EBUSY;
	memset(&ev, 0, sizeof(ev));
	mvm_ops->get_events(vcpu, &ev);
	for (i = 0; i < ARRAY_SIZE(ev.interrupt.pending); i++)
		ev.interrupt.pending[i] = READ_ONCE(vcpu->irqs[i]);
	ev.nmi.pending = READ_ONCE(vcpu->nmi);
	ev.halted = vcpu->halted;
	ev.flags = MVM_VCPU_EVENTS_PENDING;
	return copy_to_user(argp, &ev, sizeof(ev)) ? -EFAULT : 0;
}

static int mvm_vcpu_set_events(struct mvm_vcpu *vcpu, void __user *argp)
{
	struct mvm_vcpu_events ev;
	unsigned int i;
	int r;

	if (copy_from_user(&ev, argp, sizeof(ev)))
		return -EFAULT;
	if (vcpu->pending.active)
		return -EBUSY;
	r = mvm_check_events(vcpu, &ev);
	if (r)
		return r;

	ev.exception.injected |= ev.exception.pending;
	ev.exception.pending = 0;
	mvm_ops->set_events(vcpu, &ev);
	/* MVM_INTERRUPT and MVM_NMI from other threads may race: theirs. */
	if (ev.flags & MVM_VCPU_EVENTS_PENDING) {
		for (i = 0; i < ARRAY_SIZE(ev.interrupt.pending); i++)
			WRITE_ONCE(vcpu->irqs[i], ev.interrupt.pending[i]);
		WRITE_ONCE(vcpu->nmi, ev.nmi.pending);
	}
	vcpu->halted = ev.halted;
	return 0;
}

static long mvm_vcpu_state_cmd(struct mvm_vcpu *vcpu, unsigned int cmd,
			       void __user *argp)
{
	union {
		struct mvm_regs regs;
		struct mvm_sregs sregs;
		struct mvm_debugregs dbg;
	} u;
	int r;

	switch (cmd) {
	case MVM_GET_REGS:
		mvm_ops->get_regs(vcpu, &u.regs);
		return copy_to_user(argp, &u.regs, sizeof(u.regs)) ?
			-EFAULT : 0;
	case MVM_SET_REGS:
		if (copy_from_user(&u.regs, argp, sizeof(u.regs)))
			return -EFAULT;
		/* RFLAGS bit 1 is always 1; reserved bits are 0. */
		if ((u.regs.rflags & ~(u64)0x3f7fd7) ||
		    !(u.regs.rflags & BIT(1)))
			return -EINVAL;
		vcpu->pending.active = false;
		vcpu->halted = false;
		mvm_ops->set_regs(vcpu, &u.regs);
		return 0;
	case MVM_GET_SREGS:
		mvm_ops->get_sregs(vcpu, &u.sregs);
		u.sregs.xcr0 = vcpu->xcr0;
		return copy_to_user(argp, &u.sregs, sizeof(u.sregs)) ?
			-EFAULT : 0;
	case MVM_SET_SREGS:
		if (copy_from_user(&u.sregs, argp, sizeof(u.sregs)))
			return -EFAULT;
		r = mvm_check_sregs(&u.sregs);
		if (r)
			return r;
		vcpu->xcr0 = u.sregs.xcr0;
		mvm_ops->set_sregs(vcpu, &u.sregs);
		return 0;
	case MVM_GET_MSRS:
		return mvm_vcpu_msrs(vcpu, argp, false);
	case MVM_SET_MSRS:
		return mvm_vcpu_msrs(vcpu, argp, true);
	case MVM_GET_XSAVE:
		return copy_to_user(argp, vcpu->xsave, sizeof(*vcpu->xsave)) ?
			-EFAULT : 0;
	case MVM_SET_XSAVE: {
		struct mvm_xsave *x = memdup_user(argp, sizeof(*x));

		if (IS_ERR(x))
			return PTR_ERR(x);
		r = mvm_xsave_check(x);
		if (!r)
			memcpy(vcpu->xsave, x, sizeof(*x));
		kfree(x);
		return r;
	}
	case MVM_GET_DEBUGREGS:
		memset(&u.dbg, 0, sizeof(u.dbg));
		mvm_ops->get_debugregs(vcpu, &u.dbg);
		memcpy(u.dbg.db, vcpu->db, sizeof(vcpu->db));
		return copy_to_user(argp, &u.dbg, sizeof(u.dbg)) ? -EFAULT : 0;
	case MVM_SET_DEBUGREGS:
		return mvm_vcpu_set_debugregs(vcpu, argp);
	case MVM_GET_CPUID:
		return mvm_vcpu_get_cpuid(vcpu, argp);
	case MVM_SET_CPUID:
		return mvm_vcpu_set_cpuid(vcpu, argp);
	case MVM_GET_VCPU_EVENTS:
		return mvm_vcpu_get_events(vcpu, argp);
	case MVM_SET_VCPU_EVENTS:
		return mvm_vcpu_set_events(vcpu, argp);
	default:
		return -ENOTTY;
	}
}

/*
 * Once the reboot notifier has switched virtualization off, the backend's
 * state is out of reach (VMX keeps it in the VMCS, behind VMPTRLD): EIO,
 * before the ioctl and, if it switched off meanwhile, after it.
 */
long mvm_vcpu_state_ioctl(struct mvm_vcpu *vcpu, unsigned int cmd,
			  void __user *argp)
{
	long r;

	if (!mvm_hw_usable())
		return -EIO;
	r = mvm_vcpu_state_cmd(vcpu, cmd, argp);
	if (r != -ENOTTY && !mvm_hw_usable())
		return -EIO;
	return r;
}

/* At load: what the guest's FPU may hold, and the supported CPUID. */
int mvm_vcpu_module_init(void)
{
	u8 fx[512] __aligned(16) = { };
	unsigned int i;
	u32 eax, ebx, ecx, edx;

	if (!boot_cpu_has(X86_FEATURE_XSAVE) ||
	    !boot_cpu_has(X86_FEATURE_OSXSAVE))
		return -EOPNOTSUPP;

	mvm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	mvm_xcr0_supported = mvm_host_xcr0 &
			     (XF_X87 | XF_SSE | XF_AVX | XF_AVX512);
	if (mvm_xcr0_supported & XF_AVX512 &&
	    (mvm_xcr0_supported & XF_AVX512) != XF_AVX512)
		mvm_xcr0_supported &= ~XF_AVX512;

	/* The largest standard-format area, over the features we allow. */
	mvm_xsave_size = 576;
	for (i = 2; i < 64; i++) {
		if (!(mvm_xcr0_supported & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		mvm_xsave_size = max(mvm_xsave_size, eax + ebx);
	}
	if (mvm_xsave_size > PAGE_SIZE) {
		mvm_xcr0_supported &= ~XF_AVX512;
		mvm_xsave_size = 1024;
	}

	/* SDM vol. 1, 11.6.6: MXCSR_MASK, 0 meaning 0xffbf. */
	kernel_fpu_begin();
	asm volatile("fxsave %0" : "=m" (fx));
	kernel_fpu_end();
	mvm_mxcsr_mask = *(u32 *)(fx + 28) ?: 0xffbf;

	return mvm_cpuid_init(mvm_xcr0_supported, mvm_xsave_size);
}

void mvm_vcpu_module_exit(void)
{
	mvm_cpuid_exit();
}
