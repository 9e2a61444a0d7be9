// SPDX-License-Identifier: GPL-2.0
/* Placeholder until the instruction emulator lands. */
#include "mvm.h"

int mvm_emulate_mmio(struct mvm_vcpu *vcpu, u64 gpa, bool write)
{
	return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_EMULATION, gpa, write);
}

int mvm_emulate_string_io(struct mvm_vcpu *vcpu, u16 port, u8 size,
			  bool in, bool rep, u8 addr_size, int seg)
{
	return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_STRING_IO, port, in);
}

int mvm_insn_skip(struct mvm_vcpu *vcpu, const u8 *op, unsigned int oplen)
{
	struct mvm_regs regs;

	mvm_ops->get_regs(vcpu, &regs);
	regs.rip += oplen;
	mvm_ops->set_regs(vcpu, &regs);
	return 0;
}
