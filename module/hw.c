// SPDX-License-Identifier: GPL-2.0
/*
 * Switching hardware virtualization on and off.
 *
 * mvm switches EFER.SVME or VMXON on only while at least one VM exists, so
 * it can sit beside kvm_amd or kvm_intel: whichever creates a VM first owns
 * the CPUs, and the other one gets -EBUSY.  The off path also runs on CPU
 * offline and on reboot and kexec (a reboot notifier), so the next kernel
 * never inherits a CPU in SVM or VMX operation.
 *
 * mvm does not take the kernel's emergency virtualization callback (the
 * crash path): there is a single slot, KVM registers into it whenever it
 * switches virtualization on (6.12) or loads (kvm_intel on 6.1), and either
 * hypervisor WARNs when the other holds it.  Sitting beside KVM comes first;
 * Documentation/mvm/index.rst, "Sharing the CPU", says what that costs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/reboot.h>
#include <asm/mce.h>

#include "mvm.h"

/*
 * mvm_hw_lock serialises changes of mvm_hw_users.  Those changes also hold
 * cpus_read_lock(), and the hotplug callbacks run under the hotplug write
 * lock, so the callbacks see a stable count.
 */
static DEFINE_MUTEX(mvm_hw_lock);
static unsigned int mvm_hw_users;
static bool mvm_hw_rebooting;
static DEFINE_PER_CPU(bool, mvm_hw_enabled);
/* The first error of a round of IPIs, and on how many CPUs it failed. */
static atomic_t mvm_hw_err;
static atomic_t mvm_hw_nr_failed;
static int mvm_hw_cpuhp_state;

static int mvm_hw_enable_cpu(void)
{
	int r;

	if (__this_cpu_read(mvm_hw_enabled))
		return 0;
	r = mvm_ops->cpu_enable();
	if (!r) {
		mvm_uret_cpu_init();
		__this_cpu_write(mvm_hw_enabled, true);
	}
	return r;
}

/*
 * Is virtualization on for this CPU?  Called with interrupts off right
 * before entering a guest: the off paths (reboot, CPU offline) run on the
 * CPU itself with interrupts off, so the answer holds until the exit.
 */
bool mvm_hw_cpu_enabled(void)
{
	return __this_cpu_read(mvm_hw_enabled);
}

/**
 * mvm_rcu_guest_enter - the CPU is about to run a guest: an RCU quiescent state
 *
 * Called with interrupts off right before VMRUN or VMLAUNCH/VMRESUME.  No
 * RCU reader spans the guest, so entering it is a quiescent state, as a
 * return to user mode is.  Without this report a vCPU thread that loops in
 * MVM_RUN holds up every grace period: with PREEMPT_RCU (Debian's
 * PREEMPT_DYNAMIC) the tick reports a quiescent state only when it finds
 * preemption enabled, and the tick that exits the guest is taken inside
 * kernel_fpu_begin(), so it never does; cond_resched() reports nothing
 * there.  Every grace period on the host then waited for as long as the
 * vCPU kept running.  KVM does the same in guest_context_enter_irqoff().
 */
void mvm_rcu_guest_enter(void)
{
	lockdep_assert_irqs_disabled();
	rcu_note_context_switch(false);
}

/**
 * mvm_machine_check - hand a #MC that exited the guest to the host
 *
 * Called on the CPU that took it, right after the exit and with interrupts
 * still off, where the host's own #MC entry would have run (APM 15.12, SDM
 * vol. 3 "Machine-Check Exceptions" in VM exits).  The frame says user
 * mode, so that a guest's machine check does not panic the host as one in
 * its kernel would.
 */
void mvm_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

/**
 * mvm_hw_usable - may a vCPU still use virtualization?
 *
 * Not once the reboot notifier has switched it off: a VMX instruction
 * would then be #UD.  Callable with preemption on, where it answers for
 * whichever CPU the caller is on (while a VM exists, every online CPU has
 * it on until the notifier runs); the backends check again, with
 * mvm_hw_cpu_enabled() and interrupts off, before their VMX instructions.
 */
bool mvm_hw_usable(void)
{
	return !READ_ONCE(mvm_hw_rebooting) && this_cpu_read(mvm_hw_enabled);
}

static void mvm_hw_disable_cpu(void)
{
	if (!__this_cpu_read(mvm_hw_enabled))
		return;
	mvm_uret_cpu_drop();
	mvm_ops->cpu_disable();
	__this_cpu_write(mvm_hw_enabled, false);
}

static void mvm_hw_enable_ipi(void *unused)
{
	int r = mvm_hw_enable_cpu();

	if (r) {
		atomic_cmpxchg(&mvm_hw_err, 0, r);
		atomic_inc(&mvm_hw_nr_failed);
	}
}

static void mvm_hw_disable_ipi(void *unused)
{
	mvm_hw_disable_cpu();
}

static int mvm_hw_enable_all(void)
{
	int r;

	atomic_set(&mvm_hw_err, 0);
	atomic_set(&mvm_hw_nr_failed, 0);
	on_each_cpu(mvm_hw_enable_ipi, NULL, 1);
	r = atomic_read(&mvm_hw_err);
	if (r) {
		on_each_cpu(mvm_hw_disable_ipi, NULL, 1);
		/* Ratelimited: any caller of MVM_CREATE_VM can get here. */
		pr_warn_ratelimited("cannot enable %s on %d CPU(s): %s\n",
				    mvm_ops->name,
				    atomic_read(&mvm_hw_nr_failed),
				    r == -EBUSY ? "in use by another hypervisor" :
				    "the CPU refused");
		return r;
	}
	return 0;
}

static void mvm_hw_disable_all(void)
{
	on_each_cpu(mvm_hw_disable_ipi, NULL, 1);
}

/**
 * mvm_hw_get - make sure virtualization is on, for one more VM
 *
 * Return: 0; -EBUSY if another hypervisor owns a CPU or the machine
 * reboots; -EIO if a CPU refused to enter SVM or VMX operation.
 */
int mvm_hw_get(void)
{
	int r = 0;

	mutex_lock(&mvm_hw_lock);
	cpus_read_lock();
	if (mvm_hw_rebooting)
		r = -EBUSY;
	else if (!mvm_hw_users)
		r = mvm_hw_enable_all();
	if (!r)
		mvm_hw_users++;
	cpus_read_unlock();
	mutex_unlock(&mvm_hw_lock);
	return r;
}

/**
 * mvm_hw_put - drop a VM's hold on virtualization; the last one switches it off
 */
void mvm_hw_put(void)
{
	mutex_lock(&mvm_hw_lock);
	cpus_read_lock();
	if (!WARN_ON_ONCE(!mvm_hw_users) && !--mvm_hw_users &&
	    !mvm_hw_rebooting)
		mvm_hw_disable_all();
	cpus_read_unlock();
	mutex_unlock(&mvm_hw_lock);
}

/**
 * mvm_alloc_cpu_pages - one zeroed page for every possible CPU
 * @pages:	the backend's per-CPU pointer (host save area, VMXON region)
 *
 * Return: 0, or -ENOMEM with nothing left allocated.
 */
int mvm_alloc_cpu_pages(struct page *__percpu *pages)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct page *p = alloc_pages_node(cpu_to_node(cpu),
						  GFP_KERNEL | __GFP_ZERO, 0);

		if (!p) {
			mvm_free_cpu_pages(pages);
			return -ENOMEM;
		}
		*per_cpu_ptr(pages, cpu) = p;
	}
	return 0;
}

void mvm_free_cpu_pages(struct page *__percpu *pages)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct page **p = per_cpu_ptr(pages, cpu);

		if (*p)
			__free_page(*p);
		*p = NULL;
	}
}

/* CPU hotplug callbacks run on the CPU concerned, with hotplug locked. */
static int mvm_hw_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int r = 0;

	if (!mvm_hw_users || mvm_hw_rebooting)
		return 0;
	local_irq_save(flags);
	r = mvm_hw_enable_cpu();
	local_irq_restore(flags);
	if (r)
		pr_warn("cpu %u: cannot enable %s: in use by another hypervisor\n",
			cpu, mvm_ops->name);
	return r;
}

static int mvm_hw_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	mvm_hw_disable_cpu();
	local_irq_restore(flags);
	return 0;
}

/*
 * An orderly reboot or kexec: switch every CPU off and refuse new VMs.  VMs
 * that still exist keep their memory; they can no longer run.
 */
static int mvm_hw_reboot(struct notifier_block *nb, unsigned long action,
			 void *unused)
{
	mutex_lock(&mvm_hw_lock);
	cpus_read_lock();
	WRITE_ONCE(mvm_hw_rebooting, true);
	if (mvm_hw_users)
		mvm_hw_disable_all();
	cpus_read_unlock();
	mutex_unlock(&mvm_hw_lock);
	return NOTIFY_OK;
}

static struct notifier_block mvm_hw_reboot_nb = {
	.notifier_call = mvm_hw_reboot,
	.priority = 0,
};

int mvm_hw_init(void)
{
	int r;

	r = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "mvm:online",
				      mvm_hw_cpu_online, mvm_hw_cpu_offline);
	if (r < 0)
		return r;
	mvm_hw_cpuhp_state = r;

	r = register_reboot_notifier(&mvm_hw_reboot_nb);
	if (r)
		goto err_remove_cpuhp;
	return 0;

err_remove_cpuhp:
	cpuhp_remove_state_nocalls(mvm_hw_cpuhp_state);
	return r;
}

void mvm_hw_exit(void)
{
	unregister_reboot_notifier(&mvm_hw_reboot_nb);
	cpuhp_remove_state_nocalls(mvm_hw_cpuhp_state);
	/* Every VM held a module reference, so none is left. */
	WARN_ON_ONCE(mvm_hw_users);
}
