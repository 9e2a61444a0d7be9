// SPDX-License-Identifier: GPL-2.0
/* Guests for the selftests: see guest.h. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "mvm_util.h"

/* Marks a UCALL_FAIL from the exception dispatcher rather than an assert. */
#define UCALL_FAIL_EXCEPTION	0xffffffffUL
/* Marks a UCALL_FAIL from a long-mode entry function that returned. */
#define UCALL_FAIL_RETURNED	0xfffffffeUL

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

volatile uint64_t guest_exception_count[256];
guest_handler_t guest_handlers[256];

/*
 * The IDT stubs, 16 bytes apart: each pushes a zero error code where the
 * CPU pushes none, then its vector, then saves the GPRs as struct ex_regs
 * and calls guest_idt_dispatch().  The frame the CPU pushes in 64-bit mode
 * is 16-byte aligned, and 40 + 16 + 15 * 8 = 176 bytes keeps it so for the
 * call.  Interrupts and exceptions stay on the current stack (no IST), which
 * is why the selftests are built with -mno-red-zone.
 *
 * guest_return_trap is the return address of a long-mode entry function.
 */
__asm__(
	".pushsection .text\n"
	".code64\n"
	".align 16\n"
	".globl guest_idt_stubs\n"
	"guest_idt_stubs:\n"
	"vector = 0\n"
	".rept 256\n"
	".align 16\n"
	".if (vector == 8) || (vector >= 10 && vector <= 14) || "
	"(vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)\n"
	".else\n"
	"	pushq $0\n"
	".endif\n"
	"	pushq $vector\n"
	"	jmp guest_idt_common\n"
	"vector = vector + 1\n"
	".endr\n"
	"guest_idt_common:\n"
	"	push %r15\n	push %r14\n	push %r13\n	push %r12\n"
	"	push %r11\n	push %r10\n	push %r9\n	push %r8\n"
	"	push %rbp\n	push %rdi\n	push %rsi\n	push %rdx\n"
	"	push %rcx\n	push %rbx\n	push %rax\n"
	"	mov %rsp, %rdi\n"
	"	call guest_idt_dispatch\n"
	"	pop %rax\n	pop %rbx\n	pop %rcx\n	pop %rdx\n"
	"	pop %rsi\n	pop %rdi\n	pop %rbp\n	pop %r8\n"
	"	pop %r9\n	pop %r10\n	pop %r11\n	pop %r12\n"
	"	pop %r13\n	pop %r14\n	pop %r15\n"
	"	add $16, %rsp\n"
	"	iretq\n"
	".globl guest_return_trap\n"
	"guest_return_trap:\n"
	"	mov $2, %eax\n"		/* UCALL_FAIL */
	"	mov $0xfffffffe, %edi\n"	/* UCALL_FAIL_RETURNED */
	"	mov $0xf0, %edx\n"
	"	out %eax, %dx\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	".popsection\n");

extern const char guest_idt_stubs[], guest_return_trap[];

void guest_idt_dispatch(struct ex_regs *regs);

/* Runs in the guest. */
void guest_idt_dispatch(struct ex_regs *regs)
{
	uint8_t vector = regs->vector;

	guest_exception_count[vector]++;
	if (guest_handlers[vector]) {
		guest_handlers[vector](regs);
		return;
	}
	if (regs->r9) {		/* ASM_SAFE() */
		regs->r10 = 0x100 | vector;
		regs->rip = regs->r9;
		return;
	}
	ucall(UCALL_FAIL, UCALL_FAIL_EXCEPTION, vector, regs->rip);
	guest_halt_forever();
}

/* --- VMs ------------------------------------------------------------------ */

void *gpa2hva(struct vm *vm, uint64_t gpa)
{
	TEST_ASSERT(gpa < vm->mem_size, "gpa %#" PRIx64 " outside RAM", gpa);
	return vm->mem + gpa;
}

int __vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *mem)
{
	struct mvm_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	return ioctl(vm->fd, MVM_SET_MEMORY_REGION, &r);
}

void vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, void *mem)
{
	TEST_ASSERT(!__vm_set_region(vm, slot, flags, gpa, size, mem),
		    "MVM_SET_MEMORY_REGION slot %u gpa %#" PRIx64, slot, gpa);
}

int __vm_set_posted(struct vm *vm, uint32_t space, uint32_t flags,
		    uint64_t addr, uint64_t len)
{
	struct mvm_posted_range r = {
		.space = space,
		.flags = flags,
		.addr = addr,
		.len = len,
	};

	return ioctl(vm->fd, MVM_SET_POSTED_RANGE, &r);
}

void vm_set_posted(struct vm *vm, uint32_t space, uint64_t addr,
		   uint64_t len)
{
	TEST_ASSERT(!__vm_set_posted(vm, space, 0, addr, len),
		    "MVM_SET_POSTED_RANGE space %u addr %#" PRIx64, space,
		    addr);
}

/* Flat descriptors: base 0, limit 4 GiB. */
static void build_gdt(struct vm *vm)
{
	uint64_t *gdt = gpa2hva(vm, GUEST_GDT);

	gdt[SEL_CODE64 / 8] = 0x00af9b000000ffffULL;	/* L, P, code RX */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffULL;	/* D/B, G, data RW */
	gdt[SEL_CODE32 / 8] = 0x00cf9b000000ffffULL;	/* D/B, G, code RX */
	/* 64-bit busy TSS, 16 bytes; the upper base is 0. */
	gdt[SEL_TSS / 8] = 0x00008b0000000067ULL |
			   ((GUEST_TSS & 0xffffff) << 16) |
			   ((GUEST_TSS >> 24 & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = 0;
	/* No I/O bitmap: its offset is past the limit. */
	*(uint16_t *)gpa2hva(vm, GUEST_TSS + 102) = 104;
}

/* 64-bit interrupt gates (type 0xe) to the stubs. */
static void build_idt(struct vm *vm)
{
	uint64_t *idt = gpa2hva(vm, GUEST_IDT);
	int i;

	for (i = 0; i < 256; i++) {
		uint64_t a = (uintptr_t)guest_idt_stubs + 16 * i;

		idt[2 * i] = (a & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
			     0x8eULL << 40 | (a >> 16 & 0xffff) << 48;
		idt[2 * i + 1] = a >> 32;
	}
}

/* Identity map of the first 4 GiB with 2 MiB pages. */
static void build_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gpa2hva(vm, GUEST_PML4);
	uint64_t *pdpt = gpa2hva(vm, GUEST_PDPT);
	uint64_t *pd = gpa2hva(vm, GUEST_PD);
	uint64_t i;

	pml4[0] = GUEST_PDPT | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (GUEST_PD + i * PAGE_SIZE) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}

/*
 * Copy the test binary's loadable segments, as they are now in this
 * process, to the same guest-physical addresses.  The host's globals at
 * this moment become the guest's initial ones.
 */
static void load_self(struct vm *vm)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long i, n = getauxval(AT_PHNUM);

	TEST_ASSERT(ph && n, "no program headers");
	for (i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		TEST_ASSERT(ph[i].p_vaddr >= GUEST_ELF_MIN &&
			    ph[i].p_vaddr + ph[i].p_memsz <= vm->mem_size,
			    "segment %#lx+%#lx does not fit in guest RAM",
			    (unsigned long)ph[i].p_vaddr,
			    (unsigned long)ph[i].p_memsz);
		memcpy(vm->mem + ph[i].p_vaddr, (void *)ph[i].p_vaddr,
		       ph[i].p_memsz);
	}
	vm->has_elf = 1;
}

static struct vm *__vm_create(uint64_t mib, int elf)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	TEST_ASSERT(vm, "calloc");
	vm->dev = mvm_open_dev();
	TEST_ASSERT(vm->dev >= 0, "open " MVM_DEV);
	vm->fd = ioctl(vm->dev, MVM_CREATE_VM, 0);
	TEST_ASSERT(vm->fd >= 0, "MVM_CREATE_VM");
	vm->mem_size = mib * MiB;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(vm->mem != MAP_FAILED, "mmap %" PRIu64 " MiB", mib);
	TEST_ASSERT(vm->mem_size >= GUEST_ELF_MIN || !elf, "too little RAM");
	if (vm->mem_size >= 0x10000)
		build_gdt(vm);
	if (elf) {
		build_idt(vm);
		build_page_tables(vm);
		load_self(vm);
	}
	vm_set_region(vm, 0, 0, 0, vm->mem_size, vm->mem);
	return vm;
}

struct vm *vm_create(uint64_t mib)
{
	return __vm_create(mib, 1);
}

struct vm *vm_create_bare(uint64_t mib)
{
	return __vm_create(mib, 0);
}

void vm_free(struct vm *vm)
{
	close(vm->fd);
	close(vm->dev);
	munmap(vm->mem, vm->mem_size);
	free(vm);
}

void vm_install_handler(struct vm *vm, unsigned int vector,
			guest_handler_t fn)
{
	guest_handler_t *h = gpa2hva(vm, (uintptr_t)guest_handlers);

	TEST_ASSERT(vector < 256 && vm->has_elf, "vector %u", vector);
	h[vector] = fn;
}

/* --- vCPUs ---------------------------------------------------------------- */

int __vcpu_create(struct vm *vm, uint32_t id)
{
	return ioctl(vm->fd, MVM_CREATE_VCPU, (unsigned long)id);
}

struct vcpu *vcpu_create(struct vm *vm, uint32_t id)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	long size;

	TEST_ASSERT(vcpu, "calloc");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = __vcpu_create(vm, id);
	TEST_ASSERT(vcpu->fd >= 0, "MVM_CREATE_VCPU %u", id);
	size = ioctl(vm->dev, MVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(size >= (long)(2 * PAGE_SIZE), "MVM_GET_VCPU_MMAP_SIZE %ld",
		    size);
	vcpu->mmap_size = size;
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap vCPU %u", id);
	vcpu->ring = (struct mvm_ring *)((char *)vcpu->run +
					 MVM_RING_PGOFF * PAGE_SIZE);
	return vcpu;
}

void vcpu_free(struct vcpu *vcpu)
{
	munmap(vcpu->run, vcpu->mmap_size);
	close(vcpu->fd);
	free(vcpu);
}

int __vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg)
{
	return ioctl(vcpu->fd, req, arg);
}

void vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg)
{
	TEST_ASSERT(!__vcpu_ioctl(vcpu, req, arg), "vCPU ioctl %#lx", req);
}

int __vcpu_run(struct vcpu *vcpu)
{
	return ioctl(vcpu->fd, MVM_RUN, 0);
}

void vcpu_run(struct vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	TEST_ASSERT(!r, "MVM_RUN returned %d, exit %s at rip %#llx", r,
		    exit_reason_str(vcpu->run->exit_reason),
		    (unsigned long long)vcpu->run->rip);
}

void vcpu_get_regs(struct vcpu *vcpu, struct mvm_regs *regs)
{
	vcpu_ioctl(vcpu, MVM_GET_REGS, regs);
}

void vcpu_set_regs(struct vcpu *vcpu, const struct mvm_regs *regs)
{
	vcpu_ioctl(vcpu, MVM_SET_REGS, (void *)regs);
}

void vcpu_get_sregs(struct vcpu *vcpu, struct mvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, MVM_GET_SREGS, sregs);
}

void vcpu_set_sregs(struct vcpu *vcpu, const struct mvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, MVM_SET_SREGS, (void *)sregs);
}

/* --- guest modes ------------------------------------------------------------ */

void set_seg(struct mvm_segment *s, uint16_t sel, uint64_t base,
	     uint32_t limit, uint8_t type, uint8_t l, uint8_t db, uint8_t g)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->type = type;
	s->s = 1;
	s->present = 1;
	s->l = l;
	s->db = db;
	s->g = g;
}

static void set_tr(struct mvm_segment *tr, uint16_t sel, uint64_t base,
		   uint32_t limit, uint8_t type)
{
	memset(tr, 0, sizeof(*tr));
	tr->selector = sel;
	tr->base = base;
	tr->limit = limit;
	tr->type = type;
	tr->present = 1;
}

static void set_unusable_ldt(struct mvm_segment *ldt)
{
	memset(ldt, 0, sizeof(*ldt));
	ldt->type = 2;
	ldt->unusable = 1;
}

static void set_regs_entry(struct vcpu *vcpu, uint64_t rip, uint64_t rsp)
{
	struct mvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rsp = rsp;
	regs.rflags = 0x2;
	vcpu_set_regs(vcpu, &regs);
}

void vcpu_setup_real(struct vcpu *vcpu, const void *start, const void *end)
{
	struct vm *vm = vcpu->vm;
	size_t len = (const char *)end - (const char *)start;
	struct mvm_sregs sregs;

	TEST_ASSERT(len <= GUEST_CODE16_MAX &&
		    vm->mem_size >= GUEST_CODE16 + GUEST_CODE16_MAX,
		    "real-mode code of %zu bytes", len);
	memcpy(gpa2hva(vm, GUEST_CODE16), start, len);
	vcpu_get_sregs(vcpu, &sregs);
	set_seg(&sregs.cs, GUEST_CODE16 >> 4, GUEST_CODE16, 0xffff, 0xb,
		0, 0, 0);
	set_seg(&sregs.ds, 0, 0, 0xffff, 0x3, 0, 0, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	set_tr(&sregs.tr, 0, 0, 0xffff, 0x3);
	set_unusable_ldt(&sregs.ldt);
	sregs.gdt.base = 0;
	sregs.gdt.limit = 0xffff;
	sregs.idt.base = 0;
	sregs.idt.limit = 0x3ff;
	sregs.cr0 = CR0_ET;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	vcpu_set_sregs(vcpu, &sregs);
	set_regs_entry(vcpu, 0, GUEST_STACK16);
}

void vcpu_setup_prot32(struct vcpu *vcpu, const void *entry)
{
	struct mvm_sregs sregs;

	TEST_ASSERT(vcpu->vm->has_elf, "32-bit code runs from the binary");
	vcpu_get_sregs(vcpu, &sregs);
	set_seg(&sregs.cs, SEL_CODE32, 0, 0xffffffff, 0xb, 0, 1, 1);
	set_seg(&sregs.ds, SEL_DATA, 0, 0xffffffff, 0x3, 0, 1, 1);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	set_tr(&sregs.tr, SEL_TSS, GUEST_TSS, 0x67, 0xb);
	set_unusable_ldt(&sregs.ldt);
	sregs.gdt.base = GUEST_GDT;
	sregs.gdt.limit = 0xfff;
	/* The IDT holds 64-bit gates: a fault here is a triple fault. */
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE;
	sregs.cr3 = 0;
	sregs.cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = 0;
	vcpu_set_sregs(vcpu, &sregs);
	set_regs_entry(vcpu, (uintptr_t)entry, GUEST_STACK);
}

void long_mode_sregs(struct mvm_sregs *sregs)
{
	set_seg(&sregs->cs, SEL_CODE64, 0, 0xffffffff, 0xb, 1, 0, 1);
	set_seg(&sregs->ds, SEL_DATA, 0, 0xffffffff, 0x3, 0, 1, 1);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	set_tr(&sregs->tr, SEL_TSS, GUEST_TSS, 0x67, 0xb);
	set_unusable_ldt(&sregs->ldt);
	sregs->gdt.base = GUEST_GDT;
	sregs->gdt.limit = 0xfff;
	sregs->idt.base = GUEST_IDT;
	sregs->idt.limit = 256 * 16 - 1;
	sregs->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs->cr3 = GUEST_PML4;
	/* Compiled guest code may use SSE. */
	sregs->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs->efer = EFER_LME | EFER_LMA;
}

void vcpu_setup_long(struct vcpu *vcpu, void (*entry)(void))
{
	struct vm *vm = vcpu->vm;
	uint64_t *ret = gpa2hva(vm, GUEST_STACK - 8);
	struct mvm_sregs sregs;

	TEST_ASSERT(vm->has_elf, "long-mode code runs from the binary");
	vcpu_get_sregs(vcpu, &sregs);
	long_mode_sregs(&sregs);
	vcpu_set_sregs(vcpu, &sregs);
	/* As if called: RSP + 8 is 16-byte aligned, the return traps. */
	*ret = (uintptr_t)guest_return_trap;
	set_regs_entry(vcpu, (uintptr_t)entry, GUEST_STACK - 8);
}

void vcpu_args_set(struct vcpu *vcpu, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct mvm_regs regs;

	vcpu_get_regs(vcpu, &regs);
	regs.rdi = a0;
	regs.rsi = a1;
	regs.rdx = a2;
	vcpu_set_regs(vcpu, &regs);
}

/* --- exits ------------------------------------------------------------------ */

const char *exit_reason_str(uint32_t reason)
{
	static const char *const names[] = {
		[MVM_EXIT_UNKNOWN] = "UNKNOWN",
		[MVM_EXIT_IO] = "IO",
		[MVM_EXIT_MMIO] = "MMIO",
		[MVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[MVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[MVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[MVM_EXIT_INTR] = "INTR",
		[MVM_EXIT_RING_FULL] = "RING_FULL",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "(bad exit reason)";
}

uint32_t get_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	struct mvm_run *run = vcpu->run;
	struct mvm_regs regs;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != MVM_EXIT_IO ||
	    run->io.space != MVM_SPACE_PIO || run->io.addr != UCALL_PORT ||
	    !run->io.write || run->io.size != 4)
		return UCALL_NONE;
	vcpu_get_regs(vcpu, &regs);
	uc->code = (uint32_t)run->io.data;
	uc->args[0] = regs.rdi;
	uc->args[1] = regs.rsi;
	uc->args[2] = regs.rcx;
	return uc->code;
}

static void describe_exit(struct vcpu *vcpu)
{
	struct mvm_run *run = vcpu->run;

	ktap_diag("exit %s (%u) at rip %#llx", exit_reason_str(run->exit_reason),
		  run->exit_reason, (unsigned long long)run->rip);
	switch (run->exit_reason) {
	case MVM_EXIT_IO:
	case MVM_EXIT_MMIO:
		ktap_diag("  %s %s %#llx size %u data %#llx",
			  run->io.space == MVM_SPACE_PIO ? "port" : "mmio",
			  run->io.write ? "write" : "read",
			  (unsigned long long)run->io.addr, run->io.size,
			  (unsigned long long)run->io.data);
		break;
	case MVM_EXIT_FAIL_ENTRY:
		ktap_diag("  hardware reason %#llx info %#llx %#llx",
			  (unsigned long long)run->fail_entry.hardware_reason,
			  (unsigned long long)run->fail_entry.info[0],
			  (unsigned long long)run->fail_entry.info[1]);
		break;
	case MVM_EXIT_INTERNAL_ERROR:
		ktap_diag("  suberror %u data %#llx %#llx %#llx %#llx",
			  run->internal.suberror,
			  (unsigned long long)run->internal.data[0],
			  (unsigned long long)run->internal.data[1],
			  (unsigned long long)run->internal.data[2],
			  (unsigned long long)run->internal.data[3]);
		break;
	}
}

void report_guest_fail(const struct ucall *uc)
{
	if (uc->args[0] == UCALL_FAIL_EXCEPTION)
		ktap_diag("guest: unexpected exception, vector %" PRIu64
			  " at rip %#" PRIx64, uc->args[1], uc->args[2]);
	else if (uc->args[0] == UCALL_FAIL_RETURNED)
		ktap_diag("guest: the entry function returned");
	else
		ktap_diag("guest: assertion failed at line %" PRIu64
			  " (values %#" PRIx64 ", %#" PRIx64 ")",
			  uc->args[0], uc->args[1], uc->args[2]);
	exit(KTAP_FAIL);
}

uint32_t vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc)
{
	vcpu_run(vcpu);
	if (get_ucall(vcpu, uc) == UCALL_NONE) {
		describe_exit(vcpu);
		TEST_ASSERT(0, "the guest exited without a ucall");
	}
	if (uc->code == UCALL_FAIL)
		report_guest_fail(uc);
	return uc->code;
}

void vcpu_run_to_done(struct vcpu *vcpu)
{
	struct ucall uc;
	uint32_t code = vcpu_run_ucall(vcpu, &uc);

	TEST_ASSERT(code == UCALL_DONE, "ucall %u (%#" PRIx64 "), want DONE",
		    code, uc.args[0]);
}

void vcpu_describe_exit(struct vcpu *vcpu)
{
	describe_exit(vcpu);
}

/* --- host helpers ------------------------------------------------------------- */

static void kick(int sig)
{
	(void)sig;
}

void install_kick_handler(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick;
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(sig, &sa, NULL), "sigaction");
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * The test VM's kernel-log lines in which mvm says that the emulator lost
 * a guest's state at an exit and mvm rolled it back (QEMU's TCG SVM,
 * Documentation/mvm/testing.rst), as KTAP diagnostics: the likeliest
 * cause of a guest that goes astray in the svm lanes, so shown with its
 * failure.
 */
void mvm_rollbacks_dump(void)
{
	char rec[1024];
	ssize_t n;
	int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (kmsg < 0)
		return;
	for (;;) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records lost to newer ones */
		if (n <= 0)
			break;
		rec[n] = 0;
		rec[strcspn(rec, "\n")] = 0;
		/* "level,seq,time,flags;text" */
		if (strstr(rec, "rolled back to its entry"))
			ktap_diag("host: %s", strchr(rec, ';') ?
				  strchr(rec, ';') + 1 : rec);
	}
	close(kmsg);
}
