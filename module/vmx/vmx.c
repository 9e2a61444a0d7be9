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
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <asm/asm.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/apic.h>
#include <asm/debugreg.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/mtrr.h>
#include <asm/fpu/api.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/traps.h>
#include <asm/tsc.h>
#include <asm/vmx.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include <linux/mvm.h>
#include "mvm.h"
#include "vmx_vmrun.h"

static_assert(MVM_VMCS_HOST_RSP == HOST_RSP);
static_assert(MVM_VMCS_HOST_RIP == HOST_RIP);

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
#define MVM_VMX_EPT_INVEPT_SINGLE		BIT_ULL(25)
#define MVM_VMX_EPT_INVEPT_ALL		BIT_ULL(26)
#define MVM_VMX_VPID_INVVPID		BIT_ULL(32)
#define MVM_VMX_VPID_INVVPID_SINGLE		BIT_ULL(41)
#define MVM_VMX_VPID_INVVPID_ALL		BIT_ULL(42)

/* One VMXON region per CPU (SDM "VMXON Region"), zero but for its revision. */
static DEFINE_PER_CPU(struct page *, vmx_vmxon_page);
static u32 vmx_revision;

#define VMX_EXIT_REASON_BASIC	0xffff

/* SDM vol. 3, appendix C, beyond what asm/vmx.h names. */
#define MVM_VMX_EXIT_GETSEC	11
#define MVM_VMX_EXIT_RSM	17

/* SDM A.6: IA32_VMX_MISC bits 4:0, the preemption timer's TSC shift. */
#define MVM_VMX_MISC_TIMER_RATE	GENMASK_ULL(4, 0)

/*
 * DR7 at reset and after every VM exit (SDM vol. 3, "Loading Host Control
 * Registers, Debug Registers, MSRs").
 */
#define MVM_VMX_DR7_RESET	0x400ULL

/* SDM 29.3.2: a PDE that maps a 2 MiB page. */
#define MVM_EPT_LARGE		BIT_ULL(7)

/* The controls mvm needs, computed at setup from the capability MSRs. */
static u32 vmx_pin, vmx_proc, vmx_proc2, vmx_exit, vmx_entry;
static u64 vmx_cr0_fixed0, vmx_cr0_fixed1, vmx_cr4_fixed0, vmx_cr4_fixed1;
static u32 vmx_preempt_ticks;
static struct page *vmx_msr_bitmap;
/* IA32_VMX_EPT_VPID_CAP, and the INVEPT and INVVPID types mvm uses. */
static u64 vmx_ept_cap, vmx_invept_type, vmx_invvpid_type;

static DEFINE_PER_CPU(struct list_head, vmx_loaded);
static DEFINE_PER_CPU(void *, vmx_current_vmcs);

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
	    !(ept & MVM_VMX_EPT_INVEPT) || !(ept & MVM_VMX_VPID_INVVPID) ||
	    !(ept & (MVM_VMX_EPT_INVEPT_SINGLE | MVM_VMX_EPT_INVEPT_ALL)) ||
	    !(ept & (MVM_VMX_VPID_INVVPID_SINGLE | MVM_VMX_VPID_INVVPID_ALL))) {
		*why = "VMX EPT without 4-level walks, WB, INVEPT and INVVPID";
		return -ENODEV;
	}
	/* Single-context flushes where the CPU has them, else global ones. */
	vmx_ept_cap = ept;
	vmx_invept_type = ept & MVM_VMX_EPT_INVEPT_SINGLE ?
			  VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
	vmx_invvpid_type = ept & MVM_VMX_VPID_INVVPID_SINGLE ?
			   VMX_VPID_EXTENT_SINGLE_CONTEXT :
			   VMX_VPID_EXTENT_ALL_CONTEXT;

	vmx_revision = FIELD_GET(MVM_VMX_BASIC_REVISION, basic);
	return 0;
}

/* SDM 24.6.9: read bitmaps at 0 and 1 KiB, write bitmaps at 2 and 3 KiB. */
static void vmx_msr_allow(u32 msr)
{
	u8 *bm = page_address(vmx_msr_bitmap);
	int range = mvm_msr_range(msr);
	u32 n = msr & 0x1fff, base;

	/* Only the first two ranges have bitmaps. */
	if (range < 0 || range > 1)
		return;
	base = range * 0x400;
	bm[base + n / 8] &= ~BIT(n % 8);
	bm[base + 0x800 + n / 8] &= ~BIT(n % 8);
}

static int vmx_adjust(u32 msr, u32 want, u32 *out);

/*
 * The controls (SDM A.3-A.5), from the TRUE capability MSRs where the CPU
 * has them (VMX_BASIC bit 55), so that default-1 bits mvm does not want,
 * such as CR3-load exiting, can be 0.
 */
static int vmx_setup_controls(void)
{
	bool true_ctls;
	u64 basic;
	int r;

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	true_ctls = basic & BIT_ULL(55);
	r = vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
		       MSR_IA32_VMX_PINBASED_CTLS,
		       PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
		       PIN_BASED_VIRTUAL_NMIS, &vmx_pin);
	r = r ?: vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
			    MSR_IA32_VMX_PROCBASED_CTLS,
			    CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
			    CPU_BASED_USE_MSR_BITMAPS |
			    CPU_BASED_MWAIT_EXITING |
			    CPU_BASED_MONITOR_EXITING |
			    CPU_BASED_RDPMC_EXITING |
			    CPU_BASED_CR8_LOAD_EXITING |
			    CPU_BASED_CR8_STORE_EXITING |
			    CPU_BASED_MOV_DR_EXITING |
			    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, &vmx_proc);
	r = r ?: vmx_adjust(MSR_IA32_VMX_PROCBASED_CTLS2,
			    SECONDARY_EXEC_ENABLE_EPT |
			    SECONDARY_EXEC_ENABLE_VPID |
			    SECONDARY_EXEC_UNRESTRICTED_GUEST, &vmx_proc2);
	r = r ?: vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
			    MSR_IA32_VMX_EXIT_CTLS,
			    VM_EXIT_HOST_ADDR_SPACE_SIZE |
			    VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |
			    VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
			    VM_EXIT_SAVE_DEBUG_CONTROLS, &vmx_exit);
	/* The guest's DR7 and DEBUGCTL are the VMCS's, both ways. */
	r = r ?: vmx_adjust(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
			    MSR_IA32_VMX_ENTRY_CTLS,
			    VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT |
			    VM_ENTRY_LOAD_DEBUG_CONTROLS, &vmx_entry);
	if (r)
		return r;
	/*
	 * A VMX-preemption timer of about a millisecond (SDM 25.5.1) bounds
	 * every stay in the guest, so a signal or a kick is seen even where
	 * an external interrupt fails to exit a guest with IF clear: Bochs
	 * 2.7 never exits a `cli; jmp .` guest on an interrupt.
	 */
	if ((__rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
		     MSR_IA32_VMX_PINBASED_CTLS) >> 32) &
	    PIN_BASED_VMX_PREEMPTION_TIMER) {
		vmx_pin |= PIN_BASED_VMX_PREEMPTION_TIMER;
		vmx_preempt_ticks = max_t(u32, tsc_khz >>
					  (__rdmsr(MSR_IA32_VMX_MISC) &
					   MVM_VMX_MISC_TIMER_RATE),
					  1);
	}
	/*
	 * RDTSCP and INVPCID run in the guest where the CPU lets them.  WBINVD
	 * exits where it can (INVD always does): a guest looping on it would
	 * flush the caches the host shares with it, again and again.
	 */
	vmx_proc2 |= (SECONDARY_EXEC_ENABLE_RDTSCP |
		      SECONDARY_EXEC_ENABLE_INVPCID |
		      SECONDARY_EXEC_WBINVD_EXITING) &
		     (u32)(__rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, vmx_cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, vmx_cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, vmx_cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, vmx_cr4_fixed1);
	return 0;
}

static int vmx_setup(void)
{
	int cpu, r;

	r = vmx_setup_controls();
	if (r)
		return r;
	r = mvm_alloc_cpu_pages(&vmx_vmxon_page);
	if (r)
		return r;
	for_each_possible_cpu(cpu) {
		u32 *region = page_address(per_cpu(vmx_vmxon_page, cpu));

		region[0] = vmx_revision;
		INIT_LIST_HEAD(&per_cpu(vmx_loaded, cpu));
	}
	vmx_msr_bitmap = alloc_page(GFP_KERNEL);
	if (!vmx_msr_bitmap) {
		mvm_free_cpu_pages(&vmx_vmxon_page);
		return -ENOMEM;
	}
	/* Deny by default; the VMCS switches these itself (SDM 24.4.1). */
	memset(page_address(vmx_msr_bitmap), 0xff, PAGE_SIZE);
	vmx_msr_allow(MSR_FS_BASE);
	vmx_msr_allow(MSR_GS_BASE);
	vmx_msr_allow(MSR_IA32_SYSENTER_CS);
	vmx_msr_allow(MSR_IA32_SYSENTER_ESP);
	vmx_msr_allow(MSR_IA32_SYSENTER_EIP);
	mvm_pt_levels = 4;
	return 0;
}

static void vmx_unsetup(void)
{
	mvm_free_cpu_pages(&vmx_vmxon_page);
	__free_page(vmx_msr_bitmap);
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

static void vmx_clear_all_this_cpu(void);

static void vmx_cpu_disable(void)
{
	/* SDM 24.11.1: VMCLEAR every VMCS active here before VMXOFF. */
	vmx_clear_all_this_cpu();
	/* A fault here means we were not in VMX operation: nothing to undo. */
	asm volatile("1: vmxoff\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : : "cc", "memory");
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
}

/*
 * vCPUs.  SDM vol. 3 chapters 24-28: one VMCS per vCPU, active on at most
 * one CPU at a time; each CPU keeps a list of the VMCSs active on it so
 * they can be VMCLEARed before VMXOFF.  Guest state lives in the VMCS, so
 * every access to it makes the VMCS current on this CPU first.
 */

/*
 * VPIDs: 0 is the host's.  A vCPU that finds none free runs without one
 * (vmx_vmcs_reset()), so that one user cannot refuse vCPUs to everyone by
 * taking them all; nr_vpids makes the pool smaller, for tests.
 */
#define MVM_VMX_NR_VPIDS	4096
static DECLARE_BITMAP(vmx_vpids, MVM_VMX_NR_VPIDS);
static DEFINE_SPINLOCK(vmx_vpid_lock);
static unsigned int nr_vpids = MVM_VMX_NR_VPIDS - 1;
module_param(nr_vpids, uint, 0444);
MODULE_PARM_DESC(nr_vpids,
		 "VMX: VPIDs to give vCPUs (at most 4095); others run without one");

/*
 * The MSRs VMX does not switch.  The SYSCALL MSRs and TSC_AUX are the
 * user-return ones of uret.c, in its slots: the guest's stay in the CPU
 * until it returns to user mode.  The kernel GS base is swapped around
 * each entry: the host's is the current task's user GS base, which a
 * context switch saves from the CPU.
 */
enum { VMX_KGSBASE = MVM_NR_URET, VMX_NR_SWAP };

struct vmx_vcpu {
	struct mvm_vcpu vcpu;
	void *vmcs;
	u64 vmcs_pa;
	u64 gprs[MVM_NR_GPRS];	/* by MVM_GPR_* (regs.h); RSP is the VMCS's */
	int cpu;		/* where the VMCS is active, or -1 */
	bool launched;
	u16 vpid;
	struct list_head loaded;
	u64 msrs[VMX_NR_SWAP];
	u64 uret_owner;		/* numbers msrs[] for mvm_uret_load() */
	u64 cr2;
	u64 cr8;		/* virtual: MOV CR8 exits, no APIC behind it */
	u64 dr6;
	/*
	 * MOV DR exits until the guest's first one, which turns it off for
	 * one run with the guest's DR0-3 and DR6 in the CPU (vmx_enter()).
	 */
	bool dr_pass;
	/* The host's IA32_DEBUGCTL, for the task and CPU that read it. */
	u64 host_debugctl;
	struct task_struct *debugctl_task;
	unsigned long debugctl_switches;
	int debugctl_cpu;
	bool vmfail;		/* the last VMLAUNCH/VMRESUME failed */
	u32 exit_reason;	/* of the last exit, read in vmx_enter() */
	u32 exit_intr_info;	/* the same, for exception and NMI exits */
};

static struct vmx_vcpu *to_vmx(struct mvm_vcpu *vcpu)
{
	return container_of(vcpu, struct vmx_vcpu, vcpu);
}

/*
 * The VMX instructions.  Outside VMX operation each is #UD, which happens
 * only when the reboot notifier ran VMXOFF on this CPU under a vCPU ioctl
 * (mvm_hw_usable()): the exception table skips the instruction then, and
 * the ioctl ends in EIO.  Those that return a result give 0 for success,
 * 1 for VMfail (CF or ZF, SDM vol. 3, "Conventions" of the VMX instruction
 * reference) and for a fault; a VMREAD that fails reads 0.
 */
static u8 vmx_vmclear(u64 pa)
{
	u8 fail = 1;

	asm volatile("1: vmclear %[pa]\n\t"
		     "setbe %[fail]\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [fail] "+qm" (fail) : [pa] "m" (pa) : "cc", "memory");
	return fail;
}

static u8 vmx_vmptrld(u64 pa)
{
	u8 fail = 1;

	asm volatile("1: vmptrld %[pa]\n\t"
		     "setbe %[fail]\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [fail] "+qm" (fail) : [pa] "m" (pa) : "cc", "memory");
	return fail;
}

static u64 vmcs_read(unsigned long field)
{
	u64 v = 0;

	asm volatile("1: vmread %1, %0\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : "+rm" (v) : "r" (field) : "cc");
	return v;
}

static void vmcs_write(unsigned long field, u64 v)
{
	asm volatile("1: vmwrite %1, %0\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : : "r" (field), "rm" (v) : "cc");
}

static u8 vmx_invept(u64 type, u64 eptp)
{
	struct { u64 eptp, zero; } d = { eptp, 0 };
	u8 fail = 1;

	asm volatile("1: invept %[d], %[type]\n\t"
		     "setbe %[fail]\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [fail] "+qm" (fail) : [d] "m" (d), [type] "r" (type)
		     : "cc", "memory");
	return fail;
}

static u8 vmx_invvpid(u64 type, u16 vpid)
{
	struct { u64 vpid, addr; } d = { vpid, 0 };
	u8 fail = 1;

	asm volatile("1: invvpid %[d], %[type]\n\t"
		     "setbe %[fail]\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [fail] "+qm" (fail) : [d] "m" (d), [type] "r" (type)
		     : "cc", "memory");
	return fail;
}

/* SDM A.3: bits the MSR's low half forces to 1, high half allows. */
static int vmx_adjust(u32 msr, u32 want, u32 *out)
{
	u64 v;

	rdmsrl(msr, v);
	if (want & ~(u32)(v >> 32))
		return -ENODEV;
	*out = want | (u32)v;
	return 0;
}

/* EPT entries (SDM vol. 3, 29.3.2): RWX, and write-back for leaves. */
static u64 vmx_pte(u64 pfn, int level, bool leaf, bool writable)
{
	u64 e = (pfn << PAGE_SHIFT) | VMX_EPT_READABLE_MASK |
		VMX_EPT_EXECUTABLE_MASK;

	if (!leaf || writable)
		e |= VMX_EPT_WRITABLE_MASK;
	if (leaf)
		e |= (u64)MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT |
		     VMX_EPT_IPAT_BIT;
	if (leaf && level == 2)
		e |= MVM_EPT_LARGE;
	return e;
}

static u64 vmx_eptp(struct mvm_vm *vm)
{
	return mvm_mmu_root_pa(vm) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
}

static void vmx_clear_this_cpu(struct vmx_vcpu *vmx)
{
	vmx_vmclear(vmx->vmcs_pa);
	list_del(&vmx->loaded);
	if (__this_cpu_read(vmx_current_vmcs) == vmx->vmcs)
		__this_cpu_write(vmx_current_vmcs, NULL);
	WRITE_ONCE(vmx->cpu, -1);
	vmx->launched = false;
}

static void vmx_clear_all_this_cpu(void)
{
	struct vmx_vcpu *vmx, *n;

	list_for_each_entry_safe(vmx, n, this_cpu_ptr(&vmx_loaded), loaded)
		vmx_clear_this_cpu(vmx);
}

static void vmx_clear_ipi(void *arg)
{
	struct vmx_vcpu *vmx = arg;

	if (READ_ONCE(vmx->cpu) == smp_processor_id())
		vmx_clear_this_cpu(vmx);
}

/* VMCLEAR the vCPU's VMCS wherever it is active; preemption on. */
static void vmx_clear_remote(struct vmx_vcpu *vmx)
{
	int cpu = READ_ONCE(vmx->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_ipi, vmx, 1);
}

/* The host state that depends on the CPU (SDM vol. 3, 26.2.2). */
static void vmx_set_host_cpu_state(void)
{
	struct desc_ptr gdt, idt;
	u64 v;

	native_store_gdt(&gdt);
	store_idt(&idt);
	vmcs_write(HOST_GDTR_BASE, gdt.address);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	vmcs_write(HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(smp_processor_id())->tss.x86_tss);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(HOST_GS_BASE, v);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(HOST_IA32_SYSENTER_EIP, v);
}

/*
 * Make the VMCS current on this CPU, moving it here if it was active
 * elsewhere.  Called with preemption off and interrupts on (the move may
 * IPI the old CPU).
 *
 * A move, the first load included, asks for a TLB flush before the next
 * entry: this CPU may hold translations tagged with this VPID and EPTP
 * from the last time the vCPU ran here, or from a vCPU since freed whose
 * VPID and EPT root page were reused (SDM vol. 3, 29.4.3.2 and 29.4.3.3):
 * guest writes through them would land in freed host pages.  Whoever
 * loads first, an ioctl or the run loop, the request survives until
 * vmx_enter() takes it.
 */
static bool vmx_load(struct vmx_vcpu *vmx)
{
	int cpu = smp_processor_id();
	bool ok = false;

	if (READ_ONCE(vmx->cpu) != cpu)
		vmx_clear_remote(vmx);
	/*
	 * With interrupts off, VMX cannot go off under the VMPTRLD: the
	 * reboot notifier and CPU offline switch it off on this CPU, from an
	 * IPI or with interrupts off themselves.  Once off, leave everything
	 * as it is (no VMCS is current then) and let the caller end in EIO.
	 */
	local_irq_disable();
	if (!mvm_hw_cpu_enabled())
		goto out;
	if (vmx->cpu != cpu) {
		if (vmx_vmptrld(vmx->vmcs_pa))
			goto out;
		list_add(&vmx->loaded, this_cpu_ptr(&vmx_loaded));
		WRITE_ONCE(vmx->cpu, cpu);
		__this_cpu_write(vmx_current_vmcs, vmx->vmcs);
		vmx_set_host_cpu_state();
		set_bit(MVM_REQ_TLB_FLUSH, &vmx->vcpu.requests);
	} else if (__this_cpu_read(vmx_current_vmcs) != vmx->vmcs) {
		if (vmx_vmptrld(vmx->vmcs_pa))
			goto out;
		__this_cpu_write(vmx_current_vmcs, vmx->vmcs);
	}
	ok = true;
out:
	local_irq_enable();
	return ok;
}

/*
 * The VMCS is current between vmx_get() and vmx_put(), unless VMX is off
 * on this CPU (vmx_load()): then the state ioctls read zeros and write
 * nothing, and mvm_vcpu_state_ioctl() returns EIO.
 */
static struct vmx_vcpu *vmx_get(struct mvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	preempt_disable();
	vmx_load(vmx);
	return vmx;
}

static void vmx_put(void)
{
	preempt_enable();
}

/* Segments: struct mvm_segment and the VMCS access rights (24.4.1). */
static const struct {
	unsigned long sel, base, limit, ar;
} vmx_segs[] = {
	{ GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES },
	{ GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES },
	{ GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES },
	{ GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES },
	{ GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES },
	{ GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES },
	{ GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT,
	  GUEST_LDTR_AR_BYTES },
	{ GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_AR_BYTES },
};

enum { VS_ES, VS_CS, VS_SS, VS_DS, VS_FS, VS_GS, VS_LDTR, VS_TR };

static void vmx_seg_set(int i, const struct mvm_segment *s)
{
	u32 ar = s->type | s->s << 4 | s->dpl << 5 | s->present << 7 |
		 s->avl << 12 | s->l << 13 | s->db << 14 | s->g << 15;

	if (s->unusable || !s->present)
		ar = VMX_AR_UNUSABLE_MASK;
	vmcs_write(vmx_segs[i].sel, s->selector);
	vmcs_write(vmx_segs[i].base, s->base);
	vmcs_write(vmx_segs[i].limit, s->limit);
	vmcs_write(vmx_segs[i].ar, ar);
}

static void vmx_seg_get(int i, struct mvm_segment *s)
{
	u32 ar = vmcs_read(vmx_segs[i].ar);

	memset(s, 0, sizeof(*s));
	s->selector = vmcs_read(vmx_segs[i].sel);
	s->base = vmcs_read(vmx_segs[i].base);
	s->limit = vmcs_read(vmx_segs[i].limit);
	s->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	if (s->unusable)
		return;
	s->type = ar & 15;
	s->s = (ar >> 4) & 1;
	s->dpl = (ar >> 5) & 3;
	s->present = (ar >> 7) & 1;
	s->avl = (ar >> 12) & 1;
	s->l = (ar >> 13) & 1;
	s->db = (ar >> 14) & 1;
	s->g = (ar >> 15) & 1;
}

/* Exceptions mvm intercepts in every mode. */
#define MVM_VMX_EXC_ALWAYS	(BIT(X86_TRAP_DB) | BIT(X86_TRAP_UD) | \
				 BIT(X86_TRAP_AC) | BIT(X86_TRAP_MC))
/*
 * And in real mode, the double fault and the contributory exceptions.
 * Bochs 2.7 never leaves a real-mode guest that takes a fault at every
 * instruction, each delivered through its IVT (hostile_test
 * real_mode_fault_loop_signal_stops): no exit for the host's interrupts
 * and none for the VMX-preemption timer, so the test VM's only CPU is
 * lost.  Hardware exits on the host's next interrupt.  Intercepted, each
 * fault exits, and mvm gives it back to the guest, merged with one that
 * was being delivered as SDM vol. 3, table 6-5 says
 * (vmx_reflect_exception()).  Real-mode guests run briefly, if at all, so
 * the exits cost nothing that matters.
 */
#define MVM_VMX_EXC_REAL	(BIT(X86_TRAP_DF) | BIT(X86_TRAP_TS) | \
				 BIT(X86_TRAP_NP) | BIT(X86_TRAP_SS) | \
				 BIT(X86_TRAP_GP))

/*
 * CR0 and CR4 as the guest wants them, and as VMX operation needs them
 * (SDM vol. 3, A.7, A.8): NE and VMXE stay set underneath, hidden by the
 * read shadows; unrestricted guest lets PE and PG be clear.  CR0.PE is in
 * the guest/host mask too (vmx_vmcs_reset()), so every change of it comes
 * through here, and the exception bitmap follows the mode.
 */
static void vmx_set_cr0(u64 cr0)
{
	u64 fixed0 = vmx_cr0_fixed0 & ~(u64)(X86_CR0_PE | X86_CR0_PG);

	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(GUEST_CR0, (cr0 | fixed0) & vmx_cr0_fixed1);
	vmcs_write(EXCEPTION_BITMAP, MVM_VMX_EXC_ALWAYS |
		   (cr0 & X86_CR0_PE ? 0 : MVM_VMX_EXC_REAL));
}

static void vmx_set_cr4(u64 cr4)
{
	vmcs_write(CR4_READ_SHADOW, cr4);
	vmcs_write(GUEST_CR4, (cr4 | vmx_cr4_fixed0) & vmx_cr4_fixed1);
}

static u64 vmx_get_cr0(void)
{
	u64 mask = vmcs_read(CR0_GUEST_HOST_MASK);

	return (vmcs_read(GUEST_CR0) & ~mask) |
	       (vmcs_read(CR0_READ_SHADOW) & mask);
}

static u64 vmx_get_cr4(void)
{
	u64 mask = vmcs_read(CR4_GUEST_HOST_MASK);

	return (vmcs_read(GUEST_CR4) & ~mask) |
	       (vmcs_read(CR4_READ_SHADOW) & mask);
}

/* The IA-32e mode guest entry control follows EFER.LMA (SDM 26.2.4). */
static void vmx_set_efer(u64 efer)
{
	u32 entry = vmcs_read(VM_ENTRY_CONTROLS);

	vmcs_write(GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	else
		entry &= ~VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, entry);
}

/* The reset state (SDM vol. 3, 9.1.1), with the VMCS's own fields. */
static void vmx_vmcs_reset(struct vmx_vcpu *vmx)
{
	struct mvm_segment data = {
		.limit = 0xffff, .type = 3, .s = 1, .present = 1,
	};
	struct mvm_segment code = data, ldt = { .limit = 0xffff, .type = 2,
						.present = 1 };
	struct mvm_segment tr = { .limit = 0xffff, .type = 11, .present = 1 };
	int i;

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx_proc);
	/*
	 * Without a VPID, "enable VPID" must be 0 (VPID 0 in the field fails
	 * the entry, SDM vol. 3, "Checks on VMX Controls"); every VM entry and
	 * exit then flushes VPID 0's linear and combined mappings
	 * ("Operations that Invalidate Cached Mappings").
	 */
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx->vpid ? vmx_proc2 :
		   vmx_proc2 & ~SECONDARY_EXEC_ENABLE_VPID);
	vmcs_write(VM_EXIT_CONTROLS, vmx_exit);
	vmcs_write(VM_ENTRY_CONTROLS, vmx_entry);
	vmcs_write(MSR_BITMAP, page_to_phys(vmx_msr_bitmap));
	vmcs_write(EPT_POINTER, vmx_eptp(vmx->vcpu.vm));
	vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	vmcs_write(CR0_GUEST_HOST_MASK, X86_CR0_NE | X86_CR0_PE);
	vmcs_write(CR4_GUEST_HOST_MASK, X86_CR4_VMXE);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);

	/* Host state that is the same on every CPU. */
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_IA32_EFER, __rdmsr(MSR_EFER));
	vmcs_write(HOST_IA32_PAT, __rdmsr(MSR_IA32_CR_PAT));

	code.type = 0xb;
	code.selector = 0xf000;
	code.base = 0xffff0000;
	for (i = VS_ES; i <= VS_GS; i++)
		vmx_seg_set(i, i == VS_CS ? &code : &data);
	vmx_seg_set(VS_LDTR, &ldt);
	vmx_seg_set(VS_TR, &tr);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);
	vmx_set_cr0(X86_CR0_NW | X86_CR0_CD | X86_CR0_ET);
	vmx_set_cr4(0);
	vmcs_write(GUEST_CR3, 0);
	vmx_set_efer(0);
	vmcs_write(GUEST_DR7, MVM_VMX_DR7_RESET);
	vmcs_write(GUEST_RSP, 0);
	vmcs_write(GUEST_RIP, 0xfff0);
	vmcs_write(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(TSC_OFFSET, 0);

	memset(vmx->gprs, 0, sizeof(vmx->gprs));
	memset(vmx->msrs, 0, sizeof(vmx->msrs));
	vmx->uret_owner = mvm_uret_new_owner();
	vmx->cr2 = 0;
	vmx->cr8 = 0;
	vmx->dr6 = DR6_RESERVED;
	vmx->dr_pass = false;
}

static u16 vmx_alloc_vpid(void)
{
	unsigned long end = min(nr_vpids, MVM_VMX_NR_VPIDS - 1U) + 1, v;

	spin_lock(&vmx_vpid_lock);
	v = find_next_zero_bit(vmx_vpids, end, 1);
	if (v < end)
		__set_bit(v, vmx_vpids);
	spin_unlock(&vmx_vpid_lock);
	return v < end ? v : 0;
}

static void vmx_free_vpid(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vmx_vpid_lock);
	__clear_bit(vpid, vmx_vpids);
	spin_unlock(&vmx_vpid_lock);
}

static struct mvm_vcpu *vmx_vcpu_alloc(struct mvm_vm *vm, u32 id)
{
	struct vmx_vcpu *vmx;
	struct page *p;
	int r = -ENOMEM;

	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return ERR_PTR(-ENOMEM);
	p = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!p)
		goto err_free;
	vmx->vmcs = page_address(p);
	vmx->vmcs_pa = page_to_phys(p);
	*(u32 *)vmx->vmcs = vmx_revision;
	vmx->cpu = -1;
	INIT_LIST_HEAD(&vmx->loaded);
	vmx->vpid = vmx_alloc_vpid();
	/*
	 * SDM 24.11.3: VMCLEAR a new VMCS before its first VMPTRLD.  Both need
	 * VMX on: not after the reboot notifier has switched it off (EIO).
	 */
	vmx->vcpu.vm = vm;
	r = -EIO;
	preempt_disable();
	if (!mvm_hw_usable() || vmx_vmclear(vmx->vmcs_pa) || !vmx_load(vmx)) {
		preempt_enable();
		goto err_vpid;
	}
	vmx_vmcs_reset(vmx);
	preempt_enable();

	r = mvm_vcpu_init_common(&vmx->vcpu, vm, id);
	if (r)
		goto err_clear;
	return &vmx->vcpu;

err_clear:
	vmx_clear_remote(vmx);
err_vpid:
	vmx_free_vpid(vmx->vpid);
	__free_page(p);
err_free:
	kfree(vmx);
	return ERR_PTR(r);
}

static void vmx_vcpu_free(struct mvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_clear_remote(vmx);
	vmx_free_vpid(vmx->vpid);
	free_page((unsigned long)vmx->vmcs);
	kfree(vmx);
}

/* State ioctls. */

static void vmx_get_regs(struct mvm_vcpu *vcpu, struct mvm_regs *r)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	mvm_regs_from_gprs(r, vmx->gprs);
	r->rsp = vmcs_read(GUEST_RSP);
	r->rip = vmcs_read(GUEST_RIP);
	r->rflags = vmcs_read(GUEST_RFLAGS);
	vmx_put();
}

static void vmx_set_regs(struct mvm_vcpu *vcpu, const struct mvm_regs *r)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);
	u32 intr, shadow;

	mvm_regs_to_gprs(vmx->gprs, r);
	vmcs_write(GUEST_RSP, r->rsp);
	/*
	 * An emulated instruction completed: its interrupt shadow is over.
	 * And blocking by STI needs IF set, or the entry fails (27.3.1.5).
	 */
	shadow = 0;
	if (vmcs_read(GUEST_RIP) != r->rip)
		shadow = GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS;
	else if (!(r->rflags & X86_EFLAGS_IF))
		shadow = GUEST_INTR_STATE_STI;
	intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (intr & shadow)
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr & ~shadow);
	vmcs_write(GUEST_RIP, r->rip);
	vmcs_write(GUEST_RFLAGS, r->rflags);
	vmx_put();
}

static void vmx_get_sregs(struct mvm_vcpu *vcpu, struct mvm_sregs *s)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	memset(s, 0, sizeof(*s));
	vmx_seg_get(VS_CS, &s->cs);
	vmx_seg_get(VS_DS, &s->ds);
	vmx_seg_get(VS_ES, &s->es);
	vmx_seg_get(VS_FS, &s->fs);
	vmx_seg_get(VS_GS, &s->gs);
	vmx_seg_get(VS_SS, &s->ss);
	vmx_seg_get(VS_TR, &s->tr);
	vmx_seg_get(VS_LDTR, &s->ldt);
	s->gdt.base = vmcs_read(GUEST_GDTR_BASE);
	s->gdt.limit = vmcs_read(GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_read(GUEST_IDTR_BASE);
	s->idt.limit = vmcs_read(GUEST_IDTR_LIMIT);
	s->cr0 = vmx_get_cr0();
	s->cr2 = vmx->cr2;
	s->cr3 = vmcs_read(GUEST_CR3);
	s->cr4 = vmx_get_cr4();
	s->cr8 = vmx->cr8;
	s->efer = vmcs_read(GUEST_IA32_EFER);
	vmx_put();
}

static void vmx_set_sregs(struct mvm_vcpu *vcpu, const struct mvm_sregs *s)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	vmx_seg_set(VS_CS, &s->cs);
	vmx_seg_set(VS_DS, &s->ds);
	vmx_seg_set(VS_ES, &s->es);
	vmx_seg_set(VS_FS, &s->fs);
	vmx_seg_set(VS_GS, &s->gs);
	vmx_seg_set(VS_SS, &s->ss);
	vmx_seg_set(VS_TR, &s->tr);
	vmx_seg_set(VS_LDTR, &s->ldt);
	vmcs_write(GUEST_GDTR_BASE, s->gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, s->gdt.limit);
	vmcs_write(GUEST_IDTR_BASE, s->idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, s->idt.limit);
	vmx_set_cr0(s->cr0);
	vmx->cr2 = s->cr2;
	vmcs_write(GUEST_CR3, s->cr3);
	vmx_set_cr4(s->cr4);
	vmx->cr8 = s->cr8;
	vmx_set_efer(s->efer);
	vmx_put();
}

/*
 * Events.  The VM-entry interruption information holds the one event the
 * next entry delivers (SDM vol. 3, 27.6): what mvm injected, or what an
 * exit cut short (vmx_reinject()).  A software interrupt or exception cut
 * short is not reported: its RIP is still on the INT instruction (28.2.4),
 * which runs again, as it does on SVM.  The interruptibility state holds
 * the shadows and, with virtual NMIs, NMI blocking (table 25-3).
 */
static void vmx_get_events(struct mvm_vcpu *vcpu, struct mvm_vcpu_events *ev)
{
	u32 info, intr;

	vmx_get(vcpu);
	info = vmcs_read(VM_ENTRY_INTR_INFO_FIELD);
	intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (info & INTR_INFO_VALID_MASK) {
		switch (info & INTR_INFO_INTR_TYPE_MASK) {
		case INTR_TYPE_HARD_EXCEPTION:
			ev->exception.injected = 1;
			ev->exception.vector = info & INTR_INFO_VECTOR_MASK;
			if (info & INTR_INFO_DELIVER_CODE_MASK) {
				ev->exception.has_error = 1;
				ev->exception.error_code =
					vmcs_read(VM_ENTRY_EXCEPTION_ERROR_CODE);
			}
			break;
		case INTR_TYPE_EXT_INTR:
			ev->interrupt.injected = 1;
			ev->interrupt.vector = info & INTR_INFO_VECTOR_MASK;
			break;
		case INTR_TYPE_NMI_INTR:
			ev->nmi.injected = 1;
			break;
		}
	}
	vmx_put();
	if (intr & GUEST_INTR_STATE_STI)
		ev->interrupt.shadow = MVM_SHADOW_STI;
	else if (intr & GUEST_INTR_STATE_MOV_SS)
		ev->interrupt.shadow = MVM_SHADOW_MOV_SS;
	ev->nmi.masked = !!(intr & GUEST_INTR_STATE_NMI);
}

static void vmx_set_events(struct mvm_vcpu *vcpu,
			   const struct mvm_vcpu_events *ev)
{
	u32 info = 0, intr;

	if (ev->exception.injected) {
		info = ev->exception.vector | INTR_TYPE_HARD_EXCEPTION;
		if (ev->exception.has_error)
			info |= INTR_INFO_DELIVER_CODE_MASK;
	} else if (ev->interrupt.injected) {
		info = ev->interrupt.vector | INTR_TYPE_EXT_INTR;
	} else if (ev->nmi.injected) {
		info = NMI_VECTOR | INTR_TYPE_NMI_INTR;
	}
	vmx_get(vcpu);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
		   ev->exception.has_error ? ev->exception.error_code : 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
		   info ? info | INTR_INFO_VALID_MASK : 0);
	intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
	       ~(u32)(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS |
		      GUEST_INTR_STATE_NMI);
	if (ev->interrupt.shadow & MVM_SHADOW_STI)
		intr |= GUEST_INTR_STATE_STI;
	if (ev->interrupt.shadow & MVM_SHADOW_MOV_SS)
		intr |= GUEST_INTR_STATE_MOV_SS;
	/*
	 * An entry that injects an NMI wants virtual-NMI blocking clear
	 * (27.3.1.5); the delivery sets it.
	 */
	if (ev->nmi.masked && !ev->nmi.injected)
		intr |= GUEST_INTR_STATE_NMI;
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr);
	vmx_put();
}

/* Where vmx->msrs[] keeps MSR @index, or -1. */
static int vmx_swap_index(u32 index)
{
	return index == MSR_KERNEL_GS_BASE ? VMX_KGSBASE : mvm_uret_slot(index);
}

static int vmx_get_msr(struct mvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int i = vmx_swap_index(index), r = 0;

	if (i >= 0) {
		*data = vmx->msrs[i];
		return 0;
	}
	vmx_get(vcpu);
	switch (index) {
	case MSR_EFER:
		*data = vmcs_read(GUEST_IA32_EFER);
		break;
	case MSR_IA32_SYSENTER_CS:
		*data = vmcs_read(GUEST_SYSENTER_CS);
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = vmcs_read(GUEST_SYSENTER_ESP);
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = vmcs_read(GUEST_SYSENTER_EIP);
		break;
	case MSR_IA32_TSC:
		*data = rdtsc() + vmcs_read(TSC_OFFSET);
		break;
	case MSR_IA32_CR_PAT:
		*data = vmcs_read(GUEST_IA32_PAT);
		break;
	default:
		r = -EINVAL;
	}
	vmx_put();
	return r;
}

static int vmx_set_msr(struct mvm_vcpu *vcpu, u32 index, u64 data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int i = vmx_swap_index(index), r = 0;
	u64 efer;

	if (i >= 0) {
		vmx->msrs[i] = data;
		if (i < MVM_NR_URET)
			vmx->uret_owner = mvm_uret_new_owner();
		return 0;
	}
	vmx_get(vcpu);
	switch (index) {
	case MSR_EFER:
		/* SDM vol. 3, 9.8.5: LME cannot change while paging is on. */
		efer = vmcs_read(GUEST_IA32_EFER);
		if (((data ^ efer) & EFER_LME) && (vmx_get_cr0() & X86_CR0_PG))
			r = -EINVAL;
		else
			vmx_set_efer((data & ~EFER_LMA) | (efer & EFER_LMA));
		break;
	case MSR_IA32_SYSENTER_CS:
		vmcs_write(GUEST_SYSENTER_CS, data);
		break;
	case MSR_IA32_SYSENTER_ESP:
		vmcs_write(GUEST_SYSENTER_ESP, data);
		break;
	case MSR_IA32_SYSENTER_EIP:
		vmcs_write(GUEST_SYSENTER_EIP, data);
		break;
	case MSR_IA32_TSC:
		vmcs_write(TSC_OFFSET, data - rdtsc());
		break;
	case MSR_IA32_CR_PAT:
		vmcs_write(GUEST_IA32_PAT, data);
		break;
	default:
		r = -EINVAL;
	}
	vmx_put();
	return r;
}

static void vmx_get_debugregs(struct mvm_vcpu *vcpu, struct mvm_debugregs *d)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	d->dr6 = vmx->dr6;
	d->dr7 = vmcs_read(GUEST_DR7);
	vmx_put();
}

static void vmx_set_debugregs(struct mvm_vcpu *vcpu,
			      const struct mvm_debugregs *d)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	vmx->dr6 = d->dr6 | DR6_RESERVED;
	vmcs_write(GUEST_DR7, d->dr7 | MVM_VMX_DR7_RESET);
	vmx_put();
}

/* Called with the VMCS current (from the exit handlers), or loads it. */
static void __vmx_queue_exception(struct vmx_vcpu *vmx, u8 vector,
				  bool has_error, u32 error, u64 cr2)
{
	u32 info = vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK;

	/*
	 * Real mode pushes no error code, and with unrestricted guest an
	 * entry that would deliver one fails (SDM vol. 3, 26.2.1.3).
	 */
	if (!(vmcs_read(GUEST_CR0) & X86_CR0_PE))
		has_error = false;
	if (has_error) {
		info |= INTR_INFO_DELIVER_CODE_MASK;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
	if (vector == X86_TRAP_PF)
		vmx->cr2 = cr2;
}

static void vmx_queue_exception(struct mvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error, u64 cr2)
{
	struct vmx_vcpu *vmx = vmx_get(vcpu);

	__vmx_queue_exception(vmx, vector, has_error, error, cr2);
	vmx_put();
}

/* The run loop. */

static void vmx_set_proc(u32 bits, bool on)
{
	u32 proc = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);

	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, on ? proc | bits : proc & ~bits);
}

/*
 * The event primitives for events.c, with the VMCS current.  The
 * interruptibility state holds the shadows and NMI blocking (SDM vol. 3,
 * 25.4.2); the windows are the interrupt- and NMI-window exits (25.2).
 */
static bool vmx_event_free(u32 *intr)
{
	*intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	return !(vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK) &&
	       !(*intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

static bool vmx_nmi_allowed(struct mvm_vcpu *vcpu)
{
	u32 intr;

	return vmx_event_free(&intr) && !(intr & GUEST_INTR_STATE_NMI);
}

static bool vmx_interrupt_allowed(struct mvm_vcpu *vcpu)
{
	u32 intr;

	return vmx_event_free(&intr) &&
	       (vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_IF);
}

static void vmx_inject_nmi(struct mvm_vcpu *vcpu)
{
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, NMI_VECTOR | INTR_TYPE_NMI_INTR |
		   INTR_INFO_VALID_MASK);
}

static void vmx_inject_irq(struct mvm_vcpu *vcpu, u8 vector)
{
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vector | INTR_TYPE_EXT_INTR |
		   INTR_INFO_VALID_MASK);
}

static void vmx_enable_nmi_window(struct mvm_vcpu *vcpu, bool on)
{
	vmx_set_proc(CPU_BASED_NMI_WINDOW_EXITING, on);
}

static void vmx_enable_irq_window(struct mvm_vcpu *vcpu, bool on)
{
	vmx_set_proc(CPU_BASED_INTR_WINDOW_EXITING, on);
}

/* The host's NMI, which exited the guest: see mvm_vmx_do_nmi(). */
static void vmx_host_nmi(void)
{
#if MVM_VMX_HOST_NMI
	mvm_vmx_do_nmi();
#else
	/*
	 * No handler to call: send this CPU an NMI through the ICR (delivery
	 * mode NMI; SELF_IPI would make vector 2 a fixed interrupt, which the
	 * APIC rejects).  It stays pending until the next IRET unblocks NMIs.
	 */
	apic->send_IPI(smp_processor_id(), NMI_VECTOR);
#endif
}

/*
 * What an exit leaves that must be handled where the host would have had
 * it, on this CPU and before interrupts are on again: the host's NMI, and a
 * machine check, as an exception exit or as a VM entry that failed on one
 * (exit reason 41, SDM vol. 3, "VM-Entry Failures During or After Loading
 * Guest State").  Both would otherwise have run through the host's IDT.
 * Keeps the exit reason and interruption information for vmx_decode_exit().
 */
static void vmx_handle_exit_irqoff(struct vmx_vcpu *vmx)
{
	u32 reason = vmcs_read(VM_EXIT_REASON), info;

	vmx->exit_reason = reason;
	if ((reason & VMX_EXIT_REASON_BASIC) == EXIT_REASON_MCE_DURING_VMENTRY) {
		mvm_machine_check();
		return;
	}
	if (reason != EXIT_REASON_EXCEPTION_NMI)
		return;
	info = vmcs_read(VM_EXIT_INTR_INFO);
	vmx->exit_intr_info = info;
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		vmx_host_nmi();
	else if ((info & INTR_INFO_VECTOR_MASK) == X86_TRAP_MC)
		mvm_machine_check();
}

/*
 * Flush what this CPU may cache for the vCPU (SDM vol. 3, "Invalidation of
 * TLBs and Paging-Structure Caches"):
 * guest-physical and combined mappings of its EPTP with INVEPT, linear
 * ones of its VPID with INVVPID.  Single-context where the CPU has it,
 * else all contexts (vmx_probe()).  Neither should ever fail (VMfail); if
 * one does, flush every context, and if that fails too, 0 is not returned
 * and the guest does not run.
 */
static int vmx_flush_tlb(struct vmx_vcpu *vmx)
{
	bool ok;

	ok = !vmx_invept(vmx_invept_type, vmx_eptp(vmx->vcpu.vm));
	if (WARN_ON_ONCE(!ok) && vmx_invept_type != VMX_EPT_EXTENT_GLOBAL &&
	    (vmx_ept_cap & MVM_VMX_EPT_INVEPT_ALL))
		ok = !vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	/* Without a VPID, entry and exit flush it (vmx_vmcs_reset()). */
	if (!ok || !vmx->vpid)
		return ok ? 0 : -EIO;
	ok = !vmx_invvpid(vmx_invvpid_type, vmx->vpid);
	if (WARN_ON_ONCE(!ok) &&
	    vmx_invvpid_type != VMX_VPID_EXTENT_ALL_CONTEXT &&
	    (vmx_ept_cap & MVM_VMX_VPID_INVVPID_ALL))
		ok = !vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
	return ok ? 0 : -EIO;
}

/* DR7's enable bits, L0-L3 and G0-G3. */
#define MVM_VMX_DR7_ENABLES	0xffULL

/*
 * The guest's DR0-3 and DR6 go into the CPU only when the guest can see
 * them: its DR7 enables a breakpoint, or its first MOV DR turned MOV-DR
 * exiting off for this run (vmx_enter()).  Otherwise every MOV DR exits
 * (SDM vol. 3, "Primary Processor-Based VM-Execution Controls"), the
 * host's DR0-3 and DR6 stay, and there is nothing to restore.  KVM does the
 * same.  Returns whether they were loaded; @host_dr6 is then the host's.
 */
static bool vmx_load_guest_debug(struct vmx_vcpu *vmx, unsigned long *host_dr6)
{
	const u64 *db = vmx->vcpu.db;

	if (!vmx->dr_pass &&
	    !(vmcs_read(GUEST_DR7) & MVM_VMX_DR7_ENABLES))
		return false;
	get_debugreg(*host_dr6, 6);
	set_debugreg(db[0], 0);
	set_debugreg(db[1], 1);
	set_debugreg(db[2], 2);
	set_debugreg(db[3], 3);
	set_debugreg(vmx->dr6, 6);
	return true;
}

/* After the exit: the guest may have written them (with MOV DR passed). */
static void vmx_put_guest_debug(struct vmx_vcpu *vmx, unsigned long host_dr6)
{
	u64 *db = vmx->vcpu.db;

	get_debugreg(db[0], 0);
	get_debugreg(db[1], 1);
	get_debugreg(db[2], 2);
	get_debugreg(db[3], 3);
	get_debugreg(vmx->dr6, 6);
	set_debugreg(host_dr6, 6);
	/* Read back: the next MOV DR exits again, as the first did. */
	if (vmx->dr_pass) {
		vmx->dr_pass = false;
		vmx_set_proc(CPU_BASED_MOV_DR_EXITING, true);
	}
}

/*
 * The host's IA32_DEBUGCTL, which every VM exit clears (SDM vol. 3,
 * 28.5.1).  Linux changes it (BTF, LBR) when it switches tasks, so the
 * value read once holds until this task leaves this CPU: it is read again
 * only after a context switch, on another CPU, or for another task, as
 * KVM reads it at each vCPU load.
 */
static u64 vmx_host_debugctl(struct vmx_vcpu *vmx, int cpu)
{
	unsigned long switches = current->nvcsw + current->nivcsw;

	if (vmx->debugctl_task != current || vmx->debugctl_cpu != cpu ||
	    vmx->debugctl_switches != switches) {
		vmx->host_debugctl = get_debugctlmsr();
		vmx->debugctl_task = current;
		vmx->debugctl_cpu = cpu;
		vmx->debugctl_switches = switches;
	}
	return vmx->host_debugctl;
}

static void __vmx_skip(u64 next_rip);

/*
 * A CPUID exit handled right where it happened: interrupts still off, the
 * guest's FPU, debug and user-return state still in the CPU and the
 * host's segments, descriptor tables and DEBUGCTL not yet back, none of
 * which the lookup touches.  Returns true when the guest can be entered
 * again at once, as KVM's fastpath exits re-enter (vmx_exit_handlers_
 * fastpath()): only when nothing waits for the run loop, which is what
 * it checks between entries (vcpu.c) and mvm_events_must_retry() at
 * each.  A host interrupt or NMI, a kick among them, exits the guest
 * again and ends the loop, so it holds the CPU no longer than a guest
 * that ran without exiting.
 *
 * The exit is counted and traced as the run loop's are, and the entry
 * that follows traced; mvm_exit_cpuid() does the same work in exit.c.
 */
static bool vmx_exit_fastpath(struct vmx_vcpu *vmx)
{
	struct mvm_vcpu *vcpu = &vmx->vcpu;
	u64 *gprs = vmx->gprs;
	struct mvm_exit exit;
	u32 eax, ebx, ecx, edx;

	if (vmcs_read(VM_EXIT_REASON) != EXIT_REASON_CPUID ||
	    READ_ONCE(vcpu->requests) || need_resched() ||
	    signal_pending(current) || mvm_events_must_retry(vcpu))
		return false;
	exit = (struct mvm_exit) {
		.reason = MVM_VMEXIT_CPUID,
		.hw_reason = EXIT_REASON_CPUID,
		.rip = vmcs_read(GUEST_RIP),
	};
	eax = gprs[MVM_GPR_RAX];
	ecx = gprs[MVM_GPR_RCX];
	mvm_handle_cpuid(vcpu, eax == 1 ? vmx_get_cr4() : 0, &eax, &ebx,
			 &ecx, &edx);
	gprs[MVM_GPR_RAX] = eax;
	gprs[MVM_GPR_RBX] = ebx;
	gprs[MVM_GPR_RCX] = ecx;
	gprs[MVM_GPR_RDX] = edx;
	__vmx_skip(exit.rip + vmcs_read(VM_EXIT_INSTRUCTION_LEN));
	mvm_vcpu_count_fastpath(vcpu, &exit);
	return true;
}

/*
 * Enter the guest once.  Returns 0 after an exit or a failed entry
 * (vmx->vmfail says which), -EAGAIN when an event came too late for this
 * entry and the guest did not run, or -EIO.
 */
static int vmx_enter(struct vmx_vcpu *vmx)
{
	struct mvm_vcpu *vcpu = &vmx->vcpu;
	u16 fs_sel, gs_sel, ds_sel, es_sel, ldt_sel;
	unsigned long host_dr6 = DR6_RESERVED;
	u64 host_kgsbase, host_debugctl;
	struct desc_ptr gdt, idt;
	u32 host_pkru = 0;
	bool guest_dr;
	int cpu, r;

	kernel_fpu_begin();
	local_irq_disable();
	/*
	 * vmx_vcpu_run() made the VMCS current, and preemption has been off
	 * since: only VMXOFF (the reboot notifier, CPU offline) can have
	 * taken it away, and it is off on this CPU for good then.
	 */
	if (!mvm_hw_cpu_enabled() ||
	    __this_cpu_read(vmx_current_vmcs) != vmx->vmcs) {
		r = -EIO;
		goto out_irq;
	}
	cpu = smp_processor_id();
	WRITE_ONCE(vcpu->cpu, cpu);
	WRITE_ONCE(vcpu->mode, MVM_IN_GUEST);
	/* Pairs with mvm_vcpu_kick(): see there. */
	smp_mb();
	if (mvm_events_must_retry(vcpu)) {
		r = -EAGAIN;
		goto out_mode;
	}
	if (test_and_clear_bit(MVM_REQ_TLB_FLUSH, &vcpu->requests) &&
	    vmx_flush_tlb(vmx)) {
		/* Never run the guest on stale translations. */
		set_bit(MVM_REQ_TLB_FLUSH, &vcpu->requests);
		r = -EIO;
		goto out_mode;
	}
	mvm_rcu_guest_enter();

	if (vmx_preempt_ticks)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmx_preempt_ticks);

	/* What VM exit does not restore (SDM vol. 3, 28.5). */
	vmcs_write(HOST_CR3, __read_cr3());
	vmcs_write(HOST_CR4, cr4_read_shadow());
	vmcs_write(HOST_FS_BASE, __rdmsr(MSR_FS_BASE));
	savesegment(fs, fs_sel);
	savesegment(gs, gs_sel);
	savesegment(ds, ds_sel);
	savesegment(es, es_sel);
	asm volatile("sldt %0" : "=g" (ldt_sel));
	native_store_gdt(&gdt);
	store_idt(&idt);
	if (!mvm_uret_owned(vmx->uret_owner))
		mvm_uret_load(vmx->msrs, vmx->uret_owner);
	host_kgsbase = __rdmsr(MSR_KERNEL_GS_BASE);
	if (host_kgsbase != vmx->msrs[VMX_KGSBASE])
		wrmsrl(MSR_KERNEL_GS_BASE, vmx->msrs[VMX_KGSBASE]);
	/*
	 * The guest's DR7 comes from the VMCS at VM entry; until then, with
	 * the host's DR7 live, a guest address in DR0-3 would be a host
	 * breakpoint: off with them first.
	 */
	if (hw_breakpoint_active())
		set_debugreg(MVM_VMX_DR7_RESET, 7);
	guest_dr = vmx_load_guest_debug(vmx, &host_dr6);
	host_debugctl = vmx_host_debugctl(vmx, cpu);
	mvm_fpu_load(vcpu);
	if (boot_cpu_has(X86_FEATURE_OSPKE))
		host_pkru = rdpkru();
	native_write_cr2(vmx->cr2);

	r = 0;
	for (;;) {
		vmx->vmfail = mvm_vmx_vmrun(vmx->gprs, vmx->launched);
		if (vmx->vmfail)
			break;
		vmx->launched = true;
		vmx->cr2 = native_read_cr2();
		if (!vmx_exit_fastpath(vmx))
			break;
		/* A tracepoint's probe may have taken a page fault. */
		if (native_read_cr2() != vmx->cr2)
			native_write_cr2(vmx->cr2);
	}
	if (boot_cpu_has(X86_FEATURE_OSPKE) && rdpkru() != host_pkru)
		wrpkru(host_pkru);
	mvm_fpu_put(vcpu);
	if (guest_dr)
		vmx_put_guest_debug(vmx, host_dr6);
	/*
	 * VM exit set DR7 to 0x400 and cleared IA32_DEBUGCTL (28.5.1): the
	 * host's breakpoints back if it had any, and its LBR, BTF and
	 * bus-lock detection settings.  With no breakpoint enabled, what
	 * DR0-3 hold does not matter to the host.
	 */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	if (host_debugctl)
		update_debugctlmsr(host_debugctl);
	/* The guest may SWAPGS or WRMSR its kernel GS base without an exit. */
	vmx->msrs[VMX_KGSBASE] = __rdmsr(MSR_KERNEL_GS_BASE);
	if (vmx->msrs[VMX_KGSBASE] != host_kgsbase)
		wrmsrl(MSR_KERNEL_GS_BASE, host_kgsbase);
	/* VM exit set the GDT and IDT limits to 0xffff and LDTR to 0. */
	native_load_gdt(&gdt);
	native_load_idt(&idt);
	if (ldt_sel)
		asm volatile("lldt %0" : : "rm" (ldt_sel));
	loadsegment(ds, ds_sel);
	loadsegment(es, es_sel);
	if (fs_sel)
		loadsegment(fs, fs_sel);
	if (gs_sel)
		load_gs_index(gs_sel);
	/* ... and the TR limit to 0x67: the I/O bitmap needs reloading. */
	invalidate_tss_limit();
	/* The host's state is back: its NMI and #MC handlers may run. */
	if (!vmx->vmfail) {
		vmx_handle_exit_irqoff(vmx);
		/*
		 * The guest's first MOV DR: with MOV-DR exiting off and its
		 * DR0-3 and DR6 in the CPU, it runs the instruction again
		 * itself, as KVM lets it.
		 */
		if (vmx->exit_reason == EXIT_REASON_DR_ACCESS) {
			/* As vmx_handle_exit(): LMA may follow a CR0.PG write. */
			vmx_set_efer(vmcs_read(GUEST_IA32_EFER));
			vmx->dr_pass = true;
			vmx_set_proc(CPU_BASED_MOV_DR_EXITING, false);
			r = -EAGAIN;
		}
	}
out_mode:
	WRITE_ONCE(vcpu->mode, MVM_OUTSIDE_GUEST);
out_irq:
	mvm_uret_exit();
	local_irq_enable();
	kernel_fpu_end();
	return r;
}

/* RIP past an instruction that has run, which ends its interrupt shadow. */
static void __vmx_skip(u64 next_rip)
{
	vmcs_write(GUEST_RIP, next_rip);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO,
		   vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
		   ~(u64)(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

static u64 vmx_next_rip(void)
{
	return vmcs_read(GUEST_RIP) + vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

/* The instruction that exited has run. */
static void vmx_skip(void)
{
	__vmx_skip(vmx_next_rip());
}

static void vmx_inject_gp(struct vmx_vcpu *vmx)
{
	__vmx_queue_exception(vmx, X86_TRAP_GP, true, 0, 0);
}

/* exit.c's primitives.  RSP lives in the VMCS, the rest in gprs. */

static u64 vmx_get_gpr(struct mvm_vcpu *vcpu, unsigned int reg)
{
	u64 v;

	if (reg != MVM_GPR_RSP)
		return to_vmx(vcpu)->gprs[reg % MVM_NR_GPRS];
	vmx_get(vcpu);
	v = vmcs_read(GUEST_RSP);
	vmx_put();
	return v;
}

static void vmx_set_gpr(struct mvm_vcpu *vcpu, unsigned int reg, u64 val)
{
	if (reg != MVM_GPR_RSP) {
		to_vmx(vcpu)->gprs[reg % MVM_NR_GPRS] = val;
		return;
	}
	vmx_get(vcpu);
	vmcs_write(GUEST_RSP, val);
	vmx_put();
}

static void vmx_skip_to(struct mvm_vcpu *vcpu, u64 next_rip)
{
	vmx_get(vcpu);
	__vmx_skip(next_rip);
	vmx_put();
}

/* SDM vol. 3, table 28-5: the I/O instruction's exit qualification. */
static void vmx_decode_io(struct mvm_exit *exit)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION);

	exit->hw_info = q;
	exit->io = (typeof(exit->io)) {
		.size = (q & 7) + 1, .in = q & BIT(3), .string = q & BIT(4),
		.rep = q & BIT(5), .port = q >> 16,
	};
}

/* SDM vol. 3, table 28-7: EPT violation exit qualification. */
#define EPT_QUAL_WRITE		BIT(1)
#define EPT_QUAL_LINEAR_VALID	BIT(7)
#define EPT_QUAL_TRANSLATED	BIT(8)

static void vmx_decode_ept_violation(struct mvm_exit *exit)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION);

	exit->reason = MVM_VMEXIT_MMIO;
	exit->hw_info = q;
	exit->mmio.gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	exit->mmio.write = q & EPT_QUAL_WRITE;
	/* The access was the CPU's walk of the guest's page tables. */
	exit->mmio.in_walk = (q & EPT_QUAL_LINEAR_VALID) &&
			     !(q & EPT_QUAL_TRANSLATED);
}

/*
 * MOV to CR0/CR4 that touched a bit mvm owns, and every MOV to or from CR8,
 * which would otherwise reach the host's APIC TPR (SDM table 28-3, 25.3).
 */
static void vmx_handle_cr(struct vmx_vcpu *vmx, struct mvm_exit *exit)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION);
	unsigned int cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
	u64 val = reg == MVM_GPR_RSP ? vmcs_read(GUEST_RSP) : vmx->gprs[reg];
	u64 old, efer;

	if (cr == 8 && type == 1) {
		if (reg == MVM_GPR_RSP)
			vmcs_write(GUEST_RSP, vmx->cr8);
		else
			vmx->gprs[reg] = vmx->cr8;
		vmx_skip();
		return;
	}
	if (cr == 8 && type == 0) {
		if (val > 15) {
			vmx_inject_gp(vmx);
		} else {
			vmx->cr8 = val;
			vmx_skip();
		}
		return;
	}
	/*
	 * LMSW loads CR0 bits 3:0 and can set PE but not clear it; its source
	 * is in the qualification whatever the operand (SDM table 28-3).  It
	 * exits when it would change PE.
	 */
	if (type == 3) {
		vmx_set_cr0((vmx_get_cr0() & ~0xeULL) | ((q >> 16) & 0xf));
		vmx_skip();
		return;
	}
	if (type != 0 || (cr != 0 && cr != 4)) {
		exit->reason = MVM_VMEXIT_UNEXPECTED;
		exit->hw_info = q;
		return;
	}
	if (cr == 4) {
		/* No nested VMX; other bits are the hardware's to refuse. */
		if (val & X86_CR4_VMXE) {
			vmx_inject_gp(vmx);
		} else {
			vmx_set_cr4(val);
			vmx_skip();
		}
		return;
	}
	old = vmx_get_cr0();
	efer = vmcs_read(GUEST_IA32_EFER);
	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
	    ((val & X86_CR0_PG) && !(old & X86_CR0_PG) && (efer & EFER_LME) &&
	     !(vmx_get_cr4() & X86_CR4_PAE))) {
		vmx_inject_gp(vmx);
		return;
	}
	/* SDM vol. 3, 9.8.5: paging on with LME enters long mode. */
	if ((val ^ old) & X86_CR0_PG && (efer & EFER_LME))
		vmx_set_efer(val & X86_CR0_PG ? efer | EFER_LMA :
			     efer & ~EFER_LMA);
	vmx_set_cr0(val);
	vmx_skip();
}

static void vmx_shutdown(struct vmx_vcpu *vmx, struct mvm_exit *exit)
{
	exit->reason = MVM_VMEXIT_SHUTDOWN;
	vmx_vmcs_reset(vmx);
}

/*
 * An intercepted exception goes back to the guest.  If it came while the
 * guest's CPU was delivering another exception, the pair becomes #DF, or
 * with #DF first a triple fault, as in SDM vol. 3, table 6-5.
 */
static void vmx_reflect_exception(struct vmx_vcpu *vmx, u8 vector, u32 info,
				  struct mvm_exit *exit)
{
	u32 idt = vmcs_read(IDT_VECTORING_INFO_FIELD);
	bool has_error = info & INTR_INFO_DELIVER_CODE_MASK;
	u32 error = has_error ? vmcs_read(VM_EXIT_INTR_ERROR_CODE) : 0;
	int merged;

	if ((idt & VECTORING_INFO_VALID_MASK) &&
	    (idt & VECTORING_INFO_TYPE_MASK) == INTR_TYPE_HARD_EXCEPTION) {
		merged = mvm_exception_merge(idt & VECTORING_INFO_VECTOR_MASK,
					     vector);
		if (merged == MVM_TRIPLE_FAULT) {
			vmx_shutdown(vmx, exit);
			return;
		}
		if (merged == X86_TRAP_DF && vector != X86_TRAP_DF) {
			vector = X86_TRAP_DF;
			has_error = true;
			error = 0;
		}
	}
	__vmx_queue_exception(vmx, vector, has_error, error, 0);
}

static void vmx_handle_exception(struct vmx_vcpu *vmx, struct mvm_exit *exit)
{
	u32 info = vmx->exit_intr_info;
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	/* vmx_handle_exit_irqoff() has handed both to the host. */
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		return;
	switch (vector) {
	case X86_TRAP_MC:
		break;
	case X86_TRAP_AC:
		__vmx_queue_exception(vmx, X86_TRAP_AC, true,
				      vmcs_read(VM_EXIT_INTR_ERROR_CODE), 0);
		break;
	case X86_TRAP_DF:
	case X86_TRAP_TS:
	case X86_TRAP_NP:
	case X86_TRAP_SS:
	case X86_TRAP_GP:
		vmx_reflect_exception(vmx, vector, info, exit);
		break;
	case X86_TRAP_DB:
		vmx->dr6 |= vmcs_read(EXIT_QUALIFICATION);
		fallthrough;
	default:
		__vmx_queue_exception(vmx, vector, false, 0, 0);
		break;
	}
}

/* An exit while delivering an event (SDM 27.2.4): deliver it again. */
static void vmx_reinject(struct vmx_vcpu *vmx)
{
	u32 info = vmcs_read(IDT_VECTORING_INFO_FIELD);
	u32 type = info & VECTORING_INFO_TYPE_MASK;

	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	if (!(info & VECTORING_INFO_VALID_MASK))
		return;
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION) {
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN,
			   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
	}
	/*
	 * As in __vmx_queue_exception(): no error code in real mode.  Bochs
	 * reports one for a #GP whose real-mode delivery an exit cut short,
	 * and the next entry failed on it (VM-instruction error 7).
	 */
	if (!(vmcs_read(GUEST_CR0) & X86_CR0_PE))
		info &= ~VECTORING_INFO_DELIVER_CODE_MASK;
	if (info & VECTORING_INFO_DELIVER_CODE_MASK)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
			   vmcs_read(IDT_VECTORING_ERROR_CODE));
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
}

/* What exit.c reports whatever the exit: RIP and MVM_RUN_IF_FLAG. */
static void vmx_exit_state(struct mvm_exit *exit)
{
	exit->rip = vmcs_read(GUEST_RIP);
	exit->interruptible = (vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
			      !(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
				(GUEST_INTR_STATE_STI |
				 GUEST_INTR_STATE_MOV_SS));
}

/* An instruction exit for exit.c; VMX always gives the length. */
static void vmx_exit_insn(struct mvm_exit *exit, u32 reason)
{
	exit->reason = reason;
	exit->next_rip = vmx_next_rip();
	exit->skip_by_decode = false;
}

/* CPUID reflects CR4.OSXSAVE and PKE; XSETBV checks OSXSAVE and CPL. */
static void vmx_exit_mode(struct mvm_exit *exit, u32 reason)
{
	vmx_exit_insn(exit, reason);
	exit->mode.cr4 = vmx_get_cr4();
	exit->mode.cpl = reason == MVM_VMEXIT_XSETBV ?
			 (vmcs_read(GUEST_SS_AR_BYTES) >> 5) & 3 : 0;
}

static void vmx_decode_exit(struct vmx_vcpu *vmx, struct mvm_exit *exit)
{
	u32 reason = vmx->exit_reason;

	vmx_exit_state(exit);
	if (vmx->vmfail) {
		exit->reason = MVM_VMEXIT_FAIL_ENTRY;
		exit->hw_reason = 0;
		exit->fail_entry.info[0] = vmcs_read(VM_INSTRUCTION_ERROR);
		exit->fail_entry.info[1] = 0;
		return;
	}
	exit->hw_reason = reason;
	/* EFER.LMA may have changed under CR0.PG writes that did not exit. */
	vmx_set_efer(vmcs_read(GUEST_IA32_EFER));

	/*
	 * A machine check during VM entry (reason 41) is among these: the
	 * host's handler has had it (vmx_handle_exit_irqoff()), and
	 * userspace sees the failed entry, as under KVM.
	 */
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		exit->reason = MVM_VMEXIT_FAIL_ENTRY;
		exit->fail_entry.info[0] = vmcs_read(EXIT_QUALIFICATION);
		exit->fail_entry.info[1] = 0;
		return;
	}
	vmx_reinject(vmx);

	exit->reason = MVM_VMEXIT_NONE;
	switch (reason & VMX_EXIT_REASON_BASIC) {
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
		break;
	case EXIT_REASON_EXCEPTION_NMI:
		vmx_handle_exception(vmx, exit);
		break;
	case EXIT_REASON_INTERRUPT_WINDOW:
		vmx_set_proc(CPU_BASED_INTR_WINDOW_EXITING, false);
		break;
	case EXIT_REASON_NMI_WINDOW:
		vmx_set_proc(CPU_BASED_NMI_WINDOW_EXITING, false);
		break;
	case EXIT_REASON_CPUID:
		vmx_exit_mode(exit, MVM_VMEXIT_CPUID);
		break;
	case EXIT_REASON_XSETBV:
		vmx_exit_mode(exit, MVM_VMEXIT_XSETBV);
		break;
	case EXIT_REASON_HLT:
		vmx_exit_insn(exit, MVM_VMEXIT_HLT);
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		vmx_exit_insn(exit, MVM_VMEXIT_IO);
		vmx_decode_io(exit);
		break;
	case EXIT_REASON_MSR_READ:
		vmx_exit_insn(exit, MVM_VMEXIT_MSR_READ);
		break;
	case EXIT_REASON_MSR_WRITE:
		vmx_exit_insn(exit, MVM_VMEXIT_MSR_WRITE);
		break;
	case EXIT_REASON_INVD:
		vmx_exit_insn(exit, MVM_VMEXIT_INVD);
		break;
	case EXIT_REASON_WBINVD:
		vmx_exit_insn(exit, MVM_VMEXIT_WBINVD);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		vmx_decode_ept_violation(exit);
		break;
	case EXIT_REASON_CR_ACCESS:
		vmx_handle_cr(vmx, exit);
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		vmx_shutdown(vmx, exit);
		break;
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case MVM_VMX_EXIT_GETSEC:
	case EXIT_REASON_RDPMC:
	case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_MONITOR_INSTRUCTION:
	case MVM_VMX_EXIT_RSM:
		/* Nothing the guest may run: as on a CPU without VMX. */
		exit->reason = MVM_VMEXIT_UD;
		break;
	default:
		exit->reason = MVM_VMEXIT_UNEXPECTED;
		exit->hw_info = vmcs_read(EXIT_QUALIFICATION);
		break;
	}
}

/*
 * An exit on a fault of an IRET that had already unblocked NMIs (SDM vol.
 * 3, 28.2.3: "NMI unblocking due to IRET", bit 12 of the EPT violation's
 * qualification and of the exception's interruption information; with
 * virtual NMIs).  The IRET runs again, so the blocking must be back, or a
 * pending NMI comes in on the old handler's frame: for instance the first
 * IRET of an NMI handler restored into a fresh VM, whose stack page is not
 * in the EPT tables yet.
 */
static void vmx_iret_reblock_nmi(struct vmx_vcpu *vmx)
{
	u32 basic = vmx->exit_reason & VMX_EXIT_REASON_BASIC;
	bool unblocked;

	if (vmx->vmfail)
		return;
	if (basic == EXIT_REASON_EPT_VIOLATION)
		unblocked = vmcs_read(EXIT_QUALIFICATION) & BIT(12);
	else if (basic == EXIT_REASON_EXCEPTION_NMI)
		unblocked = vmx->exit_intr_info & INTR_INFO_UNBLOCK_NMI;
	else
		return;
	if (unblocked &&
	    !(vmcs_read(IDT_VECTORING_INFO_FIELD) & VECTORING_INFO_VALID_MASK))
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO,
			   vmcs_read(GUEST_INTERRUPTIBILITY_INFO) |
			   GUEST_INTR_STATE_NMI);
}

static int vmx_vcpu_run(struct mvm_vcpu *vcpu, struct mvm_exit *exit)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int r;

	preempt_disable();
	if (!vmx_load(vmx)) {
		preempt_enable();
		return -EIO;
	}
	mvm_inject_events(vcpu);
	r = vmx_enter(vmx);
	if (r == -EAGAIN) {
		exit->reason = MVM_VMEXIT_RETRY;
		r = 0;
	} else if (!r) {
		vmx_iret_reblock_nmi(vmx);
		vmx_decode_exit(vmx, exit);
	}
	/*
	 * After a failed VM entry, VMfail or a failure on guest state (SDM
	 * vol. 3, 27.8), VMCLEAR the VMCS: its launch state is then known to
	 * be clear, the next entry is a VMLAUNCH from a freshly loaded VMCS,
	 * and, as after any move, TLBs are flushed first.
	 */
	if (!r && exit->reason == MVM_VMEXIT_FAIL_ENTRY) {
		local_irq_disable();
		vmx_clear_this_cpu(vmx);
		local_irq_enable();
	}
	vmx_put();
	return r;
}

/* For the counters and tracepoints (stats.c): SDM vol. 3, appendix C. */
static u32 vmx_exit_class(const struct mvm_exit *exit)
{
	if (exit->reason == MVM_VMEXIT_FAIL_ENTRY)
		return MVM_XC_OTHER;
	switch (exit->hw_reason & VMX_EXIT_REASON_BASIC) {
	case EXIT_REASON_IO_INSTRUCTION:
		return MVM_XC_IO;
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG:
		return MVM_XC_NPF;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		return MVM_XC_MSR;
	case EXIT_REASON_CPUID:
		return MVM_XC_CPUID;
	case EXIT_REASON_HLT:
		return MVM_XC_HLT;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
		return MVM_XC_INTR;
	case EXIT_REASON_INTERRUPT_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
		return MVM_XC_INTR_WINDOW;
	case EXIT_REASON_EXCEPTION_NMI:
		/* The host's NMIs as well: one exit reason for both. */
		return MVM_XC_EXCEPTION;
	default:
		return MVM_XC_OTHER;
	}
}

const struct mvm_backend_ops vmx_backend_ops = {
	.name = "VMX",
	.backend = MVM_BACKEND_VMX,
	.probe = vmx_probe,
	.setup = vmx_setup,
	.unsetup = vmx_unsetup,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.pte = vmx_pte,
	.vcpu_alloc = vmx_vcpu_alloc,
	.vcpu_free = vmx_vcpu_free,
	.vcpu_run = vmx_vcpu_run,
	.get_gpr = vmx_get_gpr,
	.set_gpr = vmx_set_gpr,
	.skip = vmx_skip_to,
	.get_regs = vmx_get_regs,
	.set_regs = vmx_set_regs,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_events = vmx_get_events,
	.set_events = vmx_set_events,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.get_debugregs = vmx_get_debugregs,
	.set_debugregs = vmx_set_debugregs,
	.queue_exception = vmx_queue_exception,
	.nmi_allowed = vmx_nmi_allowed,
	.interrupt_allowed = vmx_interrupt_allowed,
	.inject_nmi = vmx_inject_nmi,
	.inject_irq = vmx_inject_irq,
	.enable_nmi_window = vmx_enable_nmi_window,
	.enable_irq_window = vmx_enable_irq_window,
	.exit_class = vmx_exit_class,
};
