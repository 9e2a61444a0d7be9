// SPDX-License-Identifier: GPL-2.0
/*
 * The first guests: a few instructions in real mode, and what the host
 * sees of them.  The full suite builds on the same calls.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define MEM	(1UL << 20)
#define ENTRY	0x1000

struct vm {
	int vm, vcpu;
	uint8_t *mem;
	struct mvm_run *run;
};

static int vm_setup(struct vm *v, const void *code, size_t len)
{
	struct mvm_memory_region r = { 0 };
	struct mvm_sregs s;
	struct mvm_regs regs = { .rip = ENTRY, .rflags = 2 };
	int dev = mvm_open_dev();
	long sz;

	if (dev < 0)
		return -1;
	v->vm = ioctl(dev, MVM_CREATE_VM, 0);
	sz = ioctl(dev, MVM_GET_VCPU_MMAP_SIZE, 0);
	close(dev);
	if (v->vm < 0 || sz <= 0)
		return -1;
	v->mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED)
		return -1;
	memcpy(v->mem + ENTRY, code, len);
	r.memory_size = MEM;
	r.userspace_addr = (uintptr_t)v->mem;
	if (ioctl(v->vm, MVM_SET_MEMORY_REGION, &r))
		return -1;
	v->vcpu = ioctl(v->vm, MVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return -1;
	v->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED)
		return -1;
	if (ioctl(v->vcpu, MVM_GET_SREGS, &s))
		return -1;
	s.cs.selector = 0;
	s.cs.base = 0;
	if (ioctl(v->vcpu, MVM_SET_SREGS, &s))
		return -1;
	return ioctl(v->vcpu, MVM_SET_REGS, &regs);
}

static int out_in(void)
{
	/* mov $0x42,%al; out %al,$0x10; in $0x11,%ax; out %ax,$0x12; jmp . */
	static const uint8_t code[] = {
		0xb0, 0x42, 0xe6, 0x10, 0xe5, 0x11, 0xe7, 0x12, 0xeb, 0xfe,
	};
	struct vm v;

	CHECK(!vm_setup(&v, code, sizeof(code)), "setup");
	CHECK(!ioctl(v.vcpu, MVM_RUN, 0), "run");
	CHECK(v.run->exit_reason == MVM_EXIT_IO, "reason %u",
	      v.run->exit_reason);
	CHECK(v.run->io.addr == 0x10 && v.run->io.write && v.run->io.size == 1 &&
	      v.run->io.data == 0x42, "out: port %llx data %llx",
	      (unsigned long long)v.run->io.addr,
	      (unsigned long long)v.run->io.data);
	CHECK(!ioctl(v.vcpu, MVM_RUN, 0), "run");
	CHECK(v.run->exit_reason == MVM_EXIT_IO && !v.run->io.write &&
	      v.run->io.addr == 0x11 && v.run->io.size == 2, "in");
	v.run->io.data = 0xbeef;
	CHECK(!ioctl(v.vcpu, MVM_RUN, 0), "run");
	CHECK(v.run->exit_reason == MVM_EXIT_IO && v.run->io.write &&
	      v.run->io.addr == 0x12 && v.run->io.data == 0xbeef,
	      "out of what in read: %llx", (unsigned long long)v.run->io.data);
	return KTAP_PASS;
}

static int cpuid_in_guest(void)
{
	/* xor %eax,%eax; cpuid; out %eax,$0x10 (ebx: "Auth"/"Genu"...) */
	static const uint8_t code[] = {
		0x66, 0x31, 0xc0, 0x0f, 0xa2, 0x66, 0x89, 0xd8, 0x66, 0xe7,
		0x10, 0xeb, 0xfe,
	};
	struct vm v;

	CHECK(!vm_setup(&v, code, sizeof(code)), "setup");
	CHECK(!ioctl(v.vcpu, MVM_RUN, 0), "run");
	CHECK(v.run->exit_reason == MVM_EXIT_IO && v.run->io.size == 4,
	      "reason %u", v.run->exit_reason);
	CHECK(v.run->io.data == 0x68747541 || v.run->io.data == 0x756e6547,
	      "vendor ebx %llx", (unsigned long long)v.run->io.data);
	return KTAP_PASS;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int signal_stops_loop(void)
{
	static const uint8_t code[] = { 0xeb, 0xfe };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct vm v;

	CHECK(!vm_setup(&v, code, sizeof(code)), "setup");
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHECK_ERRNO(ioctl(v.vcpu, MVM_RUN, 0), EINTR);
	CHECK(v.run->exit_reason == MVM_EXIT_INTR, "reason %u",
	      v.run->exit_reason);
	return KTAP_PASS;
}

static int vcpu_fd;

static void *irq_thread(void *arg)
{
	struct mvm_interrupt irq = { .vector = 0x40 };

	(void)arg;
	usleep(200 * 1000);
	ioctl(vcpu_fd, MVM_INTERRUPT, &irq);
	return NULL;
}

static int hlt_woken_by_irq(void)
{
	/*
	 * IVT entry 0x40 -> 0:0x1100, which does out %al,$0x20 with al=0x77.
	 * Main: sti; hlt; jmp .
	 */
	static const uint8_t code[] = { 0xfb, 0xf4, 0xeb, 0xfe };
	static const uint8_t handler[] = { 0xb0, 0x77, 0xe6, 0x20, 0xeb, 0xfe };
	pthread_t t;
	struct vm v;

	CHECK(!vm_setup(&v, code, sizeof(code)), "setup");
	memcpy(v.mem + 0x1100, handler, sizeof(handler));
	*(uint16_t *)(v.mem + 0x40 * 4) = 0x1100;
	*(uint16_t *)(v.mem + 0x40 * 4 + 2) = 0;
	vcpu_fd = v.vcpu;
	pthread_create(&t, NULL, irq_thread, NULL);
	CHECK(!ioctl(v.vcpu, MVM_RUN, 0), "run");
	pthread_join(t, NULL);
	CHECK(v.run->exit_reason == MVM_EXIT_IO && v.run->io.addr == 0x20 &&
	      v.run->io.data == 0x77, "reason %u port %llx",
	      v.run->exit_reason, (unsigned long long)v.run->io.addr);
	return KTAP_PASS;
}

/*
 * VMX checks the guest state at VM entry (SDM vol. 3, 27.3.1) more than SVM
 * does: an unusable TR passes MVM_SET_SREGS and makes VM entry fail, which
 * must come back as MVM_EXIT_FAIL_ENTRY, with the exit reason "invalid
 * guest state" (33, bit 31 set), and leave the vCPU usable.
 */
static int vmx_entry_failure_clean(void)
{
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xeb, 0xfe };
	int dev = mvm_open_dev(), backend;
	struct mvm_sregs s, good;
	struct vm v;

	CHECK(dev >= 0, "open");
	backend = ioctl(dev, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND);
	close(dev);
	if (backend != MVM_BACKEND_VMX)
		SKIP("VMX only: SVM does not check TR at VMRUN");

	CHECK(!vm_setup(&v, code, sizeof(code)), "setup");
	CHECK(!ioctl(v.vcpu, MVM_GET_SREGS, &s), "get sregs");
	good = s;
	s.tr.unusable = 1;
	CHECK(!ioctl(v.vcpu, MVM_SET_SREGS, &s), "set sregs");
	CHECK(!ioctl(v.vcpu, MVM_RUN, 0), "run");
	CHECK(v.run->exit_reason == MVM_EXIT_FAIL_ENTRY, "reason %u",
	      v.run->exit_reason);
	CHECK(v.run->fail_entry.hardware_reason == (0x80000000u | 33),
	      "hardware reason %#llx",
	      (unsigned long long)v.run->fail_entry.hardware_reason);
	/* Fixed state runs again. */
	CHECK(!ioctl(v.vcpu, MVM_SET_SREGS, &good), "set sregs");
	CHECK(!ioctl(v.vcpu, MVM_RUN, 0), "run");
	CHECK(v.run->exit_reason == MVM_EXIT_IO && v.run->io.data == 0x42,
	      "reason %u", v.run->exit_reason);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(vmx_entry_failure_clean),
	KTAP_CASE(out_in),
	KTAP_CASE(cpuid_in_guest),
	KTAP_CASE(signal_stops_loop),
	KTAP_CASE(hlt_woken_by_irq),
};

KTAP_MAIN(cases)
