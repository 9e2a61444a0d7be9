// SPDX-License-Identifier: GPL-2.0
/*
 * Exit counters and tracepoints.
 *
 * Each vCPU counts its exits in plain u64s that only its own thread
 * increments (mvm_stat_inc()); nothing on the hot path is atomic or
 * shared.  debugfs shows them, in the layout kvm_stat reads for KVM:
 *
 *   mvm/<pid>-<fd>/<counter>		the VM's sum, computed at read
 *   mvm/<pid>-<fd>/vcpuN/<counter>	one vCPU's
 *
 * A VM whose directory cannot be made (no debugfs, a name in use) runs as
 * well; it has no counters to show.  This file also instantiates the
 * tracepoints of trace.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/sched.h>

#include "mvm.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* The files' names, in enum mvm_stat order; api.rst documents them. */
static const char *const mvm_stat_names[MVM_STAT_NR] = {
	[MVM_STAT_EXITS] = "exits",
	[MVM_STAT_EXIT_CLASS + MVM_XC_IO] = "exit_io",
	[MVM_STAT_EXIT_CLASS + MVM_XC_NPF] = "exit_npf",
	[MVM_STAT_EXIT_CLASS + MVM_XC_MSR] = "exit_msr",
	[MVM_STAT_EXIT_CLASS + MVM_XC_CPUID] = "exit_cpuid",
	[MVM_STAT_EXIT_CLASS + MVM_XC_HLT] = "exit_hlt",
	[MVM_STAT_EXIT_CLASS + MVM_XC_INTR] = "exit_intr",
	[MVM_STAT_EXIT_CLASS + MVM_XC_INTR_WINDOW] = "exit_intr_window",
	[MVM_STAT_EXIT_CLASS + MVM_XC_EXCEPTION] = "exit_exception",
	[MVM_STAT_EXIT_CLASS + MVM_XC_OTHER] = "exit_other",
	[MVM_STAT_IO_EXITS] = "io_exits",
	[MVM_STAT_MMIO_EXITS] = "mmio_exits",
	[MVM_STAT_POSTED_WRITES] = "posted_writes",
	[MVM_STAT_RING_FULL] = "ring_full",
	[MVM_STAT_HALT_WAKEUP] = "halt_wakeup",
	[MVM_STAT_SIGNAL_EXITS] = "signal_exits",
};

static struct dentry *mvm_debugfs_root;

/*
 * After each mvm_backend_ops.vcpu_run call that entered the guest (it
 * decoded an exit other than MVM_VMEXIT_RETRY): count the exit, and trace
 * it with the guest's RIP at the exit.
 */
void mvm_vcpu_count_exit(struct mvm_vcpu *vcpu, const struct mvm_exit *exit)
{
	u32 class = mvm_ops->exit_class(exit);

	if (WARN_ON_ONCE(class >= MVM_XC_NR))
		class = MVM_XC_OTHER;
	mvm_stat_inc(vcpu, MVM_STAT_EXITS);
	mvm_stat_inc(vcpu, MVM_STAT_EXIT_CLASS + class);
	trace_mvm_exit(vcpu->id, exit->hw_reason, class, exit->rip,
		       mvm_ops->backend);
}

/*
 * An exit the backend handled itself with interrupts off, and the entry
 * it goes on with (vmx_exit_fastpath()): counted and traced as the run
 * loop would.
 */
void mvm_vcpu_count_fastpath(struct mvm_vcpu *vcpu,
			     const struct mvm_exit *exit)
{
	mvm_vcpu_count_exit(vcpu, exit);
	trace_mvm_entry(vcpu->id);
}

static int mvm_vcpu_stat_get(void *data, u64 *val)
{
	*val = READ_ONCE(*(u64 *)data);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(mvm_vcpu_stat_fops, mvm_vcpu_stat_get, NULL,
			 "%llu\n");

static int mvm_vm_stat_get(void *data, u64 *val)
{
	struct mvm_vm_stat_file *f = data;
	struct mvm_vm *vm = f->vm;
	u64 sum;
	int i;

	/* slots_lock keeps vcpus[] and retired as one: see mvm_vcpu_release(). */
	mutex_lock(&vm->slots_lock);
	sum = vm->retired.v[f->stat];
	for (i = 0; i < MVM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			sum += READ_ONCE(vm->vcpus[i]->stat.v[f->stat]);
	mutex_unlock(&vm->slots_lock);
	*val = sum;
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(mvm_vm_stat_fops, mvm_vm_stat_get, NULL, "%llu\n");

void mvm_debugfs_init(void)
{
	mvm_debugfs_root = debugfs_create_dir("mvm", NULL);
}

void mvm_debugfs_exit(void)
{
	debugfs_remove_recursive(mvm_debugfs_root);
	mvm_debugfs_root = NULL;
}

/*
 * The VM's directory is made with the first MVM_RUN of one of its vCPUs
 * (mvm_vcpu_debugfs_create()): a VM that never ran has nothing to count,
 * and VMs and vCPUs made and closed in a loop pay nothing for debugfs (its
 * 36 files made a bench cycle three times as long under Bochs).  Its name
 * is KVM's, the creator's pid and the VM's fd, as they were when the VM
 * was made: mvm_vm_debugfs_name(), before the fd is installed.
 */
void mvm_vm_debugfs_name(struct mvm_vm *vm, int fd)
{
	vm->debugfs_pid = task_pid_nr(current);
	vm->debugfs_fd = fd;
}

/*
 * Under slots_lock.  An fd number is free again as soon as close() has
 * taken it out of the table, before the release of its VM has run, and a
 * VM outlives its fd while a vCPU fd holds it: a name can still be taken
 * by an older VM.  Then the new one's has a third part, a sequence number,
 * rather than no directory and a complaint from debugfs on the console for
 * each (dev_test's threads made hundreds).  Removing a file waits for its
 * readers, so none sees the VM freed.
 */
static void mvm_vm_debugfs_create(struct mvm_vm *vm)
{
	static atomic_t seq = ATOMIC_INIT(0);
	struct dentry *old;
	char name[40];
	int i;

	snprintf(name, sizeof(name), "%d-%d", vm->debugfs_pid, vm->debugfs_fd);
	old = debugfs_lookup(name, mvm_debugfs_root);
	if (old) {
		dput(old);
		snprintf(name, sizeof(name), "%d-%d-%u", vm->debugfs_pid,
			 vm->debugfs_fd, (unsigned int)atomic_inc_return(&seq));
	}
	vm->debugfs = debugfs_create_dir(name, mvm_debugfs_root);
	if (IS_ERR(vm->debugfs))
		return;
	for (i = 0; i < MVM_STAT_NR; i++) {
		vm->stat_files[i].vm = vm;
		vm->stat_files[i].stat = i;
		debugfs_create_file_unsafe(mvm_stat_names[i], 0444, vm->debugfs,
					   &vm->stat_files[i],
					   &mvm_vm_stat_fops);
	}
}

void mvm_vm_debugfs_destroy(struct mvm_vm *vm)
{
	debugfs_remove_recursive(vm->debugfs);
	vm->debugfs = NULL;
}

/*
 * At the vCPU's first MVM_RUN, under vcpu->mutex: its directory, and its
 * VM's if it is the first to run.  After this vcpu->debugfs is never NULL
 * (an ERR_PTR where there is no directory), so it is done once.
 */
void mvm_vcpu_debugfs_create(struct mvm_vcpu *vcpu)
{
	struct mvm_vm *vm = vcpu->vm;
	char name[16];
	int i;

	vcpu->debugfs = ERR_PTR(-ENOENT);
	if (IS_ERR_OR_NULL(mvm_debugfs_root))
		return;
	/* slots_lock: two vCPUs' first runs, and the VM's readers. */
	mutex_lock(&vm->slots_lock);
	if (!vm->debugfs)
		mvm_vm_debugfs_create(vm);
	mutex_unlock(&vm->slots_lock);
	if (IS_ERR(vm->debugfs))
		return;
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	vcpu->debugfs = debugfs_create_dir(name, vm->debugfs);
	if (IS_ERR(vcpu->debugfs))
		return;
	for (i = 0; i < MVM_STAT_NR; i++)
		debugfs_create_file_unsafe(mvm_stat_names[i], 0444,
					   vcpu->debugfs, &vcpu->stat.v[i],
					   &mvm_vcpu_stat_fops);
}

void mvm_vcpu_debugfs_destroy(struct mvm_vcpu *vcpu)
{
	debugfs_remove_recursive(vcpu->debugfs);
	vcpu->debugfs = NULL;
}
