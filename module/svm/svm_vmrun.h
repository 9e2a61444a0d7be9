/* SPDX-License-Identifier: GPL-2.0 */
/* svm_vmrun.S, for svm.c alone. */
#ifndef MVM_SVM_VMRUN_H
#define MVM_SVM_VMRUN_H

#include <linux/types.h>

void mvm_svm_vmrun(u64 vmcb_pa, u64 host_save_pa, u64 *gprs);
/*
 * Not a function: the instruction after VMRUN in mvm_svm_vmrun(), where
 * #VMEXIT returns, as an address to compare with.
 */
void mvm_svm_vmrun_ret(void);

#endif /* MVM_SVM_VMRUN_H */
