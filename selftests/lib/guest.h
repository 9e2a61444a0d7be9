/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running guests from the mvm selftests, in the manner of KVM's selftests.
 *
 * A VM gets guest RAM at guest-physical 0 and, unless it is made "bare",
 * a copy of the test binary itself at the binary's own link addresses (the
 * selftests are static, non-PIE executables at 0x400000).  Guest RAM is
 * identity-mapped by the guest's page tables, so a C function of the test
 * runs in the guest at the same address as in the host: guest code for
 * long mode is plain C in the test file.  Real-mode and 32-bit code is asm
 * between two labels; real-mode code is copied to GUEST_CODE16.
 *
 * Functions named x() assert success and end the test case on failure;
 * __x() return what the ioctl returned, with errno, for tests that expect
 * an error.
 *
 * The guest talks to the host by a "ucall": a 32-bit OUT to UCALL_PORT with
 * the code in EAX and arguments in RDI, RSI and RCX.  The host turns the
 * exit into a struct ucall with get_ucall(), and its loop is one switch.
 */
#ifndef MVM_GUEST_H
#define MVM_GUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/mvm.h>

#include "ktap.h"

#define PAGE_SIZE	4096UL
#define MiB		(1UL << 20)

/*
 * Guest-physical layout.  Everything below GUEST_ELF_MIN is the library's;
 * the test binary's segments start at 0x400000.
 */
#define GUEST_GDT	0x1000UL
#define GUEST_IDT	0x2000UL	/* 256 16-byte gates */
#define GUEST_TSS	0x3000UL
#define GUEST_PML4	0x4000UL
#define GUEST_PDPT	0x5000UL
#define GUEST_PD	0x6000UL	/* four pages: the first 4 GiB */
#define GUEST_STACK16	0x8000UL	/* real-mode stack top */
#define GUEST_CODE16	0x10000UL	/* real-mode code is copied here */
#define GUEST_CODE16_MAX 0x10000UL
#define GUEST_STACK	0x200000UL	/* 32- and 64-bit stack top */
#define GUEST_ELF_MIN	0x400000UL

/* The identity map covers this much; higher addresses fault in the guest. */
#define GUEST_MAPPED	(4ULL << 30)

/* GDT selectors. */
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define SEL_TSS		0x20

/* Control-register and EFER bits the library and the tests use. */
#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_NW		(1ULL << 29)
#define CR0_CD		(1ULL << 30)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXCPT	(1ULL << 10)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define UCALL_PORT	0xf0

enum {
	UCALL_NONE,	/* the exit was not a ucall */
	UCALL_DONE,
	UCALL_FAIL,	/* args: line, value a, value b */
	UCALL_VALUE,	/* args: the values */
	UCALL_SYNC,	/* args: a stage number; the host may act, then run */
};

struct ucall {
	uint32_t code;
	uint64_t args[3];
};

/* Ends the test case from library code or a helper thread. */
#define TEST_ASSERT(cond, fmt, ...)					\
	do {								\
		if (!(cond)) {						\
			int __e = errno;				\
			ktap_diag("%s:%d: TEST_ASSERT(%s) failed: " fmt	\
				  " (errno %d: %s)", __FILE__, __LINE__, \
				  #cond, ##__VA_ARGS__, __e,		\
				  strerror(__e));			\
			exit(KTAP_FAIL);				\
		}							\
	} while (0)

struct vm {
	int dev;
	int fd;
	uint8_t *mem;		/* guest RAM, slot 0 at gpa 0 */
	uint64_t mem_size;
	int has_elf;
};

struct vcpu {
	struct vm *vm;
	int fd;
	uint32_t id;
	struct mvm_run *run;
	struct mvm_ring *ring;
	size_t mmap_size;
};

/* What the exception stubs save; the layout is the asm's in guest.c. */
struct ex_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_handler_t)(struct ex_regs *regs);

/* --- host side ----------------------------------------------------------- */

/* A VM with @mib MiB of RAM at gpa 0 holding the test binary and tables. */
struct vm *vm_create(uint64_t mib);
/* The same without the test binary, for many small VMs: real mode only. */
struct vm *vm_create_bare(uint64_t mib);
void vm_free(struct vm *vm);
void mvm_rollbacks_dump(void);

int __vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *mem);
void vm_set_region(struct vm *vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, void *mem);
int __vm_set_posted(struct vm *vm, uint32_t space, uint32_t flags,
		    uint64_t addr, uint64_t len);
void vm_set_posted(struct vm *vm, uint32_t space, uint64_t addr,
		   uint64_t len);

/* Host address of guest-physical @gpa in slot 0. */
void *gpa2hva(struct vm *vm, uint64_t gpa);
/* Copy a global of the test binary between host and guest. */
#define sync_global_to_guest(vm, g)					\
	memcpy(gpa2hva(vm, (uintptr_t)&(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g)					\
	memcpy(&(g), gpa2hva(vm, (uintptr_t)&(g)), sizeof(g))

int __vcpu_create(struct vm *vm, uint32_t id);	/* the fd, or -1 */
struct vcpu *vcpu_create(struct vm *vm, uint32_t id);
void vcpu_free(struct vcpu *vcpu);

int __vcpu_run(struct vcpu *vcpu);
/* MVM_RUN must return 0. */
void vcpu_run(struct vcpu *vcpu);

void vcpu_get_regs(struct vcpu *vcpu, struct mvm_regs *regs);
void vcpu_set_regs(struct vcpu *vcpu, const struct mvm_regs *regs);
void vcpu_get_sregs(struct vcpu *vcpu, struct mvm_sregs *sregs);
void vcpu_set_sregs(struct vcpu *vcpu, const struct mvm_sregs *sregs);
int __vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg);
void vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg);

/* Guest modes.  Each sets sregs and regs; RIP is the entry point. */
void vcpu_setup_real(struct vcpu *vcpu, const void *start, const void *end);
void vcpu_setup_prot32(struct vcpu *vcpu, const void *entry);
void vcpu_setup_long(struct vcpu *vcpu, void (*entry)(void));
/* The long-mode part of vcpu_setup_long(): segments, tables, CRs, EFER. */
void long_mode_sregs(struct mvm_sregs *sregs);
/* A present code or data segment (S = 1) with the given fields. */
void set_seg(struct mvm_segment *s, uint16_t sel, uint64_t base,
	     uint32_t limit, uint8_t type, uint8_t l, uint8_t db, uint8_t g);
/* Up to three arguments for a long-mode entry function. */
void vcpu_args_set(struct vcpu *vcpu, uint64_t a0, uint64_t a1, uint64_t a2);

/* Install a handler for a vector; the guest's IDT covers all 256. */
void vm_install_handler(struct vm *vm, unsigned int vector,
			guest_handler_t fn);

/* Decode the last exit: the ucall's code, or UCALL_NONE. */
uint32_t get_ucall(struct vcpu *vcpu, struct ucall *uc);
/* Run until the guest makes a ucall; anything else ends the case. */
void vcpu_describe_exit(struct vcpu *vcpu);
uint32_t vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc);
/* Report a UCALL_FAIL and end the case. */
void report_guest_fail(const struct ucall *uc) __attribute__((noreturn));
/* Run the guest to UCALL_DONE, failing on any other exit. */
void vcpu_run_to_done(struct vcpu *vcpu);

const char *exit_reason_str(uint32_t reason);

/* A signal that does nothing but interrupt a blocking call (no SA_RESTART). */
void install_kick_handler(int sig);
uint64_t now_ns(void);

/* --- guest side ---------------------------------------------------------- */

/* Per-vector counts and the last error code, kept by the guest. */
extern volatile uint64_t guest_exception_count[256];
extern guest_handler_t guest_handlers[256];

static inline void ucall(uint32_t code, uint64_t a0, uint64_t a1,
			 uint64_t a2)
{
	__asm__ volatile("outl %%eax, %%dx"
			 : : "a"(code), "d"(UCALL_PORT), "D"(a0), "S"(a1),
			     "c"(a2)
			 : "memory");
}

static inline void __attribute__((noreturn)) guest_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#define GUEST_SYNC(stage)	ucall(UCALL_SYNC, (stage), 0, 0)
#define GUEST_VALUE(a, b, c)	ucall(UCALL_VALUE, (a), (b), (c))
#define GUEST_DONE()							\
	do {								\
		ucall(UCALL_DONE, 0, 0, 0);				\
		guest_halt_forever();					\
	} while (0)
#define GUEST_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			ucall(UCALL_FAIL, __LINE__, 0, 0);		\
			guest_halt_forever();				\
		}							\
	} while (0)
#define GUEST_ASSERT_EQ(a, b)						\
	do {								\
		uint64_t __a = (a), __b = (b);				\
		if (__a != __b) {					\
			ucall(UCALL_FAIL, __LINE__, __a, __b);		\
			guest_halt_forever();				\
		}							\
	} while (0)

/*
 * Run one instruction that may fault: if it raises an exception, the
 * dispatcher (with no handler installed for the vector) resumes after it.
 * Evaluates to 0, or 0x100 | the vector.  The instruction gets RAX, RCX and
 * RDX and may change them.  Like KVM's kvm_asm_safe(): R9 holds the resume
 * address and R10 the result.
 */
#define ASM_SAFE(insn, rax, rcx, rdx)					\
	({								\
		uint64_t __a = (rax), __c = (rcx), __d = (rdx), __v;	\
		__asm__ volatile("lea 1f(%%rip), %%r9\n\t"		\
				 "xor %%r10d, %%r10d\n\t"		\
				 insn "\n"				\
				 "1:\n\t"				\
				 "mov %%r10, %0\n\t"			\
				 "xor %%r9d, %%r9d"			\
				 : "=r"(__v), "+a"(__a), "+c"(__c),	\
				   "+d"(__d)				\
				 : : "r9", "r10", "memory");		\
		__v;							\
	})

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void guest_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

#endif /* MVM_GUEST_H */
