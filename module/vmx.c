// SPDX-License-Identifier: GPL-2.0
/*
 * The Intel VMX backend.
 *
 * References are to the Intel 64 and IA-32 Architectures Software
 * Developer's Manual, Volume 3C (SDM), by section title, since the numbers
 * move between editions, and appendix A for the capability MSRs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/bitfield.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <asm/asm.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include <linux/mvm.h>
#include "mvm.h"

/* SDM A.1: IA32_VMX_BASIC. */
#define MVM_VMX_BASIC_REVISION	GENMASK_ULL(30, 0)
#define MVM_VMX_BASIC_VMCS_SIZE	GENMASK_ULL(44, 32)
#define MVM_VMX_BASIC_32BIT_PA	BIT_ULL(48)
#define MVM_VMX_BASIC_MEM_TYPE	GENMASK_ULL(53, 50)
#define MVM_VMX_BASIC_MEM_TYPE_WB	6

/* SDM A.3.2, A.3.3: the allowed-1 settings are the MSR's high half. */
#define MVM_VMX_PROC_ACTIVATE_SECONDARY	BIT(31)
#define MVM_VMX_PROC2_EPT			BIT(1)
#define MVM_VMX_PROC2_VPID			BIT(5)
#define MVM_VMX_PROC2_UNRESTRICTED		BIT(7)

/* SDM A.10: IA32_VMX_EPT_VPID_CAP. */
#define MVM_VMX_EPT_WALK_4			BIT_ULL(6)
#define MVM_VMX_EPT_WB			BIT_ULL(14)
#define MVM_VMX_EPT_INVEPT			BIT_ULL(20)
#define MVM_VMX_VPID_INVVPID		BIT_ULL(32)

/* One VMXON region per CPU (SDM "VMXON Region"), zero but for its revision. */
static DEFINE_PER_CPU(struct page *, vmx_vmxon_page);
static u32 vmx_revision;

static int vmx_probe(const char **why)
{
	u64 feat_ctl, basic, proc, proc2, ept;

	/* The kernel clears X86_FEATURE_VMX itself when FEAT_CTL forbids it. */
	if (!(cpuid_ecx(1) & BIT(5))) {
		*why = "CPU has no VMX";
		return -ENODEV;
	}
	/*
	 * SDM "Enabling and Entering VMX Operation": VMXON outside SMX needs
	 * IA32_FEATURE_CONTROL locked with bit 2 set.
	 */
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl) ||
	    !(feat_ctl & FEAT_CTL_LOCKED) ||
	    !(feat_ctl & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX) ||
	    !boot_cpu_has(X86_FEATURE_VMX)) {
		*why = "VMX disabled by the BIOS (IA32_FEATURE_CONTROL)";
		return -EOPNOTSUPP;
	}

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	if (FIELD_GET(MVM_VMX_BASIC_MEM_TYPE, basic) != MVM_VMX_BASIC_MEM_TYPE_WB ||
	    FIELD_GET(MVM_VMX_BASIC_VMCS_SIZE, basic) > PAGE_SIZE ||
	    (basic & MVM_VMX_BASIC_32BIT_PA)) {
		*why = "VMX without write-back VMCS of at most a page";
		return -ENODEV;
	}

	rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS, proc);
	if (!((proc >> 32) & MVM_VMX_PROC_ACTIVATE_SECONDARY)) {
		*why = "VMX without secondary controls";
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, proc2);
	proc2 >>= 32;
	if (!(proc2 & MVM_VMX_PROC2_EPT) || !(proc2 & MVM_VMX_PROC2_VPID) ||
	    !(proc2 & MVM_VMX_PROC2_UNRESTRICTED)) {
		*why = "VMX without EPT, VPID and unrestricted guest";
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, ept);
	if (!(ept & MVM_VMX_EPT_WALK_4) || !(ept & MVM_VMX_EPT_WB) ||
	    !(ept & MVM_VMX_EPT_INVEPT) || !(ept & MVM_VMX_VPID_INVVPID)) {
		*why = "VMX EPT without 4-level walks, WB, INVEPT and INVVPID";
		return -ENODEV;
	}

	vmx_revision = FIELD_GET(MVM_VMX_BASIC_REVISION, basic);
	return 0;
}

static int vmx_setup(void)
{
	int cpu, r;

	r = mvm_alloc_cpu_pages(&vmx_vmxon_page);
	if (r)
		return r;
	for_each_possible_cpu(cpu) {
		u32 *region = page_address(per_cpu(vmx_vmxon_page, cpu));

		region[0] = vmx_revision;
	}
	return 0;
}

static void vmx_unsetup(void)
{
	mvm_free_cpu_pages(&vmx_vmxon_page);
}

/* SDM "Restrictions on VMX Operation": CR0 and CR4 honour the FIXED MSRs. */
static bool vmx_fixed_bits_ok(unsigned long val, u32 fixed0_msr, u32 fixed1_msr)
{
	u64 fixed0, fixed1;

	rdmsrl(fixed0_msr, fixed0);
	rdmsrl(fixed1_msr, fixed1);
	return (val & fixed0) == fixed0 && !(val & ~fixed1);
}

/*
 * VMXON reports VMfailInvalid in CF (SDM Vol. 3C, "VMX Instruction
 * Reference", VMXON); a fault (#GP, #UD)
 * is caught by the exception table and skips the SETBE.
 * Returns 0, 1 for VMfail, 2 for a fault.
 */
static u8 vmx_on(u64 pa)
{
	u8 r = 2;

	asm volatile("1: vmxon %[pa]\n\t"
		     "setbe %[r]\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [r] "+qm" (r) : [pa] "m" (pa) : "cc", "memory");
	return r;
}

static int vmx_cpu_enable(void)
{
	u64 pa = page_to_phys(__this_cpu_read(vmx_vmxon_page));

	/* CR4.VMXE set means another hypervisor (kvm_intel) is in VMX. */
	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;

	if (!vmx_fixed_bits_ok(read_cr0(), MSR_IA32_VMX_CR0_FIXED0,
			       MSR_IA32_VMX_CR0_FIXED1) ||
	    !vmx_fixed_bits_ok(__read_cr4() | X86_CR4_VMXE,
			       MSR_IA32_VMX_CR4_FIXED0, MSR_IA32_VMX_CR4_FIXED1)) {
		pr_err_once("CR0/CR4 do not meet the VMX fixed bits\n");
		return -EIO;
	}

	cr4_set_bits_irqsoff(X86_CR4_VMXE);
	if (vmx_on(pa)) {
		cr4_clear_bits_irqsoff(X86_CR4_VMXE);
		pr_err_once("VMXON failed\n");
		return -EIO;
	}
	return 0;
}

static void vmx_cpu_disable(void)
{
	/* A fault here means we were not in VMX operation: nothing to undo. */
	asm volatile("1: vmxoff\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : : "cc", "memory");
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
}

/* vCPUs on VMX are the next step (VMCS, EPT); until then there are none. */
static struct mvm_vcpu *vmx_vcpu_alloc(struct mvm_vm *vm, u32 id)
{
	return ERR_PTR(-EOPNOTSUPP);
}

const struct mvm_backend_ops vmx_backend_ops = {
	.name = "VMX",
	.backend = MVM_BACKEND_VMX,
	.probe = vmx_probe,
	.setup = vmx_setup,
	.unsetup = vmx_unsetup,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.vcpu_alloc = vmx_vcpu_alloc,
};
