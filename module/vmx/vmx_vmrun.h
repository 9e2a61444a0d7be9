/* SPDX-License-Identifier: GPL-2.0 */
/* vmx_vmrun.S, for vmx.c alone; included by both. */
#ifndef MVM_VMX_VMRUN_H
#define MVM_VMX_VMRUN_H

#include <linux/kconfig.h>

/*
 * The VMCS fields vmx_vmrun.S writes, whose encodings (SDM vol. 3,
 * appendix B.4.5) asm/vmx.h gives only as C enumerators; vmx.c checks
 * that both agree.
 */
#define MVM_VMCS_HOST_RSP	0x6c14
#define MVM_VMCS_HOST_RIP	0x6c16

/*
 * The host's NMI entry for a hypervisor that takes NMIs as VM exits: the
 * NMI handler on the current stack, without the IST that asm_exc_nmi()
 * needs.  Linux exports it when kvm_intel is a module: asm_exc_nmi_noist
 * until 6.2, asm_exc_nmi_kvm_vmx since 6.3 (Kbuild looks for the name in
 * asm/idtentry.h and defines MVM_NMI_KVM_VMX).
 */
#if IS_MODULE(CONFIG_KVM_INTEL) && defined(CONFIG_X86_64)
#define MVM_VMX_HOST_NMI	1
#ifdef MVM_NMI_KVM_VMX
#define MVM_VMX_NMI_ENTRY	asm_exc_nmi_kvm_vmx
#else
#define MVM_VMX_NMI_ENTRY	asm_exc_nmi_noist
#endif
#else
#define MVM_VMX_HOST_NMI	0
#endif

#ifndef __ASSEMBLY__
#include <linux/types.h>

int mvm_vmx_vmrun(u64 *gprs, int launched);
/* The host's NMI handler, with interrupts off; only if MVM_VMX_HOST_NMI. */
void mvm_vmx_do_nmi(void);
#endif

#endif /* MVM_VMX_VMRUN_H */
