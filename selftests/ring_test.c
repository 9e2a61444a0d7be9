// SPDX-License-Identifier: GPL-2.0
/*
 * Posted writes and the ring: guest writes inside a posted range reach the
 * ring without an exit, in guest order, and are all there when any
 * synchronous exit returns; a full ring loses nothing; a nonsense tail
 * stops the vCPU without the kernel writing outside entries[]; the eventfd
 * fires when an append finds the ring empty.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"

#define GUEST_MIB	16
#define POST_PORT	0x80		/* ports 0x80-0x83 are posted */
#define POST_PORTS	4
#define POST_MMIO	0xd0000000UL	/* one page, posted, no slot */
#define NR_FLOOD	3000		/* nearly three rings' worth */

static uint32_t ring_used(struct vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->ring->head, __ATOMIC_ACQUIRE) -
	       vcpu->ring->tail;
}

/* Consume everything up to head into @out (at most @max); the count. */
static unsigned int ring_drain(struct vcpu *vcpu, struct mvm_access *out,
			       unsigned int max)
{
	struct mvm_ring *r = vcpu->ring;
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint32_t tail = r->tail;
	unsigned int n = 0;

	TEST_ASSERT(head - tail <= r->nr_entries, "head %u tail %u", head,
		    tail);
	for (; tail != head; tail++, n++) {
		TEST_ASSERT(n < max, "more than %u entries", max);
		out[n] = r->entries[tail % r->nr_entries];
	}
	__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	return n;
}

static struct vcpu *posted_vcpu(void)
{
	struct vm *vm = vm_create(GUEST_MIB);

	vm_set_posted(vm, MVM_SPACE_PIO, POST_PORT, POST_PORTS);
	vm_set_posted(vm, MVM_SPACE_MMIO, POST_MMIO, PAGE_SIZE);
	return vcpu_create(vm, 0);
}

/* --- ordering ------------------------------------------------------------- */

/*
 * Posted writes, each group followed by a different synchronous exit: a
 * ucall, an MMIO read inside the posted range, a write just outside the
 * port range, and a write straddling its end.
 */
static void guest_ordering(void)
{
	uint32_t v;

	outb(POST_PORT, 1);
	outw(POST_PORT, 0x0202);
	outl(POST_PORT, 0x03030303);
	*(volatile uint32_t *)POST_MMIO = 4;
	*(volatile uint64_t *)(POST_MMIO + 8) = 5;
	GUEST_SYNC(1);
	outb(POST_PORT + 3, 6);
	v = *(volatile uint32_t *)(POST_MMIO + 0x10);
	outb(POST_PORT + 2, 7);
	outb(POST_PORT + POST_PORTS, 8);
	outw(POST_PORT + POST_PORTS - 1, 9);
	GUEST_VALUE(v, 0, 0);
	GUEST_DONE();
}

static const struct mvm_access ordering_posted[] = {
	{ .space = MVM_SPACE_PIO, .addr = POST_PORT, .size = 1, .data = 1 },
	{ .space = MVM_SPACE_PIO, .addr = POST_PORT, .size = 2, .data = 0x202 },
	{ .space = MVM_SPACE_PIO, .addr = POST_PORT, .size = 4,
	  .data = 0x03030303 },
	{ .space = MVM_SPACE_MMIO, .addr = POST_MMIO, .size = 4, .data = 4 },
	{ .space = MVM_SPACE_MMIO, .addr = POST_MMIO + 8, .size = 8,
	  .data = 5 },
	{ .space = MVM_SPACE_PIO, .addr = POST_PORT + 3, .size = 1, .data = 6 },
	{ .space = MVM_SPACE_PIO, .addr = POST_PORT + 2, .size = 1, .data = 7 },
};

/* How many posted writes precede each synchronous exit, in order. */
static const unsigned int ordering_before[] = { 5, 6, 7, 7, 7, 7 };

static int posted_before_sync_exit(void)
{
	struct vcpu *vcpu = posted_vcpu();
	struct mvm_access got[16];
	unsigned int exits = 0, seen = 0, n, i;
	struct mvm_run *run = vcpu->run;
	struct ucall uc;

	vcpu_setup_long(vcpu, guest_ordering);
	for (;;) {
		vcpu_run(vcpu);
		/* Whatever the exit, the ring already holds what came before. */
		n = ring_drain(vcpu, got, 16);
		CHECK(exits < 6 && seen + n == ordering_before[exits],
		      "exit %u (%s): %u posted writes before it, want %u",
		      exits, exit_reason_str(run->exit_reason), seen + n,
		      exits < 6 ? ordering_before[exits] : 0);
		for (i = 0; i < n; i++, seen++) {
			const struct mvm_access *w = &ordering_posted[seen];
			uint64_t mask = w->size == 8 ? ~0ULL :
				(1ULL << (8 * w->size)) - 1;

			CHECK(got[i].space == w->space &&
			      got[i].addr == w->addr &&
			      got[i].size == w->size && got[i].write == 1 &&
			      (got[i].data & mask) == w->data,
			      "entry %u: space %u addr %#llx size %u write %u "
			      "data %#llx", seen, got[i].space,
			      (unsigned long long)got[i].addr, got[i].size,
			      got[i].write, (unsigned long long)got[i].data);
		}
		exits++;
		switch (run->exit_reason) {
		case MVM_EXIT_MMIO:
			CHECK(exits == 2 && !run->io.write &&
			      run->io.addr == POST_MMIO + 0x10 &&
			      run->io.size == 4, "MMIO exit %u", exits);
			run->io.data = 0x77;
			break;
		case MVM_EXIT_IO:
			switch (get_ucall(vcpu, &uc)) {
			case UCALL_SYNC:
				CHECK(exits == 1, "sync at exit %u", exits);
				break;
			case UCALL_VALUE:
				CHECK(exits == 5 && uc.args[0] == 0x77,
				      "exit %u: value %#" PRIx64, exits,
				      uc.args[0]);
				break;
			case UCALL_DONE:
				CHECK(exits == 6, "done at exit %u", exits);
				return KTAP_PASS;
			case UCALL_FAIL:
				report_guest_fail(&uc);
			case UCALL_NONE:
				/* The writes outside the posted range. */
				CHECK((exits == 3 && run->io.addr == 0x84 &&
				       run->io.size == 1 && run->io.data == 8) ||
				      (exits == 4 && run->io.addr == 0x83 &&
				       run->io.size == 2 &&
				       (run->io.data & 0xffff) == 9),
				      "exit %u: port %#llx size %u", exits,
				      (unsigned long long)run->io.addr,
				      run->io.size);
				break;
			default:
				CHECK(0, "ucall %u", uc.code);
			}
			break;
		default:
			vcpu_describe_exit(vcpu);
			CHECK(0, "unexpected exit");
		}
	}
}

/* --- a full ring ------------------------------------------------------------ */

static void guest_flood(void)
{
	uint32_t i;

	for (i = 0; i < NR_FLOOD; i++)
		outl(POST_PORT, i);
	GUEST_DONE();
}

/* Checks that the drained entries continue the sequence *next. */
static int check_sequence(const struct mvm_access *got, unsigned int n,
			  uint64_t *next, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < n; i++, (*next)++) {
		uint64_t mask = (1ULL << (8 * size)) - 1;

		CHECK(got[i].space == MVM_SPACE_PIO &&
		      got[i].addr == POST_PORT && got[i].size == size &&
		      got[i].write,
		      "entry %" PRIu64 ": port %#llx size %u", *next,
		      (unsigned long long)got[i].addr, got[i].size);
		CHECK((got[i].data & mask) == (*next & mask),
		      "entry %" PRIu64 " has data %#llx", *next,
		      (unsigned long long)got[i].data);
	}
	return KTAP_PASS;
}

/*
 * Run a guest that posts NR_FLOOD writes of @size bytes whose values count
 * up, draining on each MVM_EXIT_RING_FULL and then taking the write in
 * mvm_run.io, which is never in the ring: none is lost or repeated.
 */
static int run_flood(struct vcpu *vcpu, unsigned int size)
{
	static struct mvm_access got[1024];
	unsigned int full = 0, n;
	uint64_t next = 0;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		switch (vcpu->run->exit_reason) {
		case MVM_EXIT_RING_FULL:
			CHECK(ring_used(vcpu) == vcpu->ring->nr_entries,
			      "ring full with %u of %u entries used",
			      ring_used(vcpu), vcpu->ring->nr_entries);
			full++;
			n = ring_drain(vcpu, got, 1024);
			if (check_sequence(got, n, &next, size))
				return KTAP_FAIL;
			/* The write that did not fit comes after the ring's. */
			if (check_sequence(&vcpu->run->io, 1, &next, size))
				return KTAP_FAIL;
			break;
		case MVM_EXIT_IO:
			CHECK(get_ucall(vcpu, &uc) == UCALL_DONE,
			      "ucall %u", uc.code);
			n = ring_drain(vcpu, got, 1024);
			if (check_sequence(got, n, &next, size))
				return KTAP_FAIL;
			CHECK(next == NR_FLOOD, "%" PRIu64 " writes arrived",
			      next);
			CHECK(full >= NR_FLOOD / 1024, "%u RING_FULL exits",
			      full);
			return KTAP_PASS;
		default:
			vcpu_describe_exit(vcpu);
			CHECK(0, "unexpected exit");
		}
	}
}

static int ring_full_loses_nothing(void)
{
	struct vcpu *vcpu = posted_vcpu();

	vcpu_setup_long(vcpu, guest_flood);
	return run_flood(vcpu, 4);
}

/* --- rep outsb ----------------------------------------------------------------- */

static uint8_t outsb_buf[NR_FLOOD];

static void guest_outsb(uint64_t buf, uint64_t n)
{
	__asm__ volatile("cld\n\trep outsb"
			 : "+S"(buf), "+c"(n) : "d"(POST_PORT) : "memory");
	GUEST_DONE();
}

static int rep_outsb(unsigned int count)
{
	struct vcpu *vcpu = posted_vcpu();
	unsigned int i;

	for (i = 0; i < count; i++)
		outsb_buf[i] = i;
	sync_global_to_guest(vcpu->vm, outsb_buf);
	vcpu_setup_long(vcpu, (void (*)(void))guest_outsb);
	vcpu_args_set(vcpu, (uintptr_t)outsb_buf, count, 0);
	return run_flood(vcpu, 1);
}

static int rep_outsb_posted(void)
{
	struct vcpu *vcpu = posted_vcpu();
	struct mvm_access got[32];
	uint64_t next = 0;
	unsigned int n;
	struct ucall uc;

	for (n = 0; n < 16; n++)
		outsb_buf[n] = n;
	sync_global_to_guest(vcpu->vm, outsb_buf);
	vcpu_setup_long(vcpu, (void (*)(void))guest_outsb);
	vcpu_args_set(vcpu, (uintptr_t)outsb_buf, 16, 0);
	/* Sixteen bytes, one entry each, and no exit before the ucall. */
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_DONE, "ucall %u", uc.code);
	n = ring_drain(vcpu, got, 32);
	CHECK(n == 16, "%u entries", n);
	return check_sequence(got, n, &next, 1);
}

/* A string longer than the ring: RING_FULL in mid-instruction. */
static int rep_outsb_ring_full(void)
{
	return rep_outsb(NR_FLOOD);
}

/* --- a nonsense tail ------------------------------------------------------------ */

static void guest_ten_then_one(void)
{
	uint32_t i;

	for (i = 0; i < 10; i++)
		outl(POST_PORT, i);
	GUEST_SYNC(1);
	outl(POST_PORT, 10);
	GUEST_DONE();
}

/*
 * After ten posted writes, userspace stores @tail_delta + head as its tail;
 * the next append must fail MVM_RUN with EINVAL and leave every byte of
 * the mapping outside entries[] (but head) alone.
 */
static int bad_tail(uint32_t tail_delta)
{
	struct vcpu *vcpu = posted_vcpu();
	struct mvm_ring *r = vcpu->ring;
	size_t ring_bytes = vcpu->mmap_size - MVM_RING_PGOFF * PAGE_SIZE;
	size_t entries_end = sizeof(*r) + r->nr_entries * sizeof(r->entries[0]);
	uint8_t *slack = (uint8_t *)r + entries_end;
	size_t slack_len = ring_bytes - entries_end, i;
	struct ucall uc;
	uint32_t tail;

	CHECK(entries_end <= ring_bytes, "ring of %zu bytes in %zu",
	      entries_end, ring_bytes);
	vcpu_setup_long(vcpu, guest_ten_then_one);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	CHECK(r->head == 10, "head %u", r->head);
	tail = r->head + tail_delta;
	memset(slack, 0x5a, slack_len);
	memset(r->pad0, 0x5a, sizeof(r->pad0));
	memset(r->pad1, 0x5a, sizeof(r->pad1));
	r->tail = tail;
	CHECK_ERRNO(__vcpu_run(vcpu), EINVAL);
	for (i = 0; i < slack_len; i++)
		CHECK(slack[i] == 0x5a, "byte %zu past entries[] changed",
		      i);
	for (i = 0; i < sizeof(r->pad0); i++)
		CHECK(((uint8_t *)r->pad0)[i] == 0x5a, "pad0 changed");
	for (i = 0; i < sizeof(r->pad1); i++)
		CHECK(((uint8_t *)r->pad1)[i] == 0x5a, "pad1 changed");
	CHECK(r->tail == tail && r->nr_entries == 1024,
	      "tail %u nr_entries %u", r->tail, r->nr_entries);
	return KTAP_PASS;
}

static int tail_past_head_einval(void)
{
	return bad_tail(5);
}

static int tail_too_far_behind_einval(void)
{
	return bad_tail(-1025U);
}

static int tail_far_off_einval(void)
{
	return bad_tail(0x80000000U);
}

/*
 * A posted write that finds a broken tail is not done: MVM_RUN fails with
 * EINVAL and the guest stays on the instruction (rSI, rDI and rCX too),
 * however often it is run; once the tail is valid, the write reaches the
 * ring exactly once.  For an MMIO store, RIP used to move before the ring
 * was looked at, and the store was lost.
 */
#define RETRY_STOS	0x100		/* offset in POST_MMIO */

static void guest_retry(void)
{
	volatile uint32_t *mmio = (volatile uint32_t *)POST_MMIO;
	uint32_t *dst = (uint32_t *)(POST_MMIO + RETRY_STOS);
	uint64_t n = 3;

	GUEST_SYNC(0);
	*mmio = 0x11;
	GUEST_SYNC(1);
	outb(POST_PORT, 0x22);
	GUEST_SYNC(2);
	__asm__ volatile("rep stosl" : "+D"(dst), "+c"(n) : "a"(0x33)
			 : "memory");
	GUEST_SYNC(3);
	GUEST_DONE();
}

static int retry_one(struct vcpu *vcpu, uint64_t stage, uint8_t space,
		     uint64_t addr, uint8_t size, uint64_t data,
		     unsigned int count)
{
	struct mvm_ring *r = vcpu->ring;
	struct mvm_access got[8];
	struct mvm_regs before, after;
	struct ucall uc;
	unsigned int i, n;

	r->tail = r->head + 3;
	CHECK_ERRNO(__vcpu_run(vcpu), EINVAL);
	vcpu_get_regs(vcpu, &before);
	CHECK(before.rip == vcpu->run->rip, "stage %" PRIu64 ": RIP %#llx, "
	      "exit at %#llx", stage, (unsigned long long)before.rip,
	      (unsigned long long)vcpu->run->rip);
	CHECK_ERRNO(__vcpu_run(vcpu), EINVAL);
	vcpu_get_regs(vcpu, &after);
	CHECK(!memcmp(&before, &after, sizeof(before)),
	      "stage %" PRIu64 ": registers moved on a second EINVAL", stage);

	r->tail = r->head;
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == stage,
	      "stage %" PRIu64 ": ucall %u %" PRIu64, stage, uc.code,
	      uc.args[0]);
	n = ring_drain(vcpu, got, 8);
	CHECK(n == count, "stage %" PRIu64 ": %u entries, want %u", stage,
	      n, count);
	for (i = 0; i < n; i++)
		CHECK(got[i].space == space &&
		      got[i].addr == addr + i * size && got[i].size == size &&
		      got[i].write && got[i].data == data,
		      "stage %" PRIu64 " entry %u: space %u addr %#llx size %u "
		      "data %#llx", stage, i, got[i].space,
		      (unsigned long long)got[i].addr, got[i].size,
		      (unsigned long long)got[i].data);
	return KTAP_PASS;
}

static int broken_tail_write_retried(void)
{
	struct vcpu *vcpu = posted_vcpu();
	struct mvm_access got[8];
	struct ucall uc;

	vcpu_setup_long(vcpu, guest_retry);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == 0,
	      "ucall %u", uc.code);
	CHECK(ring_drain(vcpu, got, 8) == 0, "ring not empty");
	if (retry_one(vcpu, 1, MVM_SPACE_MMIO, POST_MMIO, 4, 0x11, 1) ||
	    retry_one(vcpu, 2, MVM_SPACE_PIO, POST_PORT, 1, 0x22, 1) ||
	    retry_one(vcpu, 3, MVM_SPACE_MMIO, POST_MMIO + RETRY_STOS, 4,
		      0x33, 3))
		return KTAP_FAIL;
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * A tail broken in the middle of a REP STOS to MMIO: the elements before it
 * stay done, the one that finds it is not, and RIP, rCX and rDI say exactly
 * that however often MVM_RUN fails; once the tail is repaired the rest
 * follow, each once.  Elements 0 and 1 are posted, element 2 falls in a
 * hole between two posted ranges (a synchronous exit with the string half
 * done, where the host breaks the tail), 3 to 5 are posted again.
 */
#define STOS_MMIO	(POST_MMIO + PAGE_SIZE)	/* no slot, not posted above */
#define STOS_N		6
#define STOS_HOLE	2
#define STOS_DATA	0x44

static void guest_stos_mid(void)
{
	uint32_t *dst = (uint32_t *)STOS_MMIO;
	uint64_t n = STOS_N;

	__asm__ volatile("cld\n\trep stosl" : "+D"(dst), "+c"(n)
			 : "a"(STOS_DATA) : "memory");
	GUEST_VALUE((uintptr_t)dst, n, 0);
	GUEST_DONE();
}

static int check_stos_entries(const struct mvm_access *got, unsigned int n,
			      unsigned int first)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		CHECK(got[i].space == MVM_SPACE_MMIO &&
		      got[i].addr == STOS_MMIO + 4 * (first + i) &&
		      got[i].size == 4 && got[i].write &&
		      got[i].data == STOS_DATA,
		      "element %u: space %u addr %#llx size %u data %#llx",
		      first + i, got[i].space, (unsigned long long)got[i].addr,
		      got[i].size, (unsigned long long)got[i].data);
	return KTAP_PASS;
}

static int broken_tail_mid_rep_stos(void)
{
	struct vm *vm = vm_create(GUEST_MIB);
	uint64_t next_rdi = STOS_MMIO + 4 * (STOS_HOLE + 1);
	uint64_t left = STOS_N - STOS_HOLE - 1;
	struct mvm_access got[8];
	struct mvm_regs at_exit, regs;
	struct vcpu *vcpu;
	struct mvm_ring *r;
	struct mvm_run *run;
	const uint8_t *insn;
	struct ucall uc;
	uint32_t head;
	unsigned int n, i;

	vm_set_posted(vm, MVM_SPACE_MMIO, STOS_MMIO, 4 * STOS_HOLE);
	vm_set_posted(vm, MVM_SPACE_MMIO, next_rdi, 4 * left);
	vcpu = vcpu_create(vm, 0);
	r = vcpu->ring;
	run = vcpu->run;
	vcpu_setup_long(vcpu, guest_stos_mid);

	/* Elements 0 and 1 in the ring, element 2 in the run page. */
	vcpu_run(vcpu);
	CHECK(run->exit_reason == MVM_EXIT_MMIO && run->io.write &&
	      run->io.addr == STOS_MMIO + 4 * STOS_HOLE && run->io.size == 4 &&
	      run->io.data == STOS_DATA, "exit %s at %#llx",
	      exit_reason_str(run->exit_reason),
	      (unsigned long long)run->io.addr);
	n = ring_drain(vcpu, got, 8);
	CHECK(n == STOS_HOLE, "%u entries before the hole", n);
	if (check_stos_entries(got, n, 0))
		return KTAP_FAIL;
	vcpu_get_regs(vcpu, &at_exit);
	insn = gpa2hva(vm, at_exit.rip);
	CHECK(insn[0] == 0xf3 && insn[1] == 0xab,
	      "RIP %#llx is not on the REP STOS", (unsigned long long)at_exit.rip);
	CHECK(at_exit.rcx == left && at_exit.rdi == next_rdi,
	      "after the hole: rCX %llu rDI %#llx",
	      (unsigned long long)at_exit.rcx, (unsigned long long)at_exit.rdi);

	/* The tail breaks with the string half done: element 3 is not done. */
	head = r->head;
	r->tail = head + 3;
	for (i = 0; i < 2; i++) {
		CHECK_ERRNO(__vcpu_run(vcpu), EINVAL);
		vcpu_get_regs(vcpu, &regs);
		CHECK(regs.rip == at_exit.rip && regs.rcx == left &&
		      regs.rdi == next_rdi,
		      "EINVAL #%u: RIP %#llx rCX %llu rDI %#llx, want %#llx %llu "
		      "%#llx", i, (unsigned long long)regs.rip,
		      (unsigned long long)regs.rcx, (unsigned long long)regs.rdi,
		      (unsigned long long)at_exit.rip, (unsigned long long)left,
		      (unsigned long long)next_rdi);
		CHECK(r->head == head, "EINVAL #%u: head moved to %u", i,
		      r->head);
	}

	/* Repaired: elements 3 to 5, once each, and the string is done. */
	r->tail = head;
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE &&
	      uc.args[0] == STOS_MMIO + 4 * STOS_N && uc.args[1] == 0,
	      "ucall %u: rDI %#llx rCX %llu", uc.code,
	      (unsigned long long)uc.args[0], (unsigned long long)uc.args[1]);
	n = ring_drain(vcpu, got, 8);
	CHECK(n == left, "%u entries after the repair, want %llu", n,
	      (unsigned long long)left);
	if (check_stos_entries(got, n, STOS_HOLE + 1))
		return KTAP_FAIL;
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* --- eventfd --------------------------------------------------------------------- */

static void guest_eventfd(void)
{
	outb(POST_PORT, 1);
	GUEST_SYNC(1);
	outb(POST_PORT, 2);
	outb(POST_PORT, 3);
	GUEST_SYNC(2);
	outb(POST_PORT, 4);
	GUEST_SYNC(3);
	outb(POST_PORT, 5);
	GUEST_SYNC(4);
	GUEST_DONE();
}

/* The eventfd's count, reset; 0 if it was not signalled. */
static uint64_t efd_take(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v)) {
		TEST_ASSERT(errno == EAGAIN, "read eventfd");
		return 0;
	}
	return v;
}

static int set_ring_eventfd(struct vcpu *vcpu, int fd)
{
	struct mvm_ring_eventfd r = { .fd = fd };

	return __vcpu_ioctl(vcpu, MVM_SET_RING_EVENTFD, &r);
}

static int eventfd_on_empty_ring(void)
{
	/* After each sync: signals seen, and whether the host drains. */
	static const struct {
		uint64_t signals;
		int drain, detach;
	} want[] = {
		{ 1, 0, 0 },	/* first append to an empty ring */
		{ 0, 1, 0 },	/* appends to a non-empty one */
		{ 1, 1, 1 },	/* empty again after draining */
		{ 0, 1, 0 },	/* detached */
	};
	struct vcpu *vcpu = posted_vcpu();
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct mvm_access got[8];
	struct ucall uc;
	uint64_t s;

	CHECK(efd >= 0, "eventfd");
	CHECK(!set_ring_eventfd(vcpu, efd), "attach");
	vcpu_setup_long(vcpu, guest_eventfd);
	for (;;) {
		switch (vcpu_run_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			s = efd_take(efd);
			CHECK(s == want[uc.args[0] - 1].signals,
			      "stage %" PRIu64 ": eventfd count %" PRIu64,
			      uc.args[0], s);
			if (want[uc.args[0] - 1].drain)
				ring_drain(vcpu, got, 8);
			if (want[uc.args[0] - 1].detach)
				CHECK(!set_ring_eventfd(vcpu, -1), "detach");
			break;
		case UCALL_DONE:
			return KTAP_PASS;
		default:
			CHECK(0, "ucall %u", uc.code);
		}
	}
}

static const struct ktap_case cases[] = {
	KTAP_CASE(posted_before_sync_exit),
	KTAP_CASE(ring_full_loses_nothing),
	KTAP_CASE(rep_outsb_posted),
	KTAP_CASE(rep_outsb_ring_full),
	KTAP_CASE(tail_past_head_einval),
	KTAP_CASE(tail_too_far_behind_einval),
	KTAP_CASE(tail_far_off_einval),
	KTAP_CASE(broken_tail_write_retried),
	KTAP_CASE(broken_tail_mid_rep_stos),
	KTAP_CASE(eventfd_on_empty_ring),
};

KTAP_MAIN(cases)
