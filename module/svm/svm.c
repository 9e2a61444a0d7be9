// SPDX-License-Identifier: GPL-2.0
/*
 * The AMD SVM backend.
 *
 * References are to the AMD64 Architecture Programmer's Manual, Volume 2
 * (APM), chapter 15, "Secure Virtual Machine".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/svm.h>
#include <asm/traps.h>

#include <linux/mvm.h>
#include "mvm.h"
#include "svm_vmrun.h"

/* APM 15.30.1: VM_CR MSR. */
#define MVM_SVM_VM_CR_SVMDIS	BIT_ULL(4)

/* Appendix C, "SVM intercept exit codes", beyond what asm/svm.h names. */
#define MVM_SVM_EXIT_INVLPGB		0xa0
#define MVM_SVM_EXIT_INVLPGB_ILLEGAL	0xa1
#define MVM_SVM_EXIT_MCOMMIT		0xa3
#define MVM_SVM_EXIT_TLBSYNC		0xa4

/* Reset values: DR7 (APM vol. 2, 13.1.1.5) and PAT (7.8.2). */
#define MVM_DR7_RESET		0x400ULL
#define MVM_PAT_RESET		0x0007040600070406ULL

/*
 * The host state-save area that VMRUN writes and #VMEXIT reads, one page per
 * CPU, named by VM_HSAVE_PA (APM 15.30.4).
 */
static DEFINE_PER_CPU(struct page *, svm_hsave_page);

/*
 * ASIDs (APM 15.16): each CPU hands them out in generations; a vCPU that
 * moves to another CPU, or must flush, takes a fresh one, and a CPU that
 * runs out, or on which mvm has just switched SVM on, starts a new
 * generation with a flush of all ASIDs.  ASID 0 is the host's.
 */
struct svm_asids {
	u64 generation;
	u32 next;
};

static DEFINE_PER_CPU(struct svm_asids, svm_asids);
static u32 svm_max_asid;
static bool svm_has_nrips;
/* The CPU has RDTSCP or RDPID: the guest's TSC_AUX is loaded around VMRUN. */
static bool svm_swap_tsc_aux;

/*
 * The permission maps (APM 15.10.1, 15.11): a set bit intercepts.  One of
 * each serves every vCPU: all ports intercepted, and every MSR but the
 * short list in svm_msrpm_allow, which VMLOAD/VMSAVE swap anyway.
 */
#define SVM_IOPM_ORDER	2	/* 12 KiB used */
#define SVM_MSRPM_ORDER	1	/* 8 KiB */
static struct page *svm_iopm, *svm_msrpm;

static const u32 svm_msrpm_allow[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

struct svm_vcpu {
	struct mvm_vcpu vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	void *host_save;
	u64 host_save_pa;
	/* By MVM_GPR_* (regs.h); RAX and RSP live in the VMCB. */
	u64 gprs[MVM_NR_GPRS];
	u32 asid;
	int asid_cpu;
	u64 asid_generation;
	u64 tsc_aux;
	/* NMIs blocked: one was injected and its handler's IRET is not done. */
	bool nmi_masked;
	/* That IRET was intercepted at nmi_iret_rip, and has yet to run. */
	bool nmi_iret;
	u64 nmi_iret_rip;
	/* Single-stepping over it: the guest's own TF and DR6 from before. */
	bool nmi_step;
	bool nmi_step_tf;
	u64 nmi_step_dr6;
	/*
	 * DR0-3 accesses and DR7 writes exit until the guest's first, which
	 * lets them through for one run (svm_load_guest_debug()).
	 */
	bool dr_pass;
	/* The guest's state as the last VMRUN found it: svm_vmcb_clobbered() */
	struct vmcb_save_area entry_save;
	u64 entry_gprs[MVM_NR_GPRS];
	u32 entry_event_inj;
	u32 entry_event_inj_err;
	u32 entry_int_state;
	bool shadow_kept_intr;	/* svm_keep_shadow() after an INTR exit */
	u32 entry_int_ctl;
};

static struct svm_vcpu *to_svm(struct mvm_vcpu *vcpu)
{
	return container_of(vcpu, struct svm_vcpu, vcpu);
}

static int svm_probe(const char **why)
{
	u64 vm_cr;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_AMD &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_HYGON) {
		*why = "not an AMD CPU";
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		*why = "CPU has no SVM";
		return -ENODEV;
	}
	/* APM 15.4: SVMDIS set by the firmware makes EFER.SVME read-only 0. */
	if (rdmsrl_safe(MSR_VM_CR, &vm_cr) || (vm_cr & MVM_SVM_VM_CR_SVMDIS)) {
		*why = "SVM disabled by the BIOS (VM_CR.SVMDIS)";
		return -EOPNOTSUPP;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		*why = "CPU has SVM but no nested paging";
		return -ENODEV;
	}
	return 0;
}

/* APM 15.11: three 2 KiB ranges, two bits (read, write) per MSR. */
static void svm_msrpm_clear(u8 *pm, u32 msr)
{
	int range = mvm_msr_range(msr);
	u32 n = msr & 0x1fff;

	if (range >= 0)
		pm[range * 0x800 + n / 4] &= ~(3 << (2 * (n % 4)));
}

static int svm_setup(void)
{
	unsigned int i;
	int r;

	svm_max_asid = cpuid_ebx(0x8000000a) - 1;
	svm_has_nrips = boot_cpu_has(X86_FEATURE_NRIPS);
	svm_swap_tsc_aux = boot_cpu_has(X86_FEATURE_RDTSCP) ||
			   boot_cpu_has(X86_FEATURE_RDPID);
	mvm_pt_levels = pgtable_l5_enabled() ? 5 : 4;
	if (!svm_max_asid)
		return -ENODEV;

	svm_iopm = alloc_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, SVM_MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm) {
		r = -ENOMEM;
		goto err;
	}
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << SVM_MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(svm_msrpm_allow); i++)
		svm_msrpm_clear(page_address(svm_msrpm), svm_msrpm_allow[i]);

	r = mvm_alloc_cpu_pages(&svm_hsave_page);
	if (r)
		goto err;
	return 0;
err:
	if (svm_iopm)
		__free_pages(svm_iopm, SVM_IOPM_ORDER);
	if (svm_msrpm)
		__free_pages(svm_msrpm, SVM_MSRPM_ORDER);
	return r;
}

static void svm_unsetup(void)
{
	mvm_free_cpu_pages(&svm_hsave_page);
	__free_pages(svm_iopm, SVM_IOPM_ORDER);
	__free_pages(svm_msrpm, SVM_MSRPM_ORDER);
}

/*
 * Whoever had SVM on this CPU since mvm last did (kvm_amd, between two mvm
 * VMs) may have left translations tagged with ASIDs that mvm hands out
 * again.  So the generation ends whenever mvm switches SVM on: every
 * vCPU's ASID here is stale, and the next VMRUN starts a new generation
 * with a flush of all ASIDs (15.16.1).
 */
static void svm_new_asid_generation(void)
{
	struct svm_asids *a = this_cpu_ptr(&svm_asids);

	a->generation++;
	a->next = svm_max_asid + 1;
}

static int svm_cpu_enable(void)
{
	u64 efer;

	/*
	 * Another hypervisor (kvm_amd) set SVME: the CPU is its own, and its
	 * VM_HSAVE_PA must not be touched.
	 */
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;

	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(__this_cpu_read(svm_hsave_page)));
	svm_new_asid_generation();
	return 0;
}

static void svm_cpu_disable(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

/* NPT entries are ordinary long-mode entries, user and present (15.25.5). */
static u64 svm_pte(u64 pfn, int level, bool leaf, bool writable)
{
	u64 e = (pfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_USER |
		_PAGE_ACCESSED;

	if (!leaf || writable)
		e |= _PAGE_RW;
	if (leaf)
		e |= _PAGE_DIRTY;
	if (leaf && level == 2)
		e |= _PAGE_PSE;
	return e;
}

/* Segments: struct mvm_segment and the VMCB attribute word (15.5.1). */
static void svm_seg_set(struct vmcb_seg *v, const struct mvm_segment *s)
{
	v->selector = s->selector;
	v->base = s->base;
	v->limit = s->limit;
	v->attrib = s->type | s->s << 4 | s->dpl << 5 |
		    (s->present && !s->unusable) << 7 | s->avl << 8 |
		    s->l << 9 | s->db << 10 | s->g << 11;
}

static void svm_seg_get(const struct vmcb_seg *v, struct mvm_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->selector = v->selector;
	s->base = v->base;
	s->limit = v->limit;
	s->type = v->attrib & 15;
	s->s = (v->attrib >> 4) & 1;
	s->dpl = (v->attrib >> 5) & 3;
	s->present = (v->attrib >> 7) & 1;
	s->avl = (v->attrib >> 8) & 1;
	s->l = (v->attrib >> 9) & 1;
	s->db = (v->attrib >> 10) & 1;
	s->g = (v->attrib >> 11) & 1;
	s->unusable = !s->present;
}

static void svm_set_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
}

static void svm_clr_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] &= ~BIT(bit % 32);
}

/*
 * Deny by default: everything a guest could use to reach the host or run
 * SVM itself exits.  What the guest may do natively is what the VMCB swaps
 * (control registers, segment state, DR6/DR7) or what is harmless.
 */
static const int svm_intercepts[] = {
	INTERCEPT_EXCEPTION_OFFSET + DB_VECTOR,	/* #DB/#AC loops: 15.12 */
	INTERCEPT_EXCEPTION_OFFSET + AC_VECTOR,
	INTERCEPT_EXCEPTION_OFFSET + MC_VECTOR,	/* the host's to handle */
	INTERCEPT_EXCEPTION_OFFSET + UD_VECTOR,
	INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_INIT,
	INTERCEPT_RDPMC, INTERCEPT_CPUID, INTERCEPT_RSM, INTERCEPT_INVD,
	INTERCEPT_HLT, INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT,
	INTERCEPT_MSR_PROT, INTERCEPT_SHUTDOWN, INTERCEPT_FERR_FREEZE,
	INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
	INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI, INTERCEPT_SKINIT,
	INTERCEPT_RDTSCP, INTERCEPT_WBINVD, INTERCEPT_MONITOR,
	INTERCEPT_MWAIT, INTERCEPT_MWAIT_COND, INTERCEPT_XSETBV,
	INTERCEPT_RDPRU, INTERCEPT_INVLPGB, INTERCEPT_INVLPGB_ILLEGAL,
	INTERCEPT_MCOMMIT, INTERCEPT_TLBSYNC,
};

/*
 * DR0-3 are not in the VMCB: mvm loads the guest's only for a run that may
 * see them (svm_load_guest_debug()), and until the guest uses them, these
 * exit (APM vol. 2, 15.9, "Debug Register Intercepts").  DR7 writes too,
 * since one may enable a breakpoint at an address userspace set.
 */
static const int svm_dr_intercepts[] = {
	INTERCEPT_DR0_READ, INTERCEPT_DR1_READ, INTERCEPT_DR2_READ,
	INTERCEPT_DR3_READ, INTERCEPT_DR0_WRITE, INTERCEPT_DR1_WRITE,
	INTERCEPT_DR2_WRITE, INTERCEPT_DR3_WRITE, INTERCEPT_DR7_WRITE,
};

static void svm_intercept_dr(struct vmcb *vmcb, bool on)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(svm_dr_intercepts); i++) {
		if (on)
			svm_set_intercept(vmcb, svm_dr_intercepts[i]);
		else
			svm_clr_intercept(vmcb, svm_dr_intercepts[i]);
	}
}

/* The architectural reset state (APM vol. 2, 14.1.3). */
static void svm_vmcb_reset(struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_save_area *save = &vmcb->save;
	struct vmcb_control_area *c = &vmcb->control;
	struct mvm_segment data = {
		.limit = 0xffff, .type = 3, .s = 1, .present = 1,
	};
	struct mvm_segment code = data;
	unsigned int i;

	memset(vmcb, 0, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(svm_intercepts); i++)
		svm_set_intercept(vmcb, svm_intercepts[i]);
	svm_intercept_dr(vmcb, true);
	svm->dr_pass = false;
	/* With its own TSC_AUX in the CPU, the guest's RDTSCP runs natively. */
	if (svm_swap_tsc_aux)
		svm_clr_intercept(vmcb, INTERCEPT_RDTSCP);
	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = page_to_phys(svm_msrpm);
	/* 15.21.1: the guest's IF masks only virtual interrupts. */
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = mvm_mmu_root_pa(svm->vcpu.vm);

	code.type = 0xb;
	code.selector = 0xf000;
	code.base = 0xffff0000;
	svm_seg_set(&save->cs, &code);
	svm_seg_set(&save->ds, &data);
	svm_seg_set(&save->es, &data);
	svm_seg_set(&save->ss, &data);
	svm_seg_set(&save->fs, &data);
	svm_seg_set(&save->gs, &data);
	save->gdtr.limit = 0xffff;
	save->idtr.limit = 0xffff;
	save->ldtr.limit = 0xffff;
	save->ldtr.attrib = 0x82;
	save->tr.limit = 0xffff;
	save->tr.attrib = 0x8b;

	save->efer = EFER_SVME;
	save->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	save->dr6 = DR6_RESERVED;
	save->dr7 = MVM_DR7_RESET;
	save->rflags = X86_EFLAGS_FIXED;
	save->rip = 0xfff0;
	save->g_pat = MVM_PAT_RESET;

	memset(svm->gprs, 0, sizeof(svm->gprs));
	svm->nmi_masked = false;
	svm->nmi_iret = false;
	svm->nmi_step = false;
	/* Force a fresh ASID at the next entry. */
	svm->asid_generation = 0;
}

static struct mvm_vcpu *svm_vcpu_alloc(struct mvm_vm *vm, u32 id)
{
	struct svm_vcpu *svm;
	struct page *vmcb, *hs;
	int r = -ENOMEM;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return ERR_PTR(-ENOMEM);
	vmcb = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	hs = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vmcb || !hs)
		goto err;
	svm->vmcb = page_address(vmcb);
	svm->vmcb_pa = page_to_phys(vmcb);
	svm->host_save = page_address(hs);
	svm->host_save_pa = page_to_phys(hs);
	svm->asid_cpu = -1;

	r = mvm_vcpu_init_common(&svm->vcpu, vm, id);
	if (r)
		goto err;
	svm_vmcb_reset(svm);
	return &svm->vcpu;
err:
	if (vmcb)
		__free_page(vmcb);
	if (hs)
		__free_page(hs);
	kfree(svm);
	return ERR_PTR(r);
}

static void svm_vcpu_free(struct mvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	free_page((unsigned long)svm->vmcb);
	free_page((unsigned long)svm->host_save);
	kfree(svm);
}

/* State ioctls. */

static void svm_get_regs(struct mvm_vcpu *vcpu, struct mvm_regs *r)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	mvm_regs_from_gprs(r, svm->gprs);
	r->rax = svm->vmcb->save.rax;
	r->rsp = svm->vmcb->save.rsp;
	r->rip = svm->vmcb->save.rip;
	r->rflags = svm->vmcb->save.rflags;
	/* svm_nmi_step()'s TF, if an entry it was set for did not happen. */
	if (svm->nmi_step && !svm->nmi_step_tf)
		r->rflags &= ~X86_EFLAGS_TF;
}

static void svm_set_regs(struct mvm_vcpu *vcpu, const struct mvm_regs *r)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	mvm_regs_to_gprs(svm->gprs, r);
	svm->vmcb->save.rax = r->rax;
	svm->vmcb->save.rsp = r->rsp;
	/* An emulated instruction completed: its interrupt shadow is over. */
	if (svm->vmcb->save.rip != r->rip)
		svm->vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	svm->vmcb->save.rip = r->rip;
	svm->vmcb->save.rflags = r->rflags;
	if (svm->nmi_step) {
		svm->nmi_step_tf = r->rflags & X86_EFLAGS_TF;
		svm->vmcb->save.rflags |= X86_EFLAGS_TF;
	}
}

static void svm_get_sregs(struct mvm_vcpu *vcpu, struct mvm_sregs *s)
{
	const struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	memset(s, 0, sizeof(*s));
	svm_seg_get(&save->cs, &s->cs);
	svm_seg_get(&save->ds, &s->ds);
	svm_seg_get(&save->es, &s->es);
	svm_seg_get(&save->fs, &s->fs);
	svm_seg_get(&save->gs, &s->gs);
	svm_seg_get(&save->ss, &s->ss);
	svm_seg_get(&save->tr, &s->tr);
	svm_seg_get(&save->ldtr, &s->ldt);
	s->gdt.base = save->gdtr.base;
	s->gdt.limit = save->gdtr.limit;
	s->idt.base = save->idtr.base;
	s->idt.limit = save->idtr.limit;
	s->cr0 = save->cr0;
	s->cr2 = save->cr2;
	s->cr3 = save->cr3;
	s->cr4 = save->cr4;
	s->cr8 = to_svm(vcpu)->vmcb->control.int_ctl & V_TPR_MASK;
	s->efer = save->efer & ~EFER_SVME;
}

static void svm_set_sregs(struct mvm_vcpu *vcpu, const struct mvm_sregs *s)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save_area *save = &vmcb->save;

	svm_seg_set(&save->cs, &s->cs);
	svm_seg_set(&save->ds, &s->ds);
	svm_seg_set(&save->es, &s->es);
	svm_seg_set(&save->fs, &s->fs);
	svm_seg_set(&save->gs, &s->gs);
	svm_seg_set(&save->ss, &s->ss);
	svm_seg_set(&save->tr, &s->tr);
	svm_seg_set(&save->ldtr, &s->ldt);
	save->gdtr.base = s->gdt.base;
	save->gdtr.limit = s->gdt.limit;
	save->idtr.base = s->idt.base;
	save->idtr.limit = s->idt.limit;
	save->cr0 = s->cr0;
	save->cr2 = s->cr2;
	save->cr3 = s->cr3;
	save->cr4 = s->cr4;
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
				(s->cr8 & V_TPR_MASK);
	/* 15.5.1: VMRUN wants EFER.SVME set; the guest never sees it. */
	save->efer = s->efer | EFER_SVME;
	/* 15.5.1: CPL is SS.DPL in protected mode, 0 in real mode. */
	save->cpl = (s->cr0 & X86_CR0_PE) ? s->ss.dpl : 0;
}

/*
 * The MSRs that are plain fields of the VMCB's save area, each a quadword
 * (APM vol. 2, table B-2).
 */
#define SVM_SAVE_MSR(msr, field) \
	{ msr, offsetof(struct vmcb_save_area, field) }

static const struct {
	u32 index;
	u16 offset;
} svm_save_msrs[] = {
	SVM_SAVE_MSR(MSR_IA32_SYSENTER_CS, sysenter_cs),
	SVM_SAVE_MSR(MSR_IA32_SYSENTER_ESP, sysenter_esp),
	SVM_SAVE_MSR(MSR_IA32_SYSENTER_EIP, sysenter_eip),
	SVM_SAVE_MSR(MSR_STAR, star),
	SVM_SAVE_MSR(MSR_LSTAR, lstar),
	SVM_SAVE_MSR(MSR_CSTAR, cstar),
	SVM_SAVE_MSR(MSR_SYSCALL_MASK, sfmask),
	SVM_SAVE_MSR(MSR_KERNEL_GS_BASE, kernel_gs_base),
	SVM_SAVE_MSR(MSR_IA32_CR_PAT, g_pat),
};

static u64 *svm_save_msr(struct vmcb_save_area *save, u32 index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(svm_save_msrs); i++)
		if (svm_save_msrs[i].index == index)
			return (void *)save + svm_save_msrs[i].offset;
	return NULL;
}

/*
 * Events.  EVENTINJ holds the one event the next VMRUN delivers (15.20):
 * what mvm injected, or what an exit cut short (svm_reinject()).  The
 * VMCB has one interrupt shadow bit for STI and MOV SS alike (15.21.5):
 * with IF clear it can only be MOV SS's, with IF set it is reported as
 * STI's.  NMI masking is mvm's own (svm_inject_nmi()): blocked from
 * the injection until the handler's IRET has run.
 */
static void svm_get_events(struct mvm_vcpu *vcpu, struct mvm_vcpu_events *ev)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_control_area *c = &svm->vmcb->control;
	const struct vmcb_save_area *save = &svm->vmcb->save;
	u32 inj = c->event_inj;
	u8 vector = inj & SVM_EVTINJ_VEC_MASK;

	if (inj & SVM_EVTINJ_VALID) {
		switch (inj & SVM_EVTINJ_TYPE_MASK) {
		case SVM_EVTINJ_TYPE_EXEPT:
			ev->exception.injected = 1;
			ev->exception.vector = vector;
			if (inj & SVM_EVTINJ_VALID_ERR) {
				ev->exception.has_error = 1;
				ev->exception.error_code = c->event_inj_err;
			}
			break;
		case SVM_EVTINJ_TYPE_INTR:
			ev->interrupt.injected = 1;
			ev->interrupt.vector = vector;
			break;
		case SVM_EVTINJ_TYPE_NMI:
			ev->nmi.injected = 1;
			break;
		}
	}
	if (c->int_state & SVM_INTERRUPT_SHADOW_MASK)
		ev->interrupt.shadow = save->rflags & X86_EFLAGS_IF ?
				       MVM_SHADOW_STI : MVM_SHADOW_MOV_SS;
	/* Past the intercepted IRET, NMIs are open (svm_vcpu_run()). */
	ev->nmi.masked = svm->nmi_masked &&
			 !(svm->nmi_iret && save->rip != svm->nmi_iret_rip);
}

static void svm_set_events(struct mvm_vcpu *vcpu,
			   const struct mvm_vcpu_events *ev)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control_area *c = &vmcb->control;
	u32 inj = 0, err = 0;

	if (ev->exception.injected) {
		inj = ev->exception.vector | SVM_EVTINJ_TYPE_EXEPT;
		if (ev->exception.has_error) {
			inj |= SVM_EVTINJ_VALID_ERR;
			err = ev->exception.error_code;
		}
	} else if (ev->interrupt.injected) {
		inj = ev->interrupt.vector | SVM_EVTINJ_TYPE_INTR;
	} else if (ev->nmi.injected) {
		inj = NMI_VECTOR | SVM_EVTINJ_TYPE_NMI;
	}
	c->event_inj = inj ? inj | SVM_EVTINJ_VALID : 0;
	c->event_inj_err = err;

	if (ev->interrupt.shadow)
		c->int_state |= SVM_INTERRUPT_SHADOW_MASK;
	else
		c->int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	/* Userspace set the shadow: no INTR exit has kept it yet. */
	svm->shadow_kept_intr = false;

	/* An IRET step that had not started yet: the guest's own TF back. */
	if (svm->nmi_step && !svm->nmi_step_tf)
		vmcb->save.rflags &= ~X86_EFLAGS_TF;
	svm->nmi_step = false;
	svm->nmi_iret = false;
	/* An injected NMI blocks NMIs from its delivery on. */
	svm->nmi_masked = ev->nmi.masked || ev->nmi.injected;
	if (svm->nmi_masked)
		svm_set_intercept(vmcb, INTERCEPT_IRET);
	else
		svm_clr_intercept(vmcb, INTERCEPT_IRET);
}

static int svm_get_msr(struct mvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *save = &svm->vmcb->save;
	u64 *field = svm_save_msr(save, index);

	if (field)
		*data = *field;
	else if (index == MSR_EFER)
		*data = save->efer & ~EFER_SVME;
	else if (index == MSR_IA32_TSC)
		*data = rdtsc() + svm->vmcb->control.tsc_offset;
	else if (index == MSR_TSC_AUX)
		*data = svm->tsc_aux;
	else
		return -EINVAL;
	return 0;
}

static int svm_set_msr(struct mvm_vcpu *vcpu, u32 index, u64 data)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *save = &svm->vmcb->save;
	u64 *field = svm_save_msr(save, index);

	if (field) {
		*field = data;
	} else if (index == MSR_EFER) {
		/* APM vol. 2, 3.1.7: LME cannot change while paging is on. */
		if (((data ^ save->efer) & EFER_LME) &&
		    (save->cr0 & X86_CR0_PG))
			return -EINVAL;
		save->efer = (data & ~EFER_LMA) | (save->efer & EFER_LMA) |
			     EFER_SVME;
	} else if (index == MSR_IA32_TSC) {
		svm->vmcb->control.tsc_offset = data - rdtsc();
	} else if (index == MSR_TSC_AUX) {
		svm->tsc_aux = data;
	} else {
		return -EINVAL;
	}
	return 0;
}

static void svm_get_debugregs(struct mvm_vcpu *vcpu, struct mvm_debugregs *d)
{
	d->dr6 = to_svm(vcpu)->vmcb->save.dr6;
	d->dr7 = to_svm(vcpu)->vmcb->save.dr7;
}

static void svm_set_debugregs(struct mvm_vcpu *vcpu,
			      const struct mvm_debugregs *d)
{
	to_svm(vcpu)->vmcb->save.dr6 = d->dr6 | DR6_RESERVED;
	to_svm(vcpu)->vmcb->save.dr7 = d->dr7 | MVM_DR7_RESET;
}

static void svm_queue_exception(struct mvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error, u64 cr2)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	/* Real mode pushes no error code (APM vol. 2, 8.2 and 15.20). */
	if (!(vmcb->save.cr0 & X86_CR0_PE))
		has_error = false;
	vmcb->control.event_inj = vector | SVM_EVTINJ_TYPE_EXEPT |
				  SVM_EVTINJ_VALID |
				  (has_error ? SVM_EVTINJ_VALID_ERR : 0);
	vmcb->control.event_inj_err = error;
	if (vector == PF_VECTOR)
		vmcb->save.cr2 = cr2;
}

/* The run loop. */

/* Give the vCPU a fresh ASID if it moved, or must flush (15.16.1). */
static void svm_pick_asid(struct svm_vcpu *svm, int cpu, bool flush)
{
	struct svm_asids *a = this_cpu_ptr(&svm_asids);
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->tlb_ctl = TLB_CONTROL_DO_NOTHING;
	if (!flush && svm->asid_cpu == cpu &&
	    svm->asid_generation == a->generation && a->generation)
		return;
	if (!a->generation || a->next > svm_max_asid) {
		a->generation++;
		a->next = 1;
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
		pr_debug("cpu %d: ASID generation %llu, flushing all ASIDs\n",
			 cpu, a->generation);
	}
	svm->asid = a->next++;
	svm->asid_generation = a->generation;
	svm->asid_cpu = cpu;
	c->asid = svm->asid;
	/* Another CPU's cached VMCB state is stale here (15.15). */
	c->clean = 0;
}

static void svm_nmi_unmask(struct svm_vcpu *svm)
{
	svm->nmi_masked = false;
	svm->nmi_iret = false;
}

/*
 * An NMI is pending and the IRET that unblocks NMIs (APM vol. 2, 8.2.3)
 * has exited but not run: the intercept comes before the instruction
 * (15.7), so unmasking there would let the NMI in on the old handler's
 * frame.  Run the IRET with TF set instead: its single-step trap, a #DB
 * exit, comes right after it (the trap follows TF as it was before the
 * instruction, whatever RFLAGS the IRET loads).
 */
static void svm_nmi_step(struct svm_vcpu *svm)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	if (svm->nmi_step)
		return;
	svm->nmi_step = true;
	svm->nmi_step_tf = save->rflags & X86_EFLAGS_TF;
	svm->nmi_step_dr6 = save->dr6;
	save->rflags |= X86_EFLAGS_TF;
}

/*
 * The first exit after svm_nmi_step(): hide the step from the guest.
 * Returns true if the exit is the step's own #DB, which the guest must not
 * see.
 */
static bool svm_nmi_step_end(struct svm_vcpu *svm, u64 code)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	svm->nmi_step = false;
	if (save->rip == svm->nmi_iret_rip) {
		/* Out before the IRET ran (an interrupt, a fault on its stack). */
		if (!svm->nmi_step_tf)
			save->rflags &= ~X86_EFLAGS_TF;
		return false;
	}
	/*
	 * Past it: the IRET loaded the guest's RFLAGS, and NMIs are open.
	 * (An IRET that faulted went into the guest's handler with our TF in
	 * the frame it pushed: a guest with a broken NMI frame may see one
	 * #DB more.)
	 */
	svm_nmi_unmask(svm);
	if (code != SVM_EXIT_EXCP_BASE + DB_VECTOR)
		return false;
	/* A #DB the guest asked for, by its own TF or a breakpoint: its. */
	if (svm->nmi_step_tf ||
	    (save->dr6 & ~svm->nmi_step_dr6 & DR_TRAP_BITS)) {
		if (!svm->nmi_step_tf)
			save->dr6 &= ~(u64)DR_STEP;
		return false;
	}
	save->dr6 = svm->nmi_step_dr6;
	return true;
}

/*
 * The event primitives for events.c.  An NMI, or an interrupt the guest
 * can take now, goes into EVENTINJ; for one that must wait, the window is
 * a virtual interrupt request with VINTR intercepted (APM 15.21.4), or for
 * an NMI the handler's IRET (intercepted from the NMI's injection on, then
 * stepped: svm_nmi_step()).
 */
static bool svm_event_free(const struct vmcb *vmcb)
{
	return !(vmcb->control.event_inj & SVM_EVTINJ_VALID) &&
	       !(vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK);
}

static bool svm_nmi_allowed(struct mvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	return svm_event_free(svm->vmcb) && !svm->nmi_masked;
}

/*
 * Not at an NMI handler's IRET with an NMI pending: the IRET runs first,
 * stepped, and the NMI comes right after it.
 */
static bool svm_interrupt_allowed(struct mvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	return svm_event_free(svm->vmcb) &&
	       (svm->vmcb->save.rflags & X86_EFLAGS_IF) &&
	       !(svm->nmi_iret && vcpu->saw_nmi);
}

static void svm_inject_nmi(struct mvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->vmcb->control.event_inj = NMI_VECTOR | SVM_EVTINJ_TYPE_NMI |
				       SVM_EVTINJ_VALID;
	/* NMIs stay blocked until the handler's IRET. */
	svm->nmi_masked = true;
	svm_set_intercept(svm->vmcb, INTERCEPT_IRET);
}

static void svm_inject_irq(struct mvm_vcpu *vcpu, u8 vector)
{
	to_svm(vcpu)->vmcb->control.event_inj = vector | SVM_EVTINJ_TYPE_INTR |
						SVM_EVTINJ_VALID;
}

/*
 * NMIs blocked: the IRET intercept is the window.  Once it has exited, the
 * IRET runs stepped (svm_nmi_step()), unless EVENTINJ holds an event to
 * deliver first.
 */
static void svm_enable_nmi_window(struct mvm_vcpu *vcpu, bool on)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (on && svm->nmi_iret &&
	    !(svm->vmcb->control.event_inj & SVM_EVTINJ_VALID))
		svm_nmi_step(svm);
}

/*
 * The VINTR exit turns the request off again (svm_exit_own()).  None while
 * an IRET is stepped: the request would be taken before the IRET runs, and
 * the step's #DB exit comes right after it anyway.
 */
static void svm_enable_irq_window(struct mvm_vcpu *vcpu, bool on)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	if (!on || svm->nmi_step)
		return;
	vmcb->control.int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK |
				 (0xf << V_INTR_PRIO_SHIFT);
	svm_set_intercept(vmcb, INTERCEPT_VINTR);
}

/* DR7's enable bits, L0-L3 and G0-G3. */
#define MVM_DR7_ENABLES		0xffULL

/*
 * DR6 and DR7 travel in the VMCB; the guest's DR0-3 go into the CPU only
 * for a run where the guest can see them: its DR7 enables a breakpoint, or
 * its first access turned the DR intercepts off for this run
 * (svm_dr_exit()).  Otherwise the host's stay, and need no restoring.
 * Returns whether they were loaded; *@host_dr6 is the host's DR6.
 */
static bool svm_load_guest_debug(struct svm_vcpu *svm, unsigned long *host_dr6)
{
	const u64 *db = svm->vcpu.db;

	/*
	 * With the host's DR7 live, a guest address in DR0-3 would be a host
	 * breakpoint until VMRUN loads the guest's DR7: off with them first.
	 */
	if (hw_breakpoint_active())
		set_debugreg(MVM_DR7_RESET, 7);
	get_debugreg(*host_dr6, 6);
	if (!svm->dr_pass && !(svm->vmcb->save.dr7 & MVM_DR7_ENABLES))
		return false;
	set_debugreg(db[0], 0);
	set_debugreg(db[1], 1);
	set_debugreg(db[2], 2);
	set_debugreg(db[3], 3);
	return true;
}

static void svm_put_guest_debug(struct svm_vcpu *svm, unsigned long host_dr6,
				bool guest_dr)
{
	u64 *db = svm->vcpu.db;

	if (guest_dr) {
		get_debugreg(db[0], 0);
		get_debugreg(db[1], 1);
		get_debugreg(db[2], 2);
		get_debugreg(db[3], 3);
	}
	/* Read back: the next access exits again, as the first did. */
	if (svm->dr_pass) {
		svm->dr_pass = false;
		svm_intercept_dr(svm->vmcb, true);
	}
	/*
	 * VMRUN does not save the host's DR6 (15.5.1), and #VMEXIT leaves
	 * the guest's in the CPU, where the host's next #DB would read it.
	 */
	if (svm->vmcb->save.dr6 != host_dr6)
		set_debugreg(host_dr6, 6);
	/*
	 * #VMEXIT disables the host's breakpoints in DR7 (15.6): back.  With
	 * none enabled, what DR0-3 hold does not matter to the host.
	 */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
}

/*
 * The guest's first DR0-3 access or DR7 write since its DR0-3 were last
 * read back: it runs the instruction again itself, with the intercepts off
 * and its DR0-3 in the CPU, as KVM lets it.  RIP is still at the
 * instruction (intercepts are checked before it runs).
 */
static bool svm_dr_exit(struct svm_vcpu *svm)
{
	u32 code = svm->vmcb->control.exit_code;

	if ((code < SVM_EXIT_READ_DR0 || code > SVM_EXIT_READ_DR3) &&
	    (code < SVM_EXIT_WRITE_DR0 || code > SVM_EXIT_WRITE_DR3) &&
	    code != SVM_EXIT_WRITE_DR7)
		return false;
	svm->dr_pass = true;
	svm_intercept_dr(svm->vmcb, false);
	return true;
}

/*
 * Enter the guest once.  Returns 0 after its exit, -EAGAIN when an event
 * came too late for this entry and the guest did not run, or -EIO.
 */
static int svm_enter(struct svm_vcpu *svm)
{
	struct mvm_vcpu *vcpu = &svm->vcpu;
	unsigned long host_dr6;
	bool flush, guest_dr;
	u32 host_pkru = 0;
	int cpu;

	kernel_fpu_begin();
	local_irq_disable();
	if (!mvm_hw_cpu_enabled()) {
		local_irq_enable();
		kernel_fpu_end();
		return -EIO;
	}
	cpu = smp_processor_id();
	WRITE_ONCE(vcpu->cpu, cpu);
	WRITE_ONCE(vcpu->mode, MVM_IN_GUEST);
	/* Pairs with mvm_vcpu_kick(): see there. */
	smp_mb();
	if (mvm_events_must_retry(vcpu)) {
		WRITE_ONCE(vcpu->mode, MVM_OUTSIDE_GUEST);
		local_irq_enable();
		kernel_fpu_end();
		return -EAGAIN;
	}
	flush = test_and_clear_bit(MVM_REQ_TLB_FLUSH, &vcpu->requests);
	svm_pick_asid(svm, cpu, flush);
	mvm_rcu_guest_enter();

	/* 15.17: with GIF clear, no NMI runs on the host with guest state. */
	asm volatile("clgi" ::: "memory");
	mvm_fpu_load(vcpu);
	guest_dr = svm_load_guest_debug(svm, &host_dr6);
	if (boot_cpu_has(X86_FEATURE_OSPKE))
		host_pkru = rdpkru();
	/*
	 * RDPID reads TSC_AUX and cannot be intercepted, so the CPU holds the
	 * guest's while it runs.  The host's (Linux keeps the CPU number there
	 * for its vDSO) is back before this CPU returns to user mode (uret.c).
	 */
	if (svm_swap_tsc_aux)
		mvm_uret_set(MVM_URET_TSC_AUX, svm->tsc_aux);

	mvm_svm_vmrun(svm->vmcb_pa, svm->host_save_pa, svm->gprs);

	/* The guest may have set CR4.PKE and written PKRU. */
	if (boot_cpu_has(X86_FEATURE_OSPKE) && rdpkru() != host_pkru)
		wrpkru(host_pkru);
	svm_put_guest_debug(svm, host_dr6, guest_dr);
	mvm_fpu_put(vcpu);
	WRITE_ONCE(vcpu->mode, MVM_OUTSIDE_GUEST);
	asm volatile("stgi" ::: "memory");
	/*
	 * A machine check that exited the guest is handled as the host's #MC
	 * handler would have: on this CPU, whose banks hold it, and with
	 * interrupts still off.
	 */
	if (svm->vmcb->control.exit_code == SVM_EXIT_EXCP_BASE + MC_VECTOR)
		mvm_machine_check();
	mvm_uret_exit();
	local_irq_enable();
	kernel_fpu_end();
	return 0;
}

/* exit.c's primitives.  RAX and RSP live in the VMCB, the rest in gprs. */

static u64 svm_get_gpr(struct mvm_vcpu *vcpu, unsigned int reg)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (reg == MVM_GPR_RAX)
		return svm->vmcb->save.rax;
	if (reg == MVM_GPR_RSP)
		return svm->vmcb->save.rsp;
	return svm->gprs[reg % MVM_NR_GPRS];
}

static void svm_set_gpr(struct mvm_vcpu *vcpu, unsigned int reg, u64 val)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (reg == MVM_GPR_RAX)
		svm->vmcb->save.rax = val;
	else if (reg == MVM_GPR_RSP)
		svm->vmcb->save.rsp = val;
	else
		svm->gprs[reg % MVM_NR_GPRS] = val;
}

static void svm_skip(struct mvm_vcpu *vcpu, u64 next_rip)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	vmcb->save.rip = next_rip;
	vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

/*
 * The next RIP of an intercepted instruction, with NRIP save if the CPU
 * has it (15.7.1); QEMU's emulated SVM may not, and exit.c decodes then.
 */
static void svm_exit_next_rip(struct svm_vcpu *svm, struct mvm_exit *exit)
{
	u64 next_rip = svm->vmcb->control.next_rip;

	exit->skip_by_decode = !svm_has_nrips || !next_rip;
	exit->next_rip = next_rip;
}

/* APM 15.10.2: the IOIO exit's EXITINFO1. */
#define IOIO_IN		BIT(0)
#define IOIO_STR	BIT(2)
#define IOIO_REP	BIT(3)
#define IOIO_SZ_SHIFT	4

static void svm_decode_io(struct svm_vcpu *svm, struct mvm_exit *exit)
{
	u64 info = svm->vmcb->control.exit_info_1;

	exit->reason = MVM_VMEXIT_IO;
	exit->hw_info = info;
	/* The size is one-hot; EXITINFO2 has the next RIP without NRIPS. */
	exit->io.size = (info >> IOIO_SZ_SHIFT) & 7;
	exit->io.port = info >> 16;
	exit->io.in = info & IOIO_IN;
	exit->io.string = info & IOIO_STR;
	exit->io.rep = info & IOIO_REP;
	exit->next_rip = svm->vmcb->control.exit_info_2;
	exit->skip_by_decode = false;
}

/* APM 15.25.6: the nested page fault's EXITINFO1. */
#define NPF_WRITE	BIT_ULL(1)
#define NPF_IN_WALK	BIT_ULL(33)

static void svm_decode_npf(struct svm_vcpu *svm, struct mvm_exit *exit)
{
	u64 err = svm->vmcb->control.exit_info_1;

	exit->reason = MVM_VMEXIT_MMIO;
	exit->hw_info = err;
	exit->mmio.gpa = svm->vmcb->control.exit_info_2;
	exit->mmio.write = err & NPF_WRITE;
	exit->mmio.in_walk = err & NPF_IN_WALK;
}

/*
 * An exit while the CPU delivered an event (15.7.2): deliver it again,
 * unless it was a software interrupt, which the guest re-executes.
 */
static void svm_reinject(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_int_info;

	c->event_inj = 0;
	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	if ((info & SVM_EXITINTINFO_TYPE_MASK) == SVM_EXITINTINFO_TYPE_SOFT)
		return;
	/*
	 * An exception is a vector below 32 other than NMI's (15.20); VMRUN
	 * refuses any other as EVENTINJ.  No CPU reports one, but QEMU's TCG
	 * can, after it delivered an injected interrupt twice: drop it.
	 */
	if ((info & SVM_EXITINTINFO_TYPE_MASK) == SVM_EXITINTINFO_TYPE_EXEPT &&
	    ((info & SVM_EXITINTINFO_VEC_MASK) == NMI_VECTOR ||
	     (info & SVM_EXITINTINFO_VEC_MASK) >= 32))
		return;
	/* A re-delivered NMI keeps NMIs blocked, as its first delivery did. */
	c->event_inj = info;
	c->event_inj_err = c->exit_int_info_err;
}

/* What exit.c reports whatever the exit: RIP and MVM_RUN_IF_FLAG. */
static void svm_exit_state(struct svm_vcpu *svm, struct mvm_exit *exit)
{
	const struct vmcb *vmcb = svm->vmcb;

	exit->rip = vmcb->save.rip;
	exit->interruptible = (vmcb->save.rflags & X86_EFLAGS_IF) &&
			      !(vmcb->control.int_state &
				SVM_INTERRUPT_SHADOW_MASK);
}

/* The intercepts that are exit.c's, from svm_intercepts[]. */
static const u8 svm_exit_reasons[] = {
	[SVM_EXIT_CPUID] = MVM_VMEXIT_CPUID,
	[SVM_EXIT_HLT] = MVM_VMEXIT_HLT,
	[SVM_EXIT_XSETBV] = MVM_VMEXIT_XSETBV,
	[SVM_EXIT_RDTSCP] = MVM_VMEXIT_RDTSCP,
	[SVM_EXIT_INVD] = MVM_VMEXIT_INVD,
	[SVM_EXIT_WBINVD] = MVM_VMEXIT_WBINVD,
	/* Nothing the guest may run: as on a CPU without SVM. */
	[SVM_EXIT_EXCP_BASE + UD_VECTOR] = MVM_VMEXIT_UD,
	[SVM_EXIT_VMRUN] = MVM_VMEXIT_UD,
	[SVM_EXIT_VMMCALL] = MVM_VMEXIT_UD,
	[SVM_EXIT_VMLOAD] = MVM_VMEXIT_UD,
	[SVM_EXIT_VMSAVE] = MVM_VMEXIT_UD,
	[SVM_EXIT_STGI] = MVM_VMEXIT_UD,
	[SVM_EXIT_CLGI] = MVM_VMEXIT_UD,
	[SVM_EXIT_SKINIT] = MVM_VMEXIT_UD,
	[SVM_EXIT_INVLPGA] = MVM_VMEXIT_UD,
	[SVM_EXIT_RDPMC] = MVM_VMEXIT_UD,
	[SVM_EXIT_RDPRU] = MVM_VMEXIT_UD,
	[SVM_EXIT_RSM] = MVM_VMEXIT_UD,
	[SVM_EXIT_MONITOR] = MVM_VMEXIT_UD,
	[SVM_EXIT_MWAIT] = MVM_VMEXIT_UD,
	[SVM_EXIT_MWAIT_COND] = MVM_VMEXIT_UD,
	[MVM_SVM_EXIT_INVLPGB] = MVM_VMEXIT_UD,
	[MVM_SVM_EXIT_INVLPGB_ILLEGAL] = MVM_VMEXIT_UD,
	[MVM_SVM_EXIT_MCOMMIT] = MVM_VMEXIT_UD,
	[MVM_SVM_EXIT_TLBSYNC] = MVM_VMEXIT_UD,
	[SVM_EXIT_FERR_FREEZE] = MVM_VMEXIT_UD,
};

/* What only SVM handles; MVM_VMEXIT_NONE after it, or UNEXPECTED. */
static void svm_exit_own(struct svm_vcpu *svm, struct mvm_exit *exit,
			 bool step_db)
{
	struct vmcb *vmcb = svm->vmcb;

	exit->reason = MVM_VMEXIT_NONE;
	switch (exit->hw_reason) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		break;
	case SVM_EXIT_VINTR:
		vmcb->control.int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK |
					   V_INTR_PRIO_MASK);
		svm_clr_intercept(vmcb, INTERCEPT_VINTR);
		break;
	case SVM_EXIT_IRET:
		/* NMIs stay blocked until the IRET has run: svm_nmi_step(). */
		svm->nmi_iret = true;
		svm->nmi_iret_rip = vmcb->save.rip;
		svm_clr_intercept(vmcb, INTERCEPT_IRET);
		break;
	case SVM_EXIT_EXCP_BASE + DB_VECTOR:
		if (!step_db)
			svm_queue_exception(&svm->vcpu, DB_VECTOR, false, 0, 0);
		break;
	case SVM_EXIT_EXCP_BASE + AC_VECTOR:
		svm_queue_exception(&svm->vcpu, AC_VECTOR, true,
				    vmcb->control.exit_info_1, 0);
		break;
	case SVM_EXIT_EXCP_BASE + MC_VECTOR:
		/* svm_enter() has handled it. */
		break;
	default:
		if (svm_dr_exit(svm))
			break;
		exit->reason = MVM_VMEXIT_UNEXPECTED;
		exit->hw_info = vmcb->control.exit_info_1;
		break;
	}
}

static void svm_decode_exit(struct svm_vcpu *svm, struct mvm_exit *exit)
{
	struct vmcb *vmcb = svm->vmcb;
	u64 code = ((u64)vmcb->control.exit_code_hi << 32) |
		   vmcb->control.exit_code;
	bool step_db = false;

	/*
	 * VMEXIT_INVALID is -1 in all 64 bits (APM 15.6, appendix C); QEMU's
	 * TCG writes it as 32 bits.  No other exit code has its low half.
	 */
	if (vmcb->control.exit_code == (u32)SVM_EXIT_ERR)
		code = SVM_EXIT_ERR;
	if (svm->nmi_step)
		step_db = svm_nmi_step_end(svm, code);
	exit->hw_reason = code;
	svm_exit_state(svm, exit);
	svm_reinject(svm);

	switch (code) {
	case SVM_EXIT_IOIO:
		svm_decode_io(svm, exit);
		return;
	case SVM_EXIT_NPF:
		svm_decode_npf(svm, exit);
		return;
	case SVM_EXIT_MSR:
		exit->reason = vmcb->control.exit_info_1 ?
			       MVM_VMEXIT_MSR_WRITE : MVM_VMEXIT_MSR_READ;
		svm_exit_next_rip(svm, exit);
		return;
	case SVM_EXIT_CPUID:
	case SVM_EXIT_XSETBV:
		exit->mode.cr4 = vmcb->save.cr4;
		exit->mode.cpl = vmcb->save.cpl;
		break;
	case SVM_EXIT_SHUTDOWN:
		exit->reason = MVM_VMEXIT_SHUTDOWN;
		/* 15.13.2: the VMCB is undefined after a shutdown. */
		svm_vmcb_reset(svm);
		return;
	case SVM_EXIT_ERR:
		exit->reason = MVM_VMEXIT_FAIL_ENTRY;
		exit->fail_entry.info[0] = vmcb->control.exit_info_1;
		exit->fail_entry.info[1] = vmcb->control.exit_info_2;
		return;
	}
	if (code < ARRAY_SIZE(svm_exit_reasons) && svm_exit_reasons[code]) {
		exit->reason = svm_exit_reasons[code];
		svm_exit_next_rip(svm, exit);
		return;
	}
	svm_exit_own(svm, exit, step_db);
}

/*
 * A #VMEXIT saves the guest's state in the VMCB and loads the host's from
 * the host save area (APM 15.6).  QEMU's TCG SVM has been seen to leave
 * the host's state in the VMCB's save area instead: RIP at or just before
 * our VMRUN, the host's CS, CR3 and RSP, with int_ctl, int_state and
 * EXITINTINFO zeroed.  Its VMRUN, failing a check on the guest's state,
 * saves whatever the CPU holds at that point, and that can be the host's
 * or a mix.  Hardware never does that, and no guest state can match it by
 * chance: a guest with nested paging cannot know the host's CR3.
 *
 * The guest's state at that exit is lost, so go back to its state at the
 * entry: run it again, or report the failed entry with the state it had.
 * Its writes to its RAM since then stay, so it may see an instruction run
 * twice, which is the best left to do; never hand host addresses to
 * MVM_GET_REGS, and never run a guest with V_INTR_MASKING lost.
 */
static bool svm_vmcb_clobbered(const struct svm_vcpu *svm)
{
	const struct vmcb_save_area *save = &svm->vmcb->save;

	return save->cs.selector == __KERNEL_CS && save->cr3 == __read_cr3() &&
	       save->rip - (unsigned long)mvm_svm_vmrun_ret + 16 < 32;
}

static void svm_save_entry_state(struct svm_vcpu *svm)
{
	const struct vmcb_control_area *c = &svm->vmcb->control;

	svm->entry_save = svm->vmcb->save;
	memcpy(svm->entry_gprs, svm->gprs, sizeof(svm->gprs));
	svm->entry_event_inj = c->event_inj;
	svm->entry_event_inj_err = c->event_inj_err;
	svm->entry_int_state = c->int_state;
	svm->entry_int_ctl = c->int_ctl;
}

static void svm_restore_entry_state(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	svm->vmcb->save = svm->entry_save;
	memcpy(svm->gprs, svm->entry_gprs, sizeof(svm->gprs));
	c->event_inj = svm->entry_event_inj;
	c->event_inj_err = svm->entry_event_inj_err;
	c->int_state = svm->entry_int_state;
	c->int_ctl = svm->entry_int_ctl;
	c->clean = 0;
}

/*
 * QEMU 7.2's TCG does not load the interrupt shadow from the VMCB at VMRUN
 * (only a guest's own STI or MOV SS makes one): entered in a shadow, the
 * guest exits without it.  Hardware keeps it until the instruction in it
 * has run (15.21.5).  An exit that intercepts that instruction before it
 * runs, at the RIP of the entry and with no event being delivered, is one
 * where the shadow must still be on; put it back, or an NMI or interrupt
 * comes one instruction early: between the elements of a REP OUTS, or
 * after a nested page fault on the fetch in a fresh VM, whose nested
 * tables are empty.  On hardware this sets a bit already set.
 *
 * A host interrupt (INTR) can exit the guest there too, before the
 * instruction has run: its shadow goes back, but only once in a row.  For
 * a guest that ran on and came back to the same RIP ("sti; jmp ."), which
 * hardware would report without a shadow, the wrong one holds a pending
 * NMI back until the next exit, no longer.  VINTR, the window mvm asks for
 * itself, is left alone.
 */
static void svm_keep_shadow(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	bool intr = false;

	switch (c->exit_code) {
	case SVM_EXIT_IOIO:
	case SVM_EXIT_NPF:
	case SVM_EXIT_MSR:
	case SVM_EXIT_CPUID:
		break;
	case SVM_EXIT_INTR:
		intr = !svm->shadow_kept_intr;
		if (intr)
			break;
		fallthrough;
	default:
		svm->shadow_kept_intr = false;
		return;
	}
	svm->shadow_kept_intr = false;
	if (!(c->exit_int_info & SVM_EXITINTINFO_VALID) &&
	    svm->vmcb->save.rip == svm->entry_save.rip) {
		c->int_state |= SVM_INTERRUPT_SHADOW_MASK;
		svm->shadow_kept_intr = intr;
	}
}

static int svm_vcpu_run(struct mvm_vcpu *vcpu, struct mvm_exit *exit)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	int r;

	/* The guest went past the IRET it was stopped at: it has run. */
	if (svm->nmi_iret && svm->vmcb->save.rip != svm->nmi_iret_rip)
		svm_nmi_unmask(svm);
	mvm_inject_events(vcpu);
	/*
	 * 15.21.1: V_INTR_MASKING keeps physical interrupts the host's.  No
	 * VMRUN on hardware clears it; make sure no emulator's did either.
	 */
	c->int_ctl |= V_INTR_MASKING_MASK;
	svm_save_entry_state(svm);
	r = svm_enter(svm);
	if (r == -EAGAIN) {
		exit->reason = MVM_VMEXIT_RETRY;
		return 0;
	}
	if (r)
		return r;
	if (unlikely(svm_vmcb_clobbered(svm))) {
		pr_info_ratelimited("host state in a VMCB after #VMEXIT %#x (an emulator's bug: RIP %+ld from VMRUN's return, int_ctl %#x, exit info %#llx %#llx; at entry RIP %#llx, EVENTINJ %#x): guest state rolled back to its entry\n",
				    c->exit_code,
				    (long)(svm->vmcb->save.rip -
					   (unsigned long)mvm_svm_vmrun_ret),
				    c->int_ctl, c->exit_info_1, c->exit_info_2,
				    svm->entry_save.rip, svm->entry_event_inj);
		/* A failed entry is still reported, with the state it had. */
		r = c->exit_code == (u32)SVM_EXIT_ERR;
		svm_restore_entry_state(svm);
		if (!r) {
			exit->reason = MVM_VMEXIT_RETRY;
			return 0;
		}
	}
	if (svm->entry_int_state & SVM_INTERRUPT_SHADOW_MASK)
		svm_keep_shadow(svm);
	svm_decode_exit(svm, exit);
	return 0;
}

/* For the counters and tracepoints (stats.c): appendix C's codes. */
static u32 svm_exit_class(const struct mvm_exit *exit)
{
	switch (exit->hw_reason) {
	case SVM_EXIT_IOIO:
		return MVM_XC_IO;
	case SVM_EXIT_NPF:
		return MVM_XC_NPF;
	case SVM_EXIT_MSR:
		return MVM_XC_MSR;
	case SVM_EXIT_CPUID:
		return MVM_XC_CPUID;
	case SVM_EXIT_HLT:
		return MVM_XC_HLT;
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		return MVM_XC_INTR;
	case SVM_EXIT_VINTR:
	case SVM_EXIT_IRET:
		return MVM_XC_INTR_WINDOW;
	case SVM_EXIT_EXCP_BASE ... SVM_EXIT_EXCP_BASE + 31:
		return MVM_XC_EXCEPTION;
	default:
		return MVM_XC_OTHER;
	}
}

const struct mvm_backend_ops svm_backend_ops = {
	.name = "SVM",
	.backend = MVM_BACKEND_SVM,
	.probe = svm_probe,
	.setup = svm_setup,
	.unsetup = svm_unsetup,
	.cpu_enable = svm_cpu_enable,
	.cpu_disable = svm_cpu_disable,
	.pte = svm_pte,
	.vcpu_alloc = svm_vcpu_alloc,
	.vcpu_free = svm_vcpu_free,
	.vcpu_run = svm_vcpu_run,
	.get_gpr = svm_get_gpr,
	.set_gpr = svm_set_gpr,
	.skip = svm_skip,
	.get_regs = svm_get_regs,
	.set_regs = svm_set_regs,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.get_events = svm_get_events,
	.set_events = svm_set_events,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.get_debugregs = svm_get_debugregs,
	.set_debugregs = svm_set_debugregs,
	.queue_exception = svm_queue_exception,
	.nmi_allowed = svm_nmi_allowed,
	.interrupt_allowed = svm_interrupt_allowed,
	.inject_nmi = svm_inject_nmi,
	.inject_irq = svm_inject_irq,
	.enable_nmi_window = svm_enable_nmi_window,
	.enable_irq_window = svm_enable_irq_window,
	.exit_class = svm_exit_class,
};
