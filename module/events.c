// SPDX-License-Identifier: GPL-2.0
/*
 * The event path, once for both backends: which pending NMI or external
 * interrupt goes into the guest at the next entry, and which window exits
 * bring the vCPU back for what must wait.
 *
 * A backend's vcpu_run calls mvm_inject_events() before it enters, with
 * its hardware state at hand (the VMCS current, preemption off), and
 * mvm_events_must_retry() (mvm.h) with interrupts off right before the
 * entry.  The policy is here; the vendor gives six primitives
 * (struct mvm_backend_ops): nmi_allowed, interrupt_allowed, inject_nmi,
 * inject_irq, enable_nmi_window, enable_irq_window.  What the vendor alone
 * knows stays there: the re-injection of an event an exit cut short, how
 * NMI blocking is tracked (VMX keeps it in the guest's interruptibility
 * state, SVM has to follow the handler's IRET itself).
 *
 * External interrupts come from the vCPU's struct mvm_irq_source.  Today
 * that is mvm_irq_queue, the 256 bits MVM_INTERRUPT sets, with no TPR and
 * nothing in service; a local APIC is another source.
 */
#include <asm/trapnr.h>

#include "mvm.h"

static int mvm_irq_queue_get_highest(struct mvm_vcpu *vcpu)
{
	return mvm_irq_queue_highest(vcpu);
}

static void mvm_irq_queue_ack(struct mvm_vcpu *vcpu, int vector)
{
	clear_bit(vector, vcpu->irqs);
}

const struct mvm_irq_source mvm_irq_queue = {
	.name = "queue",
	.highest = mvm_irq_queue_get_highest,
	.ack = mvm_irq_queue_ack,
};

static void mvm_irq_ack(struct mvm_vcpu *vcpu, int vector)
{
	const struct mvm_irq_source *src = vcpu->irq_source;

	if (likely(src == &mvm_irq_queue))
		mvm_irq_queue_ack(vcpu, vector);
	else
		src->ack(vcpu, vector);
}

/*
 * An NMI, if the guest can take one; else the highest interrupt, if it can
 * take that.  Then a window for each kind still pending, the NMI's first:
 * on SVM it may arm the single step of an IRET, which the interrupt window
 * must then leave alone.
 */
void mvm_inject_events(struct mvm_vcpu *vcpu)
{
	const struct mvm_backend_ops *ops = mvm_ops;
	int vector;

	vcpu->saw_nmi = READ_ONCE(vcpu->nmi);
	vector = mvm_vcpu_pending_irq(vcpu);
	vcpu->saw_irq = vector;

	if (vcpu->saw_nmi && ops->nmi_allowed(vcpu)) {
		/* Taken by this entry; any thread may queue the next. */
		xchg(&vcpu->nmi, false);
		ops->inject_nmi(vcpu);
	} else if (vector >= 0 && ops->interrupt_allowed(vcpu)) {
		mvm_irq_ack(vcpu, vector);
		ops->inject_irq(vcpu, vector);
		vector = mvm_vcpu_pending_irq(vcpu);
	}
	ops->enable_nmi_window(vcpu, READ_ONCE(vcpu->nmi));
	ops->enable_irq_window(vcpu, vector >= 0);
}

/* SDM vol. 3, table 6-4; APM vol. 2, 8.2.9. */
static bool mvm_exception_contributory(u8 vector)
{
	return vector == X86_TRAP_DE ||
	       (vector >= X86_TRAP_TS && vector <= X86_TRAP_GP);
}

/*
 * Exception @second came while the guest's CPU was delivering exception
 * @first: what is delivered instead, as in SDM vol. 3, table 6-5 (APM vol.
 * 2, 8.2.9).  Returns @second (the two are handled one after the other),
 * X86_TRAP_DF, or MVM_TRIPLE_FAULT: the CPU shuts down.
 */
int mvm_exception_merge(u8 first, u8 second)
{
	bool bad = mvm_exception_contributory(second) || second == X86_TRAP_PF;

	if (first == X86_TRAP_DF && bad)
		return MVM_TRIPLE_FAULT;
	if ((first == X86_TRAP_PF && bad) ||
	    (mvm_exception_contributory(first) &&
	     mvm_exception_contributory(second)))
		return X86_TRAP_DF;
	return second;
}
