/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm: the general registers by number, for C and for svm_vmrun.S and
 * vmx_vmrun.S.
 *
 * The numbers are those ModRM and REX encode (SDM vol. 2, 2.1.5), which the
 * VMX exit qualifications use too.  Both backends keep the guest's general
 * registers in a u64 array indexed by them, which their .S files load
 * before the entry and fill after the exit (with vmrun.inc's macros); a
 * slot the hardware keeps elsewhere (RSP on both, RAX on SVM, in the VMCS
 * or VMCB) is unused.
 *
 * Nothing but numbers, so that the .S files can include it and decode.c,
 * which includes it through decode.h, still builds on the host.
 */
#ifndef MVM_REGS_H
#define MVM_REGS_H

#define MVM_GPR_RAX		0
#define MVM_GPR_RCX		1
#define MVM_GPR_RDX		2
#define MVM_GPR_RBX		3
#define MVM_GPR_RSP		4
#define MVM_GPR_RBP		5
#define MVM_GPR_RSI		6
#define MVM_GPR_RDI		7
#define MVM_GPR_R8		8
#define MVM_GPR_R9		9
#define MVM_GPR_R10		10
#define MVM_GPR_R11		11
#define MVM_GPR_R12		12
#define MVM_GPR_R13		13
#define MVM_GPR_R14		14
#define MVM_GPR_R15		15
#define MVM_NR_GPRS		16

#endif /* MVM_REGS_H */
