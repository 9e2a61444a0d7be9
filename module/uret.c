// SPDX-License-Identifier: GPL-2.0
/*
 * MSRs that only user mode reads: the SYSCALL MSRs and TSC_AUX.
 *
 * The kernel never uses STAR, LSTAR, CSTAR or SFMASK (they matter at the
 * next SYSCALL, from user mode), nor TSC_AUX (its paranoid entries find the
 * CPU with LSL, not RDPID, because hypervisors leave a guest's value there;
 * see GET_PERCPU_BASE in arch/x86/entry/calling.h).  So a guest's values
 * may stay in the CPU across VM exits and interrupts, until this CPU
 * returns to user mode: a user-return notifier puts the host's back then,
 * whichever task returns first (the notifier's flag follows the CPU across
 * context switches).  Entering a guest then writes only what differs from
 * what the CPU already holds: nothing, from the second entry on.
 *
 * A kernel without CONFIG_USER_RETURN_NOTIFIER (KVM selects it; a debug
 * kernel without KVM may lack it) gets the host's values back at every VM
 * exit instead, with interrupts still off (mvm_uret_exit()): as before
 * the notifier, and slower.
 *
 * The host's values are read when mvm switches virtualization on for a CPU
 * (Linux sets them at boot and at CPU bring-up, never later), and are put
 * back when it switches it off, so that nothing else (kvm_intel, kvm_amd)
 * ever reads a guest's value as the host's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/irqflags.h>
#include <linux/percpu.h>
#include <linux/user-return-notifier.h>
#include <asm/msr.h>

#include "mvm.h"

static const u32 mvm_uret_msrs[MVM_NR_URET] = {
	[MVM_URET_STAR] = MSR_STAR,
	[MVM_URET_LSTAR] = MSR_LSTAR,
	[MVM_URET_CSTAR] = MSR_CSTAR,
	[MVM_URET_SFMASK] = MSR_SYSCALL_MASK,
	[MVM_URET_TSC_AUX] = MSR_TSC_AUX,
};

/**
 * struct mvm_uret_cpu - one CPU's user-return MSRs
 * @urn:	registered while a guest's value is in the CPU
 * @registered:	a guest's value is in the CPU (and @urn on this CPU's list)
 * @host:	the host's values
 * @curr:	what the CPU holds
 * @usable:	the MSRs this CPU has (RDMSR did not fault)
 */
struct mvm_uret_cpu {
#ifdef CONFIG_USER_RETURN_NOTIFIER
	struct user_return_notifier urn;
#endif
	bool registered;
	u64 host[MVM_NR_URET];
	u64 curr[MVM_NR_URET];
	unsigned long usable;
};

static DEFINE_PER_CPU(struct mvm_uret_cpu, mvm_uret);

/*
 * Whose values the CPU holds for every slot, as mvm_uret_load() put them,
 * or 0: mvm_uret_owned().  Owners are numbered once and never again.
 */
DEFINE_PER_CPU(u64, mvm_uret_owner);
static atomic64_t mvm_uret_next_owner;

/* A number for a set of guest values, new each time they change. */
u64 mvm_uret_new_owner(void)
{
	return atomic64_inc_return(&mvm_uret_next_owner);
}

/* The slot of MSR @msr, or -1. */
int mvm_uret_slot(u32 msr)
{
	int i;

	for (i = 0; i < MVM_NR_URET; i++)
		if (mvm_uret_msrs[i] == msr)
			return i;
	return -1;
}

/* The host's values back, and the notifier off; interrupts any way. */
static void mvm_uret_put_host(struct mvm_uret_cpu *u)
{
	unsigned long flags;
	int i;

	local_irq_save(flags);
	__this_cpu_write(mvm_uret_owner, 0);
	if (u->registered) {
		u->registered = false;
#ifdef CONFIG_USER_RETURN_NOTIFIER
		user_return_notifier_unregister(&u->urn);
#endif
	}
	for (i = 0; i < MVM_NR_URET; i++) {
		if (u->curr[i] != u->host[i]) {
			wrmsrl(mvm_uret_msrs[i], u->host[i]);
			u->curr[i] = u->host[i];
		}
	}
	local_irq_restore(flags);
}

#ifdef CONFIG_USER_RETURN_NOTIFIER
static void mvm_uret_restore(struct user_return_notifier *urn)
{
	mvm_uret_put_host(container_of(urn, struct mvm_uret_cpu, urn));
}
#else
/* After each VM exit, interrupts still off: see the top of this file. */
void mvm_uret_exit(void)
{
	struct mvm_uret_cpu *u = this_cpu_ptr(&mvm_uret);

	if (u->registered)
		mvm_uret_put_host(u);
}
#endif

/* Virtualization goes on for this CPU (interrupts off). */
void mvm_uret_cpu_init(void)
{
	struct mvm_uret_cpu *u = this_cpu_ptr(&mvm_uret);
	int i;

	/* The host's values are there: mvm_uret_cpu_drop() put them back. */
	if (WARN_ON_ONCE(u->registered))
		return;
#ifdef CONFIG_USER_RETURN_NOTIFIER
	u->urn.on_user_return = mvm_uret_restore;
#endif
	__this_cpu_write(mvm_uret_owner, 0);
	u->usable = 0;
	for (i = 0; i < MVM_NR_URET; i++) {
		u->host[i] = 0;
		if (!rdmsrl_safe(mvm_uret_msrs[i], &u->host[i]))
			__set_bit(i, &u->usable);
		u->curr[i] = u->host[i];
	}
}

/* And off again (interrupts off): nothing of a guest's stays behind. */
void mvm_uret_cpu_drop(void)
{
	mvm_uret_put_host(this_cpu_ptr(&mvm_uret));
}

/**
 * mvm_uret_set - put a guest's value of an MSR in this CPU
 * @slot:	MVM_URET_*
 * @value:	the guest's value
 *
 * Called with interrupts off, right before entering the guest.  An MSR the
 * CPU lacks is left alone (the backends only pass those they enumerate).
 */
void mvm_uret_set(unsigned int slot, u64 value)
{
	struct mvm_uret_cpu *u = this_cpu_ptr(&mvm_uret);

	if (likely(u->curr[slot] == value) || !test_bit(slot, &u->usable))
		return;
	if (wrmsrl_safe(mvm_uret_msrs[slot], value))
		return;
	__this_cpu_write(mvm_uret_owner, 0);
	u->curr[slot] = value;
	if (!u->registered) {
#ifdef CONFIG_USER_RETURN_NOTIFIER
		user_return_notifier_register(&u->urn);
#endif
		u->registered = true;
	}
}

/*
 * The guest's values of every slot, from @values, numbered @owner: until
 * they change (a new number) or something else goes in, mvm_uret_owned()
 * says they are there, and the entry need not look at them.
 */
void mvm_uret_load(const u64 *values, u64 owner)
{
	unsigned int i;

	for (i = 0; i < MVM_NR_URET; i++)
		mvm_uret_set(i, values[i]);
	__this_cpu_write(mvm_uret_owner, owner);
}
