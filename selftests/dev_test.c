// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mvm: the device node, the system ioctls, VM file descriptors and
 * their lifetimes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/ktap.h"
#include "lib/mvm_util.h"

static int device_node(void)
{
	struct stat st;

	CHECK(!stat(MVM_DEV, &st), "stat " MVM_DEV);
	CHECK(S_ISCHR(st.st_mode), "not a character device");
	CHECK(major(st.st_rdev) == 10, "major %u, want misc (10)",
	      major(st.st_rdev));
	CHECK((st.st_mode & 07777) == 0600, "mode %o, want 0600",
	      st.st_mode & 07777);
	return KTAP_PASS;
}

static int api_version(void)
{
	int fd = mvm_open_dev();

	CHECK(fd >= 0, "open");
	CHECK(ioctl(fd, MVM_GET_API_VERSION, 0) == MVM_API_VERSION,
	      "API version");
	CHECK_ERRNO(ioctl(fd, MVM_GET_API_VERSION, 1), EINVAL);
	close(fd);
	return KTAP_PASS;
}

static int check_extension(void)
{
	int fd = mvm_open_dev();
	long b;

	CHECK(fd >= 0, "open");
	b = ioctl(fd, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND);
	CHECK(b == MVM_BACKEND_SVM || b == MVM_BACKEND_VMX, "backend %ld", b);
	ktap_diag("backend: %s", b == MVM_BACKEND_SVM ? "SVM" : "VMX");
	/* An extension this module does not know is 0, not an error. */
	CHECK(ioctl(fd, MVM_CHECK_EXTENSION, 0x7fffffffUL) == 0, "unknown cap");
	CHECK(ioctl(fd, MVM_CHECK_EXTENSION, ~0UL) == 0, "cap ~0");
	close(fd);
	return KTAP_PASS;
}

static int unknown_ioctls_enotty(void)
{
	static const unsigned long bad[] = {
		_IO(MVMIO, 0x05),		/* next free system number */
		_IO(MVMIO, 0x3f),		/* end of the system range */
		_IO(MVMIO, 0x43),		/* next free VM number */
		_IO(MVMIO, 0x90),		/* next free vCPU number */
		_IO(MVMIO, 0xff),
		_IO(0xAE, 0x00),		/* KVM_GET_API_VERSION */
		_IOR(MVMIO, 0x00, uint64_t),	/* right number, wrong size */
		_IOW(MVMIO, 0x01, uint64_t),	/* same for CREATE_VM */
		_IOW(MVMIO, 0x40, uint64_t),	/* SET_MEMORY_REGION, size */
		_IOR(MVMIO, 0x40, struct mvm_memory_region), /* direction */
		0,
		~0UL,
	};
	int dev = mvm_open_dev(), vm;
	unsigned int i;

	CHECK(dev >= 0, "open");
	vm = ioctl(dev, MVM_CREATE_VM, 0);
	CHECK(vm >= 0, "create VM");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERRNO(ioctl(dev, bad[i], 0), ENOTTY);
		CHECK_ERRNO(ioctl(vm, bad[i], 0), ENOTTY);
	}
	/* A system ioctl is not a VM ioctl, and the other way round. */
	CHECK_ERRNO(ioctl(dev, MVM_SET_MEMORY_REGION, 0), ENOTTY);
	CHECK_ERRNO(ioctl(vm, MVM_GET_API_VERSION, 0), ENOTTY);
	CHECK_ERRNO(ioctl(vm, MVM_CREATE_VM, 0), ENOTTY);
	close(vm);
	close(dev);
	return KTAP_PASS;
}

static int no_read_write_mmap(void)
{
	int fd = mvm_open_dev();
	char buf[8];

	CHECK(fd >= 0, "open");
	CHECK_ERRNO(read(fd, buf, sizeof(buf)), EINVAL);
	CHECK_ERRNO(write(fd, buf, sizeof(buf)), EINVAL);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED,
	      "mmap of /dev/mvm succeeded");
	close(fd);
	return KTAP_PASS;
}

static int create_vm_type_checked(void)
{
	int fd = mvm_open_dev();

	CHECK(fd >= 0, "open");
	CHECK_ERRNO(ioctl(fd, MVM_CREATE_VM, 1), EINVAL);
	CHECK_ERRNO(ioctl(fd, MVM_CREATE_VM, ~0UL), EINVAL);
	CHECK_ERRNO(ioctl(fd, MVM_CREATE_VM, 1UL << 63), EINVAL);
	close(fd);
	return KTAP_PASS;
}

static int vm_fd_is_cloexec(void)
{
	int vm = mvm_create_vm(), fl;

	CHECK(vm >= 0, "create VM");
	fl = fcntl(vm, F_GETFD);
	CHECK(fl >= 0 && (fl & FD_CLOEXEC), "VM fd flags %#x", fl);
	close(vm);
	return KTAP_PASS;
}

/* The VM keeps working after the /dev/mvm fd that made it is closed. */
static int vm_outlives_dev_fd(void)
{
	int vm = mvm_create_vm();

	CHECK(vm >= 0, "create VM");
	CHECK_ERRNO(ioctl(vm, _IO(MVMIO, 0x43), 0), ENOTTY);
	close(vm);
	return KTAP_PASS;
}

static int open_close_loop(void)
{
	int i;

	for (i = 0; i < 2000; i++) {
		int fd = mvm_open_dev();

		CHECK(fd >= 0, "open #%d", i);
		CHECK(ioctl(fd, MVM_GET_API_VERSION, 0) == MVM_API_VERSION,
		      "API version #%d", i);
		CHECK(!close(fd), "close #%d", i);
	}
	return KTAP_PASS;
}

/* Each VM switches the hardware on and the last one off again. */
static int vm_create_destroy_loop(void)
{
	int i;

	for (i = 0; i < 300; i++) {
		int vm = mvm_create_vm();

		CHECK(vm >= 0, "create VM #%d", i);
		CHECK(!close(vm), "close #%d", i);
	}
	return KTAP_PASS;
}

#define MANY_VMS 128

static int many_vms_at_once(void)
{
	int vms[MANY_VMS], i;

	for (i = 0; i < MANY_VMS; i++) {
		vms[i] = mvm_create_vm();
		CHECK(vms[i] >= 0, "create VM #%d", i);
	}
	/* Close in an order that is neither creation order nor its reverse. */
	for (i = 0; i < MANY_VMS; i += 2)
		CHECK(!close(vms[i]), "close #%d", i);
	for (i = MANY_VMS - 1; i > 0; i -= 2)
		CHECK(!close(vms[i]), "close #%d", i);
	return KTAP_PASS;
}

#define THREADS 8

static void *vm_thread(void *arg)
{
	intptr_t fails = 0;
	int i;

	(void)arg;

	for (i = 0; i < 100; i++) {
		int vm = mvm_create_vm();

		if (vm < 0)
			fails++;
		else
			close(vm);
	}
	return (void *)fails;
}

/* Concurrent first-VM and last-VM races on the hardware switch. */
static int vms_from_threads(void)
{
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, vm_thread, NULL),
		      "pthread_create");
	for (i = 0; i < THREADS; i++) {
		void *fails;

		CHECK(!pthread_join(t[i], &fails), "pthread_join");
		CHECK(!fails, "thread %d: %ld VM creations failed", i,
		      (long)(intptr_t)fails);
	}
	return KTAP_PASS;
}

/*
 * A VM fd inherited over fork gives the child no reach into the VM (EIO),
 * and the VM stays usable in its owner after the child is gone.
 */
static int vm_fd_foreign_process_eio(void)
{
	struct mvm_memory_region r = { .slot = 0 };
	int vm = mvm_create_vm(), status;
	pid_t pid;

	CHECK(vm >= 0, "create VM");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid)
		_exit(ioctl(vm, MVM_SET_MEMORY_REGION, &r) == -1 &&
		      errno == EIO ? 0 : 1);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
	      "child's VM ioctl did not fail with EIO: status %#x", status);
	/* Deleting a slot that does not exist: the owner still gets answers. */
	CHECK_ERRNO(ioctl(vm, MVM_SET_MEMORY_REGION, &r), ENOENT);
	close(vm);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(device_node),
	KTAP_CASE(api_version),
	KTAP_CASE(check_extension),
	KTAP_CASE(unknown_ioctls_enotty),
	KTAP_CASE(no_read_write_mmap),
	KTAP_CASE(create_vm_type_checked),
	KTAP_CASE(vm_fd_is_cloexec),
	KTAP_CASE(vm_outlives_dev_fd),
	KTAP_CASE_T(open_close_loop, 120),
	KTAP_CASE_T(vm_create_destroy_loop, 300),
	KTAP_CASE_T(many_vms_at_once, 120),
	KTAP_CASE_T(vms_from_threads, 300),
	KTAP_CASE(vm_fd_foreign_process_eio),
};

KTAP_MAIN(cases)
