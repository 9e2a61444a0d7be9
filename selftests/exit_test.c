// SPDX-License-Identifier: GPL-2.0
/*
 * What MVM_RUN does with events and with instructions the guest may not
 * use: HLT sleeping until an interrupt or NMI from another thread, signals
 * and immediate_exit ending MVM_RUN with EINTR, a triple fault, #UD for
 * virtualization instructions and #GP for MSRs mvm does not emulate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define GUEST_MIB	16
#define VEC_A		0x40
#define VEC_B		0x50
#define UD_VECTOR	6
#define GP_VECTOR	13
#define NMI_VECTOR	2
#define KICK_SIG	SIGUSR1

static volatile uint64_t irq_count, irq_vectors[4];
static volatile uint64_t nmi_count;
static volatile uint64_t stop_flag;

static void irq_handler(struct ex_regs *regs)
{
	if (irq_count < 4)
		irq_vectors[irq_count] = regs->vector;
	irq_count++;
}

static void nmi_handler(struct ex_regs *regs)
{
	(void)regs;
	nmi_count++;
}

static struct vcpu *new_vcpu(void (*guest)(void))
{
	struct vm *vm = vm_create(GUEST_MIB);
	struct vcpu *vcpu = vcpu_create(vm, 0);

	vm_install_handler(vm, VEC_A, irq_handler);
	vm_install_handler(vm, VEC_B, irq_handler);
	vm_install_handler(vm, NMI_VECTOR, nmi_handler);
	vcpu_setup_long(vcpu, guest);
	return vcpu;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

/* --- events from another thread ------------------------------------------ */

struct injector {
	struct vcpu *vcpu;
	unsigned int delay_ms;
	int nmi;
	uint32_t vector;
	pthread_t thread;
};

static void *inject_fn(void *arg)
{
	struct injector *in = arg;
	struct mvm_interrupt irq = { .vector = in->vector };

	sleep_ms(in->delay_ms);
	if (in->nmi)
		TEST_ASSERT(!ioctl(in->vcpu->fd, MVM_NMI, 0), "MVM_NMI");
	else
		TEST_ASSERT(!ioctl(in->vcpu->fd, MVM_INTERRUPT, &irq),
			    "MVM_INTERRUPT");
	return NULL;
}

static void inject_later(struct injector *in, struct vcpu *vcpu,
			 unsigned int delay_ms, int nmi, uint32_t vector)
{
	in->vcpu = vcpu;
	in->delay_ms = delay_ms;
	in->nmi = nmi;
	in->vector = vector;
	TEST_ASSERT(!pthread_create(&in->thread, NULL, inject_fn, in),
		    "pthread_create");
}

static void guest_hlt_irq(void)
{
	GUEST_SYNC(1);
	__asm__ volatile("sti; hlt; cli" : : : "memory");
	GUEST_VALUE(irq_count, irq_vectors[0], 0);
	GUEST_DONE();
}

/* HLT sleeps in the kernel until MVM_INTERRUPT comes from another thread. */
static int hlt_woken_by_interrupt(void)
{
	struct vcpu *vcpu = new_vcpu(guest_hlt_irq);
	struct injector in;
	struct ucall uc;
	uint64_t t0;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	t0 = now_ns();
	inject_later(&in, vcpu, 200, 0, VEC_A);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	pthread_join(in.thread, NULL);
	/* A HLT that did not sleep would report no interrupt yet. */
	CHECK(uc.args[0] == 1 && uc.args[1] == VEC_A,
	      "%" PRIu64 " interrupts, vector %#" PRIx64, uc.args[0],
	      uc.args[1]);
	CHECK(now_ns() - t0 >= 150000000ULL, "woke after %" PRIu64 " ms",
	      (now_ns() - t0) / 1000000);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static void guest_spin_irq(void)
{
	GUEST_SYNC(1);
	__asm__ volatile("sti" : : : "memory");
	while (!irq_count)
		;
	__asm__ volatile("cli" : : : "memory");
	GUEST_VALUE(irq_count, irq_vectors[0], 0);
	GUEST_DONE();
}

/* An interrupt kicks a vCPU that is busy in the guest. */
static int interrupt_while_running(void)
{
	struct vcpu *vcpu = new_vcpu(guest_spin_irq);
	struct injector in;
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	inject_later(&in, vcpu, 100, 0, VEC_B);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	pthread_join(in.thread, NULL);
	CHECK(uc.args[0] == 1 && uc.args[1] == VEC_B,
	      "%" PRIu64 " interrupts, vector %#" PRIx64, uc.args[0],
	      uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static void guest_masked(void)
{
	volatile unsigned int i;

	__asm__ volatile("cli" : : : "memory");
	GUEST_SYNC(1);
	/* Pending, but IF is 0: nothing arrives. */
	for (i = 0; i < 10000; i++)
		;
	GUEST_ASSERT_EQ(irq_count, 0);
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");
	GUEST_VALUE(irq_count, irq_vectors[0], irq_vectors[1]);
	GUEST_DONE();
}

/*
 * Interrupts queued while IF is 0 wait for STI and come highest vector
 * first; a vector queued twice comes once.
 */
static int interrupt_masked_until_sti(void)
{
	struct vcpu *vcpu = new_vcpu(guest_masked);
	struct mvm_interrupt a = { .vector = VEC_A }, b = { .vector = VEC_B };
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	vcpu_ioctl(vcpu, MVM_INTERRUPT, &a);
	vcpu_ioctl(vcpu, MVM_INTERRUPT, &b);
	vcpu_ioctl(vcpu, MVM_INTERRUPT, &a);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 2 && uc.args[1] == VEC_B && uc.args[2] == VEC_A,
	      "%" PRIu64 " interrupts: %#" PRIx64 " then %#" PRIx64,
	      uc.args[0], uc.args[1], uc.args[2]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static void guest_if_flag(void)
{
	__asm__ volatile("cli" : : : "memory");
	GUEST_SYNC(0);
	/* A NOP after STI: the OUT is outside the interrupt shadow. */
	__asm__ volatile("sti; nop" : : : "memory");
	GUEST_SYNC(1);
	__asm__ volatile("cli" : : : "memory");
	GUEST_DONE();
}

/* mvm_run.flags says whether the guest could take an interrupt. */
static int run_if_flag(void)
{
	struct vcpu *vcpu = new_vcpu(guest_if_flag);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	CHECK(!(vcpu->run->flags & MVM_RUN_IF_FLAG), "IF flag with IF 0");
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	CHECK(vcpu->run->flags & MVM_RUN_IF_FLAG,
	      "no IF flag with IF 1: flags %#x", vcpu->run->flags);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static void guest_hlt_nmi(void)
{
	__asm__ volatile("cli" : : : "memory");
	GUEST_SYNC(1);
	__asm__ volatile("hlt" : : : "memory");
	GUEST_VALUE(nmi_count, irq_count, 0);
	GUEST_DONE();
}

/*
 * Runs @guest to its SYNC, sends one NMI @delay_ms later from another
 * thread, and checks that the guest saw exactly one NMI and no interrupt.
 */
static int one_nmi(void (*guest)(void), unsigned int delay_ms)
{
	struct vcpu *vcpu = new_vcpu(guest);
	struct injector in;
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	inject_later(&in, vcpu, delay_ms, 1, 0);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	pthread_join(in.thread, NULL);
	CHECK(uc.args[0] == 1 && uc.args[1] == 0,
	      "%" PRIu64 " NMIs, %" PRIu64 " interrupts", uc.args[0],
	      uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* An NMI wakes HLT even with IF 0, and reaches the guest's vector 2. */
static int nmi_wakes_hlt(void)
{
	return one_nmi(guest_hlt_nmi, 200);
}

static void guest_spin_nmi(void)
{
	__asm__ volatile("cli" : : : "memory");
	GUEST_SYNC(1);
	while (!nmi_count)
		;
	GUEST_VALUE(nmi_count, irq_count, 0);
	GUEST_DONE();
}

/* An NMI kicks a vCPU busy in the guest with IF 0. */
static int nmi_while_running(void)
{
	return one_nmi(guest_spin_nmi, 100);
}

/* --- signals and immediate_exit --------------------------------------------- */

struct kicker {
	pthread_t target, thread;
	volatile int stop;
};

/* Signal the target every 100 ms until told to stop: one may be early. */
static void *kick_fn(void *arg)
{
	struct kicker *k = arg;

	while (!k->stop) {
		sleep_ms(100);
		if (!k->stop)
			pthread_kill(k->target, KICK_SIG);
	}
	return NULL;
}

static void kicker_start(struct kicker *k)
{
	install_kick_handler(KICK_SIG);
	k->target = pthread_self();
	k->stop = 0;
	TEST_ASSERT(!pthread_create(&k->thread, NULL, kick_fn, k),
		    "pthread_create");
}

static void kicker_stop(struct kicker *k)
{
	k->stop = 1;
	pthread_join(k->thread, NULL);
}

static void guest_spin_until_stop(void)
{
	GUEST_SYNC(1);
	while (!stop_flag)
		;
	GUEST_DONE();
}

/*
 * Runs until a kick; the guest must then be where it was, and finish once
 * the host lets it.
 */
static int run_until_kicked(struct vcpu *vcpu)
{
	struct kicker k;
	uint64_t t0, ms;
	int r;

	kicker_start(&k);
	t0 = now_ns();
	r = __vcpu_run(vcpu);
	ms = (now_ns() - t0) / 1000000;
	kicker_stop(&k);
	CHECK(r == -1 && errno == EINTR, "MVM_RUN returned %d (errno %d)", r,
	      errno);
	CHECK(vcpu->run->exit_reason == MVM_EXIT_INTR, "exit %s",
	      exit_reason_str(vcpu->run->exit_reason));
	/* The first kick comes at 100 ms, a second one at 200 ms. */
	CHECK(ms < 1000, "MVM_RUN returned %" PRIu64 " ms after its start",
	      ms);
	return KTAP_PASS;
}

static int signal_interrupts_guest(void)
{
	struct vcpu *vcpu = new_vcpu(guest_spin_until_stop);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	if (run_until_kicked(vcpu))
		return KTAP_FAIL;
	*(volatile uint64_t *)gpa2hva(vcpu->vm, (uintptr_t)&stop_flag) = 1;
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static void guest_hlt_forever(void)
{
	__asm__ volatile("cli" : : : "memory");
	GUEST_SYNC(1);
	__asm__ volatile("hlt" : : : "memory");
	GUEST_VALUE(nmi_count, 0, 0);
	GUEST_DONE();
}

/* A signal ends a halted MVM_RUN too; the guest stays halted after it. */
static int signal_interrupts_hlt(void)
{
	struct vcpu *vcpu = new_vcpu(guest_hlt_forever);
	struct injector in;
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	if (run_until_kicked(vcpu))
		return KTAP_FAIL;
	/* Still halted: only the NMI lets it report. */
	inject_later(&in, vcpu, 200, 1, 0);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	pthread_join(in.thread, NULL);
	CHECK(uc.args[0] == 1, "%" PRIu64 " NMIs", uc.args[0]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static int immediate_exit(void)
{
	struct vcpu *vcpu = new_vcpu(guest_spin_until_stop);
	struct mvm_regs before, after;
	struct ucall uc;

	vcpu_get_regs(vcpu, &before);
	vcpu->run->immediate_exit = 1;
	CHECK_ERRNO(__vcpu_run(vcpu), EINTR);
	CHECK(vcpu->run->exit_reason == MVM_EXIT_INTR, "exit %s",
	      exit_reason_str(vcpu->run->exit_reason));
	/* The guest did not run at all. */
	vcpu_get_regs(vcpu, &after);
	CHECK(after.rip == before.rip, "rip moved from %#llx to %#llx",
	      (unsigned long long)before.rip, (unsigned long long)after.rip);
	CHECK_ERRNO(__vcpu_run(vcpu), EINTR);
	vcpu->run->immediate_exit = 0;
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	*(volatile uint64_t *)gpa2hva(vcpu->vm, (uintptr_t)&stop_flag) = 1;
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* --- a triple fault ------------------------------------------------------------ */

static void guest_triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt;

	/* #UD cannot be delivered, nor the #DF after it: shutdown. */
	__asm__ volatile("lidt %0\n\tud2" : : "m"(no_idt) : "memory");
	GUEST_DONE();
}

static int triple_fault_shutdown(void)
{
	struct vcpu *vcpu = new_vcpu(guest_triple_fault);

	vcpu_run(vcpu);
	if (vcpu->run->exit_reason != MVM_EXIT_SHUTDOWN)
		vcpu_describe_exit(vcpu);
	CHECK(vcpu->run->exit_reason == MVM_EXIT_SHUTDOWN, "exit %s",
	      exit_reason_str(vcpu->run->exit_reason));
	return KTAP_PASS;
}

/* --- instructions the guest may not use -------------------------------------- */

/*
 * Name, and the instruction with its operands.  RAX points at guest RAM
 * for the ones that take an address; RCX and RDX are 0.
 */
#define FORBIDDEN(X)							\
	X(vmrun, "vmrun")						\
	X(vmload, "vmload")						\
	X(vmsave, "vmsave")						\
	X(stgi, "stgi")							\
	X(clgi, "clgi")							\
	X(skinit, "skinit")						\
	X(invlpga, "invlpga")						\
	X(vmmcall, "vmmcall")						\
	X(rdpmc, "rdpmc")						\
	X(vmcall, "vmcall")						\
	X(vmlaunch, "vmlaunch")						\
	X(vmresume, "vmresume")						\
	X(vmxoff, "vmxoff")						\
	X(vmxon, "vmxon (%%rax)")					\
	X(vmptrld, "vmptrld (%%rax)")					\
	X(vmptrst, "vmptrst (%%rax)")					\
	X(vmclear, "vmclear (%%rax)")					\
	X(vmread, "vmread %%rax, %%rdx")				\
	X(vmwrite, "vmwrite %%rax, %%rdx")				\
	X(invept, "invept (%%rax), %%rdx")				\
	X(invvpid, "invvpid (%%rax), %%rdx")				\
	X(monitor, "monitor")						\
	X(mwait, "mwait")

#define INSN_ENUM(name, insn) INSN_##name,
enum { FORBIDDEN(INSN_ENUM) NR_FORBIDDEN };

#define SCRATCH_GPA	0x300000UL

static void guest_forbidden(uint64_t which)
{
	uint64_t r = 0;

	switch (which) {
#define INSN_CASE(name, insn)						\
	case INSN_##name:						\
		r = ASM_SAFE(insn, SCRATCH_GPA, 0, 0);			\
		break;
	FORBIDDEN(INSN_CASE)
	}
	GUEST_VALUE(r, guest_exception_count[UD_VECTOR],
		    guest_exception_count[GP_VECTOR]);
	GUEST_DONE();
}

static int forbidden(unsigned int which)
{
	struct vcpu *vcpu = new_vcpu((void (*)(void))guest_forbidden);
	struct ucall uc;

	vcpu_args_set(vcpu, which, 0, 0);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == (0x100 | UD_VECTOR),
	      "result %#" PRIx64 ", want #UD (0x106)", uc.args[0]);
	CHECK(uc.args[1] == 1 && uc.args[2] == 0,
	      "%" PRIu64 " #UD, %" PRIu64 " #GP", uc.args[1], uc.args[2]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

#define INSN_TEST(name, insn)						\
	static int ud_##name(void)					\
	{								\
		return forbidden(INSN_##name);				\
	}
FORBIDDEN(INSN_TEST)

/* --- MSRs mvm does not emulate ---------------------------------------------------- */

static void guest_unknown_msrs(void)
{
	uint64_t r[4];

	/* Far outside any MSR range, and KVM's paravirtual clock MSR. */
	r[0] = ASM_SAFE("rdmsr", 0, 0xdeadbeef, 0);
	r[1] = ASM_SAFE("wrmsr", 1, 0xdeadbeef, 0);
	r[2] = ASM_SAFE("rdmsr", 0, 0x4b564d00, 0);
	r[3] = ASM_SAFE("wrmsr", 1, 0x4b564d00, 0);
	GUEST_VALUE(r[0], r[1], r[2]);
	GUEST_VALUE(r[3], guest_exception_count[GP_VECTOR], 0);
	GUEST_DONE();
}

static int unknown_msr_gp(void)
{
	struct vcpu *vcpu = new_vcpu(guest_unknown_msrs);
	uint64_t gp = 0x100 | GP_VECTOR;
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == gp && uc.args[1] == gp && uc.args[2] == gp,
	      "rdmsr %#" PRIx64 " wrmsr %#" PRIx64 " rdmsr %#" PRIx64
	      ", want #GP (0x10d)", uc.args[0], uc.args[1], uc.args[2]);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == gp && uc.args[1] == 4, "wrmsr %#" PRIx64
	      ", %" PRIu64 " #GP", uc.args[0], uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * MSR_K8_INT_PENDING_MSG, which Linux reads unchecked on AMD CPUs with
 * erratum 400, reads as 0 (C1E off); a write is still #GP.
 */
#define MSR_K8_INT_PENDING_MSG	0xc0010055

static void guest_int_pending_msg(void)
{
	uint64_t rd, wr;
	uint32_t lo, hi;

	__asm__ volatile("mov $0xffffffff, %%eax; mov %%eax, %%edx; rdmsr"
			 : "=a"(lo), "=d"(hi) : "c"(MSR_K8_INT_PENDING_MSG));
	rd = ASM_SAFE("rdmsr", 0, MSR_K8_INT_PENDING_MSG, 0);
	wr = ASM_SAFE("wrmsr", 0, MSR_K8_INT_PENDING_MSG, 0);
	GUEST_VALUE(lo | (uint64_t)hi << 32, rd, wr);
	GUEST_DONE();
}

static int int_pending_msg_reads_0(void)
{
	struct vcpu *vcpu = new_vcpu(guest_int_pending_msg);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 0 && uc.args[1] == 0, "rdmsr %#" PRIx64
	      " (fault %#" PRIx64 "), want 0", uc.args[0], uc.args[1]);
	CHECK(uc.args[2] == (0x100 | GP_VECTOR), "wrmsr %#" PRIx64
	      ", want #GP", uc.args[2]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * IA32_MISC_ENABLE, which Linux's verify_cpu reads unchecked on Intel
 * before it has an IDT: fast strings on, BTS and PEBS unavailable, XD
 * not disabled.  Writing the same value back is fine, any other is #GP.
 */
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MISC_ENABLE_WANT	((1ull << 0) | (1ull << 11) | (1ull << 12))

static void guest_misc_enable(void)
{
	uint64_t wr_same, wr_xd;
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_IA32_MISC_ENABLE));
	wr_same = ASM_SAFE("wrmsr", lo, MSR_IA32_MISC_ENABLE, hi);
	wr_xd = ASM_SAFE("wrmsr", lo, MSR_IA32_MISC_ENABLE, hi | 4);
	GUEST_VALUE(lo | (uint64_t)hi << 32, wr_same, wr_xd);
	GUEST_DONE();
}

static int misc_enable_reads(void)
{
	struct vcpu *vcpu = new_vcpu(guest_misc_enable);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == MISC_ENABLE_WANT, "rdmsr %#" PRIx64 ", want %#llx",
	      uc.args[0], MISC_ENABLE_WANT);
	CHECK(uc.args[1] == 0, "wrmsr of the same value: fault %#" PRIx64,
	      uc.args[1]);
	CHECK(uc.args[2] == (0x100 | GP_VECTOR), "wrmsr setting XD_DISABLE: %#"
	      PRIx64 ", want #GP", uc.args[2]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * The microcode revision, as Linux takes it on Intel: WRMSR 0, CPUID,
 * RDMSR, all of them plain (a #GP is a splat at boot).  Revision 1.
 */
static void guest_ucode_rev(void)
{
	uint64_t wr;
	uint32_t lo, hi, r[4];

	wr = ASM_SAFE("wrmsr", 0, 0x8b, 0);
	guest_cpuid(1, 0, r);
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x8b));
	GUEST_VALUE(wr, lo | (uint64_t)hi << 32, 0);
	GUEST_DONE();
}

static int ucode_rev_reads(void)
{
	struct vcpu *vcpu = new_vcpu(guest_ucode_rev);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 0, "wrmsr 0x8b: fault %#" PRIx64, uc.args[0]);
	CHECK(uc.args[1] == 1ULL << 32, "rdmsr 0x8b %#" PRIx64
	      ", want revision 1 in EDX", uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * An MSR whose CPUID bit the vCPU shows must read without a fault: Linux
 * reads these with a plain RDMSR once it sees the bit.  Bit k of the
 * value: feature k of the table below is shown and its MSR faults.
 */
static const struct {
	uint32_t leaf, reg, bit, msr;
} shown_msrs[] = {
	{ 7, 1, 1, 0x3b },	/* TSC_ADJUST: IA32_TSC_ADJUST */
	{ 7, 3, 9, 0x123 },	/* SRBDS_CTRL: IA32_MCU_OPT_CTRL */
	{ 7, 2, 13, 0x982 },	/* TME: IA32_TME_ACTIVATE */
};

#define NR_SHOWN_MSRS	(sizeof(shown_msrs) / sizeof(shown_msrs[0]))

static void guest_shown_msrs(void)
{
	uint64_t bad = 0, shown = 0;
	uint32_t r[4];
	unsigned int i;

	for (i = 0; i < NR_SHOWN_MSRS; i++) {
		guest_cpuid(shown_msrs[i].leaf, 0, r);
		if (!(r[shown_msrs[i].reg] >> shown_msrs[i].bit & 1))
			continue;
		shown |= 1ULL << i;
		if (ASM_SAFE("rdmsr", 0, shown_msrs[i].msr, 0))
			bad |= 1ULL << i;
	}
	GUEST_VALUE(bad, shown, 0);
	GUEST_DONE();
}

static int shown_msrs_read(void)
{
	struct vcpu *vcpu = new_vcpu(guest_shown_msrs);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	ktap_diag("shown: %#" PRIx64 " of %u", uc.args[1],
		  (unsigned int)NR_SHOWN_MSRS);
	CHECK(!uc.args[0], "MSRs of shown features fault: %#" PRIx64
	      " (bit k: row k of shown_msrs[])", uc.args[0]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * A #GP mvm injects in real mode (here for an unknown MSR) pushes FLAGS,
 * CS and IP, and no error code: the handler reports how many bytes the
 * delivery pushed.  Asked to deliver one, VMX refuses the entry outright
 * (SDM vol. 3, 26.2.1.3); QEMU's SVM ignores EV in real mode.
 */
__asm__(".pushsection .text\n"
	".code16\n"
	"rm_gp_start:\n"
	"	movw $(rm_gp_handler - rm_gp_start), 13 * 4\n"
	"	movw $0x1000, 13 * 4 + 2\n"	/* GUEST_CODE16 >> 4 */
	"	mov %sp, %bx\n"
	"	mov $0xdeadbeef, %ecx\n"
	"	rdmsr\n"
	"	mov $0xffff, %ax\n"		/* no #GP: report -1 */
	"	out %ax, $0xe0\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"rm_gp_handler:\n"
	"	sub %sp, %bx\n"
	"	mov %bx, %ax\n"
	"	out %ax, $0xe0\n"
	"2:	hlt\n"
	"	jmp 2b\n"
	"rm_gp_end:\n"
	".code64\n"
	".popsection\n");

extern const char rm_gp_start[], rm_gp_end[];

static int real_mode_gp_no_error_code(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_access *io = &vcpu->run->io;

	vcpu_setup_real(vcpu, rm_gp_start, rm_gp_end);
	vcpu_run(vcpu);
	if (vcpu->run->exit_reason != MVM_EXIT_IO)
		vcpu_describe_exit(vcpu);
	CHECK(vcpu->run->exit_reason == MVM_EXIT_IO && io->addr == 0xe0 &&
	      io->write, "exit %s", exit_reason_str(vcpu->run->exit_reason));
	CHECK((uint16_t)io->data == 6, "the #GP pushed %d bytes, want 6 "
	      "(FLAGS, CS, IP)", (int16_t)io->data);
	return KTAP_PASS;
}

/*
 * A real-mode PUSH with SP = 1 writes a word at SS:0xffff, past the 64 KiB
 * limit: #SS.  Delivering it pushes FLAGS at the same offset and faults
 * again (#DF), and so does delivering the #DF: a triple fault, and the
 * vCPU shuts down (SDM vol. 3, 20.1.1 and table 6-5).  QEMU's TCG checks
 * no real-mode limit: the push wraps, and the guest reports it.
 */
__asm__(".pushsection .text\n"
	".code16\n"
	"rm_ss_start:\n"
	"	mov $1, %sp\n"
	"	push %ax\n"
	"	mov $0x5a5a, %ax\n"		/* no #SS: say so */
	"	out %ax, $0xe0\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"rm_ss_end:\n"
	".code64\n"
	".popsection\n");

extern const char rm_ss_start[], rm_ss_end[];

static int real_mode_stack_fault_shuts_down(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_access *io = &vcpu->run->io;

	vcpu_setup_real(vcpu, rm_ss_start, rm_ss_end);
	vcpu_run(vcpu);
	if (vcpu->run->exit_reason == MVM_EXIT_IO && io->addr == 0xe0 &&
	    (uint16_t)io->data == 0x5a5a) {
		ktap_set_skip_reason("this CPU does not check real-mode segment limits (QEMU's TCG does not)");
		return KTAP_SKIP;
	}
	if (vcpu->run->exit_reason != MVM_EXIT_SHUTDOWN)
		vcpu_describe_exit(vcpu);
	CHECK(vcpu->run->exit_reason == MVM_EXIT_SHUTDOWN, "exit %s",
	      exit_reason_str(vcpu->run->exit_reason));
	return KTAP_PASS;
}

/*
 * LMSW loads CR0 bits 3:0: it can set PE but never clear it (SDM vol. 2,
 * LMSW).  On VMX, PE is in mvm's CR0 guest/host mask, so the first LMSW
 * exits and mvm does what the CPU would.  The guest reports CR0's low
 * word after setting PE and MP, then after an LMSW of 0.
 */
__asm__(".pushsection .text\n"
	".code16\n"
	"rm_lmsw_start:\n"
	"	mov $3, %ax\n"
	"	lmsw %ax\n"
	"	smsw %ax\n"
	"	out %ax, $0xe0\n"
	"	xor %ax, %ax\n"
	"	lmsw %ax\n"
	"	smsw %ax\n"
	"	out %ax, $0xe0\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"rm_lmsw_end:\n"
	".code64\n"
	".popsection\n");

extern const char rm_lmsw_start[], rm_lmsw_end[];

static int lmsw_sets_but_keeps_pe(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_access *io = &vcpu->run->io;
	struct mvm_sregs sregs;
	uint16_t want[2] = { 0x13, 0x11 };	/* ET stays; then MP clears */
	int i;

	vcpu_setup_real(vcpu, rm_lmsw_start, rm_lmsw_end);
	for (i = 0; i < 2; i++) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != MVM_EXIT_IO)
			vcpu_describe_exit(vcpu);
		CHECK(vcpu->run->exit_reason == MVM_EXIT_IO &&
		      io->addr == 0xe0 && io->write, "exit %s",
		      exit_reason_str(vcpu->run->exit_reason));
		CHECK((uint16_t)io->data == want[i],
		      "SMSW %d read %#x, want %#x", i, (uint16_t)io->data,
		      want[i]);
	}
	vcpu_get_sregs(vcpu, &sregs);
	CHECK(sregs.cr0 & CR0_PE, "CR0 %#llx: PE clear",
	      (unsigned long long)sregs.cr0);
	return KTAP_PASS;
}

/* CPUID.1:ECX.OSXSAVE follows the guest's CR4.OSXSAVE, as on a CPU. */
static void guest_osxsave_follows_cr4(void)
{
	uint64_t cr4, off, on;
	uint32_t r[4];

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~(1ULL << 18)));
	guest_cpuid(1, 0, r);
	off = r[2] >> 27 & 1;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 18)));
	guest_cpuid(1, 0, r);
	on = r[2] >> 27 & 1;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	GUEST_VALUE(off, on, r[2] >> 26 & 1);
	GUEST_DONE();
}

static int osxsave_follows_cr4(void)
{
	struct vcpu *vcpu = new_vcpu(guest_osxsave_follows_cr4);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	if (!uc.args[2])
		SKIP("no XSAVE in this vCPU's CPUID");
	CHECK(uc.args[0] == 0 && uc.args[1] == 1, "OSXSAVE %" PRIu64
	      " with CR4.OSXSAVE clear, %" PRIu64 " with it set", uc.args[0],
	      uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * CPUID leaf 0xd, sub-leaf 1: a vCPU that offers XSAVEC must give the
 * compacted area's size in EBX (SDM vol. 1, 13.2); Linux sizes its FPU
 * buffers by it.  mvm offers no XSAVEC, so EBX may be 0; it once offered
 * the CPU's XSAVEC with EBX 0.
 */
static void guest_xsave_leaf(void)
{
	uint32_t r[4];

	guest_cpuid(0xd, 1, r);
	GUEST_VALUE(r[0], r[1], 0);
	GUEST_DONE();
}

static int xsavec_has_its_size(void)
{
	struct vcpu *vcpu = new_vcpu(guest_xsave_leaf);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	ktap_diag("CPUID 0xd.1: EAX %#" PRIx64 ", EBX %" PRIu64, uc.args[0],
		  uc.args[1]);
	CHECK(!(uc.args[0] & 2) || uc.args[1] >= 576,
	      "XSAVEC offered with an area of %" PRIu64 " bytes", uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

#define INSN_KTAP(name, insn) KTAP_CASE_T(ud_##name, 30),

/* --- a second NMI waits for the first one's IRET ---------------------------- */

static volatile uint64_t nest_count, nest_rsp[2], nest_rip[2];

static void nmi_nest_handler(struct ex_regs *regs)
{
	uint64_t n = nest_count++;

	if (n < 2) {
		nest_rip[n] = regs->rip;
		nest_rsp[n] = regs->rsp;
	}
	/* The host queues the second NMI while this handler runs. */
	if (!n)
		GUEST_SYNC(2);
}

static void guest_nmi_nest(void)
{
	__asm__ volatile("cli" : : : "memory");
	GUEST_SYNC(1);
	while (nest_count < 2)
		;
	GUEST_VALUE(nest_rsp[0], nest_rsp[1], nest_rip[1]);
	GUEST_VALUE(nest_rip[0], nest_count, 0);
	GUEST_DONE();
}

/*
 * NMIs stay blocked until the IRET that ends the handler has completed
 * (APM vol. 2, 8.2.3): an NMI queued during the handler
 * interrupts the code the first one interrupted, on the same stack, and
 * not the handler at its IRET, whose frame would still be on the stack.
 */
static int nmi_waits_for_iret(void)
{
	struct vm *vm = vm_create(GUEST_MIB);
	struct vcpu *vcpu = vcpu_create(vm, 0);
	struct ucall uc;

	vm_install_handler(vm, NMI_VECTOR, nmi_nest_handler);
	vcpu_setup_long(vcpu, guest_nmi_nest);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == 1,
	      "ucall %u", uc.code);
	vcpu_ioctl(vcpu, MVM_NMI, NULL);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == 2,
	      "ucall %u (%" PRIu64 "): the first NMI's handler did not run",
	      uc.code, uc.args[0]);
	vcpu_ioctl(vcpu, MVM_NMI, NULL);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == uc.args[1],
	      "the second NMI came with RSP %#" PRIx64 " at RIP %#" PRIx64
	      ", the first with RSP %#" PRIx64
	      ": it interrupted the first handler before its IRET completed",
	      uc.args[1], uc.args[2], uc.args[0]);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[1] == 2, "%" PRIu64 " NMIs", uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* --- WBINVD exits ------------------------------------------------------------ */

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | (uint64_t)hi << 32;
}

#define MIN_TICKS(min, insn)						\
	do {								\
		uint64_t t0 = guest_rdtsc();				\
		insn;							\
		t0 = guest_rdtsc() - t0;				\
		if (t0 < (min))						\
			(min) = t0;					\
	} while (0)

/* The fewest TSC ticks of 16 tries each: CPUID, WBINVD, nothing. */
static void guest_wbinvd_cost(void)
{
	uint64_t cpuid_min = ~0ULL, wbinvd_min = ~0ULL, none_min = ~0ULL;
	uint32_t r[4];
	int i;

	for (i = 0; i < 16; i++) {
		MIN_TICKS(cpuid_min, guest_cpuid(0, 0, r));
		MIN_TICKS(wbinvd_min, __asm__ volatile("wbinvd" : : : "memory"));
		MIN_TICKS(none_min, __asm__ volatile("" : : : "memory"));
	}
	GUEST_VALUE(cpuid_min, wbinvd_min, none_min);
	GUEST_DONE();
}

/*
 * WBINVD must exit, so that a guest cannot flush the caches it shares
 * with the host at will: the guest cannot see an exit, but it pays for
 * one, so WBINVD costs about what CPUID, which always exits, does.  In
 * the emulators, whose time follows the instructions run, a WBINVD that
 * does not exit costs as little as no instruction at all.  (On hardware
 * a native WBINVD can cost more than an exit, and this shows nothing.)
 */
static int wbinvd_exits(void)
{
	struct vcpu *vcpu = new_vcpu(guest_wbinvd_cost);
	struct ucall uc;

	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	ktap_diag("fewest TSC ticks: CPUID %" PRIu64 ", WBINVD %" PRIu64
		  ", nothing %" PRIu64, uc.args[0], uc.args[1], uc.args[2]);
	CHECK(uc.args[1] * 4 >= uc.args[0],
	      "WBINVD took %" PRIu64 " ticks, CPUID %" PRIu64
	      ": WBINVD did not exit", uc.args[1], uc.args[0]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* --- the guest's DR7 and the host's DEBUGCTL --------------------------------- */

/* LE, GE and the R/W and LEN fields of DR1, then DR2: no breakpoint on. */
#define DR7_SET		0x00f00700ULL
#define DR7_GUEST	0x0f000500ULL

static void guest_dr7(void)
{
	uint64_t dr7;

	__asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_VALUE(dr7, 0, 0);
	__asm__ volatile("mov %0, %%dr7" : : "r"(DR7_GUEST));
	GUEST_SYNC(1);
	GUEST_DONE();
}

/*
 * MVM_SET_DEBUGREGS' DR7 is what the guest reads with MOV from DR7, and
 * what the guest writes is what MVM_GET_DEBUGREGS gives back: on VMX the
 * VMCS's DR7 is loaded at VM entry and saved at VM exit (the "load debug
 * controls" and "save debug controls" controls).  Without them the guest
 * ran with the host's DR7.
 */
static int guest_dr7_is_its_own(void)
{
	struct vcpu *vcpu = new_vcpu(guest_dr7);
	struct mvm_debugregs dr;
	struct ucall uc;

	vcpu_ioctl(vcpu, MVM_GET_DEBUGREGS, &dr);
	dr.dr7 = DR7_SET;
	vcpu_ioctl(vcpu, MVM_SET_DEBUGREGS, &dr);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == DR7_SET, "the guest read DR7 %#" PRIx64
	      " after MVM_SET_DEBUGREGS of %#llx", uc.args[0], DR7_SET);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	vcpu_ioctl(vcpu, MVM_GET_DEBUGREGS, &dr);
	CHECK(dr.dr7 == DR7_GUEST, "MVM_GET_DEBUGREGS gave DR7 %#llx after"
	      " the guest wrote %#llx", (unsigned long long)dr.dr7, DR7_GUEST);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

#define MSR_IA32_DEBUGCTL	0x1d9
#define DEBUGCTL_BTF		(1ULL << 1)

static void guest_sync_twice(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/*
 * Every VM exit clears IA32_DEBUGCTL (SDM vol. 3, 28.5.1); the host's
 * value (LBR, BTF, bus-lock detection) must be back after MVM_RUN.  The
 * case sets BTF on CPU 0 through the msr driver, runs a guest there and
 * reads DEBUGCTL back.  Linux changes BTF only when it switches between
 * tasks that differ in TIF_BLOCKSTEP, which none here has.
 */
static int host_debugctl_survives(void)
{
	struct vcpu *vcpu;
	struct ucall uc;
	uint64_t orig, set, after;
	cpu_set_t cpus;
	int fd;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	CHECK(!sched_setaffinity(0, sizeof(cpus), &cpus), "pin to CPU 0");
	/* The msr driver may be built in, a module, or missing. */
	fd = open("/dev/cpu/0/msr", O_RDWR);
	if (fd < 0 && !system("modprobe msr 2>/dev/null"))
		fd = open("/dev/cpu/0/msr", O_RDWR);
	if (fd < 0)
		SKIP("no /dev/cpu/0/msr (msr driver): errno %d", errno);
	if (pread(fd, &orig, 8, MSR_IA32_DEBUGCTL) != 8)
		SKIP("RDMSR of IA32_DEBUGCTL fails on this CPU");
	set = orig | DEBUGCTL_BTF;
	if (pwrite(fd, &set, 8, MSR_IA32_DEBUGCTL) != 8 ||
	    pread(fd, &set, 8, MSR_IA32_DEBUGCTL) != 8 ||
	    !(set & DEBUGCTL_BTF))
		SKIP("IA32_DEBUGCTL.BTF does not stick: the emulators keep"
		     " no DEBUGCTL (Bochs and QEMU's TCG read 0, ignore writes)");

	vcpu = new_vcpu(guest_sync_twice);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	CHECK(pread(fd, &after, 8, MSR_IA32_DEBUGCTL) == 8, "read DEBUGCTL");
	CHECK(pwrite(fd, &orig, 8, MSR_IA32_DEBUGCTL) == 8, "restore DEBUGCTL");
	close(fd);
	CHECK(after == set, "the host's DEBUGCTL was %#" PRIx64 " before"
	      " MVM_RUN and %#" PRIx64 " after", set, after);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* --- more vCPUs than VPIDs ---------------------------------------------------- */

#define VPID_POOL	2
#define NR_VPIDS_PARAM	"/sys/module/mvm/parameters/nr_vpids"

/* mvm's nr_vpids, or -1. */
static long nr_vpids(void)
{
	return read_long_file(NR_VPIDS_PARAM);
}

/* Unload mvm and load it with MVM_PARAMS and then @extra. */
static int mvm_reload(const char *extra)
{
	const char *params = getenv("MVM_PARAMS");
	char buf[512];
	int fd, r, e;

	if (mvm_unload())
		return -1;
	snprintf(buf, sizeof(buf), "%s %s", params ? params : "", extra);
	fd = open(mvm_ko_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = syscall(SYS_finit_module, fd, buf, 0);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

static volatile uint64_t vpid_cell;

static void guest_vpid_tag(uint64_t tag)
{
	uint64_t i;

	for (i = 0; i < 4; i++) {
		vpid_cell = tag * 16 + i;
		GUEST_VALUE(tag, vpid_cell, i);
	}
	GUEST_DONE();
}

/*
 * Once the VPIDs are gone, MVM_CREATE_VCPU still succeeds and the vCPU
 * runs without one, flushed at every entry and exit (it failed with
 * ENOSPC, so one user could refuse vCPUs to all others).  The case
 * reloads mvm with nr_vpids=2 (and back), creates four VMs of one vCPU
 * each and runs them in turn, each writing and reading its own memory.
 */
static int more_vcpus_than_vpids(void)
{
	struct vm *vm[VPID_POOL + 2];
	struct vcpu *vcpu[VPID_POOL + 2];
	int extra[VPID_POOL + 2];
	unsigned int i, round;
	struct ucall uc;
	long backend = open_ioctl_close(MVM_DEV, MVM_CHECK_EXTENSION,
					MVM_CAP_BACKEND);

	if (backend != MVM_BACKEND_VMX)
		SKIP("VPIDs are VMX's");
	if (nr_vpids() != VPID_POOL) {
		CHECK(!mvm_reload("nr_vpids=2"), "reload mvm with nr_vpids=2");
		CHECK(nr_vpids() == VPID_POOL, "nr_vpids %ld after the reload",
		      nr_vpids());
	}
	for (i = 0; i < VPID_POOL + 2; i++) {
		vm[i] = vm_create(GUEST_MIB);
		/* One more vCPU per VM, never run: eight vCPUs, two VPIDs. */
		extra[i] = __vcpu_create(vm[i], 1);
		CHECK(extra[i] >= 0, "MVM_CREATE_VCPU of VM %u's vCPU 1, with"
		      " %d VPIDs", i, VPID_POOL);
		vcpu[i] = vcpu_create(vm[i], 0);
		vcpu_setup_long(vcpu[i], (void (*)(void))guest_vpid_tag);
		vcpu_args_set(vcpu[i], i, 0, 0);
	}
	for (round = 0; round < 4; round++)
		for (i = 0; i < VPID_POOL + 2; i++) {
			CHECK(vcpu_run_ucall(vcpu[i], &uc) == UCALL_VALUE,
			      "vCPU %u: ucall %u", i, uc.code);
			CHECK(uc.args[0] == i && uc.args[1] == i * 16 + round &&
			      uc.args[2] == round,
			      "vCPU %u, round %u: tag %" PRIu64 ", read %#" PRIx64
			      ", step %" PRIu64, i, round, uc.args[0],
			      uc.args[1], uc.args[2]);
		}
	for (i = 0; i < VPID_POOL + 2; i++) {
		vcpu_run_to_done(vcpu[i]);
		vcpu_free(vcpu[i]);
		close(extra[i]);
		vm_free(vm[i]);
	}
	CHECK(!mvm_reload(""), "reload mvm");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(hlt_woken_by_interrupt, 30),
	KTAP_CASE_T(interrupt_while_running, 30),
	KTAP_CASE_T(interrupt_masked_until_sti, 30),
	KTAP_CASE_T(run_if_flag, 30),
	KTAP_CASE_T(nmi_wakes_hlt, 30),
	KTAP_CASE_T(nmi_while_running, 30),
	KTAP_CASE_T(signal_interrupts_guest, 30),
	KTAP_CASE_T(signal_interrupts_hlt, 30),
	KTAP_CASE_T(immediate_exit, 30),
	KTAP_CASE_T(triple_fault_shutdown, 30),
	FORBIDDEN(INSN_KTAP)
	KTAP_CASE_T(unknown_msr_gp, 30),
	KTAP_CASE_T(int_pending_msg_reads_0, 30),
	KTAP_CASE_T(misc_enable_reads, 30),
	KTAP_CASE_T(ucode_rev_reads, 30),
	KTAP_CASE_T(shown_msrs_read, 30),
	KTAP_CASE_T(real_mode_gp_no_error_code, 30),
	KTAP_CASE_T(real_mode_stack_fault_shuts_down, 30),
	KTAP_CASE_T(lmsw_sets_but_keeps_pe, 30),
	KTAP_CASE_T(osxsave_follows_cr4, 30),
	KTAP_CASE_T(xsavec_has_its_size, 30),
	KTAP_CASE_T(nmi_waits_for_iret, 30),
	KTAP_CASE_T(wbinvd_exits, 30),
	KTAP_CASE_T(guest_dr7_is_its_own, 30),
	KTAP_CASE_T(host_debugctl_survives, 30),
	KTAP_CASE_T(more_vcpus_than_vpids, 60),
};

KTAP_MAIN(cases)
