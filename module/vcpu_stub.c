// SPDX-License-Identifier: GPL-2.0
/*
 * TEMPORARY: stand-ins for the vcpu.c functions emulate.c calls, so that
 * the emul branch links on its own.  Drop this file (and its line in
 * Kbuild) when the branch is merged with the real vcpu.c.
 */
#include <linux/mvm.h>
#include "mvm.h"

int mvm_handle_io(struct mvm_vcpu *vcpu, u8 space, u64 addr, u8 size,
		  bool write, u64 data)
{
	struct mvm_run *run = vcpu->run;

	run->exit_reason = space == MVM_SPACE_PIO ? MVM_EXIT_IO : MVM_EXIT_MMIO;
	run->io = (struct mvm_access){
		.addr = addr,
		.data = data,
		.space = space,
		.size = size,
		.write = write,
	};
	return 1;
}

int mvm_vcpu_exit_internal(struct mvm_vcpu *vcpu, u32 suberror, u64 d0,
			   u64 d1)
{
	struct mvm_run *run = vcpu->run;

	run->exit_reason = MVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.data[0] = d0;
	run->internal.data[1] = d1;
	return 1;
}
