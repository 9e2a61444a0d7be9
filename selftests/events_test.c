// SPDX-License-Identifier: GPL-2.0
/*
 * MVM_GET/SET_VCPU_EVENTS, and the whole vCPU state as a snapshot.
 *
 * Each "point" case stops a guest where some event state matters: an
 * interrupt pending while the guest cannot take it, the shadow of STI and
 * of MOV SS, inside an NMI handler, halted, in the middle of a port read,
 * and during the delivery of an exception.  There it copies every piece of
 * state (regs, sregs, MSRs, XSAVE, debug registers, CPUID, events, RAM)
 * into a fresh VM and vCPU, lets both run to the end under the same host
 * actions, and checks that the copy made the same exits in the same order
 * and ended with the same registers, events and memory.  Guests log what
 * their handlers saw into RAM, so a difference in event order shows there.
 *
 * The "bad" cases hand SET every kind of invalid value (EINVAL, nothing
 * changed) and check the round trip of valid ones.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define GUEST_MIB	8
#define VEC_A		0x40
#define VEC_B		0x50
#define NMI_VECTOR	2
#define GP_VECTOR	13
#define PF_VECTOR	14
#define STR_PORT	0xe0
#define IN_PORT		0xe4
#define RFLAGS_IF	(1ULL << 9)
/* Guest-physical, in the guest's identity map, outside every slot. */
#define IDT_HOLE	0xc0000000ULL
#define MAX_EXITS	64

/* --- guest side ------------------------------------------------------------ */

static volatile uint64_t guest_log[32];
static volatile uint64_t guest_nlog;
static volatile uint64_t nmi_sync;	/* the NMI handler stops at a ucall */

static void note(uint64_t v)
{
	guest_log[guest_nlog++ % 32] = v;
}

/* RCX says where it came: 0 once a REP OUTS is done. */
static void irq_handler(struct ex_regs *regs)
{
	note(0x100 | regs->vector | regs->rcx << 12);
}

static void nmi_handler(struct ex_regs *regs)
{
	note(0x200 | regs->rcx << 12);
	note(regs->rsp);
	if (nmi_sync) {
		nmi_sync = 0;
		GUEST_SYNC(2);
	}
}

/* #GP from the WRMSR of exception_delivery: skip the 2-byte WRMSR. */
static void gp_handler(struct ex_regs *regs)
{
	note(0x300 | regs->error_code << 12);
	regs->rip += 2;
}

static void pf_handler(struct ex_regs *regs)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	note(0x400 | regs->error_code << 12);
	note(cr2);
}

static void guest_irq_window(void)
{
	__asm__ volatile("cli" : : : "memory");
	GUEST_SYNC(1);
	note(1);
	__asm__ volatile("sti; nop; cli" : : : "memory");
	note(2);
	GUEST_DONE();
}

static const char str_buf[4] = "abcd";

/*
 * A REP OUTS of two bytes right after @before, which leaves the guest in an
 * interrupt shadow, then CLI.
 */
#define SHADOW_GUEST(name, before)					\
	static void name(void)						\
	{								\
		const char *p = str_buf;				\
		uint64_t n = 2;						\
									\
		note(1);						\
		__asm__ volatile(before					\
				 "rep outsb\n\t"			\
				 "cli"					\
				 : "+S"(p), "+c"(n) : "d"(STR_PORT)	\
				 : "rax", "memory");			\
		note(2);						\
		GUEST_DONE();						\
	}

/* STI with IF clear: the next instruction is in its shadow. */
SHADOW_GUEST(guest_sti_shadow, "cli\n\tsti\n\t")
/* MOV SS with IF set (after the STI's own shadow, a NOP). */
SHADOW_GUEST(guest_movss_shadow,
	     "sti\n\tnop\n\tmov %%ss, %%eax\n\tmov %%eax, %%ss\n\t")

static void guest_nmi(void)
{
	__asm__ volatile("cli" : : : "memory");
	nmi_sync = 1;
	GUEST_SYNC(1);
	while (guest_nlog < 4)
		;
	note(3);
	GUEST_DONE();
}

static void guest_halt(void)
{
	GUEST_SYNC(1);
	__asm__ volatile("sti; hlt; cli" : : : "memory");
	note(1);
	GUEST_DONE();
}

static void guest_port_read(void)
{
	note(inb(IN_PORT));
	note(inl(IN_PORT));
	GUEST_DONE();
}

static void guest_wrmsr_gp(void)
{
	GUEST_SYNC(1);
	__asm__ volatile("wrmsr" : : "c"(0xdeadbeef), "a"(0), "d"(0)
			 : "memory");
	note(1);
	GUEST_DONE();
}

static void guest_irq_delivery(void)
{
	/* The byte after the ucall's OUT is a NOP: no load to emulate. */
	__asm__ volatile("sti\n\t"
			 "outl %%eax, %%dx\n\t"
			 "nop\n\t"
			 "cli"
			 : : "a"(UCALL_SYNC), "d"(UCALL_PORT), "D"(1), "c"(7)
			 : "memory");
	note(1);
	GUEST_DONE();
}

static void guest_injected(void)
{
	GUEST_SYNC(1);
	note(1);
	GUEST_DONE();
}

/* --- host side: state ------------------------------------------------------ */

static const uint32_t msr_list[] = {
	0x10, 0x174, 0x175, 0x176, 0x277, 0xc0000081, 0xc0000082,
	0xc0000083, 0xc0000084, 0xc0000102, 0xc0000103,
};
#define NR_MSRS (sizeof(msr_list) / sizeof(msr_list[0]))

struct msrs {
	struct mvm_msrs hdr;
	struct mvm_msr_entry e[NR_MSRS];
};

struct cpuid {
	struct mvm_cpuid hdr;
	struct mvm_cpuid_entry e[MVM_MAX_CPUID_ENTRIES];
};

static void get_events(struct vcpu *vcpu, struct mvm_vcpu_events *ev)
{
	memset(ev, 0xa5, sizeof(*ev));
	vcpu_ioctl(vcpu, MVM_GET_VCPU_EVENTS, ev);
}

static int set_events(struct vcpu *vcpu, const struct mvm_vcpu_events *ev)
{
	return __vcpu_ioctl(vcpu, MVM_SET_VCPU_EVENTS, (void *)ev);
}

static int backend(void)
{
	return open_ioctl_close(MVM_DEV, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND);
}

static const struct {
	unsigned int vector;
	guest_handler_t fn;
} handlers[] = {
	{ VEC_A, irq_handler }, { VEC_B, irq_handler },
	{ NMI_VECTOR, nmi_handler }, { GP_VECTOR, gp_handler },
	{ PF_VECTOR, pf_handler },
};

/* A long-mode guest at @guest, with the handlers above. */
static struct vcpu *new_vcpu(void (*guest)(void))
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	unsigned int i;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		vm_install_handler(vcpu->vm, handlers[i].vector,
				   handlers[i].fn);
	vcpu_setup_long(vcpu, guest);
	return vcpu;
}

/*
 * A fresh VM and vCPU with all of @src's state and a copy of its RAM (slot
 * 0: the points below have no other slot).  The order matters only for
 * the checks: events last, once CR0 and RFLAGS are the ones they go with.
 */
static struct vcpu *copy_vcpu(struct vcpu *src)
{
	struct vm *vm = vm_create_bare(GUEST_MIB);
	struct vcpu *dst = vcpu_create(vm, 0);
	struct mvm_sregs sregs;
	struct mvm_regs regs;
	struct mvm_debugregs dbg;
	struct mvm_vcpu_events ev;
	struct mvm_xsave *xs = calloc(1, sizeof(*xs));
	struct cpuid *c = calloc(1, sizeof(*c));
	struct msrs m;
	unsigned int i;

	TEST_ASSERT(xs && c, "calloc");
	memcpy(vm->mem, src->vm->mem, vm->mem_size);
	vm->has_elf = 1;

	vcpu_get_sregs(src, &sregs);
	vcpu_set_sregs(dst, &sregs);
	vcpu_get_regs(src, &regs);
	vcpu_set_regs(dst, &regs);

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = NR_MSRS;
	for (i = 0; i < NR_MSRS; i++)
		m.e[i].index = msr_list[i];
	TEST_ASSERT(__vcpu_ioctl(src, MVM_GET_MSRS, &m) == (int)NR_MSRS,
		    "MVM_GET_MSRS");
	TEST_ASSERT(__vcpu_ioctl(dst, MVM_SET_MSRS, &m) == (int)NR_MSRS,
		    "MVM_SET_MSRS");

	vcpu_ioctl(src, MVM_GET_XSAVE, xs);
	vcpu_ioctl(dst, MVM_SET_XSAVE, xs);
	vcpu_ioctl(src, MVM_GET_DEBUGREGS, &dbg);
	vcpu_ioctl(dst, MVM_SET_DEBUGREGS, &dbg);
	c->hdr.nent = MVM_MAX_CPUID_ENTRIES;
	vcpu_ioctl(src, MVM_GET_CPUID, c);
	vcpu_ioctl(dst, MVM_SET_CPUID, c);

	get_events(src, &ev);
	TEST_ASSERT(!set_events(dst, &ev), "MVM_SET_VCPU_EVENTS of a GET");
	free(xs);
	free(c);
	return dst;
}

/* --- host side: running on ------------------------------------------------- */

struct exit_rec {
	uint32_t reason;
	uint32_t ucall;
	uint64_t rip;
	struct mvm_access io;
};

struct trace {
	struct exit_rec e[MAX_EXITS];
	unsigned int n;
};

/* A host action before the run that makes exit @step, the same for both. */
typedef void (*hook_fn)(struct vcpu *vcpu, unsigned int step);

/*
 * Run to UCALL_DONE, recording each exit.  Reads get a value that depends
 * only on the exit's number; an internal error is recorded and run again
 * (the hook is what changes things).
 */
static void run_on(struct vcpu *vcpu, struct trace *t, hook_fn hook)
{
	struct ucall uc;
	unsigned int step;

	memset(t, 0, sizeof(*t));
	for (step = 0;; step++) {
		struct exit_rec *r = &t->e[step];

		TEST_ASSERT(step < MAX_EXITS, "no UCALL_DONE in %u exits",
			    MAX_EXITS);
		if (hook)
			hook(vcpu, step);
		vcpu_run(vcpu);
		t->n = step + 1;
		r->reason = vcpu->run->exit_reason;
		r->rip = vcpu->run->rip;
		if (r->reason == MVM_EXIT_IO || r->reason == MVM_EXIT_MMIO)
			r->io = vcpu->run->io;
		r->ucall = get_ucall(vcpu, &uc);
		if (r->ucall == UCALL_FAIL)
			report_guest_fail(&uc);
		if (r->ucall == UCALL_DONE)
			return;
		if ((r->reason == MVM_EXIT_IO || r->reason == MVM_EXIT_MMIO) &&
		    !vcpu->run->io.write)
			vcpu->run->io.data = 0x11223344 * (step + 1);
		TEST_ASSERT(r->reason == MVM_EXIT_IO ||
			    r->reason == MVM_EXIT_MMIO ||
			    r->reason == MVM_EXIT_INTERNAL_ERROR,
			    "exit %s at rip %#llx",
			    exit_reason_str(r->reason),
			    (unsigned long long)r->rip);
	}
}

static void describe_trace(const char *who, const struct trace *t)
{
	unsigned int i;

	for (i = 0; i < t->n; i++)
		ktap_diag("%s exit %u: %s rip %#llx ucall %u port/addr %#llx data %#llx",
			  who, i, exit_reason_str(t->e[i].reason),
			  (unsigned long long)t->e[i].rip, t->e[i].ucall,
			  (unsigned long long)t->e[i].io.addr,
			  (unsigned long long)t->e[i].io.data);
}

/*
 * Take a copy of @orig, run both on with @hook, and compare: exits, final
 * registers, events and RAM.  Returns KTAP_PASS or KTAP_FAIL.
 */
static int copy_and_compare(struct vcpu *orig, hook_fn hook,
			    unsigned int min_exits)
{
	struct vcpu *copy = copy_vcpu(orig);
	struct trace *ta = calloc(1, sizeof(*ta)), *tb = calloc(1, sizeof(*tb));
	struct mvm_regs ra, rb;
	struct mvm_sregs sa, sb;
	struct mvm_vcpu_events ea, eb;
	uint64_t nlog;

	TEST_ASSERT(ta && tb, "calloc");
	run_on(orig, ta, hook);
	run_on(copy, tb, hook);
	if (ta->n != tb->n || memcmp(ta->e, tb->e, ta->n * sizeof(ta->e[0]))) {
		describe_trace("original", ta);
		describe_trace("copy", tb);
		CHECK(0, "the copy's exits differ from the original's");
	}
	CHECK(ta->n >= min_exits, "%u exits, want at least %u", ta->n,
	      min_exits);
	vcpu_get_regs(orig, &ra);
	vcpu_get_regs(copy, &rb);
	CHECK(!memcmp(&ra, &rb, sizeof(ra)),
	      "final registers differ: rip %#llx/%#llx rsp %#llx/%#llx",
	      (unsigned long long)ra.rip, (unsigned long long)rb.rip,
	      (unsigned long long)ra.rsp, (unsigned long long)rb.rsp);
	vcpu_get_sregs(orig, &sa);
	vcpu_get_sregs(copy, &sb);
	CHECK(!memcmp(&sa, &sb, sizeof(sa)), "final sregs differ");
	get_events(orig, &ea);
	get_events(copy, &eb);
	CHECK(!memcmp(&ea, &eb, sizeof(ea)), "final events differ");
	nlog = *(uint64_t *)gpa2hva(orig->vm, (uintptr_t)&guest_nlog);
	if (memcmp(orig->vm->mem, copy->vm->mem, orig->vm->mem_size)) {
		uint64_t *la = gpa2hva(orig->vm, (uintptr_t)guest_log);
		uint64_t *lb = gpa2hva(copy->vm, (uintptr_t)guest_log);
		unsigned int i;

		for (i = 0; i < nlog && i < 32; i++)
			ktap_diag("log %u: %#llx %#llx", i,
				  (unsigned long long)la[i],
				  (unsigned long long)lb[i]);
		CHECK(0, "final RAM differs");
	}
	ktap_diag("%u exits alike, %" PRIu64 " guest log entries alike",
		  ta->n, nlog);
	return KTAP_PASS;
}

static uint64_t guest_log_at(struct vcpu *vcpu, unsigned int i)
{
	return ((uint64_t *)gpa2hva(vcpu->vm, (uintptr_t)guest_log))[i];
}

static void queue_irq(struct vcpu *vcpu, uint32_t vector)
{
	struct mvm_interrupt irq = { .vector = vector };

	vcpu_ioctl(vcpu, MVM_INTERRUPT, &irq);
}

static int pending_bit(const struct mvm_vcpu_events *ev, unsigned int v)
{
	return (ev->interrupt.pending[v / 64] >> (v % 64)) & 1;
}

static uint32_t run_sync(struct vcpu *vcpu)
{
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u",
		    uc.code);
	return uc.args[0];
}

/* What a guest_log entry must be: @val under @mask (0: anything). */
struct want {
	uint64_t val, mask;
};

#define W(v)	{ (v), ~0ULL }
#define WLOW(v)	{ (v), 0xfff }	/* the vector and kind, not RCX */
#define WANY	{ 0, 0 }

/* copy_and_compare(), then the original's log against @want. */
static int copy_check_log(struct vcpu *vcpu, hook_fn hook,
			  unsigned int min_exits, const struct want *want,
			  unsigned int n)
{
	unsigned int i;
	int r = copy_and_compare(vcpu, hook, min_exits);

	if (r)
		return r;
	for (i = 0; i < n; i++) {
		uint64_t got = guest_log_at(vcpu, i);

		CHECK((got & want[i].mask) == want[i].val,
		      "log %u is %#" PRIx64 ", want %#" PRIx64, i, got,
		      want[i].val);
	}
	return KTAP_PASS;
}

#define COPY_CHECK_LOG(vcpu, hook, min_exits, ...)			\
	({								\
		static const struct want __w[] = { __VA_ARGS__ };	\
		copy_check_log(vcpu, hook, min_exits, __w,		\
			       sizeof(__w) / sizeof(__w[0]));		\
	})

/* --- points ------------------------------------------------------------------ */

/* Two interrupts pending while IF is clear: taken, highest first, at STI. */
static int point_irq_pending(void)
{
	struct vcpu *vcpu = new_vcpu(guest_irq_window);
	struct mvm_vcpu_events ev;
	struct mvm_regs regs;

	CHECK(run_sync(vcpu) == 1, "stage");
	queue_irq(vcpu, VEC_A);
	queue_irq(vcpu, VEC_B);
	get_events(vcpu, &ev);
	vcpu_get_regs(vcpu, &regs);
	CHECK(!(regs.rflags & RFLAGS_IF), "IF set");
	CHECK(pending_bit(&ev, VEC_A) && pending_bit(&ev, VEC_B) &&
	      ev.interrupt.pending[0] == 0 && !ev.interrupt.injected,
	      "pending %#llx %#llx injected %u",
	      (unsigned long long)ev.interrupt.pending[1],
	      (unsigned long long)ev.interrupt.pending[0],
	      ev.interrupt.injected);
	CHECK(ev.flags == MVM_VCPU_EVENTS_PENDING, "flags %#x", ev.flags);
	return COPY_CHECK_LOG(vcpu, NULL, 1, W(1), WLOW(0x100 | VEC_B),
			      WLOW(0x100 | VEC_A), W(2));
}

/*
 * The first element of a REP OUTS exits with the instruction unfinished,
 * RIP still on it, in the shadow of the STI or MOV SS before it: an NMI
 * queued now must wait until the REP OUTS is done.  (An NMI, because mvm
 * holds it back itself in a shadow.  An interrupt goes through SVM's
 * virtual interrupt window, and QEMU's TCG opens that window inside the
 * shadow: its interrupt comes between the two elements.)
 */
static int shadow_point(void (*guest)(void), unsigned int want)
{
	struct vcpu *vcpu = new_vcpu(guest);
	struct mvm_vcpu_events ev;

	vcpu_run(vcpu);
	CHECK(vcpu->run->exit_reason == MVM_EXIT_IO &&
	      vcpu->run->io.addr == STR_PORT && vcpu->run->io.write &&
	      vcpu->run->io.data == 'a', "first exit %s port %#llx",
	      exit_reason_str(vcpu->run->exit_reason),
	      (unsigned long long)vcpu->run->io.addr);
	vcpu_ioctl(vcpu, MVM_NMI, NULL);
	get_events(vcpu, &ev);
	/* SVM has one shadow bit: STI's, when IF is set (api.rst). */
	if (backend() == MVM_BACKEND_SVM)
		want = MVM_SHADOW_STI;
	CHECK(ev.interrupt.shadow == want, "shadow %#x, want %#x",
	      ev.interrupt.shadow, want);
	CHECK(!(vcpu->run->flags & MVM_RUN_IF_FLAG), "MVM_RUN_IF_FLAG set");
	/* The NMI came after the REP OUTS (RCX 0), before the CLI. */
	return COPY_CHECK_LOG(vcpu, NULL, 2, W(1), W(0x200), WANY, W(2));
}

static int point_sti_shadow(void)
{
	return shadow_point(guest_sti_shadow, MVM_SHADOW_STI);
}

static int point_movss_shadow(void)
{
	return shadow_point(guest_movss_shadow, MVM_SHADOW_MOV_SS);
}

/*
 * Inside an NMI handler, with a second NMI pending: it must wait for the
 * handler's IRET, in the copy too, and then come on the same stack.
 */
static int point_nmi_masked(void)
{
	struct vcpu *vcpu = new_vcpu(guest_nmi);
	struct mvm_vcpu_events ev;
	int r;

	CHECK(run_sync(vcpu) == 1, "stage");
	vcpu_ioctl(vcpu, MVM_NMI, NULL);
	CHECK(run_sync(vcpu) == 2, "the NMI handler did not run");
	vcpu_ioctl(vcpu, MVM_NMI, NULL);
	get_events(vcpu, &ev);
	CHECK(ev.nmi.masked == 1 && ev.nmi.pending == 1 && !ev.nmi.injected,
	      "nmi masked %u pending %u injected %u", ev.nmi.masked,
	      ev.nmi.pending, ev.nmi.injected);
	r = copy_and_compare(vcpu, NULL, 1);
	if (r)
		return r;
	CHECK(guest_log_at(vcpu, 1) == guest_log_at(vcpu, 3) &&
	      guest_log_at(vcpu, 4) == 3,
	      "NMIs at RSP %#" PRIx64 " and %#" PRIx64 ", then %#" PRIx64,
	      guest_log_at(vcpu, 1), guest_log_at(vcpu, 3),
	      guest_log_at(vcpu, 4));
	return KTAP_PASS;
}

/* MVM_RUN until a signal ends it with the vCPU halted; 0 or -1. */
static int run_until_halted(struct vcpu *vcpu)
{
	struct itimerval it = { .it_value = { 0, 20000 } };
	struct mvm_vcpu_events ev;
	int i;

	for (i = 0; i < 50; i++) {
		TEST_ASSERT(!setitimer(ITIMER_REAL, &it, NULL), "setitimer");
		errno = 0;
		if (__vcpu_run(vcpu) != -1 || errno != EINTR) {
			vcpu_describe_exit(vcpu);
			return -1;
		}
		get_events(vcpu, &ev);
		if (ev.halted)
			return 0;
	}
	return -1;
}

static void halt_hook(struct vcpu *vcpu, unsigned int step)
{
	if (!step) {
		/* It stays halted: a signal ends MVM_RUN and nothing else. */
		TEST_ASSERT(!run_until_halted(vcpu), "not halted");
		queue_irq(vcpu, VEC_A);
	}
}

static int point_halted(void)
{
	struct vcpu *vcpu = new_vcpu(guest_halt);
	struct mvm_vcpu_events ev;

	install_kick_handler(SIGALRM);
	CHECK(run_sync(vcpu) == 1, "stage");
	CHECK(!run_until_halted(vcpu), "the guest did not halt");
	get_events(vcpu, &ev);
	CHECK(ev.halted == 1 && !ev.interrupt.shadow, "halted %u shadow %#x",
	      ev.halted, ev.interrupt.shadow);
	return COPY_CHECK_LOG(vcpu, halt_hook, 1, WLOW(0x100 | VEC_A), W(1));
}

/*
 * In the middle of IN: the events ioctls refuse with EBUSY until an
 * MVM_RUN with immediate_exit has completed the read; then the copy is
 * taken, with the value in RAX and RIP past the IN.
 */
static int point_port_read(void)
{
	struct vcpu *vcpu = new_vcpu(guest_port_read);
	struct mvm_vcpu_events ev;
	struct mvm_regs regs;
	uint64_t rip;

	vcpu_run(vcpu);
	CHECK(vcpu->run->exit_reason == MVM_EXIT_IO &&
	      vcpu->run->io.addr == IN_PORT && !vcpu->run->io.write &&
	      vcpu->run->io.size == 1, "exit %s",
	      exit_reason_str(vcpu->run->exit_reason));
	rip = vcpu->run->rip;
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_VCPU_EVENTS, &ev), EBUSY);
	memset(&ev, 0, sizeof(ev));
	CHECK_ERRNO(set_events(vcpu, &ev), EBUSY);

	vcpu->run->io.data = 0x5a;
	vcpu->run->immediate_exit = 1;
	CHECK_ERRNO(__vcpu_run(vcpu), EINTR);
	vcpu->run->immediate_exit = 0;
	CHECK(vcpu->run->exit_reason == MVM_EXIT_INTR, "exit %s",
	      exit_reason_str(vcpu->run->exit_reason));
	vcpu_get_regs(vcpu, &regs);
	CHECK((regs.rax & 0xff) == 0x5a && regs.rip == rip + 2,
	      "rax %#llx rip %#llx, the IN at %#" PRIx64,
	      (unsigned long long)regs.rax, (unsigned long long)regs.rip,
	      rip);
	get_events(vcpu, &ev);

	return COPY_CHECK_LOG(vcpu, NULL, 2, W(0x5a), W(0x11223344));
}

/*
 * From the guest's SYNC(1): the IDT goes outside every slot, @irq (if not
 * 0) is queued, and the next run must end in MVM_INTERNAL_EMULATION, the
 * delivery cut short by the exit on the IDT.  0, or -1.
 */
static int run_into_idt_hole(struct vcpu *vcpu, uint32_t irq)
{
	struct mvm_sregs sregs;

	if (run_sync(vcpu) != 1)
		return -1;
	vcpu_get_sregs(vcpu, &sregs);
	sregs.idt.base = IDT_HOLE;
	vcpu_set_sregs(vcpu, &sregs);
	if (irq)
		queue_irq(vcpu, irq);
	vcpu_run(vcpu);
	if (vcpu->run->exit_reason == MVM_EXIT_INTERNAL_ERROR &&
	    vcpu->run->internal.suberror == MVM_INTERNAL_EMULATION)
		return 0;
	vcpu_describe_exit(vcpu);
	return -1;
}

static void idt_slot_hook(struct vcpu *vcpu, unsigned int step)
{
	void *page;

	/* The first run hits the hole again; then the IDT is there. */
	if (step != 1)
		return;
	page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(page != MAP_FAILED, "mmap");
	memcpy(page, gpa2hva(vcpu->vm, GUEST_IDT), PAGE_SIZE);
	vm_set_region(vcpu->vm, 1, 0, IDT_HOLE, PAGE_SIZE, page);
}

/*
 * During an exception's delivery: the guest's WRMSR of an MSR mvm does not
 * know raises #GP(0), whose delivery reads the IDT from guest-physical
 * memory outside every slot.  That exit cuts the delivery short and, the
 * bytes at RIP (the WRMSR) being no load, ends in MVM_INTERNAL_EMULATION
 * with the #GP still injected.  Both run once more into the same exit,
 * then get the IDT in a slot and take the #GP.  (A copy that lost the #GP
 * would raise it again from the WRMSR: here GET must report it and SET
 * take it; point_irq_delivery is where only the injection carries it.)
 */
static int point_exception_delivery(void)
{
	struct vcpu *vcpu = new_vcpu(guest_wrmsr_gp);
	struct mvm_vcpu_events ev;

	CHECK(!run_into_idt_hole(vcpu, 0), "no exit in the delivery");
	get_events(vcpu, &ev);
	CHECK(ev.exception.injected == 1 && ev.exception.vector == GP_VECTOR &&
	      ev.exception.has_error == 1 && ev.exception.error_code == 0,
	      "exception injected %u vector %u has_error %u error %#x",
	      ev.exception.injected, ev.exception.vector,
	      ev.exception.has_error, ev.exception.error_code);
	return COPY_CHECK_LOG(vcpu, idt_slot_hook, 2, W(0x300), W(1));
}

/*
 * The same for an external interrupt: taken from the pending set into
 * delivery, cut short at the IDT; only the injected event carries it on.
 */
static int point_irq_delivery(void)
{
	struct vcpu *vcpu = new_vcpu(guest_irq_delivery);
	struct mvm_vcpu_events ev;

	CHECK(!run_into_idt_hole(vcpu, VEC_A), "no exit in the delivery");
	get_events(vcpu, &ev);
	CHECK(ev.interrupt.injected == 1 && ev.interrupt.vector == VEC_A &&
	      !pending_bit(&ev, VEC_A) && !ev.exception.injected,
	      "interrupt injected %u vector %#x, pending %d",
	      ev.interrupt.injected, ev.interrupt.vector,
	      pending_bit(&ev, VEC_A));
	return COPY_CHECK_LOG(vcpu, idt_slot_hook, 2,
			      W(0x100 | VEC_A | 7 << 12), W(1));
}

/*
 * An exception that userspace injects, as a VMM restoring a snapshot taken
 * elsewhere would: #PF with an error code, CR2 in sregs.  It reads back
 * as set, and the copy delivers it as the original does.
 */
static int point_set_injected(void)
{
	struct vcpu *vcpu = new_vcpu(guest_injected);
	struct mvm_vcpu_events ev, back;
	struct mvm_sregs sregs;

	CHECK(run_sync(vcpu) == 1, "stage");
	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr2 = 0x1234000;
	vcpu_set_sregs(vcpu, &sregs);
	get_events(vcpu, &ev);
	ev.exception.pending = 1;
	ev.exception.vector = PF_VECTOR;
	ev.exception.has_error = 1;
	ev.exception.error_code = 6;
	CHECK(!set_events(vcpu, &ev), "SET");
	get_events(vcpu, &back);
	/* A pending exception is delivered as an injected one. */
	ev.exception.pending = 0;
	ev.exception.injected = 1;
	CHECK(!memcmp(&ev, &back, sizeof(ev)), "read back differs");
	return COPY_CHECK_LOG(vcpu, NULL, 1, W(0x400 | 6 << 12), W(0x1234000),
			      W(1));
}

/* --- the ioctls themselves -------------------------------------------------- */

static int cap_vcpu_events(void)
{
	CHECK(open_ioctl_close(MVM_DEV, MVM_CHECK_EXTENSION,
			       MVM_CAP_VCPU_EVENTS) == 1, "MVM_CAP_VCPU_EVENTS");
	return KTAP_PASS;
}

/* A new vCPU has no events; GET's result SETs back; EFAULT both ways. */
static int fresh_vcpu_events(void)
{
	struct vm *vm = vm_create_bare(1);
	struct vcpu *vcpu = vcpu_create(vm, 0);
	struct mvm_vcpu_events ev, zero;

	memset(&zero, 0, sizeof(zero));
	zero.flags = MVM_VCPU_EVENTS_PENDING;
	get_events(vcpu, &ev);
	CHECK(!memcmp(&ev, &zero, sizeof(ev)), "a new vCPU has events");
	CHECK(!set_events(vcpu, &ev), "SET of GET");
	ev.flags = 0;
	CHECK(!set_events(vcpu, &ev), "SET without pending");
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_VCPU_EVENTS, NULL), EFAULT);
	CHECK_ERRNO(set_events(vcpu, (void *)8), EFAULT);
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_VCPU_EVENTS,
				 (void *)0xffff800000000000ULL), EFAULT);
	/* Real mode pushes no error code. */
	ev.flags = MVM_VCPU_EVENTS_PENDING;
	ev.exception.injected = 1;
	ev.exception.vector = GP_VECTOR;
	ev.exception.has_error = 1;
	CHECK_ERRNO(set_events(vcpu, &ev), EINVAL);
	ev.exception.has_error = 0;
	CHECK(!set_events(vcpu, &ev), "real-mode #GP without an error code");
	return KTAP_PASS;
}

struct bad {
	const char *what;
	void (*fn)(struct mvm_vcpu_events *ev);
};

#define BAD(name, body)							\
	static void bad_##name(struct mvm_vcpu_events *ev) { body; }
#define BAD_ENTRY(name)	{ #name, bad_##name }

BAD(flags, ev->flags |= 2)
BAD(flags_high, ev->flags |= 1U << 31)
BAD(reserved, ev->reserved[7] = 1)
BAD(pad, ev->pad[2] = 1)
BAD(irq_pad, ev->interrupt.pad[4] = 1)
BAD(nmi_pad, ev->nmi.pad[0] = 1)
BAD(exc_injected_2, ev->exception.injected = 2)
BAD(nmi_masked_2, ev->nmi.masked = 2)
BAD(nmi_pending_2, ev->nmi.pending = 2)
BAD(halted_2, ev->halted = 2)
BAD(irq_injected_2, ev->interrupt.injected = 2; ev->interrupt.vector = 40)
BAD(shadow_bits, ev->interrupt.shadow = 4)
BAD(shadow_both, ev->interrupt.shadow = MVM_SHADOW_STI | MVM_SHADOW_MOV_SS)
BAD(exc_vector_nmi, ev->exception.injected = 1; ev->exception.vector = 2)
BAD(exc_vector_15, ev->exception.injected = 1; ev->exception.vector = 15)
BAD(exc_vector_20, ev->exception.injected = 1; ev->exception.vector = 20)
BAD(exc_vector_32, ev->exception.injected = 1; ev->exception.vector = 32)
BAD(exc_vector_255, ev->exception.pending = 1; ev->exception.vector = 255)
BAD(exc_gp_no_error, ev->exception.injected = 1; ev->exception.vector = 13)
BAD(exc_pf_no_error, ev->exception.pending = 1; ev->exception.vector = 14)
BAD(exc_ud_error, ev->exception.injected = 1; ev->exception.vector = 6;
    ev->exception.has_error = 1)
BAD(exc_error_code_alone, ev->exception.injected = 1;
    ev->exception.vector = 6; ev->exception.error_code = 1)
BAD(exc_has_error_2, ev->exception.injected = 1; ev->exception.vector = 13;
    ev->exception.has_error = 2)
BAD(exc_both, ev->exception.injected = 1; ev->exception.pending = 1;
    ev->exception.vector = 6)
BAD(exc_vector_alone, ev->exception.vector = 6)
BAD(exc_error_alone, ev->exception.error_code = 1)
BAD(irq_vector_31, ev->interrupt.injected = 1; ev->interrupt.vector = 31)
BAD(irq_vector_alone, ev->interrupt.vector = 40)
BAD(pending_low, ev->interrupt.pending[0] |= 1ULL << 5)
BAD(pending_no_flag, ev->flags = 0; memset(ev->interrupt.pending, 0,
					   sizeof(ev->interrupt.pending));
    ev->nmi.pending = 0; ev->interrupt.pending[1] = 1)
BAD(nmi_pending_no_flag, ev->flags = 0; memset(ev->interrupt.pending, 0,
					       sizeof(ev->interrupt.pending));
    ev->nmi.pending = 1)
BAD(two_injected, ev->exception.injected = 1; ev->exception.vector = 6;
    ev->nmi.injected = 1)
BAD(irq_and_nmi, ev->interrupt.injected = 1; ev->interrupt.vector = 40;
    ev->nmi.injected = 1)
BAD(irq_in_shadow, ev->interrupt.injected = 1; ev->interrupt.vector = 40;
    ev->interrupt.shadow = MVM_SHADOW_MOV_SS)
BAD(nmi_in_shadow, ev->nmi.injected = 1; ev->interrupt.shadow = MVM_SHADOW_STI)
BAD(halted_injected, ev->halted = 1; ev->interrupt.injected = 1;
    ev->interrupt.vector = 40)
BAD(halted_exception, ev->halted = 1; ev->exception.injected = 1;
    ev->exception.vector = 6)
BAD(halted_shadow, ev->halted = 1; ev->interrupt.shadow = MVM_SHADOW_STI)

static const struct bad bads[] = {
	BAD_ENTRY(flags), BAD_ENTRY(flags_high), BAD_ENTRY(reserved),
	BAD_ENTRY(pad), BAD_ENTRY(irq_pad), BAD_ENTRY(nmi_pad),
	BAD_ENTRY(exc_injected_2), BAD_ENTRY(nmi_masked_2),
	BAD_ENTRY(nmi_pending_2), BAD_ENTRY(halted_2),
	BAD_ENTRY(irq_injected_2), BAD_ENTRY(shadow_bits),
	BAD_ENTRY(shadow_both), BAD_ENTRY(exc_vector_nmi),
	BAD_ENTRY(exc_vector_15), BAD_ENTRY(exc_vector_20),
	BAD_ENTRY(exc_vector_32), BAD_ENTRY(exc_vector_255),
	BAD_ENTRY(exc_gp_no_error), BAD_ENTRY(exc_pf_no_error),
	BAD_ENTRY(exc_ud_error), BAD_ENTRY(exc_error_code_alone),
	BAD_ENTRY(exc_has_error_2), BAD_ENTRY(exc_both),
	BAD_ENTRY(exc_vector_alone), BAD_ENTRY(exc_error_alone),
	BAD_ENTRY(irq_vector_31), BAD_ENTRY(irq_vector_alone),
	BAD_ENTRY(pending_low), BAD_ENTRY(pending_no_flag),
	BAD_ENTRY(nmi_pending_no_flag), BAD_ENTRY(two_injected),
	BAD_ENTRY(irq_and_nmi), BAD_ENTRY(irq_in_shadow),
	BAD_ENTRY(nmi_in_shadow), BAD_ENTRY(halted_injected),
	BAD_ENTRY(halted_exception), BAD_ENTRY(halted_shadow),
};

/* A long-mode vCPU with IF set, a pending interrupt and NMI, not run. */
static struct vcpu *events_vcpu(void)
{
	struct vcpu *vcpu = new_vcpu(guest_injected);
	struct mvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	regs.rflags |= RFLAGS_IF;
	vcpu_set_regs(vcpu, &regs);
	queue_irq(vcpu, VEC_A);
	vcpu_ioctl(vcpu, MVM_NMI, NULL);
	return vcpu;
}

/* Every invalid field fails with EINVAL and changes nothing. */
static int bad_events_einval(void)
{
	struct vcpu *vcpu = events_vcpu();
	struct mvm_vcpu_events base, ev, after;
	unsigned int i;

	get_events(vcpu, &base);
	CHECK(pending_bit(&base, VEC_A) && base.nmi.pending, "pending");
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		ev = base;
		bads[i].fn(&ev);
		errno = 0;
		CHECK(set_events(vcpu, &ev) == -1 && errno == EINVAL,
		      "%s accepted", bads[i].what);
		get_events(vcpu, &after);
		CHECK(!memcmp(&base, &after, sizeof(base)),
		      "%s changed the events", bads[i].what);
	}
	ktap_diag("%u invalid event sets refused", i);
	return KTAP_PASS;
}

/* STI's shadow and an injected interrupt need IF: refused with IF clear. */
static int bad_events_need_if(void)
{
	struct vcpu *vcpu = new_vcpu(guest_injected);
	struct mvm_vcpu_events base, ev;

	get_events(vcpu, &base);
	ev = base;
	ev.interrupt.shadow = MVM_SHADOW_STI;
	CHECK_ERRNO(set_events(vcpu, &ev), EINVAL);
	ev = base;
	ev.interrupt.injected = 1;
	ev.interrupt.vector = VEC_A;
	CHECK_ERRNO(set_events(vcpu, &ev), EINVAL);
	/* MOV SS's is fine with IF clear. */
	ev = base;
	ev.interrupt.shadow = MVM_SHADOW_MOV_SS;
	CHECK(!set_events(vcpu, &ev), "MOV SS shadow with IF clear");
	get_events(vcpu, &ev);
	CHECK(ev.interrupt.shadow == MVM_SHADOW_MOV_SS, "shadow %#x",
	      ev.interrupt.shadow);
	return KTAP_PASS;
}

/* Valid sets read back as set (SVM's one shadow bit, its NMI masking). */
static int events_round_trip(void)
{
	struct vcpu *vcpu = events_vcpu();
	int svm = backend() == MVM_BACKEND_SVM;
	struct mvm_vcpu_events base, ev, back;
	unsigned int i;

	get_events(vcpu, &base);
	for (i = 0; i < 8; i++) {
		ev = base;
		switch (i) {
		case 0:
			ev.exception.injected = 1;
			ev.exception.vector = GP_VECTOR;
			ev.exception.has_error = 1;
			ev.exception.error_code = 0xfffffff8;
			break;
		case 1:
			ev.exception.injected = 1;
			ev.exception.vector = 3;
			ev.nmi.masked = 1;
			ev.interrupt.shadow = MVM_SHADOW_MOV_SS;
			break;
		case 2:
			ev.interrupt.injected = 1;
			ev.interrupt.vector = 255;
			break;
		case 3:
			ev.nmi.injected = 1;
			/* The delivery masks NMIs: SVM shows it at once. */
			ev.nmi.masked = svm;
			break;
		case 4:
			ev.interrupt.shadow = MVM_SHADOW_STI;
			ev.nmi.masked = 1;
			break;
		case 5:
			ev.halted = 1;
			ev.interrupt.pending[3] = 1ULL << 63;
			ev.interrupt.pending[1] = 0;
			ev.nmi.pending = 0;
			break;
		case 6:
			memset(ev.interrupt.pending, 0,
			       sizeof(ev.interrupt.pending));
			ev.interrupt.pending[0] = 0xffffffff00000000ULL;
			ev.nmi.pending = 1;
			break;
		case 7:
			/* Without the flag the pending set stays. */
			ev.flags = 0;
			memset(ev.interrupt.pending, 0,
			       sizeof(ev.interrupt.pending));
			ev.nmi.pending = 0;
			break;
		}
		CHECK(!set_events(vcpu, &ev), "set %u", i);
		get_events(vcpu, &back);
		if (i == 1 && svm)
			ev.interrupt.shadow = MVM_SHADOW_STI;
		if (i == 7) {
			ev.flags = MVM_VCPU_EVENTS_PENDING;
			memcpy(ev.interrupt.pending, base.interrupt.pending,
			       sizeof(ev.interrupt.pending));
			ev.interrupt.pending[0] = 0xffffffff00000000ULL;
			ev.interrupt.pending[1] = 0;
			ev.nmi.pending = 1;
		}
		CHECK(!memcmp(&ev, &back, sizeof(ev)),
		      "set %u reads back otherwise: exc %u/%u vec %u/%u shadow %#x/%#x masked %u/%u",
		      i, ev.exception.injected, back.exception.injected,
		      ev.exception.vector, back.exception.vector,
		      ev.interrupt.shadow, back.interrupt.shadow,
		      ev.nmi.masked, back.nmi.masked);
	}
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(cap_vcpu_events),
	KTAP_CASE(fresh_vcpu_events),
	KTAP_CASE(bad_events_einval),
	KTAP_CASE(bad_events_need_if),
	KTAP_CASE(events_round_trip),
	KTAP_CASE_T(point_irq_pending, 60),
	KTAP_CASE_T(point_sti_shadow, 60),
	KTAP_CASE_T(point_movss_shadow, 60),
	KTAP_CASE_T(point_nmi_masked, 60),
	KTAP_CASE_T(point_halted, 60),
	KTAP_CASE_T(point_port_read, 60),
	KTAP_CASE_T(point_exception_delivery, 60),
	KTAP_CASE_T(point_irq_delivery, 60),
	KTAP_CASE_T(point_set_injected, 60),
};

KTAP_MAIN(cases)
