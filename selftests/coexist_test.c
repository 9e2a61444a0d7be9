// SPDX-License-Identifier: GPL-2.0
/*
 * Sharing the CPU with KVM: whichever hypervisor switches virtualization on
 * first owns the CPUs, and the other one gets EBUSY until it lets go.
 *
 * KVM since 6.12 switches virtualization on when kvm_amd/kvm_intel loads
 * (kvm.enable_virt_at_load), earlier kernels when the first KVM VM is made;
 * either way KVM must fail to get the CPUs while an mvm VM exists, and mvm
 * must fail while KVM holds them.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

static const char *kvm_vendor_module(void)
{
	int dev = mvm_open_dev();
	long b;

	if (dev < 0)
		return NULL;
	b = ioctl(dev, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND);
	close(dev);
	return b == MVM_BACKEND_SVM ? "kvm_amd" : "kvm_intel";
}

static int modprobe(const char *args)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "modprobe %s 2>/dev/null", args);
	return system(cmd);
}

/* Does this kernel have the vendor module?  Looks it up in modules.dep. */
static int kvm_available(void)
{
	char path[300], line[512], want[32];
	struct utsname u;
	int found = 0;
	FILE *f;

	if (uname(&u))
		return 0;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	/* Module names use '_', file names '-'. */
	snprintf(want, sizeof(want), "/%s.ko", kvm_vendor_module());
	want[strlen("/kvm")] = '-';
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (colon) {
			*colon = '\0';
			found = strstr(line, want) != NULL;
		}
	}
	fclose(f);
	return found;
}

static void kvm_unload(void)
{
	char args[64];

	snprintf(args, sizeof(args), "-r %s kvm", kvm_vendor_module());
	modprobe(args);
}

/* KVM_CREATE_VM; -1 with errno if /dev/kvm is missing or refuses. */
static int kvm_create_vm(void)
{
	return open_ioctl_close("/dev/kvm", KVM_CREATE_VM, 0);
}

static int kvm_blocked_by_mvm_vm(void)
{
	int vm, kvm_vm;

	if (!kvm_available())
		SKIP("%s is not available in this kernel", kvm_vendor_module());
	kvm_unload();
	vm = mvm_create_vm();
	CHECK(vm >= 0, "mvm VM");
	/* Loading may already fail, with enable_virt_at_load (6.12). */
	if (!modprobe(kvm_vendor_module())) {
		kvm_vm = kvm_create_vm();
		CHECK(kvm_vm < 0 && errno == EBUSY,
		      "KVM VM creation while mvm owns the CPUs: %d", kvm_vm);
	}
	close(vm);
	/* Now that mvm let go, KVM gets the CPUs. */
	kvm_unload();
	CHECK(!modprobe(kvm_vendor_module()), "modprobe after mvm let go");
	kvm_vm = kvm_create_vm();
	CHECK(kvm_vm >= 0, "KVM VM after mvm let go");
	close(kvm_vm);
	kvm_unload();
	return KTAP_PASS;
}

static int mvm_blocked_by_kvm_vm(void)
{
	int vm, kvm_vm;

	if (!kvm_available())
		SKIP("%s is not available in this kernel", kvm_vendor_module());
	CHECK(!modprobe(kvm_vendor_module()), "modprobe");
	kvm_vm = kvm_create_vm();
	CHECK(kvm_vm >= 0, "KVM VM");
	CHECK_ERRNO(mvm_create_vm(), EBUSY);
	close(kvm_vm);
	kvm_unload();
	vm = mvm_create_vm();
	CHECK(vm >= 0, "mvm VM after KVM let go");
	close(vm);
	return KTAP_PASS;
}

/* KVM in 6.12 keeps the CPUs from module load on, by default. */
static int mvm_blocked_by_kvm_at_load(void)
{
	int vm;

	if (!kvm_available())
		SKIP("%s is not available in this kernel", kvm_vendor_module());
	kvm_unload();
	CHECK(!modprobe("kvm"), "modprobe kvm");
	if (access("/sys/module/kvm/parameters/enable_virt_at_load", F_OK)) {
		kvm_unload();
		SKIP("this KVM has no enable_virt_at_load (before 6.12)");
	}
	kvm_unload();
	CHECK(!modprobe("kvm enable_virt_at_load=1"), "modprobe kvm");
	CHECK(!modprobe(kvm_vendor_module()), "modprobe vendor");
	CHECK_ERRNO(mvm_create_vm(), EBUSY);
	kvm_unload();
	vm = mvm_create_vm();
	CHECK(vm >= 0, "mvm VM after KVM unloaded");
	close(vm);
	return KTAP_PASS;
}

/* --- a new ASID generation whenever mvm switches SVM on -------------------------- */

#define DYNDBG		"/proc/dynamic_debug/control"
#define ASID_MSG	"flushing all ASIDs"

/* Switch mvm's debug message on a new ASID generation on (+p) or off. */
static int asid_dyndbg(const char *op)
{
	char q[128];
	int fd = open(DYNDBG, O_WRONLY), n, r;

	if (fd < 0)
		return -1;
	n = snprintf(q, sizeof(q), "module mvm format \"%s\" %s\n", ASID_MSG,
		     op);
	r = write(fd, q, n) == n ? 0 : -1;
	close(fd);
	return r;
}

/* How many new generations CPU 0 logged since the last call. */
static int asid_flushes(int kmsg)
{
	char rec[1024];
	ssize_t n;
	int count = 0;

	while ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0) {
		rec[n] = '\0';
		if (strstr(rec, ASID_MSG) && strstr(rec, "cpu 0:"))
			count++;
	}
	return count;
}

static void guest_done(void)
{
	GUEST_DONE();
}

/* A vCPU of @vm with the next ASID on this CPU: runs once, freed. */
static void run_new_vcpu(struct vm *vm, uint32_t id)
{
	struct vcpu *vcpu = vcpu_create(vm, id);

	vcpu_setup_long(vcpu, guest_done);
	vcpu_run_to_done(vcpu);
	vcpu_free(vcpu);
}

/*
 * mvm switches SVM off with its last VM, and another hypervisor may run
 * guests on the CPU before mvm switches it on again: the first VMRUN after
 * that must flush every ASID's translations (APM vol. 2, 15.16.1), not go
 * on handing out ASIDs of the old generation.  The flush itself is not
 * visible to a guest on QEMU's TCG, which drops its whole TLB at every
 * VMRUN and #VMEXIT; mvm's debug message at each new generation is.
 */
static int asid_flush_after_svm_off_on(void)
{
	cpu_set_t cpu0;
	struct vm *vm;
	int kmsg, i, n = 0, dev = mvm_open_dev();

	CHECK(dev >= 0, "open");
	if (ioctl(dev, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND) !=
	    MVM_BACKEND_SVM) {
		close(dev);
		SKIP("SVM only: ASID generations (VMX's VPIDs are per vCPU)");
	}
	close(dev);
	if (access(DYNDBG, W_OK))
		SKIP("no %s in this kernel (CONFIG_DYNAMIC_DEBUG)", DYNDBG);
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	CHECK(!sched_setaffinity(0, sizeof(cpu0), &cpu0), "sched_setaffinity");
	CHECK(!asid_dyndbg("+p"), "mvm has no debug message \"%s\"", ASID_MSG);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	CHECK(kmsg >= 0, "/dev/kmsg");
	lseek(kmsg, 0, SEEK_END);

	/* New vCPUs, each a new ASID, until a generation starts: a known point. */
	vm = vm_create(16);
	for (i = 0; i < 64 && !n; i++) {
		run_new_vcpu(vm, i);
		n = asid_flushes(kmsg);
	}
	vm_free(vm);
	CHECK(n, "no new ASID generation in %d new vCPUs", i);
	/* Now SVM is off: KVM may have the CPU meanwhile. */
	if (kvm_available()) {
		kvm_unload();
		if (!modprobe(kvm_vendor_module())) {
			i = kvm_create_vm();
			if (i >= 0)
				close(i);
		}
		kvm_unload();
	}
	asid_flushes(kmsg);

	/* The old generation has ASIDs left, but is over. */
	vm = vm_create(16);
	run_new_vcpu(vm, 0);
	n = asid_flushes(kmsg);
	vm_free(vm);
	asid_dyndbg("-p");
	close(kmsg);
	CHECK(n == 1,
	      "%d new ASID generations at the first VMRUN after SVM was switched on again",
	      n);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(kvm_blocked_by_mvm_vm, 120),
	KTAP_CASE_T(mvm_blocked_by_kvm_vm, 120),
	KTAP_CASE_T(mvm_blocked_by_kvm_at_load, 120),
	KTAP_CASE_T(asid_flush_after_svm_off_on, 120),
};

KTAP_MAIN(cases)
