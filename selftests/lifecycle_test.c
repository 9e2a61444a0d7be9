// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes: many VMs and vCPUs at once; file descriptors closed in every
 * order, the run page unmapped, and the process exiting or killed, all while
 * a vCPU is in the guest.  Afterwards the module's reference count must be
 * back where it was: nothing leaked, nothing freed early (the debug lane's
 * KASAN and kmemleak watch the rest).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define KICK_SIG	SIGUSR1
#define RUNNING_FLAG	0x500	/* the spinning guest sets this word to 1 */

/*
 * Real-mode guests: one reports its RDI (the host puts the vCPU id there)
 * as a UCALL_VALUE and then is done; the other says it runs, then spins.
 */
__asm__(
	".pushsection .text\n"
	".code16\n"
	"report_id_start:\n"
	"	mov $3, %eax\n"		/* UCALL_VALUE, args[0] = RDI */
	"	mov $0xf0, %dx\n"
	"	outl %eax, %dx\n"
	"	mov $1, %eax\n"		/* UCALL_DONE */
	"	outl %eax, %dx\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"report_id_end:\n"
	"successor_start:\n"
	"	mov 0x600, %edi\n"	/* the host's word for this VM */
	"	mov %edi, %eax\n"
	"	inc %eax\n"
	"	mov %eax, 0x604\n"	/* ... plus one, for the host */
	"	mov $3, %eax\n"	/* UCALL_VALUE, args[0] = RDI */
	"	mov $0xf0, %dx\n"
	"	outl %eax, %dx\n"
	"	mov $1, %eax\n"	/* UCALL_DONE */
	"	outl %eax, %dx\n"
	"3:	hlt\n"
	"	jmp 3b\n"
	"successor_end:\n"
	"spin_start:\n"
	"	movw $1, 0x500\n"
	"2:	jmp 2b\n"
	"spin_end:\n"
	".code64\n"
	".popsection\n");

extern const char report_id_start[], report_id_end[], spin_start[],
	spin_end[], successor_start[], successor_end[];

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

/* /sys/module/mvm/refcnt: each VM and each open /dev/mvm holds one. */
static long mvm_refcnt(void)
{
	return read_long_file("/sys/module/mvm/refcnt");
}

/* Wait up to a second for the count to come back: release may be late. */
static int refcnt_back_to(long want)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (mvm_refcnt() == want)
			return 1;
		sleep_ms(10);
	}
	ktap_diag("mvm refcnt %ld, was %ld before the case", mvm_refcnt(),
		  want);
	return 0;
}

static void check_report_id(struct vcpu *vcpu)
{
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE &&
		    uc.args[0] == vcpu->id, "vCPU %u reported %#" PRIx64,
		    vcpu->id, uc.args[0]);
	vcpu_run_to_done(vcpu);
}

static void setup_report_id(struct vcpu *vcpu)
{
	vcpu_setup_real(vcpu, report_id_start, report_id_end);
	/* vcpu_args_set() is for long mode, but RDI is RDI. */
	vcpu_args_set(vcpu, vcpu->id, 0, 0);
}

/* 16 VMs of 4 vCPUs, all created before any runs, each with its own state. */
static int many_vms(void)
{
	struct vcpu *vcpus[16][4];
	long before = mvm_refcnt();
	int i, j;

	for (i = 0; i < 16; i++) {
		struct vm *vm = vm_create_bare(1);

		for (j = 0; j < 4; j++) {
			vcpus[i][j] = vcpu_create(vm, j * 16 + i);
			setup_report_id(vcpus[i][j]);
		}
	}
	for (i = 15; i >= 0; i--)
		for (j = 0; j < 4; j++)
			check_report_id(vcpus[i][j]);
	for (i = 0; i < 16; i++) {
		struct vm *vm = vcpus[i][0]->vm;

		for (j = 0; j < 4; j++)
			vcpu_free(vcpus[i][j]);
		vm_free(vm);
	}
	CHECK(refcnt_back_to(before), "references leaked");
	return KTAP_PASS;
}

/*
 * VMs one after another, each vCPU likely to get the VPID (or ASID) and the
 * page-table root page of the one before, which is freed with its memory:
 * a translation of the predecessor's left in the TLB would let the guest
 * read and write freed host pages.  Each guest must read the word its own
 * host put at 0x600 and leave its answer in its own memory.
 */
static int successor_sees_own_memory(void)
{
	int i;

	for (i = 0; i < 32; i++) {
		struct vm *vm = vm_create_bare(1);
		struct vcpu *vcpu = vcpu_create(vm, 0);
		uint32_t *w = gpa2hva(vm, 0x600);
		uint32_t want = 0x5a5a0000 | i;
		struct ucall uc;

		w[0] = want;
		w[1] = 0;
		vcpu_setup_real(vcpu, successor_start, successor_end);
		TEST_ASSERT(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE &&
			    uc.args[0] == want,
			    "VM %d read %#" PRIx64 ", its host wrote %#x", i,
			    uc.args[0], want);
		TEST_ASSERT(w[1] == want + 1,
			    "VM %d's store is not in its memory: %#x", i, w[1]);
		vcpu_run_to_done(vcpu);
		vcpu_free(vcpu);
		vm_free(vm);
	}
	return KTAP_PASS;
}

/*
 * Hundreds of VMs, each created, run on two vCPUs and destroyed, one after
 * the other: the kernel memory mvm uses must come back.  Compared after a
 * warm-up (slab caches, per-CPU pages) and once RCU has run: MemAvailable
 * and, finer, unreclaimable slab and vmalloc.  A leak of one vCPU's run
 * page and ring (32 KiB of vmalloc) or of its VMCB per VM would show as
 * megabytes.
 */
#define LOOP_VMS	300

struct meminfo {
	long avail, sunreclaim, vmalloc, pagetables;
};

static long meminfo_kb(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	long v = -1;

	if (p && sscanf(p + strlen(key), " %ld", &v) != 1)
		v = -1;
	return v;
}

static int read_meminfo(struct meminfo *m)
{
	char buf[8192];
	FILE *f = fopen("/proc/meminfo", "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	m->avail = meminfo_kb(buf, "MemAvailable:");
	m->sunreclaim = meminfo_kb(buf, "SUnreclaim:");
	m->vmalloc = meminfo_kb(buf, "VmallocUsed:");
	m->pagetables = meminfo_kb(buf, "PageTables:");
	return m->avail < 0 || m->sunreclaim < 0 || m->vmalloc < 0 ? -1 : 0;
}

static void one_vm(void)
{
	struct vm *vm = vm_create_bare(1);
	struct vcpu *a = vcpu_create(vm, 0), *b = vcpu_create(vm, 1);

	setup_report_id(a);
	setup_report_id(b);
	check_report_id(a);
	check_report_id(b);
	vcpu_free(a);
	vcpu_free(b);
	vm_free(vm);
}

/* The kernel frees a VM after its last fd; RCU and the caches settle. */
static void settle(struct meminfo *m)
{
	int i;

	for (i = 0; i < 3; i++) {
		sleep_ms(300);
		/* Where the kernel has it; the slab figures need no more. */
		if (system("echo 3 > /proc/sys/vm/drop_caches 2>/dev/null"))
			continue;
	}
	TEST_ASSERT(!read_meminfo(m), "/proc/meminfo");
}

static int vm_loop_memory(void)
{
	long before_ref = mvm_refcnt(), slack = 1;
	struct meminfo m0, m1;
	int i;

	for (i = 0; i < 20; i++)
		one_vm();
	settle(&m0);
	for (i = 0; i < LOOP_VMS; i++)
		one_vm();
	settle(&m1);
	ktap_diag("%d VMs (2 vCPUs each, run): MemAvailable %+ld KiB, "
		  "SUnreclaim %+ld KiB, VmallocUsed %+ld KiB, PageTables %+ld "
		  "KiB", LOOP_VMS, m1.avail - m0.avail,
		  m1.sunreclaim - m0.sunreclaim, m1.vmalloc - m0.vmalloc,
		  m1.pagetables - m0.pagetables);
	CHECK(refcnt_back_to(before_ref), "references leaked");
	/* Well under one vCPU's 32 KiB per VM; vmalloc frees at once. */
	CHECK(m1.vmalloc - m0.vmalloc < 1024, "vmalloc grew %ld KiB",
	      m1.vmalloc - m0.vmalloc);
	/*
	 * A kernel with kmemleak (the debug lane) also has KASAN, whose
	 * quarantine holds freed slab objects for a while: megabytes here.
	 * kmemleak checks every object there; these figures only bound it.
	 */
	if (!access("/sys/kernel/debug/kmemleak", F_OK))
		slack = 4;
	CHECK(m1.sunreclaim - m0.sunreclaim < 1024 * slack,
	      "slab grew %ld KiB", m1.sunreclaim - m0.sunreclaim);
	CHECK(m0.avail - m1.avail < 4096 * slack, "MemAvailable fell %ld KiB",
	      m0.avail - m1.avail);
	return KTAP_PASS;
}

/* One VM with every vCPU id, run from as many threads at once. */
static void *run_report_id(void *arg)
{
	check_report_id(arg);
	return NULL;
}

static int max_vcpus_running(void)
{
	struct vm *vm = vm_create_bare(1);
	struct vcpu *vcpus[64];
	pthread_t t[64];
	int i;

	for (i = 0; i < 64; i++) {
		vcpus[i] = vcpu_create(vm, i);
		setup_report_id(vcpus[i]);
	}
	for (i = 0; i < 64; i++)
		CHECK(!pthread_create(&t[i], NULL, run_report_id, vcpus[i]),
		      "pthread_create %d", i);
	for (i = 0; i < 64; i++)
		pthread_join(t[i], NULL);
	return KTAP_PASS;
}

/* --- a vCPU running in another thread ---------------------------------------- */

struct runner {
	struct vm *vm;
	struct vcpu *vcpu;
	int fd;
	pthread_t thread;
	volatile int done;
	int ret, err;
};

static void *runner_fn(void *arg)
{
	struct runner *r = arg;

	r->ret = ioctl(r->fd, MVM_RUN, 0);
	r->err = errno;
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start the spinning guest in a thread and wait until it is in the guest. */
static void runner_start(struct runner *r)
{
	volatile uint16_t *flag;
	int i;

	install_kick_handler(KICK_SIG);
	r->vm = vm_create_bare(1);
	r->vcpu = vcpu_create(r->vm, 0);
	r->fd = r->vcpu->fd;
	r->done = 0;
	vcpu_setup_real(r->vcpu, spin_start, spin_end);
	flag = gpa2hva(r->vm, RUNNING_FLAG);
	TEST_ASSERT(!pthread_create(&r->thread, NULL, runner_fn, r),
		    "pthread_create");
	for (i = 0; i < 500 && !*flag; i++)
		sleep_ms(10);
	TEST_ASSERT(*flag == 1, "the guest did not start");
}

/* Kick the runner until MVM_RUN returns; it must say EINTR. */
static void runner_stop(struct runner *r)
{
	int i;

	for (i = 0; i < 100 && !__atomic_load_n(&r->done, __ATOMIC_ACQUIRE);
	     i++) {
		pthread_kill(r->thread, KICK_SIG);
		sleep_ms(20);
	}
	TEST_ASSERT(r->done, "MVM_RUN did not return in 2 s of kicks");
	pthread_join(r->thread, NULL);
	TEST_ASSERT(r->ret == -1 && r->err == EINTR,
		    "MVM_RUN returned %d, errno %d", r->ret, r->err);
}

enum { FD_DEV, FD_VM, FD_VCPU };

/*
 * Close the three fds in the order @a, @b, @c while the vCPU runs; the
 * vCPU runs on until kicked, and then everything goes away.
 */
static int close_order(int a, int b, int c)
{
	long before = mvm_refcnt();
	int order[3] = { a, b, c }, i;
	struct runner r;

	runner_start(&r);
	for (i = 0; i < 3; i++) {
		switch (order[i]) {
		case FD_DEV:
			close(r.vm->dev);
			break;
		case FD_VM:
			close(r.vm->fd);
			break;
		case FD_VCPU:
			close(r.vcpu->fd);
			break;
		}
		sleep_ms(20);
		CHECK(!r.done, "MVM_RUN returned after a close: %d errno %d",
		      r.ret, r.err);
	}
	/* Still in the guest, and its memory is still there for it. */
	*(volatile uint16_t *)gpa2hva(r.vm, RUNNING_FLAG) = 0;
	sleep_ms(20);
	CHECK(*(volatile uint16_t *)gpa2hva(r.vm, RUNNING_FLAG) == 0,
	      "the spinning guest wrote its flag again");
	runner_stop(&r);
	CHECK(r.vcpu->run->exit_reason == MVM_EXIT_INTR, "exit %s",
	      exit_reason_str(r.vcpu->run->exit_reason));
	munmap(r.vcpu->run, r.vcpu->mmap_size);
	munmap(r.vm->mem, r.vm->mem_size);
	CHECK(refcnt_back_to(before), "references leaked");
	return KTAP_PASS;
}

static int close_dev_vm_vcpu(void)
{
	return close_order(FD_DEV, FD_VM, FD_VCPU);
}

static int close_dev_vcpu_vm(void)
{
	return close_order(FD_DEV, FD_VCPU, FD_VM);
}

static int close_vm_dev_vcpu(void)
{
	return close_order(FD_VM, FD_DEV, FD_VCPU);
}

static int close_vm_vcpu_dev(void)
{
	return close_order(FD_VM, FD_VCPU, FD_DEV);
}

static int close_vcpu_dev_vm(void)
{
	return close_order(FD_VCPU, FD_DEV, FD_VM);
}

static int close_vcpu_vm_dev(void)
{
	return close_order(FD_VCPU, FD_VM, FD_DEV);
}

/* The kernel's exit page stays valid for it without the user mapping. */
static int munmap_run_page_while_running(void)
{
	struct runner r;
	struct mvm_run *run;

	runner_start(&r);
	CHECK(!munmap(r.vcpu->run, r.vcpu->mmap_size), "munmap");
	sleep_ms(20);
	runner_stop(&r);
	run = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, r.vcpu->fd, 0);
	CHECK(run != MAP_FAILED, "mmap again");
	CHECK(run->exit_reason == MVM_EXIT_INTR, "exit %s",
	      exit_reason_str(run->exit_reason));
	return KTAP_PASS;
}

/* Other ioctls on a vCPU wait for its MVM_RUN to return, then work. */
static void *get_regs_fn(void *arg)
{
	struct runner *r = arg;
	struct mvm_regs regs;

	TEST_ASSERT(!ioctl(r->fd, MVM_GET_REGS, &regs), "MVM_GET_REGS");
	/* The spin loop, at GUEST_CODE16 + 6 or + 8. */
	TEST_ASSERT(regs.rip < 0x20, "rip %#llx",
		    (unsigned long long)regs.rip);
	return (void *)1;
}

static int state_ioctl_waits_for_run(void)
{
	struct runner r;
	pthread_t t;
	void *ret;

	runner_start(&r);
	CHECK(!pthread_create(&t, NULL, get_regs_fn, &r), "pthread_create");
	sleep_ms(200);
	CHECK(!r.done, "MVM_RUN returned");
	runner_stop(&r);
	pthread_join(t, &ret);
	CHECK(ret == (void *)1, "MVM_GET_REGS");
	return KTAP_PASS;
}

/* --- the process goes away ----------------------------------------------------- */

static int process_gone(int kill_it)
{
	long before = mvm_refcnt();
	int p[2], status;
	char c;
	pid_t pid;

	CHECK(!pipe(p), "pipe");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		struct runner r;

		runner_start(&r);
		TEST_ASSERT(write(p[1], "r", 1) == 1, "write");
		if (kill_it)
			pause();
		/* exit_group() with the vCPU thread in the guest. */
		_exit(0);
	}
	close(p[1]);
	CHECK(read(p[0], &c, 1) == 1, "the child's guest did not start");
	if (kill_it)
		CHECK(!kill(pid, SIGKILL), "kill");
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(kill_it ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL :
	      WIFEXITED(status) && !WEXITSTATUS(status), "status %#x",
	      status);
	CHECK(refcnt_back_to(before), "references leaked");
	return KTAP_PASS;
}

static int exit_while_running(void)
{
	return process_gone(0);
}

static int sigkill_while_running(void)
{
	return process_gone(1);
}

/* Create, run and drop VMs over and over. */
static int churn(void)
{
	long before = mvm_refcnt();
	int i;

	for (i = 0; i < 50; i++) {
		struct vm *vm = vm_create_bare(1);
		struct vcpu *v0 = vcpu_create(vm, 0), *v1 = vcpu_create(vm, 1);

		setup_report_id(v0);
		setup_report_id(v1);
		check_report_id(i & 1 ? v0 : v1);
		/* Drop the VM first half the time: vCPUs keep it alive. */
		if (i & 2) {
			close(vm->fd);
			vm->fd = -1;
		}
		check_report_id(i & 1 ? v1 : v0);
		vcpu_free(v0);
		vcpu_free(v1);
		vm_free(vm);
	}
	CHECK(refcnt_back_to(before), "references leaked");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(many_vms, 60),
	KTAP_CASE_T(vm_loop_memory, 240),
	KTAP_CASE_T(max_vcpus_running, 60),
	KTAP_CASE_T(successor_sees_own_memory, 60),
	KTAP_CASE_T(close_dev_vm_vcpu, 30),
	KTAP_CASE_T(close_dev_vcpu_vm, 30),
	KTAP_CASE_T(close_vm_dev_vcpu, 30),
	KTAP_CASE_T(close_vm_vcpu_dev, 30),
	KTAP_CASE_T(close_vcpu_dev_vm, 30),
	KTAP_CASE_T(close_vcpu_vm_dev, 30),
	KTAP_CASE_T(munmap_run_page_while_running, 30),
	KTAP_CASE_T(state_ioctl_waits_for_run, 30),
	KTAP_CASE_T(exit_while_running, 30),
	KTAP_CASE_T(sigkill_while_running, 30),
	KTAP_CASE_T(churn, 120),
};

KTAP_MAIN(cases)
