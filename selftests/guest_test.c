// SPDX-License-Identifier: GPL-2.0
/*
 * Guests in real mode, 32-bit protected mode and 64-bit long mode: port
 * I/O of each width, CPUID from the table, MMIO reads and writes of each
 * form, read-only slots, and slots deleted or moved between runs.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"

#define GUEST_MIB	16
#define MMIO_GPA	0xc0000000UL	/* no slot: every access exits */
#define SLOT_GPA	0x10000000UL
#define SLOT_GPA2	0x20000000UL
#define SLOT_GPA3	0x30000000UL

/*
 * The same port I/O in every mode: writes of each width, then reads of
 * each width whose whole EAX is echoed to port 0xe8, so the host sees that
 * only AL or AX changed.  The last access uses a 16-bit port in DX.
 */
__asm__(
	".macro pio_sequence\n"
	"	mov $0x11, %al\n"
	"	outb %al, $0xe0\n"
	"	mov $0x2233, %ax\n"
	"	outw %ax, $0xe2\n"
	"	mov $0x44556677, %eax\n"
	"	outl %eax, $0xe4\n"
	"	mov $0xaabbccdd, %eax\n"
	"	inb $0xe0, %al\n"
	"	outl %eax, $0xe8\n"
	"	mov $0xaabbccdd, %eax\n"
	"	inw $0xe2, %ax\n"
	"	outl %eax, $0xe8\n"
	"	inl $0xe4, %eax\n"
	"	outl %eax, $0xe8\n"
	"	mov $0x1234, %dx\n"
	"	mov $0x99, %al\n"
	"	outb %al, %dx\n"
	"	mov $1, %eax\n"		/* UCALL_DONE */
	"	mov $0xf0, %dx\n"
	"	outl %eax, %dx\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	".endm\n"
	".pushsection .text\n"
	".code16\n"
	"pio_real_start:\n"
	"	pio_sequence\n"
	"pio_real_end:\n"
	".code32\n"
	"pio_prot32_start:\n"
	"	pio_sequence\n"
	".code64\n"
	"pio_long_start:\n"
	"	pio_sequence\n"
	".popsection\n");

extern const char pio_real_start[], pio_real_end[], pio_prot32_start[],
	pio_long_start[];

struct pio_step {
	uint8_t write;
	uint16_t port;
	uint8_t size;
	uint32_t data;
};

static const struct pio_step pio_steps[] = {
	{ 1, 0xe0, 1, 0x11 },
	{ 1, 0xe2, 2, 0x2233 },
	{ 1, 0xe4, 4, 0x44556677 },
	{ 0, 0xe0, 1, 0x5a },
	{ 1, 0xe8, 4, 0xaabbcc5a },
	{ 0, 0xe2, 2, 0x1234 },
	{ 1, 0xe8, 4, 0xaabb1234 },
	{ 0, 0xe4, 4, 0x89abcdef },
	{ 1, 0xe8, 4, 0x89abcdef },
	{ 1, 0x1234, 1, 0x99 },
};

/* Bits above the access size that the guest must never see. */
static uint64_t garbage_above(uint64_t v, unsigned int size)
{
	uint64_t mask = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;

	return (v & mask) | (0xa5a5a5a5a5a5a5a5ULL & ~mask);
}

static int run_pio_steps(struct vcpu *vcpu)
{
	struct mvm_access *io = &vcpu->run->io;
	unsigned int i;

	for (i = 0; i < sizeof(pio_steps) / sizeof(pio_steps[0]); i++) {
		const struct pio_step *s = &pio_steps[i];

		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != MVM_EXIT_IO)
			vcpu_describe_exit(vcpu);
		CHECK(vcpu->run->exit_reason == MVM_EXIT_IO, "step %u", i);
		CHECK(io->space == MVM_SPACE_PIO && io->addr == s->port &&
		      io->size == s->size && io->write == s->write,
		      "step %u: port %#llx size %u write %u", i,
		      (unsigned long long)io->addr, io->size, io->write);
		if (s->write)
			CHECK((io->data & ((1ULL << (8 * s->size)) - 1)) ==
			      s->data, "step %u: data %#llx, want %#x", i,
			      (unsigned long long)io->data, s->data);
		else
			io->data = garbage_above(s->data, s->size);
	}
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static int pio_real_mode(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create_bare(1), 0);

	vcpu_setup_real(vcpu, pio_real_start, pio_real_end);
	return run_pio_steps(vcpu);
}

static int pio_prot32(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);

	vcpu_setup_prot32(vcpu, pio_prot32_start);
	return run_pio_steps(vcpu);
}

static int pio_long_mode(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);

	vcpu_setup_long(vcpu, (void (*)(void))pio_long_start);
	return run_pio_steps(vcpu);
}

/* --- CPUID --------------------------------------------------------------- */

static const uint32_t cpuid_probes[][2] = {
	{ 0, 0 }, { 7, 0 }, { 7, 1 }, { 0x40000000, 0 }, { 0x40000000, 9 },
	{ 0x12345, 0 }, { 0x80000000, 0 },
};

#define NR_PROBES (sizeof(cpuid_probes) / sizeof(cpuid_probes[0]))

static void guest_cpuid_probe(void)
{
	unsigned int i;
	uint32_t r[4];

	for (i = 0; i < NR_PROBES; i++) {
		guest_cpuid(cpuid_probes[i][0], cpuid_probes[i][1], r);
		GUEST_VALUE(i, (uint64_t)r[1] << 32 | r[0],
			    (uint64_t)r[3] << 32 | r[2]);
	}
	GUEST_DONE();
}

struct cpuid_table {
	struct mvm_cpuid hdr;
	struct mvm_cpuid_entry e[4];
};

static int cpuid_from_table(void)
{
	static const struct cpuid_table t = {
		.hdr.nent = 4,
		.e = {
			{ .function = 0, .eax = 0x40000000, .ebx = 0x6d766d20,
			  .ecx = 0x74657374, .edx = 0x21212121 },
			{ .function = 7, .index = 0,
			  .flags = MVM_CPUID_FLAG_INDEX, .ebx = 0x1234 },
			/* No index flag: every subleaf reads the same. */
			{ .function = 0x40000000, .eax = 0x40000000,
			  .ebx = 0x11111111, .ecx = 0x22222222,
			  .edx = 0x33333333 },
			{ .function = 0x80000000, .eax = 0x80000008 },
		},
	};
	/* What each probe must read; a leaf not in the table is zeros. */
	static const uint32_t want[NR_PROBES][4] = {
		{ 0x40000000, 0x6d766d20, 0x74657374, 0x21212121 },
		{ 0, 0x1234, 0, 0 },
		{ 0, 0, 0, 0 },
		{ 0x40000000, 0x11111111, 0x22222222, 0x33333333 },
		{ 0x40000000, 0x11111111, 0x22222222, 0x33333333 },
		{ 0, 0, 0, 0 },
		{ 0x80000008, 0, 0, 0 },
	};
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	unsigned int seen = 0;
	struct ucall uc;

	vcpu_ioctl(vcpu, MVM_SET_CPUID, (void *)&t);
	vcpu_setup_long(vcpu, guest_cpuid_probe);
	for (;;) {
		switch (vcpu_run_ucall(vcpu, &uc)) {
		case UCALL_VALUE: {
			const uint32_t *w = want[uc.args[0]];

			CHECK(uc.args[0] == seen, "probe %" PRIu64, uc.args[0]);
			CHECK(uc.args[1] == ((uint64_t)w[1] << 32 | w[0]) &&
			      uc.args[2] == ((uint64_t)w[3] << 32 | w[2]),
			      "leaf %#x.%u: ebx:eax %#" PRIx64 " edx:ecx %#"
			      PRIx64, cpuid_probes[seen][0],
			      cpuid_probes[seen][1], uc.args[1], uc.args[2]);
			seen++;
			break;
		}
		case UCALL_DONE:
			CHECK(seen == NR_PROBES, "%u probes", seen);
			return KTAP_PASS;
		default:
			CHECK(0, "ucall %u", uc.code);
		}
	}
}

/*
 * mvm looks leaves 0-0x1f and 0x80000000-0x8000001f, subleaves 0-0x1f, up
 * in an index and searches the rest of the table: either way the first
 * entry that matches answers, in the table's order, and an entry without
 * the index flag matches every subleaf.  Probes at the index's edges.
 */
static const uint32_t cpuid_order_probes[][3] = {
	/* leaf, subleaf, EAX it reads */
	{ 0xd, 1, 0xd1 },	/* its indexed entry comes first */
	{ 0xd, 2, 0xdd },	/* the entry for all subleaves comes first */
	{ 0xd, 40, 0xdd },	/* past the index's subleaves: the same */
	{ 4, 33, 0x433 },	/* past them, indexed */
	{ 4, 0, 0 },		/* no entry for subleaf 0 */
	{ 0x1f, 31, 0x1f31 },	/* the index's last leaf and subleaf */
	{ 0x1f, 30, 0 },
	{ 0x20, 0, 0 },		/* past its basic leaves: no entry */
	{ 0x8000001f, 5, 0x1f },
	{ 0x80000020, 0, 0x20 },	/* past its extended leaves */
};

#define NR_ORDER_PROBES (sizeof(cpuid_order_probes) / sizeof(cpuid_order_probes[0]))

static void guest_cpuid_order(void)
{
	unsigned int i;
	uint32_t r[4];

	for (i = 0; i < NR_ORDER_PROBES; i++) {
		guest_cpuid(cpuid_order_probes[i][0], cpuid_order_probes[i][1],
			    r);
		GUEST_VALUE(i, r[0], 0);
	}
	GUEST_DONE();
}

static int cpuid_first_match_answers(void)
{
	static const struct {
		struct mvm_cpuid hdr;
		struct mvm_cpuid_entry e[8];
	} t = {
		.hdr.nent = 8,
		.e = {
			{ .function = 0xd, .index = 1,
			  .flags = MVM_CPUID_FLAG_INDEX, .eax = 0xd1 },
			{ .function = 0xd, .eax = 0xdd },
			{ .function = 0xd, .index = 2,
			  .flags = MVM_CPUID_FLAG_INDEX, .eax = 0xd2 },
			{ .function = 0xd, .index = 40,
			  .flags = MVM_CPUID_FLAG_INDEX, .eax = 0xd40 },
			{ .function = 4, .index = 33,
			  .flags = MVM_CPUID_FLAG_INDEX, .eax = 0x433 },
			{ .function = 0x1f, .index = 31,
			  .flags = MVM_CPUID_FLAG_INDEX, .eax = 0x1f31 },
			{ .function = 0x8000001f, .eax = 0x1f },
			{ .function = 0x80000020, .eax = 0x20 },
		},
	};
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	unsigned int seen = 0;
	struct ucall uc;

	vcpu_ioctl(vcpu, MVM_SET_CPUID, (void *)&t);
	vcpu_setup_long(vcpu, guest_cpuid_order);
	for (;;) {
		switch (vcpu_run_ucall(vcpu, &uc)) {
		case UCALL_VALUE:
			CHECK(uc.args[0] == seen, "probe %" PRIu64, uc.args[0]);
			CHECK(uc.args[1] == cpuid_order_probes[seen][2],
			      "leaf %#x.%u: eax %#" PRIx64 ", not %#x",
			      cpuid_order_probes[seen][0],
			      cpuid_order_probes[seen][1], uc.args[1],
			      cpuid_order_probes[seen][2]);
			seen++;
			break;
		case UCALL_DONE:
			CHECK(seen == NR_ORDER_PROBES, "%u probes", seen);
			return KTAP_PASS;
		default:
			CHECK(0, "ucall %u", uc.code);
		}
	}
}

/*
 * The guest's DR0-3 reach it and come back: mvm loads them only for a run
 * that can see them (the first MOV DR of one exits, and the instruction
 * runs again with them loaded), and reads them back after it.
 */
static void guest_debugregs(void)
{
	uint64_t d0, d1, d3;

	__asm__ volatile("mov %%dr0, %0" : "=r"(d0));
	__asm__ volatile("mov %%dr1, %0" : "=r"(d1));
	__asm__ volatile("mov %%dr3, %0" : "=r"(d3));
	GUEST_VALUE(d0, d1, d3);
	__asm__ volatile("mov %0, %%dr2" : : "r"(0x2222000ULL));
	__asm__ volatile("mov %0, %%dr3" : : "r"(0x3333000ULL));
	GUEST_SYNC(1);
	__asm__ volatile("mov %%dr2, %0" : "=r"(d1));
	__asm__ volatile("mov %%dr3, %0" : "=r"(d3));
	GUEST_VALUE(d1, d3, 0);
	GUEST_DONE();
}

static int debugregs_reach_guest_and_back(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_debugregs dr;
	struct ucall uc;

	vcpu_setup_long(vcpu, guest_debugregs);
	vcpu_ioctl(vcpu, MVM_GET_DEBUGREGS, &dr);
	dr.db[0] = 0x1000;
	dr.db[1] = 0x11000;
	dr.db[3] = 0x33000;
	vcpu_ioctl(vcpu, MVM_SET_DEBUGREGS, &dr);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 0x1000 && uc.args[1] == 0x11000 &&
	      uc.args[2] == 0x33000, "the guest read DR0 %#" PRIx64 " DR1 %#"
	      PRIx64 " DR3 %#" PRIx64 " after MVM_SET_DEBUGREGS",
	      uc.args[0], uc.args[1], uc.args[2]);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	vcpu_ioctl(vcpu, MVM_GET_DEBUGREGS, &dr);
	CHECK(dr.db[0] == 0x1000 && dr.db[1] == 0x11000 &&
	      dr.db[2] == 0x2222000 && dr.db[3] == 0x3333000,
	      "MVM_GET_DEBUGREGS gave %#llx %#llx %#llx %#llx after the guest"
	      " wrote DR2 and DR3", (unsigned long long)dr.db[0],
	      (unsigned long long)dr.db[1], (unsigned long long)dr.db[2],
	      (unsigned long long)dr.db[3]);
	dr.db[2] = 0x4444000;
	vcpu_ioctl(vcpu, MVM_SET_DEBUGREGS, &dr);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 0x4444000 && uc.args[1] == 0x3333000,
	      "the guest read DR2 %#" PRIx64 " DR3 %#" PRIx64, uc.args[0],
	      uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static void guest_cpuid_virt_bits(void)
{
	uint32_t l1[4], l8[4];

	guest_cpuid(1, 0, l1);
	guest_cpuid(0x80000001, 0, l8);
	GUEST_VALUE(l1[2], l8[2], 0);
	GUEST_DONE();
}

/* Without MVM_SET_CPUID, the guest sees no VMX or SVM, and a hypervisor. */
static int cpuid_default_hides_virt(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct ucall uc;

	vcpu_setup_long(vcpu, guest_cpuid_virt_bits);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] & 1U << 31, "leaf 1 ecx %#" PRIx64 ": no hypervisor",
	      uc.args[0]);
	CHECK(!(uc.args[0] & 1U << 5), "leaf 1 ecx %#" PRIx64 ": VMX",
	      uc.args[0]);
	CHECK(!(uc.args[1] & 1U << 2), "leaf 0x80000001 ecx %#" PRIx64
	      ": SVM", uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* --- MMIO ------------------------------------------------------------------ */

struct mmio_step {
	uint8_t write;
	uint8_t size;
	uint16_t off;
	uint64_t data;
};

static const struct mmio_step mmio_steps[] = {
	{ 1, 1, 0x00, 0x11 },
	{ 1, 2, 0x02, 0x2233 },
	{ 1, 4, 0x04, 0x44556677 },
	{ 1, 8, 0x08, 0x8899aabbccddeeffULL },
	{ 1, 4, 0x0c, 0x12345678 },		/* immediate */
	{ 0, 1, 0x10, 0x81 },			/* movzbl */
	{ 0, 2, 0x12, 0x8182 },			/* movzwl */
	{ 0, 4, 0x14, 0x81828384 },		/* movl */
	{ 0, 8, 0x18, 0x8182838485868788ULL },	/* movq */
	{ 0, 1, 0x20, 0x80 },			/* movsbq */
	{ 0, 2, 0x22, 0x8000 },			/* movswq */
	{ 0, 4, 0x24, 0x80000000 },		/* movslq */
	{ 0, 1, 0x28, 0xfe },			/* movb to %al */
	{ 0, 2, 0x2a, 0xfedc },			/* movw to %ax */
};

static void guest_mmio(void)
{
	char *p = (char *)MMIO_GPA;
	uint64_t v;

	__asm__ volatile("movb %b1, (%0)" : : "r"(p), "q"(0x11) : "memory");
	__asm__ volatile("movw %w1, 2(%0)" : : "r"(p), "r"(0x2233) : "memory");
	__asm__ volatile("movl %k1, 4(%0)" : : "r"(p), "r"(0x44556677)
			 : "memory");
	__asm__ volatile("movq %1, 8(%0)"
			 : : "r"(p), "r"(0x8899aabbccddeeffULL) : "memory");
	__asm__ volatile("movl $0x12345678, 0xc(%0)" : : "r"(p) : "memory");

	__asm__ volatile("movzbl 0x10(%1), %k0" : "=r"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0x81);
	__asm__ volatile("movzwl 0x12(%1), %k0" : "=r"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0x8182);
	v = ~0ULL;
	__asm__ volatile("movl 0x14(%1), %k0" : "+r"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0x81828384);		/* zero-extended */
	__asm__ volatile("movq 0x18(%1), %0" : "=r"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0x8182838485868788ULL);
	__asm__ volatile("movsbq 0x20(%1), %0" : "=r"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffffff80ULL);
	__asm__ volatile("movswq 0x22(%1), %0" : "=r"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffff8000ULL);
	__asm__ volatile("movslq 0x24(%1), %0" : "=r"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffff80000000ULL);
	/* Byte and word loads leave the rest of the register alone. */
	v = 0x0102030405060708ULL;
	__asm__ volatile("movb 0x28(%1), %b0" : "+a"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0x01020304050607feULL);
	__asm__ volatile("movw 0x2a(%1), %w0" : "+a"(v) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(v, 0x010203040506fedcULL);
	GUEST_DONE();
}

static int mmio_read_write(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_access *io = &vcpu->run->io;
	unsigned int i;

	vcpu_setup_long(vcpu, guest_mmio);
	for (i = 0; i < sizeof(mmio_steps) / sizeof(mmio_steps[0]); i++) {
		const struct mmio_step *s = &mmio_steps[i];
		uint64_t mask = s->size == 8 ? ~0ULL :
			(1ULL << (8 * s->size)) - 1;

		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != MVM_EXIT_MMIO) {
			struct ucall uc;

			if (get_ucall(vcpu, &uc) == UCALL_FAIL)
				report_guest_fail(&uc);
			vcpu_describe_exit(vcpu);
		}
		CHECK(vcpu->run->exit_reason == MVM_EXIT_MMIO, "step %u", i);
		CHECK(io->space == MVM_SPACE_MMIO &&
		      io->addr == MMIO_GPA + s->off && io->size == s->size &&
		      io->write == s->write,
		      "step %u: addr %#llx size %u write %u", i,
		      (unsigned long long)io->addr, io->size, io->write);
		if (s->write)
			CHECK((io->data & mask) == s->data,
			      "step %u: data %#llx, want %#llx", i,
			      (unsigned long long)io->data,
			      (unsigned long long)s->data);
		else
			io->data = garbage_above(s->data, s->size);
	}
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/* --- slots --------------------------------------------------------------------- */

static void *slot_mem(size_t size, uint64_t fill)
{
	uint64_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	for (i = 0; i < size / 8; i++)
		p[i] = fill + i;
	return p;
}

static void guest_readonly(void)
{
	volatile uint64_t *p = (volatile uint64_t *)SLOT_GPA;

	GUEST_VALUE(p[0], p[1], 0);
	/* Exits as MMIO; the memory keeps its value. */
	p[1] = 0xdeadbeefcafef00dULL;
	GUEST_VALUE(p[1], 0, 0);
	*(volatile uint32_t *)(SLOT_GPA + PAGE_SIZE) = 0x55667788;
	GUEST_DONE();
}

static int readonly_slot(void)
{
	struct vm *vm = vm_create(GUEST_MIB);
	struct vcpu *vcpu = vcpu_create(vm, 0);
	uint64_t *mem = slot_mem(2 * PAGE_SIZE, 0x1000);
	unsigned int writes = 0, values = 0;
	struct ucall uc;

	vm_set_region(vm, 1, MVM_MEM_READONLY, SLOT_GPA, 2 * PAGE_SIZE, mem);
	vcpu_setup_long(vcpu, guest_readonly);
	for (;;) {
		vcpu_run(vcpu);
		switch (vcpu->run->exit_reason) {
		case MVM_EXIT_MMIO: {
			struct mvm_access *io = &vcpu->run->io;
			static const uint64_t want[][3] = {
				{ SLOT_GPA + 8, 8, 0xdeadbeefcafef00dULL },
				{ SLOT_GPA + PAGE_SIZE, 4, 0x55667788 },
			};

			CHECK(writes < 2 && io->write &&
			      io->addr == want[writes][0] &&
			      io->size == want[writes][1] &&
			      io->data == want[writes][2],
			      "write %u: addr %#llx size %u write %u data %#llx",
			      writes, (unsigned long long)io->addr, io->size,
			      io->write, (unsigned long long)io->data);
			writes++;
			break;
		}
		case MVM_EXIT_IO:
			switch (get_ucall(vcpu, &uc)) {
			case UCALL_VALUE:
				/* Reads are served from the slot, no exit. */
				CHECK(uc.args[0] == 0x1000 + values,
				      "read %u: %#" PRIx64, values,
				      uc.args[0]);
				if (!values)
					CHECK(uc.args[1] == 0x1001,
					      "p[1] %#" PRIx64, uc.args[1]);
				values++;
				break;
			case UCALL_DONE:
				CHECK(writes == 2 && values == 2,
				      "%u writes, %u values", writes, values);
				CHECK(mem[1] == 0x1001 &&
				      mem[PAGE_SIZE / 8] == 0x1000 + PAGE_SIZE / 8,
				      "read-only memory changed: %#" PRIx64,
				      mem[1]);
				return KTAP_PASS;
			case UCALL_FAIL:
				report_guest_fail(&uc);
			default:
				vcpu_describe_exit(vcpu);
				CHECK(0, "unexpected port I/O");
			}
			break;
		default:
			vcpu_describe_exit(vcpu);
			CHECK(0, "unexpected exit");
		}
	}
}

/*
 * Stage 1: write the slot and read it back; the host then deletes or
 * moves it.  Stage 2: read @a (an exit if the slot is gone from there) and
 * @b; report both.
 */
static void guest_slot(uint64_t a, uint64_t b)
{
	*(volatile uint64_t *)SLOT_GPA = 0x1234;
	GUEST_SYNC(1);
	GUEST_VALUE(*(volatile uint64_t *)a, *(volatile uint64_t *)b, 0);
	GUEST_DONE();
}

/*
 * Runs guest_slot reading @a and @b after the host's @change; every MMIO
 * exit must be a read of @a or @b and gets 0x5678.
 */
static int slot_change(int move)
{
	struct vm *vm = vm_create(GUEST_MIB);
	struct vcpu *vcpu = vcpu_create(vm, 0);
	uint64_t *mem = slot_mem(PAGE_SIZE, 0);
	uint64_t a = SLOT_GPA, b = move ? SLOT_GPA3 : SLOT_GPA + 8;
	unsigned int mmio = 0;
	struct ucall uc;

	vm_set_region(vm, 1, 0, SLOT_GPA, PAGE_SIZE, mem);
	vcpu_setup_long(vcpu, (void (*)(void))guest_slot);
	vcpu_args_set(vcpu, a, b, 0);
	for (;;) {
		vcpu_run(vcpu);
		switch (vcpu->run->exit_reason) {
		case MVM_EXIT_MMIO:
			CHECK(!vcpu->run->io.write &&
			      (vcpu->run->io.addr == a ||
			       (!move && vcpu->run->io.addr == b)),
			      "MMIO %s %#llx", vcpu->run->io.write ? "write" :
			      "read", (unsigned long long)vcpu->run->io.addr);
			vcpu->run->io.data = 0x5678;
			mmio++;
			break;
		case MVM_EXIT_IO:
			switch (get_ucall(vcpu, &uc)) {
			case UCALL_SYNC:
				CHECK(mem[0] == 0x1234, "guest write lost");
				if (move)
					vm_set_region(vm, 1, 0, SLOT_GPA3,
						      PAGE_SIZE, mem);
				else
					vm_set_region(vm, 1, 0, SLOT_GPA, 0,
						      NULL);
				break;
			case UCALL_VALUE:
				CHECK(uc.args[0] == 0x5678, "old place read %#"
				      PRIx64 ", want the MMIO value",
				      uc.args[0]);
				CHECK(uc.args[1] == (move ? 0x1234 : 0x5678),
				      "new place read %#" PRIx64, uc.args[1]);
				break;
			case UCALL_DONE:
				CHECK(mmio == (move ? 1U : 2U), "%u MMIO exits",
				      mmio);
				return KTAP_PASS;
			case UCALL_FAIL:
				report_guest_fail(&uc);
			default:
				vcpu_describe_exit(vcpu);
				CHECK(0, "unexpected port I/O");
			}
			break;
		default:
			vcpu_describe_exit(vcpu);
			CHECK(0, "unexpected exit");
		}
	}
}

static int slot_delete_while_idle(void)
{
	return slot_change(0);
}

static int slot_move(void)
{
	return slot_change(1);
}

/* --- MSRs the guest reads and writes ----------------------------------------- */

#define MSR_LSTAR		0xc0000082
#define MSR_KERNEL_GS_BASE	0xc0000102

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 : : "c"(msr), "a"((uint32_t)v), "d"(v >> 32));
}

static void guest_msrs(void)
{
	GUEST_VALUE(rdmsr(MSR_LSTAR), rdmsr(MSR_KERNEL_GS_BASE), 0);
	wrmsr(MSR_LSTAR, 0xffffffff81234000ULL);
	wrmsr(MSR_KERNEL_GS_BASE, 0x7f0012340000ULL);
	GUEST_DONE();
}

static int msrs_guest_view(void)
{
	struct {
		struct mvm_msrs hdr;
		struct mvm_msr_entry e[2];
	} m = {
		.hdr.nmsrs = 2,
		.e = {
			{ .index = MSR_LSTAR, .data = 0xffffffff81000000ULL },
			{ .index = MSR_KERNEL_GS_BASE, .data = 0x1000 },
		},
	};
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct ucall uc;

	CHECK(ioctl(vcpu->fd, MVM_SET_MSRS, &m) == 2, "MVM_SET_MSRS");
	vcpu_setup_long(vcpu, guest_msrs);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 0xffffffff81000000ULL && uc.args[1] == 0x1000,
	      "guest read %#" PRIx64 " %#" PRIx64, uc.args[0], uc.args[1]);
	vcpu_run_to_done(vcpu);
	CHECK(ioctl(vcpu->fd, MVM_GET_MSRS, &m) == 2, "MVM_GET_MSRS");
	CHECK(m.e[0].data == 0xffffffff81234000ULL &&
	      m.e[1].data == 0x7f0012340000ULL, "host read %#llx %#llx",
	      (unsigned long long)m.e[0].data,
	      (unsigned long long)m.e[1].data);
	return KTAP_PASS;
}

/* Registers the guest changes come back through MVM_GET_REGS. */
static void guest_regs(void)
{
	__asm__ volatile("mov $0x1111, %%rbx\n\t"
			 "mov $0x2222, %%r12\n\t"
			 "mov $0x3333, %%r15\n\t"
			 "mov $1, %%eax\n\t"
			 "mov $0xf0, %%edx\n\t"
			 "outl %%eax, %%dx\n\t"
			 "1: hlt\n\t"
			 "jmp 1b"
			 : : : "rax", "rbx", "rdx", "r12", "r15", "memory");
}

static int regs_after_run(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_regs r;

	vcpu_setup_long(vcpu, guest_regs);
	vcpu_args_set(vcpu, 0xaaaa, 0xbbbb, 0);
	vcpu_run_to_done(vcpu);
	vcpu_get_regs(vcpu, &r);
	CHECK(r.rbx == 0x1111 && r.r12 == 0x2222 && r.r15 == 0x3333,
	      "rbx %#llx r12 %#llx r15 %#llx", (unsigned long long)r.rbx,
	      (unsigned long long)r.r12, (unsigned long long)r.r15);
	CHECK(r.rdi == 0xaaaa && r.rsi == 0xbbbb, "rdi/rsi changed");
	/* RIP is past the OUT, which MVM_RUN completed. */
	CHECK(r.rip > (uintptr_t)guest_regs &&
	      r.rip < (uintptr_t)guest_regs + 64, "rip %#llx",
	      (unsigned long long)r.rip);
	return KTAP_PASS;
}

/*
 * State the guest writes without an exit must survive exits: XMM with XCR0
 * still x87 only (no OSXSAVE; SSE is FXSAVE state), and DR0 written before
 * any breakpoint is enabled.  The host clobbers its own XMM and runs
 * other code between the two runs.
 */
static void guest_keeps_state(void)
{
	uint64_t xmm, dr0;

	__asm__ volatile("movq %0, %%xmm5" : : "r"(0x1122334455667788ULL)
			 : "xmm5");
	__asm__ volatile("mov %0, %%dr0" : : "r"(0x7000ULL));
	GUEST_SYNC(1);
	__asm__ volatile("movq %%xmm5, %0" : "=r"(xmm));
	__asm__ volatile("mov %%dr0, %0" : "=r"(dr0));
	GUEST_VALUE(xmm, dr0, 0);
	GUEST_DONE();
}

static int state_kept_across_exits(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_sregs sr;
	struct ucall uc;

	vcpu_setup_long(vcpu, guest_keeps_state);
	vcpu_get_sregs(vcpu, &sr);
	CHECK(sr.xcr0 == 1, "xcr0 %#llx", (unsigned long long)sr.xcr0);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	__asm__ volatile("pxor %%xmm5, %%xmm5" : : : "xmm5");
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 0x1122334455667788ULL, "xmm5 %#llx",
	      (unsigned long long)uc.args[0]);
	CHECK(uc.args[1] == 0x7000, "dr0 %#llx",
	      (unsigned long long)uc.args[1]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

/*
 * The XCR0 the guest sets survives exits, and so does what XSAVE saved
 * under it: XRSTOR of the area takes it back.  (QEMU's emulated SVM does
 * not intercept XSETBV, so there the guest's XSETBV changes XCR0 without an
 * exit, and only the value the CPU holds at the next exit tells mvm.)
 */
static uint8_t xsave_area[4096] __attribute__((aligned(64)));

static void guest_xcr0(void)
{
	uint64_t cr4, before, after, vec;
	uint32_t lo, hi;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 18)));
	__asm__ volatile("xsetbv" : : "a"(3), "d"(0), "c"(0));
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	before = lo | (uint64_t)hi << 32;
	GUEST_SYNC(1);
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	after = lo | (uint64_t)hi << 32;
	__asm__ volatile("xsave64 %0" : "+m"(xsave_area) : "a"(3), "d"(0)
			 : "memory");
	GUEST_SYNC(2);
	vec = ASM_SAFE("xrstor64 (%%rcx)", 3, (uintptr_t)xsave_area, 0);
	GUEST_VALUE(before, after, vec);
	GUEST_DONE();
}

static int xcr0_kept_across_exits(void)
{
	struct vcpu *vcpu = vcpu_create(vm_create(GUEST_MIB), 0);
	struct mvm_sregs sr;
	struct ucall uc;

	vcpu_setup_long(vcpu, guest_xcr0);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	vcpu_get_sregs(vcpu, &sr);
	CHECK(sr.xcr0 == 3, "MVM_GET_SREGS: xcr0 %#llx",
	      (unsigned long long)sr.xcr0);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	CHECK(vcpu_run_ucall(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 3 && uc.args[1] == 3,
	      "the guest's XCR0 was %#llx, then %#llx after an exit",
	      (unsigned long long)uc.args[0], (unsigned long long)uc.args[1]);
	CHECK(uc.args[2] == 0, "XRSTOR of the guest's XSAVE area: vector %#llx",
	      (unsigned long long)uc.args[2]);
	vcpu_run_to_done(vcpu);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(state_kept_across_exits),
	KTAP_CASE(debugregs_reach_guest_and_back),
	KTAP_CASE(xcr0_kept_across_exits),
	KTAP_CASE(pio_real_mode),
	KTAP_CASE(pio_prot32),
	KTAP_CASE(pio_long_mode),
	KTAP_CASE(regs_after_run),
	KTAP_CASE(cpuid_from_table),
	KTAP_CASE(cpuid_first_match_answers),
	KTAP_CASE(cpuid_default_hides_virt),
	KTAP_CASE(mmio_read_write),
	KTAP_CASE(readonly_slot),
	KTAP_CASE(slot_delete_while_idle),
	KTAP_CASE(slot_move),
	KTAP_CASE(msrs_guest_view),
};

KTAP_MAIN(cases)
