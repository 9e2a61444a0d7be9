/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm's tracepoints, in the "mvm" trace system: mvm_entry before each
 * entry into the guest, mvm_exit after each exit the guest made, both in
 * the generic run loop (vcpu.c).  perf and trace-cmd read them from
 * tracefs (events/mvm/); off, each is a static branch that is not taken.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mvm

#if !defined(MVM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MVM_TRACE_H

#include <linux/tracepoint.h>

#include <linux/mvm.h>
#include "mvm.h"

TRACE_DEFINE_ENUM(MVM_XC_IO);
TRACE_DEFINE_ENUM(MVM_XC_NPF);
TRACE_DEFINE_ENUM(MVM_XC_MSR);
TRACE_DEFINE_ENUM(MVM_XC_CPUID);
TRACE_DEFINE_ENUM(MVM_XC_HLT);
TRACE_DEFINE_ENUM(MVM_XC_INTR);
TRACE_DEFINE_ENUM(MVM_XC_INTR_WINDOW);
TRACE_DEFINE_ENUM(MVM_XC_EXCEPTION);
TRACE_DEFINE_ENUM(MVM_XC_OTHER);

TRACE_EVENT(mvm_entry,
	    TP_PROTO(u32 vcpu_id),
	    TP_ARGS(vcpu_id),
	    TP_STRUCT__entry(__field(u32, vcpu_id)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;),
	    TP_printk("vcpu %u", __entry->vcpu_id)
);

/* @code is the backend's own (SVM EXITCODE, VMX exit reason), in hex. */
TRACE_EVENT(mvm_exit,
	    TP_PROTO(u32 vcpu_id, u64 code, u32 class, u64 rip, u32 isa),
	    TP_ARGS(vcpu_id, code, class, rip, isa),
	    TP_STRUCT__entry(__field(u32, vcpu_id)
			     __field(u32, class)
			     __field(u64, code)
			     __field(u64, rip)
			     __field(u32, isa)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;
			   __entry->class = class;
			   __entry->code = code;
			   __entry->rip = rip;
			   __entry->isa = isa;),
	    TP_printk("vcpu %u isa %s code %#llx class %s rip %#llx",
		      __entry->vcpu_id,
		      __print_symbolic(__entry->isa,
				       { MVM_BACKEND_SVM, "SVM" },
				       { MVM_BACKEND_VMX, "VMX" }),
		      __entry->code,
		      __print_symbolic(__entry->class,
				       { MVM_XC_IO, "io" },
				       { MVM_XC_NPF, "npf" },
				       { MVM_XC_MSR, "msr" },
				       { MVM_XC_CPUID, "cpuid" },
				       { MVM_XC_HLT, "hlt" },
				       { MVM_XC_INTR, "intr" },
				       { MVM_XC_INTR_WINDOW, "intr_window" },
				       { MVM_XC_EXCEPTION, "exception" },
				       { MVM_XC_OTHER, "other" }),
		      __entry->rip)
);

#endif /* MVM_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
