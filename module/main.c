// SPDX-License-Identifier: GPL-2.0
/*
 * mvm: a minimal virtual machine monitor.
 *
 * This file holds what does not depend on the vendor: the /dev/mvm device,
 * the file descriptors it hands out, and module load and unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include <linux/mvm.h>
#include "mvm.h"

const struct mvm_backend_ops *mvm_ops;

static void mvm_vm_free(struct kref *ref)
{
	struct mvm_vm *vm = container_of(ref, struct mvm_vm, ref);

	mvm_vm_debugfs_destroy(vm);
	mvm_vm_free_memslots(vm);
	mvm_mmu_destroy(vm);
	kfree(rcu_dereference_protected(vm->posted, true));
	mmdrop(vm->mm);
	mvm_hw_put();
	kfree(vm);
}

void mvm_vm_get(struct mvm_vm *vm)
{
	kref_get(&vm->ref);
}

void mvm_vm_put(struct mvm_vm *vm)
{
	kref_put(&vm->ref, mvm_vm_free);
}

static int mvm_vm_release(struct inode *inode, struct file *file)
{
	mvm_vm_put(file->private_data);
	return 0;
}

static long mvm_vm_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct mvm_vm *vm = file->private_data;

	/* A VM fd passed to another process gives it no reach into the VM. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (cmd) {
	case MVM_SET_MEMORY_REGION:
		return mvm_vm_set_memory_region(vm, (void __user *)arg);
	case MVM_CREATE_VCPU:
		return mvm_vm_create_vcpu(vm, arg);
	case MVM_SET_POSTED_RANGE:
		return mvm_vm_set_posted_range(vm, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mvm_vm_fops = {
	.owner = THIS_MODULE,
	.release = mvm_vm_release,
	.unlocked_ioctl = mvm_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static int mvm_create_vm(unsigned long type)
{
	struct mvm_vm *vm;
	struct file *file;
	int fd, r;

	if (type)
		return -EINVAL;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	kref_init(&vm->ref);
	mutex_init(&vm->slots_lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	r = mvm_mmu_init(vm);
	if (r)
		goto err_free_vm;

	r = mvm_hw_get();
	if (r)
		goto err_free_vm;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_hw_put;
	}
	/*
	 * The file takes over the reference kref_init() gave us, and a module
	 * reference through mvm_vm_fops.owner.  Nothing can reach the VM
	 * before fd_install() publishes it.
	 */
	file = anon_inode_getfile("mvm-vm", &mvm_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto err_put_fd;
	}
	mvm_vm_debugfs_name(vm, fd);
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_hw_put:
	mvm_hw_put();
err_free_vm:
	mvm_mmu_destroy(vm);
	mmdrop(vm->mm);
	kfree(vm);
	return r;
}

static long mvm_check_extension(unsigned long cap)
{
	switch (cap) {
	case MVM_CAP_BACKEND:
		return mvm_ops->backend;
	case MVM_CAP_NR_MEMSLOTS:
		return MVM_NR_MEMSLOTS;
	case MVM_CAP_MAX_VCPUS:
		return MVM_MAX_VCPUS;
	case MVM_CAP_RING_ENTRIES:
		return MVM_RING_ENTRIES;
	case MVM_CAP_NR_POSTED:
		return MVM_NR_POSTED;
	case MVM_CAP_GPA_BITS:
		return mvm_mmu_gpa_bits();
	case MVM_CAP_VCPU_EVENTS:
		return 1;
	default:
		return 0;
	}
}

static long mvm_dev_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	switch (cmd) {
	case MVM_GET_API_VERSION:
		return arg ? -EINVAL : MVM_API_VERSION;
	case MVM_CREATE_VM:
		return mvm_create_vm(arg);
	case MVM_CHECK_EXTENSION:
		return mvm_check_extension(arg);
	case MVM_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : mvm_vcpu_mmap_size();
	case MVM_GET_SUPPORTED_CPUID:
		return mvm_get_supported_cpuid((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mvm_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = mvm_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * Mode 0600: opening /dev/mvm lets a process run code with the CPU in guest
 * mode, so it is root's to hand out.  The udev rule make install adds
 * (dist/60-mvm.rules) gives it to group mvm, 0660, as udev does /dev/kvm.
 */
static struct miscdevice mvm_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mvm",
	.fops = &mvm_dev_fops,
	.mode = 0600,
};

static const struct mvm_backend_ops *const mvm_backends[] = {
	&svm_backend_ops,
	&vmx_backend_ops,
};

static int __init mvm_pick_backend(void)
{
	const char *why[ARRAY_SIZE(mvm_backends)] = { };
	int i, r = -ENODEV;

	for (i = 0; i < ARRAY_SIZE(mvm_backends); i++) {
		r = mvm_backends[i]->probe(&why[i]);
		if (!r) {
			mvm_ops = mvm_backends[i];
			return 0;
		}
	}
	pr_err("no usable hardware virtualization: SVM: %s; VMX: %s\n",
	       why[0], why[1]);
	return r;
}

static int __init mvm_init(void)
{
	int r;

	r = mvm_pick_backend();
	if (r)
		return r;

	r = mvm_vcpu_module_init();
	if (r)
		return r;

	r = mvm_ops->setup();
	if (r)
		goto err_vcpu_exit;

	r = mvm_hw_init();
	if (r)
		goto err_unsetup;

	mvm_debugfs_init();
	/* Last: from here on userspace can reach us. */
	r = misc_register(&mvm_dev);
	if (r)
		goto err_debugfs;

	pr_info("using %s, API version %d\n", mvm_ops->name, MVM_API_VERSION);
	return 0;

err_debugfs:
	mvm_debugfs_exit();
	mvm_hw_exit();
err_unsetup:
	mvm_ops->unsetup();
err_vcpu_exit:
	mvm_vcpu_module_exit();
	return r;
}

static void __exit mvm_exit(void)
{
	misc_deregister(&mvm_dev);
	mvm_debugfs_exit();
	mvm_hw_exit();
	mvm_ops->unsetup();
	mvm_vcpu_module_exit();
}

module_init(mvm_init);
module_exit(mvm_exit);

MODULE_DESCRIPTION("mvm: a minimal virtual machine monitor");
MODULE_AUTHOR("The mvm developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MVM_VERSION);
