// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: their file descriptors, the run loop around the backend, the exit
 * page and the ring of posted writes, interrupt queueing and kicks.
 *
 * Nothing here knows the vendor.  The backend enters the guest once per
 * mvm_backend_ops.vcpu_run call and decodes the exit, exit.c does what it
 * asks; this file loops, sleeps on HLT, stops on signals, and talks to
 * userspace.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "mvm.h"
#include "trace.h"

static_assert(sizeof(struct mvm_run) == 256);
static_assert(sizeof(struct mvm_access) == 24);
static_assert(sizeof(struct mvm_ring) == 128);
static_assert(sizeof(struct mvm_posted_range) == 24);
static_assert((MVM_RING_ENTRIES & (MVM_RING_ENTRIES - 1)) == 0);

#define MVM_RING_BYTES \
	PAGE_ALIGN(sizeof(struct mvm_ring) + \
		   MVM_RING_ENTRIES * sizeof(struct mvm_access))
/* The exit page, then the ring, as one vmalloc_user() area. */
#define MVM_VCPU_MMAP_BYTES	(PAGE_SIZE + MVM_RING_BYTES)

long mvm_vcpu_mmap_size(void)
{
	return MVM_VCPU_MMAP_BYTES;
}

#define EFLAGS_IF	BIT(9)

/* Interrupts, NMIs and kicks. */

static void mvm_kick_ipi(void *unused)
{
	/* The interrupt itself made the guest exit; nothing to do. */
}

/*
 * Make the vCPU notice new work: wake it if it sleeps in HLT, interrupt it
 * if it is in the guest.  Pairs with the smp_mb() in the backend between
 * setting MVM_IN_GUEST and its last look at irqs and requests: either the
 * vCPU sees what the caller set, or the caller sees MVM_IN_GUEST and the
 * IPI forces an exit.
 */
static void mvm_vcpu_kick(struct mvm_vcpu *vcpu, bool wait)
{
	int cpu, me;

	wake_up_interruptible(&vcpu->wq);
	/* Order the caller's stores before the load of mode. */
	smp_mb();
	if (READ_ONCE(vcpu->mode) != MVM_IN_GUEST)
		return;
	cpu = READ_ONCE(vcpu->cpu);
	me = get_cpu();
	if (cpu != me && cpu_online(cpu))
		smp_call_function_single(cpu, mvm_kick_ipi, NULL, wait);
	put_cpu();
}

/*
 * Ask every vCPU to act on @req before it enters the guest again, and wait
 * until none is still in the guest with the old state.  The caller holds
 * slots_lock, which keeps vcpus[] stable.
 */
void mvm_kick_all(struct mvm_vm *vm, int req)
{
	int i;

	lockdep_assert_held(&vm->slots_lock);
	for (i = 0; i < MVM_MAX_VCPUS; i++) {
		struct mvm_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		set_bit(req, &vcpu->requests);
		mvm_vcpu_kick(vcpu, true);
	}
}

/* Exits to userspace. */

static bool mvm_posted(struct mvm_vm *vm, u8 space, u64 addr, u8 size)
{
	const struct mvm_posted *p;
	bool hit = false;
	unsigned int i;

	rcu_read_lock();
	p = rcu_dereference(vm->posted);
	for (i = 0; p && i < p->n; i++) {
		const struct mvm_posted_range *r = &p->r[i];

		if (r->space == space && addr >= r->addr &&
		    addr - r->addr + size <= r->len) {
			hit = true;
			break;
		}
	}
	rcu_read_unlock();
	return hit;
}

static void mvm_fill_access(struct mvm_access *a, u8 space, u64 addr,
			    u8 size, bool write, u64 data)
{
	a->addr = addr;
	a->data = data;
	a->space = space;
	a->size = size;
	a->write = write;
	memset(a->pad, 0, sizeof(a->pad));
}

/*
 * Append a posted write.  Returns 0 when it is in the ring, 1 when the ring
 * is full (the caller exits), -EINVAL when userspace broke the ring's tail.
 * The tail is loaded once; entries are written only at the kernel's own
 * head, so no value in the shared page can steer a write.
 */
static int mvm_ring_append(struct mvm_vcpu *vcpu, u8 space, u64 addr,
			   u8 size, u64 data)
{
	struct mvm_ring *ring = vcpu->ring;
	u32 head = vcpu->ring_head;
	/* Pairs with userspace's store-release of tail: its reads are done. */
	u32 tail = smp_load_acquire(&ring->tail);
	u32 used = head - tail;

	if (used > MVM_RING_ENTRIES)
		return -EINVAL;
	if (used == MVM_RING_ENTRIES)
		return 1;

	mvm_fill_access(&ring->entries[head & (MVM_RING_ENTRIES - 1)], space,
			addr, size, true, data);
	vcpu->ring_head = head + 1;
	mvm_stat_inc(vcpu, MVM_STAT_POSTED_WRITES);
	/* Pairs with userspace's load-acquire of head. */
	smp_store_release(&ring->head, head + 1);
	if (!vcpu->ring_eventfd)
		return 0;
	/*
	 * Wake the consumer if it had taken everything before this entry: it
	 * may be asleep.  The barrier orders the head store before the tail
	 * load, against a consumer that stores tail, then reads head before
	 * it sleeps; one of the two sees the other.
	 */
	smp_mb();
	if (READ_ONCE(ring->tail) == head)
#ifdef MVM_EVENTFD_SIGNAL_NO_COUNT
		eventfd_signal(vcpu->ring_eventfd);
#else
		eventfd_signal(vcpu->ring_eventfd, 1);
#endif
	return 0;
}

/*
 * A guest access that the kernel does not handle.  Returns 0 when it is done
 * (a posted write), 1 when vcpu->run holds an exit for userspace, or a
 * negative errno.  A read completes into vcpu->pending, which the caller
 * set up, at the next MVM_RUN.
 */
int mvm_handle_io(struct mvm_vcpu *vcpu, u8 space, u64 addr, u8 size,
		  bool write, u64 data)
{
	struct mvm_run *run = vcpu->run;
	u32 reason = space == MVM_SPACE_PIO ? MVM_EXIT_IO : MVM_EXIT_MMIO;

	if (size < 8)
		data &= BIT_ULL(size * 8) - 1;

	if (write && mvm_posted(vcpu->vm, space, addr, size)) {
		int r = mvm_ring_append(vcpu, space, addr, size, data);

		if (r <= 0)
			return r;
		reason = MVM_EXIT_RING_FULL;
	}

	mvm_fill_access(&run->io, space, addr, size, write, write ? data : 0);
	run->exit_reason = reason;
	mvm_stat_inc(vcpu, reason == MVM_EXIT_IO ? MVM_STAT_IO_EXITS :
			   reason == MVM_EXIT_MMIO ? MVM_STAT_MMIO_EXITS :
			   MVM_STAT_RING_FULL);
	return 1;
}

/* Complete the read an MVM_EXIT_IO or MVM_EXIT_MMIO asked userspace for. */
static void mvm_complete_pending(struct mvm_vcpu *vcpu)
{
	/* The one value the kernel takes from the run page, read once. */
	u64 data = READ_ONCE(vcpu->run->io.data);
	struct mvm_regs regs;

	vcpu->pending.active = false;
	mvm_ops->get_regs(vcpu, &regs);
	mvm_complete_read(&regs, &vcpu->pending, data);
	mvm_ops->set_regs(vcpu, &regs);
}

/* HLT: sleep until something could wake the guest, or a signal. */
static int mvm_vcpu_halt(struct mvm_vcpu *vcpu)
{
	struct mvm_regs regs;
	bool intr_ok;

	mvm_ops->get_regs(vcpu, &regs);
	intr_ok = regs.rflags & EFLAGS_IF;

	return wait_event_interruptible(vcpu->wq, READ_ONCE(vcpu->nmi) ||
					(intr_ok &&
					 mvm_vcpu_pending_irq(vcpu) >= 0));
}

/* MVM_RUN ends with EINTR: a signal, or immediate_exit. */
static long mvm_vcpu_run_intr(struct mvm_vcpu *vcpu)
{
	vcpu->run->exit_reason = MVM_EXIT_INTR;
	mvm_stat_inc(vcpu, MVM_STAT_SIGNAL_EXITS);
	return -EINTR;
}

/*
 * MVM_RUN: enter the guest and handle its exits until one is for
 * userspace.  Each round is one entry: the backend's vcpu_run enters and
 * decodes the exit, mvm_handle_exit() does what it asks (exit.c, whose
 * return convention this follows).
 */
static long mvm_vcpu_run(struct mvm_vcpu *vcpu)
{
	struct mvm_run *run = vcpu->run;
	struct mvm_exit exit;
	int r;

	if (unlikely(!vcpu->debugfs))
		mvm_vcpu_debugfs_create(vcpu);
	if (vcpu->pending.active)
		mvm_complete_pending(vcpu);

	run->exit_reason = MVM_EXIT_UNKNOWN;
	if (READ_ONCE(run->immediate_exit))
		return mvm_vcpu_run_intr(vcpu);

	for (;;) {
		if (signal_pending(current))
			return mvm_vcpu_run_intr(vcpu);
		cond_resched();

		if (vcpu->halted) {
			if (mvm_vcpu_halt(vcpu))
				return mvm_vcpu_run_intr(vcpu);
			vcpu->halted = false;
			mvm_stat_inc(vcpu, MVM_STAT_HALT_WAKEUP);
		}

		trace_mvm_entry(vcpu->id);
		r = mvm_ops->vcpu_run(vcpu, &exit);
		if (!r && exit.reason != MVM_VMEXIT_RETRY)
			mvm_vcpu_count_exit(vcpu, &exit);
		if (!r)
			r = mvm_handle_exit(vcpu, &exit);
		if (r < 0)
			return r;
		if (r)
			return 0;
	}
}

/* Ioctls. */

static int mvm_vcpu_interrupt(struct mvm_vcpu *vcpu, void __user *argp)
{
	struct mvm_interrupt irq;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (irq.flags || irq.vector < 32 || irq.vector > 255)
		return -EINVAL;
	set_bit(irq.vector, vcpu->irqs);
	mvm_vcpu_kick(vcpu, false);
	return 0;
}

static int mvm_vcpu_set_eventfd(struct mvm_vcpu *vcpu, void __user *argp)
{
	struct mvm_ring_eventfd e;
	struct eventfd_ctx *ctx = NULL;

	if (copy_from_user(&e, argp, sizeof(e)))
		return -EFAULT;
	if (e.flags)
		return -EINVAL;
	if (e.fd != -1) {
		ctx = eventfd_ctx_fdget(e.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	if (vcpu->ring_eventfd)
		eventfd_ctx_put(vcpu->ring_eventfd);
	vcpu->ring_eventfd = ctx;
	return 0;
}

static long mvm_vcpu_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct mvm_vcpu *vcpu = file->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;

	/* These two may come from any thread while the vCPU runs. */
	switch (cmd) {
	case MVM_INTERRUPT:
		return mvm_vcpu_interrupt(vcpu, argp);
	case MVM_NMI:
		if (arg)
			return -EINVAL;
		WRITE_ONCE(vcpu->nmi, true);
		mvm_vcpu_kick(vcpu, false);
		return 0;
	}

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	switch (cmd) {
	case MVM_RUN:
		r = arg ? -EINVAL : mvm_vcpu_run(vcpu);
		break;
	case MVM_SET_RING_EVENTFD:
		r = mvm_vcpu_set_eventfd(vcpu, argp);
		break;
	default:
		r = mvm_vcpu_state_ioctl(vcpu, cmd, argp);
		break;
	}
	mutex_unlock(&vcpu->mutex);
	return r;
}

static int mvm_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mvm_vcpu *vcpu = file->private_data;

	/* As for the ioctls: the run page is the VM owner's alone. */
	if (vcpu->vm->mm != current->mm)
		return -EIO;
	/* Private copies would never see an exit. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* Bounds-checked against the area's size; sets VM_DONTEXPAND. */
	return remap_vmalloc_range(vma, vcpu->run, vma->vm_pgoff);
}

static void mvm_vcpu_destroy(struct mvm_vcpu *vcpu)
{
	struct mvm_vm *vm = vcpu->vm;

	if (vcpu->ring_eventfd)
		eventfd_ctx_put(vcpu->ring_eventfd);
	vfree(vcpu->run);
	kfree(vcpu->cpuid);
	free_page((unsigned long)vcpu->xsave);
	mvm_ops->vcpu_free(vcpu);
	mvm_vm_put(vm);
}

/*
 * The last reference to the file is gone, and with it every mapping of the
 * run page and ring (each holds the file).  Unlink, then free.
 */
static int mvm_vcpu_release(struct inode *inode, struct file *file)
{
	struct mvm_vcpu *vcpu = file->private_data;
	struct mvm_vm *vm = vcpu->vm;
	int i;

	/* No reader of its files is left after this: see stats.c. */
	mvm_vcpu_debugfs_destroy(vcpu);
	mutex_lock(&vm->slots_lock);
	vm->vcpus[vcpu->id] = NULL;
	/* Its counts stay in the VM's sums. */
	for (i = 0; i < MVM_STAT_NR; i++)
		vm->retired.v[i] += vcpu->stat.v[i];
	mutex_unlock(&vm->slots_lock);
	mvm_vcpu_destroy(vcpu);
	return 0;
}

static const struct file_operations mvm_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = mvm_vcpu_release,
	.unlocked_ioctl = mvm_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = mvm_vcpu_mmap,
	.llseek = noop_llseek,
};

/* Called by the backend's vcpu_alloc for the part that is ours. */
int mvm_vcpu_init_common(struct mvm_vcpu *vcpu, struct mvm_vm *vm, u32 id)
{
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);
	init_waitqueue_head(&vcpu->wq);
	vcpu->mode = MVM_OUTSIDE_GUEST;
	vcpu->cpu = -1;
	vcpu->irq_source = &mvm_irq_queue;

	vcpu->run = vmalloc_user(MVM_VCPU_MMAP_BYTES);
	if (!vcpu->run)
		return -ENOMEM;
	vcpu->ring = (void *)vcpu->run + PAGE_SIZE;
	vcpu->ring->nr_entries = MVM_RING_ENTRIES;

	vcpu->xsave = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->xsave)
		goto err;
	mvm_vcpu_init_fpu(vcpu);
	if (mvm_vcpu_init_cpuid(vcpu))
		goto err;
	return 0;
err:
	kfree(vcpu->cpuid);
	vcpu->cpuid = NULL;
	free_page((unsigned long)vcpu->xsave);
	vcpu->xsave = NULL;
	vfree(vcpu->run);
	vcpu->run = NULL;
	return -ENOMEM;
}

int mvm_vm_create_vcpu(struct mvm_vm *vm, unsigned long id)
{
	struct mvm_vcpu *vcpu;
	struct file *file;
	int fd, r;

	if (id >= MVM_MAX_VCPUS)
		return -EINVAL;
	/* Not even a mispredicted branch reads past vcpus[] (Spectre v1). */
	id = array_index_nospec(id, MVM_MAX_VCPUS);

	mutex_lock(&vm->slots_lock);
	if (vm->vcpus[id]) {
		r = -EEXIST;
		goto err_unlock;
	}

	vcpu = mvm_ops->vcpu_alloc(vm, id);
	if (IS_ERR(vcpu)) {
		r = PTR_ERR(vcpu);
		goto err_unlock;
	}
	/* The vCPU's reference on its VM, taken before anyone can see it. */
	mvm_vm_get(vm);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_destroy;
	}
	file = anon_inode_getfile("mvm-vcpu", &mvm_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto err_put_fd;
	}
	vm->vcpus[id] = vcpu;
	mutex_unlock(&vm->slots_lock);
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_destroy:
	mvm_vcpu_destroy(vcpu);
err_unlock:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/* Posted ranges. */

static bool mvm_ranges_overlap(const struct mvm_posted_range *a,
			       const struct mvm_posted_range *b)
{
	return a->space == b->space && a->addr < b->addr + b->len &&
	       b->addr < a->addr + a->len;
}

int mvm_vm_set_posted_range(struct mvm_vm *vm, void __user *argp)
{
	struct mvm_posted_range r;
	struct mvm_posted *old, *new;
	unsigned int i, j;
	int err = 0;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.flags & ~MVM_POSTED_DELETE)
		return -EINVAL;
	if (r.space != MVM_SPACE_PIO && r.space != MVM_SPACE_MMIO)
		return -EINVAL;
	if (!r.len || r.addr + r.len < r.addr)
		return -EINVAL;
	if (r.space == MVM_SPACE_PIO && r.addr + r.len > 0x10000)
		return -EINVAL;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;

	mutex_lock(&vm->slots_lock);
	old = rcu_dereference_protected(vm->posted,
					lockdep_is_held(&vm->slots_lock));
	for (i = 0, j = 0; old && i < old->n; i++) {
		const struct mvm_posted_range *o = &old->r[i];

		if (r.flags & MVM_POSTED_DELETE) {
			if (o->space == r.space && o->addr == r.addr &&
			    o->len == r.len)
				continue;
		} else if (mvm_ranges_overlap(o, &r)) {
			err = -EEXIST;
			goto out;
		}
		new->r[j++] = *o;
	}
	if (r.flags & MVM_POSTED_DELETE) {
		if (j == (old ? old->n : 0)) {
			err = -ENOENT;
			goto out;
		}
	} else {
		if (j == MVM_NR_POSTED) {
			err = -ENOSPC;
			goto out;
		}
		r.flags = 0;
		new->r[j++] = r;
	}
	new->n = j;
	rcu_assign_pointer(vm->posted, new);
	new = old;
out:
	mutex_unlock(&vm->slots_lock);
	if (new)
		kfree_rcu(new, rcu);
	return err;
}
