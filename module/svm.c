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
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include <linux/mvm.h>
#include "mvm.h"

/* APM 15.30.1: VM_CR MSR. */
#define MVM_SVM_VM_CR_SVMDIS	BIT_ULL(4)

/*
 * The host state-save area that VMRUN writes and #VMEXIT reads, one page per
 * CPU, named by VM_HSAVE_PA (APM 15.30.4).
 */
static DEFINE_PER_CPU(struct page *, svm_hsave_page);

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

static int svm_setup(void)
{
	return mvm_alloc_cpu_pages(&svm_hsave_page);
}

static void svm_unsetup(void)
{
	mvm_free_cpu_pages(&svm_hsave_page);
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
	return 0;
}

static void svm_cpu_disable(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

const struct mvm_backend_ops svm_backend_ops = {
	.name = "SVM",
	.backend = MVM_BACKEND_SVM,
	.probe = svm_probe,
	.setup = svm_setup,
	.unsetup = svm_unsetup,
	.cpu_enable = svm_cpu_enable,
	.cpu_disable = svm_cpu_disable,
};
