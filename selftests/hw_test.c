// SPDX-License-Identifier: GPL-2.0
/*
 * Virtualization is switched on only while a VM exists, on every CPU, and
 * CPU hotplug keeps it so.  On SVM this is visible from userspace in
 * EFER.SVME through /dev/cpu/N/msr; CR4.VMXE is not, so there the cases
 * check what they can (VMs work across hotplug) and skip the rest.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define MSR_EFER	0xc0000080
#define EFER_SVME	(1ULL << 12)

static int backend(void)
{
	int dev = mvm_open_dev(), b;

	if (dev < 0)
		return -1;
	b = ioctl(dev, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND);
	close(dev);
	return b;
}

/* EFER of one CPU: 0 or 1 for SVME, -1 if it cannot be read. */
static int svme(int cpu)
{
	char path[64];
	uint64_t efer;
	int fd, r;

	snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpu);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = pread(fd, &efer, sizeof(efer), MSR_EFER);
	close(fd);
	if (r != sizeof(efer))
		return -1;
	return !!(efer & EFER_SVME);
}

static int nr_cpus(void)
{
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Every online CPU's SVME is @want; -1 if EFER cannot be read. */
static int all_svme(int want)
{
	int cpu;

	for (cpu = 0; cpu < nr_cpus(); cpu++) {
		int s = svme(cpu);

		if (s < 0)
			return -1;
		if (s != want)
			return 0;
	}
	return 1;
}

/* The msr driver may be built in, a module, or missing. */
static int msr_readable(void)
{
	if (svme(0) >= 0)
		return 1;
	return !system("modprobe msr 2>/dev/null") && svme(0) >= 0;
}

/* Skips unless EFER is readable on an SVM host. */
#define NEED_EFER()							\
	do {								\
		if (backend() != MVM_BACKEND_SVM)			\
			SKIP("VMX: CR4.VMXE is not visible from userspace"); \
		if (!msr_readable())					\
			SKIP("no /dev/cpu/N/msr (msr driver) in this kernel"); \
	} while (0)

static int svme_only_while_vm_exists(void)
{
	int vm, vm2;

	NEED_EFER();
	CHECK(all_svme(0) == 1, "SVME set before any VM exists");
	vm = mvm_create_vm();
	CHECK(vm >= 0, "create VM");
	CHECK(all_svme(1) == 1, "SVME clear on a CPU while a VM exists");
	vm2 = mvm_create_vm();
	CHECK(vm2 >= 0, "second VM");
	close(vm);
	CHECK(all_svme(1) == 1, "SVME cleared while a VM still exists");
	close(vm2);
	CHECK(all_svme(0) == 1, "SVME left set after the last VM");
	return KTAP_PASS;
}

static int set_online(int cpu, int on)
{
	char path[64];
	int fd, r;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = write(fd, on ? "1" : "0", 1) == 1 ? 0 : -1;
	close(fd);
	return r;
}

#define NEED_HOTPLUG()							\
	do {								\
		if (nr_cpus() < 2)					\
			SKIP("needs a second CPU to take offline");	\
		if (access("/sys/devices/system/cpu/cpu1/online", W_OK)) \
			SKIP("CPU 1 cannot be taken offline");		\
	} while (0)

/* A CPU that comes online while a VM exists is switched on, too. */
static int hotplug_with_vm(void)
{
	int vm, i, efer;

	NEED_HOTPLUG();
	efer = backend() == MVM_BACKEND_SVM && msr_readable();
	vm = mvm_create_vm();
	CHECK(vm >= 0, "create VM");
	for (i = 0; i < 5; i++) {
		CHECK(!set_online(1, 0), "offline CPU 1 (#%d)", i);
		CHECK(!set_online(1, 1), "online CPU 1 (#%d)", i);
		if (efer)
			CHECK(svme(1) == 1, "CPU 1 came back without SVME");
	}
	close(vm);
	if (efer)
		CHECK(all_svme(0) == 1, "SVME left set after the last VM");
	/* And a VM made now switches CPU 1 on like the others. */
	vm = mvm_create_vm();
	CHECK(vm >= 0, "create VM after hotplug");
	if (efer)
		CHECK(all_svme(1) == 1, "SVME clear on a CPU");
	close(vm);
	return KTAP_PASS;
}

/* Without a VM, a CPU comes back online switched off. */
static int hotplug_without_vm(void)
{
	NEED_HOTPLUG();
	CHECK(!set_online(1, 0), "offline CPU 1");
	CHECK(!set_online(1, 1), "online CPU 1");
	if (backend() == MVM_BACKEND_SVM && msr_readable())
		CHECK(svme(1) == 0, "CPU 1 came back with SVME set");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(svme_only_while_vm_exists),
	KTAP_CASE_T(hotplug_with_vm, 120),
	KTAP_CASE_T(hotplug_without_vm, 60),
};

KTAP_MAIN(cases)
