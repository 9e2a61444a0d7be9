// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU file descriptors and the vCPU and VM ioctls that need no running
 * guest: creation, the run/ring mapping, state round trips, and one case
 * per invalid-argument branch.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define MSR_IA32_TSC		0x10
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_PAT			0x277
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

#define NONCANONICAL		0x8000000000000000ULL

/* XSAVE standard format (SDM vol. 1, 13.4), as byte offsets. */
#define XSAVE_MXCSR		24
#define XSAVE_XMM0		160
#define XSAVE_XSTATE_BV		512
#define XSAVE_XCOMP_BV		520
#define XSAVE_HDR_RESERVED	528

/* A VM with a little RAM and vCPU 0: enough for ioctls on a vCPU. */
static struct vcpu *new_vcpu(void)
{
	return vcpu_create(vm_create_bare(1), 0);
}

static long sys_ioctl(unsigned long req, unsigned long arg)
{
	return open_ioctl_close(MVM_DEV, req, arg);
}

/* --- creation ------------------------------------------------------------ */

static int create_vcpu(void)
{
	struct vm *vm = vm_create_bare(1);
	long max = sys_ioctl(MVM_CHECK_EXTENSION, MVM_CAP_MAX_VCPUS);
	int fd0, fd1;

	CHECK(max == 64, "MVM_CAP_MAX_VCPUS is %ld", max);
	fd0 = __vcpu_create(vm, 0);
	fd1 = __vcpu_create(vm, max - 1);
	CHECK(fd0 >= 0 && fd1 >= 0, "ids 0 and %ld", max - 1);
	CHECK(fcntl(fd0, F_GETFD) == FD_CLOEXEC, "vCPU fd not O_CLOEXEC");
	CHECK(fcntl(fd1, F_GETFD) == FD_CLOEXEC, "vCPU fd not O_CLOEXEC");
	return KTAP_PASS;
}

static int create_vcpu_all_ids(void)
{
	struct vm *vm = vm_create_bare(1);
	int i;

	for (i = 0; i < 64; i++)
		CHECK(__vcpu_create(vm, 63 - i) >= 0, "id %d", 63 - i);
	return KTAP_PASS;
}

static int create_vcpu_id_too_large(void)
{
	struct vm *vm = vm_create_bare(1);

	CHECK_ERRNO(__vcpu_create(vm, 64), EINVAL);
	CHECK_ERRNO(__vcpu_create(vm, UINT32_MAX), EINVAL);
	CHECK_ERRNO(ioctl(vm->fd, MVM_CREATE_VCPU, 1UL << 32), EINVAL);
	return KTAP_PASS;
}

static int create_vcpu_id_in_use(void)
{
	struct vm *vm = vm_create_bare(1);
	int fd = __vcpu_create(vm, 5);

	CHECK(fd >= 0, "id 5");
	CHECK_ERRNO(__vcpu_create(vm, 5), EEXIST);
	/* The id stays taken while its fd is open, in another VM it is free. */
	CHECK(__vcpu_create(vm_create_bare(1), 5) >= 0, "id 5 in a new VM");
	return KTAP_PASS;
}

/* vCPU fds belong to the VM's address space, like VM fds. */
static int other_process_eio(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_regs regs;
	int status;
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		CHECK_ERRNO(__vcpu_create(vcpu->vm, 1), EIO);
		CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_REGS, &regs), EIO);
		CHECK_ERRNO(__vcpu_run(vcpu), EIO);
		CHECK_ERRNO(__vm_set_posted(vcpu->vm, MVM_SPACE_PIO, 0, 0x80,
					    1), EIO);
		/* Nor may it map the run page and ring. */
		CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, vcpu->fd, 0) ==
		      MAP_FAILED && errno == EIO, "mmap from another process");
		exit(KTAP_PASS);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == KTAP_PASS,
	      "child status %#x", status);
	/* The owner still can. */
	vcpu_get_regs(vcpu, &regs);
	return KTAP_PASS;
}

static int wrong_fd_enotty(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_regs regs;

	CHECK_ERRNO(ioctl(vcpu->vm->fd, MVM_RUN, 0), ENOTTY);
	CHECK_ERRNO(ioctl(vcpu->vm->fd, MVM_GET_REGS, &regs), ENOTTY);
	CHECK_ERRNO(ioctl(vcpu->vm->dev, MVM_GET_REGS, &regs), ENOTTY);
	CHECK_ERRNO(ioctl(vcpu->fd, MVM_CREATE_VCPU, 1), ENOTTY);
	CHECK_ERRNO(ioctl(vcpu->fd, MVM_CREATE_VM, 0), ENOTTY);
	CHECK_ERRNO(ioctl(vcpu->fd, _IO(MVMIO, 0xbf), 0), ENOTTY);
	/* A known number with the wrong size or direction. */
	CHECK_ERRNO(ioctl(vcpu->fd, _IOR(MVMIO, 0x81, uint64_t), &regs),
		    ENOTTY);
	CHECK_ERRNO(ioctl(vcpu->fd, _IOW(MVMIO, 0x81, struct mvm_regs), &regs),
		    ENOTTY);
	return KTAP_PASS;
}

/* --- the mapping ----------------------------------------------------------- */

static long mmap_size(void)
{
	return sys_ioctl(MVM_GET_VCPU_MMAP_SIZE, 0);
}

static int mmap_size_covers_ring(void)
{
	long n = sys_ioctl(MVM_CHECK_EXTENSION, MVM_CAP_RING_ENTRIES);
	long size = mmap_size();
	unsigned long ring;

	CHECK(n == 1024, "MVM_CAP_RING_ENTRIES is %ld", n);
	ring = sizeof(struct mvm_ring) + n * sizeof(struct mvm_access);
	CHECK(size > 0 && size % PAGE_SIZE == 0, "size %ld", size);
	CHECK((unsigned long)size >= MVM_RING_PGOFF * PAGE_SIZE + ring,
	      "size %ld does not hold a ring of %lu bytes", size, ring);
	CHECK_ERRNO(sys_ioctl(MVM_GET_VCPU_MMAP_SIZE, 1), EINVAL);
	return KTAP_PASS;
}

static int mmap_layout(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_ring *ring;

	CHECK(vcpu->ring->nr_entries == 1024, "nr_entries %u",
	      vcpu->ring->nr_entries);
	CHECK(vcpu->ring->head == 0 && vcpu->ring->tail == 0,
	      "head %u tail %u", vcpu->ring->head, vcpu->ring->tail);
	/* The ring alone, from its page offset, is the same memory. */
	ring = mmap(NULL, vcpu->mmap_size - MVM_RING_PGOFF * PAGE_SIZE,
		    PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		    MVM_RING_PGOFF * PAGE_SIZE);
	CHECK(ring != MAP_FAILED, "mmap the ring alone");
	ring->tail = 0x1234;
	CHECK(vcpu->ring->tail == 0x1234, "two mappings, two rings");
	ring->tail = 0;
	/* A second mapping of the run page shares it too. */
	vcpu->run->immediate_exit = 1;
	CHECK(((struct mvm_run *)mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED,
				      vcpu->fd, 0))->immediate_exit == 1,
	      "run page");
	return KTAP_PASS;
}

static int mmap_past_size_einval(void)
{
	struct vcpu *vcpu = new_vcpu();
	long size = mmap_size();

	CHECK(mmap(NULL, size + PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0) == MAP_FAILED && errno == EINVAL,
	      "one page too many");
	CHECK(mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, size) == MAP_FAILED && errno == EINVAL,
	      "offset at the end");
	CHECK(mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, size - PAGE_SIZE) == MAP_FAILED &&
	      errno == EINVAL, "straddling the end");
	return KTAP_PASS;
}

static int mmap_private_einval(void)
{
	struct vcpu *vcpu = new_vcpu();

	CHECK(mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   vcpu->fd, 0) == MAP_FAILED && errno == EINVAL, "private");
	CHECK(mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE, vcpu->fd, 0) ==
	      MAP_FAILED && errno == EINVAL, "private read-only");
	return KTAP_PASS;
}

static int run_arg_einval(void)
{
	struct vcpu *vcpu = new_vcpu();

	CHECK_ERRNO(ioctl(vcpu->fd, MVM_RUN, 1), EINVAL);
	CHECK_ERRNO(ioctl(vcpu->fd, MVM_RUN, ~0UL), EINVAL);
	return KTAP_PASS;
}

/* --- registers -------------------------------------------------------------- */

static int reset_state(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_sregs s;
	struct mvm_regs r;

	vcpu_get_regs(vcpu, &r);
	vcpu_get_sregs(vcpu, &s);
	CHECK(r.rip == 0xfff0 && r.rflags == 0x2, "rip %#llx rflags %#llx",
	      (unsigned long long)r.rip, (unsigned long long)r.rflags);
	CHECK(s.cs.selector == 0xf000 && s.cs.base == 0xffff0000,
	      "cs %#x base %#llx", s.cs.selector,
	      (unsigned long long)s.cs.base);
	CHECK(s.cr0 == 0x60000010, "cr0 %#llx", (unsigned long long)s.cr0);
	CHECK(s.efer == 0 && s.xcr0 == 1, "efer %#llx xcr0 %#llx",
	      (unsigned long long)s.efer, (unsigned long long)s.xcr0);
	CHECK(s.cr3 == 0 && s.cr4 == 0 && s.cr8 == 0, "cr3/cr4/cr8");
	return KTAP_PASS;
}

static int regs_round_trip(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_regs in, out;
	uint64_t *p = (uint64_t *)&in;
	unsigned int i;

	for (i = 0; i < sizeof(in) / 8; i++)
		p[i] = 0x0101010101010101ULL * (i + 1);
	in.rip = 0x123456;
	in.rflags = 0x2 | 0x1 | 0x40 | 0x800;	/* CF ZF OF */
	vcpu_set_regs(vcpu, &in);
	vcpu_get_regs(vcpu, &out);
	CHECK(!memcmp(&in, &out, sizeof(in)), "regs differ");
	return KTAP_PASS;
}

static int sregs_round_trip(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_sregs in, out;

	vcpu_get_sregs(vcpu, &in);
	long_mode_sregs(&in);
	in.cr2 = 0xdead000;
	in.cr8 = 7;
	in.xcr0 = 3;
	in.fs.base = 0x7f0000001000ULL;
	in.gs.base = 0xffff888000000000ULL;
	vcpu_set_sregs(vcpu, &in);
	vcpu_get_sregs(vcpu, &out);
	CHECK(out.cr0 == in.cr0 && out.cr2 == in.cr2 && out.cr3 == in.cr3 &&
	      out.cr4 == in.cr4 && out.cr8 == in.cr8, "control registers");
	CHECK(out.efer == in.efer && out.xcr0 == in.xcr0, "efer %#llx xcr0 %#llx",
	      (unsigned long long)out.efer, (unsigned long long)out.xcr0);
	CHECK(out.cs.selector == SEL_CODE64 && out.cs.l == 1 &&
	      out.cs.db == 0 && out.cs.type == 0xb && out.cs.present, "cs");
	CHECK(out.fs.base == in.fs.base && out.gs.base == in.gs.base,
	      "fs/gs base");
	CHECK(out.tr.base == GUEST_TSS && out.tr.limit == 0x67 &&
	      out.tr.type == 0xb, "tr");
	CHECK(!memcmp(&out.gdt, &in.gdt, sizeof(in.gdt)) &&
	      !memcmp(&out.idt, &in.idt, sizeof(in.idt)), "gdt/idt");
	return KTAP_PASS;
}

/*
 * A bad MVM_SET_SREGS fails with EINVAL and changes nothing.  @bad starts
 * as valid long-mode state and gets one thing wrong.
 */
static int sregs_reject(void (*spoil)(struct mvm_sregs *s))
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_sregs before, bad, after;

	vcpu_get_sregs(vcpu, &before);
	bad = before;
	long_mode_sregs(&bad);
	/* The valid starting point really is valid. */
	CHECK(!__vcpu_ioctl(vcpu, MVM_SET_SREGS, &bad), "valid long mode");
	vcpu_get_sregs(vcpu, &before);
	spoil(&bad);
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_SET_SREGS, &bad), EINVAL);
	vcpu_get_sregs(vcpu, &after);
	CHECK(!memcmp(&before, &after, sizeof(before)),
	      "a refused MVM_SET_SREGS changed the state");
	return KTAP_PASS;
}

/* Legacy protected mode without paging, for the mode-specific rules. */
static void to_prot_nopaging(struct mvm_sregs *s)
{
	s->cr0 = CR0_PE | CR0_ET | CR0_NE;
	s->cr4 = 0;
	s->efer = 0;
	s->cs.l = 0;
	s->cs.db = 1;
}

static void spoil_pg_without_pe(struct mvm_sregs *s)
{
	to_prot_nopaging(s);
	s->cr0 = CR0_PG | CR0_ET;
}

static void spoil_nw_without_cd(struct mvm_sregs *s)
{
	s->cr0 |= CR0_NW;
}

static void spoil_cr0_high(struct mvm_sregs *s)
{
	s->cr0 |= 1ULL << 32;
}

static void spoil_cr4_reserved(struct mvm_sregs *s)
{
	s->cr4 |= 1ULL << 63;
}

static void spoil_cr4_bit15(struct mvm_sregs *s)
{
	s->cr4 |= 1ULL << 15;
}

static void spoil_efer_reserved(struct mvm_sregs *s)
{
	s->efer |= 1ULL << 2;
}

static void spoil_efer_high(struct mvm_sregs *s)
{
	s->efer |= 1ULL << 63;
}

static void spoil_lma_without_lme(struct mvm_sregs *s)
{
	to_prot_nopaging(s);
	s->efer = EFER_LMA;
}

static void spoil_lme_pg_without_lma(struct mvm_sregs *s)
{
	s->efer = EFER_LME;
}

static void spoil_long_without_pae(struct mvm_sregs *s)
{
	s->cr4 &= ~CR4_PAE;
}

static void spoil_cs_l_and_d(struct mvm_sregs *s)
{
	s->cs.db = 1;
}

static void spoil_reserved(struct mvm_sregs *s)
{
	s->reserved[8] = 1;
}

static void spoil_segment_pad(struct mvm_sregs *s)
{
	s->ds.pad = 1;
}

static void spoil_dtable_pad(struct mvm_sregs *s)
{
	s->idt.pad[2] = 1;
}

static void spoil_xcr0_no_x87(struct mvm_sregs *s)
{
	s->xcr0 = 2;
}

static void spoil_xcr0_avx_without_sse(struct mvm_sregs *s)
{
	s->xcr0 = 1 | 4;
}

static void spoil_xcr0_unsupported(struct mvm_sregs *s)
{
	s->xcr0 = 3 | 1ULL << 63;
}

static void spoil_cr8(struct mvm_sregs *s)
{
	s->cr8 = 16;
}

#define SREGS_CASE(name)						\
	static int sregs_##name(void)					\
	{								\
		return sregs_reject(spoil_##name);			\
	}
SREGS_CASE(pg_without_pe)
SREGS_CASE(nw_without_cd)
SREGS_CASE(cr0_high)
SREGS_CASE(cr4_reserved)
SREGS_CASE(cr4_bit15)
SREGS_CASE(efer_reserved)
SREGS_CASE(efer_high)
SREGS_CASE(lma_without_lme)
SREGS_CASE(lme_pg_without_lma)
SREGS_CASE(long_without_pae)
SREGS_CASE(cs_l_and_d)
SREGS_CASE(reserved)
SREGS_CASE(segment_pad)
SREGS_CASE(dtable_pad)
SREGS_CASE(xcr0_no_x87)
SREGS_CASE(xcr0_avx_without_sse)
SREGS_CASE(xcr0_unsupported)
SREGS_CASE(cr8)

/* CD and NW together are legal (the reset value has both). */
static int sregs_cd_nw(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_sregs s;

	vcpu_get_sregs(vcpu, &s);
	s.cr0 = CR0_CD | CR0_NW | CR0_ET;
	CHECK(!__vcpu_ioctl(vcpu, MVM_SET_SREGS, &s), "CD|NW");
	return KTAP_PASS;
}

/* --- MSRs --------------------------------------------------------------------- */

struct msrs {
	struct mvm_msrs hdr;
	struct mvm_msr_entry e[MVM_MAX_MSRS + 1];
};

static int msrs_io(struct vcpu *vcpu, unsigned long req, struct msrs *m,
		   const uint32_t *idx, const uint64_t *val, unsigned int n)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->hdr.nmsrs = n;
	for (i = 0; i < n; i++) {
		m->e[i].index = idx[i];
		m->e[i].data = val ? val[i] : 0;
	}
	return __vcpu_ioctl(vcpu, req, m);
}

static int msrs_round_trip(void)
{
	static const uint32_t idx[] = {
		MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
		MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
		MSR_KERNEL_GS_BASE, MSR_TSC_AUX, MSR_PAT,
	};
	static const uint64_t val[] = {
		0x10, 0xffffffff81000000ULL, 0xffffffff81001000ULL,
		0x0023001000000000ULL, 0xffffffff81002000ULL,
		0x00007fffdeadb000ULL, 0x47700, 0xffff888012345000ULL, 3,
		0x0007040600070406ULL ^ 0x0000000001000000ULL,
	};
	unsigned int n = sizeof(idx) / sizeof(idx[0]), i;
	struct vcpu *vcpu = new_vcpu();
	struct msrs m;
	int r;

	r = msrs_io(vcpu, MVM_SET_MSRS, &m, idx, val, n);
	CHECK(r == (int)n, "MVM_SET_MSRS processed %d of %u", r, n);
	r = msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, n);
	CHECK(r == (int)n, "MVM_GET_MSRS processed %d of %u", r, n);
	for (i = 0; i < n; i++)
		CHECK(m.e[i].index == idx[i] && m.e[i].data == val[i],
		      "msr %#x: %#llx, want %#llx", idx[i],
		      (unsigned long long)m.e[i].data,
		      (unsigned long long)val[i]);
	return KTAP_PASS;
}

/* The TSC runs on: it reads back at or a little past what was set. */
static int msrs_tsc(void)
{
	static const uint32_t idx[] = { MSR_IA32_TSC };
	static const uint64_t val[] = { 1ULL << 40 };
	struct vcpu *vcpu = new_vcpu();
	struct msrs m;

	CHECK(msrs_io(vcpu, MVM_SET_MSRS, &m, idx, val, 1) == 1, "set TSC");
	CHECK(msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, 1) == 1, "get TSC");
	/* Generously: 2^40 cycles would be minutes at any clock rate. */
	CHECK(m.e[0].data >= val[0] && m.e[0].data < val[0] + (1ULL << 39),
	      "TSC %#llx after setting %#llx",
	      (unsigned long long)m.e[0].data, (unsigned long long)val[0]);
	return KTAP_PASS;
}

static int msrs_stop_at_unknown(void)
{
	static const uint32_t idx[] = { MSR_STAR, 0xdeadbeef, MSR_LSTAR };
	static const uint64_t val[] = { 0x1000000000ULL, 0, 0x1000 };
	static const uint32_t idx2[] = { 0x4b564d00, MSR_STAR };
	struct vcpu *vcpu = new_vcpu();
	struct msrs m;
	int r;

	r = msrs_io(vcpu, MVM_SET_MSRS, &m, idx, val, 3);
	CHECK(r == 1, "MVM_SET_MSRS processed %d, want 1", r);
	r = msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, 3);
	CHECK(r == 1, "MVM_GET_MSRS processed %d, want 1", r);
	CHECK(m.e[0].data == val[0], "STAR %#llx",
	      (unsigned long long)m.e[0].data);
	/* LSTAR, after the unknown one, was not written. */
	r = msrs_io(vcpu, MVM_GET_MSRS, &m, idx + 2, NULL, 1);
	CHECK(r == 1 && m.e[0].data != val[2], "LSTAR %#llx",
	      (unsigned long long)m.e[0].data);
	CHECK(msrs_io(vcpu, MVM_GET_MSRS, &m, idx2, NULL, 2) == 0, "first");
	CHECK(msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, 0) == 0, "none");
	return KTAP_PASS;
}

static int msrs_too_many_e2big(void)
{
	uint32_t idx[MVM_MAX_MSRS + 1];
	struct vcpu *vcpu = new_vcpu();
	struct msrs m;
	unsigned int i;

	for (i = 0; i <= MVM_MAX_MSRS; i++)
		idx[i] = MSR_STAR;
	CHECK(msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, MVM_MAX_MSRS) ==
	      MVM_MAX_MSRS, "MVM_MAX_MSRS entries");
	CHECK_ERRNO(msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL,
			    MVM_MAX_MSRS + 1), E2BIG);
	CHECK_ERRNO(msrs_io(vcpu, MVM_SET_MSRS, &m, idx, NULL,
			    MVM_MAX_MSRS + 1), E2BIG);
	m.hdr.nmsrs = UINT32_MAX;
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_MSRS, &m), E2BIG);
	return KTAP_PASS;
}

/* Nonzero mvm_msr_entry.reserved in entry @bad of two is EINVAL. */
static int msrs_reserved(unsigned int bad)
{
	static const uint32_t idx[] = { MSR_STAR, MSR_LSTAR };
	static const uint64_t val[] = { 0x1000000000ULL, 0x2000 };
	struct vcpu *vcpu = new_vcpu();
	struct msrs m;

	msrs_io(vcpu, MVM_SET_MSRS, &m, idx, val, 2);
	m.e[0].data = m.e[1].data = 0;
	m.e[bad].reserved = 1;
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_SET_MSRS, &m), EINVAL);
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_MSRS, &m), EINVAL);
	/* A refused call changed nothing. */
	CHECK(msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, 2) == 2 &&
	      m.e[0].data == val[0] && m.e[1].data == val[1],
	      "STAR %#llx LSTAR %#llx", (unsigned long long)m.e[0].data,
	      (unsigned long long)m.e[1].data);
	return KTAP_PASS;
}

static int msrs_first_entry_reserved_einval(void)
{
	return msrs_reserved(0);
}

static int msrs_later_entry_reserved_einval(void)
{
	return msrs_reserved(1);
}

static int msrs_pad_einval(void)
{
	static const uint32_t idx[] = { MSR_STAR };
	struct vcpu *vcpu = new_vcpu();
	struct msrs m;

	msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, 0);
	m.hdr.nmsrs = 1;
	m.hdr.pad = 1;
	m.e[0].index = idx[0];
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_SET_MSRS, &m), EINVAL);
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_MSRS, &m), EINVAL);
	return KTAP_PASS;
}

static int msrs_pat_invalid(void)
{
	static const uint32_t idx[] = { MSR_STAR, MSR_PAT };
	/* 2 and 3 are reserved memory types, as is anything above 7. */
	static const uint64_t bad[] = {
		0x0007040600070402ULL, 0x0307040600070406ULL,
		0x0007040600080406ULL,
	};
	struct vcpu *vcpu = new_vcpu();
	uint64_t val[2] = { 0x1000000000ULL, 0 };
	struct msrs m;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		val[1] = bad[i];
		CHECK(msrs_io(vcpu, MVM_SET_MSRS, &m, idx, val, 2) == 1,
		      "PAT %#llx accepted", (unsigned long long)bad[i]);
	}
	CHECK(msrs_io(vcpu, MVM_GET_MSRS, &m, idx, NULL, 2) == 2, "get");
	CHECK(m.e[1].data == 0x0007040600070406ULL, "PAT is %#llx",
	      (unsigned long long)m.e[1].data);
	return KTAP_PASS;
}

static int msrs_noncanonical(void)
{
	static const uint32_t idx[] = {
		MSR_LSTAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSENTER_ESP,
		MSR_SYSENTER_EIP,
	};
	static const uint64_t val[] = { NONCANONICAL };
	struct vcpu *vcpu = new_vcpu();
	struct msrs m;
	unsigned int i;

	for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		CHECK(msrs_io(vcpu, MVM_SET_MSRS, &m, &idx[i], val, 1) == 0,
		      "msr %#x took a non-canonical address", idx[i]);
		CHECK(msrs_io(vcpu, MVM_GET_MSRS, &m, &idx[i], NULL, 1) == 1 &&
		      m.e[0].data != NONCANONICAL, "msr %#x changed", idx[i]);
	}
	return KTAP_PASS;
}

/* --- XSAVE and debug registers ------------------------------------------------- */

static uint8_t *xs_byte(struct mvm_xsave *x, unsigned int off)
{
	return (uint8_t *)x->region + off;
}

static uint64_t *xs_u64(struct mvm_xsave *x, unsigned int off)
{
	return (uint64_t *)xs_byte(x, off);
}

static uint32_t *xs_u32(struct mvm_xsave *x, unsigned int off)
{
	return (uint32_t *)xs_byte(x, off);
}

static int xsave_round_trip(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_xsave *x = calloc(2, sizeof(*x)), *y = x + 1;
	unsigned int i;

	vcpu_ioctl(vcpu, MVM_GET_XSAVE, x);
	CHECK(*xs_u32(x, XSAVE_MXCSR) == 0x1f80, "reset MXCSR %#x",
	      *xs_u32(x, XSAVE_MXCSR));
	for (i = 0; i < 16; i++)
		*xs_byte(x, XSAVE_XMM0 + i) = 0xa0 + i;
	*xs_u32(x, XSAVE_MXCSR) = 0x7f80;	/* round toward zero */
	*xs_u64(x, XSAVE_XSTATE_BV) |= 3;
	vcpu_ioctl(vcpu, MVM_SET_XSAVE, x);
	vcpu_ioctl(vcpu, MVM_GET_XSAVE, y);
	CHECK(!memcmp(xs_byte(x, XSAVE_XMM0), xs_byte(y, XSAVE_XMM0), 16),
	      "XMM0");
	CHECK(*xs_u32(y, XSAVE_MXCSR) == 0x7f80, "MXCSR %#x",
	      *xs_u32(y, XSAVE_MXCSR));
	return KTAP_PASS;
}

static int xsave_reject(unsigned int off, uint64_t val, int width)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_xsave *x = calloc(3, sizeof(*x)), *before = x + 1;

	vcpu_ioctl(vcpu, MVM_GET_XSAVE, before);
	memcpy(x, before, sizeof(*x));
	if (width == 8)
		*xs_u64(x, off) |= val;
	else
		*xs_u32(x, off) |= val;
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_SET_XSAVE, x), EINVAL);
	vcpu_ioctl(vcpu, MVM_GET_XSAVE, x + 2);
	CHECK(!memcmp(before, x + 2, sizeof(*x)), "state changed");
	return KTAP_PASS;
}

static int xsave_bv_unsupported(void)
{
	return xsave_reject(XSAVE_XSTATE_BV, 1ULL << 63, 8);
}

static int xsave_xcomp_bv(void)
{
	return xsave_reject(XSAVE_XCOMP_BV, 1ULL << 63 | 1, 8);
}

static int xsave_header_reserved(void)
{
	return xsave_reject(XSAVE_HDR_RESERVED + 8, 1, 8);
}

static int xsave_mxcsr_reserved(void)
{
	return xsave_reject(XSAVE_MXCSR, 1U << 31, 4);
}

static int debugregs_round_trip(void)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_debugregs in, out;

	memset(&in, 0, sizeof(in));
	in.db[0] = 0x401000;
	in.db[1] = 0xffffffff81000000ULL;
	in.db[2] = 0x1234;
	in.db[3] = 0x7fff0000;
	in.dr6 = 0xffff0ff1;	/* B0 over the bits that read as 1 */
	in.dr7 = 0x401;		/* L0, with bit 10 that reads as 1 */
	vcpu_ioctl(vcpu, MVM_SET_DEBUGREGS, &in);
	vcpu_ioctl(vcpu, MVM_GET_DEBUGREGS, &out);
	CHECK(!memcmp(in.db, out.db, sizeof(in.db)), "db0-3");
	CHECK(out.dr6 == in.dr6 && out.dr7 == in.dr7, "dr6 %#llx dr7 %#llx",
	      (unsigned long long)out.dr6, (unsigned long long)out.dr7);
	return KTAP_PASS;
}

static int debugregs_reject(int which)
{
	struct vcpu *vcpu = new_vcpu();
	struct mvm_debugregs d;

	vcpu_ioctl(vcpu, MVM_GET_DEBUGREGS, &d);
	switch (which) {
	case 0:
		d.reserved[9] = 1;
		break;
	case 1:
		d.dr6 |= 1ULL << 32;
		break;
	case 2:
		d.dr7 |= 1ULL << 63;
		break;
	}
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_SET_DEBUGREGS, &d), EINVAL);
	return KTAP_PASS;
}

static int debugregs_reserved(void)
{
	return debugregs_reject(0);
}

static int debugregs_dr6_high(void)
{
	return debugregs_reject(1);
}

static int debugregs_dr7_high(void)
{
	return debugregs_reject(2);
}

/* --- CPUID ------------------------------------------------------------------- */

struct cpuid {
	struct mvm_cpuid hdr;
	struct mvm_cpuid_entry e[MVM_MAX_CPUID_ENTRIES + 1];
};

static const struct mvm_cpuid_entry *find_leaf(const struct cpuid *c,
					       uint32_t fn, uint32_t idx)
{
	unsigned int i;

	for (i = 0; i < c->hdr.nent; i++)
		if (c->e[i].function == fn &&
		    (!(c->e[i].flags & MVM_CPUID_FLAG_INDEX) ||
		     c->e[i].index == idx))
			return &c->e[i];
	return NULL;
}

static int get_supported(struct cpuid *c, uint32_t nent)
{
	int dev = mvm_open_dev(), r, e;

	memset(c, 0, sizeof(*c));
	c->hdr.nent = nent;
	r = ioctl(dev, MVM_GET_SUPPORTED_CPUID, c);
	e = errno;
	close(dev);
	errno = e;
	return r;
}

static int supported_cpuid(void)
{
	struct cpuid *c = calloc(1, sizeof(*c));
	const struct mvm_cpuid_entry *l1, *l8;

	CHECK(!get_supported(c, MVM_MAX_CPUID_ENTRIES), "get");
	CHECK(c->hdr.nent > 1 && c->hdr.nent <= MVM_MAX_CPUID_ENTRIES,
	      "nent %u", c->hdr.nent);
	l1 = find_leaf(c, 1, 0);
	CHECK(l1, "no leaf 1");
	CHECK(l1->ecx & 1U << 31, "no hypervisor bit: ecx %#x", l1->ecx);
	CHECK(!(l1->ecx & 1U << 5), "VMX shown: ecx %#x", l1->ecx);
	l8 = find_leaf(c, 0x80000001, 0);
	CHECK(!l8 || !(l8->ecx & 1U << 2), "SVM shown: ecx %#x", l8->ecx);
	return KTAP_PASS;
}

/*
 * The supported table is an allow-list: bits mvm does not virtualize are 0
 * whatever the host has, and basic ones every emulator has are 1.
 */
static int supported_cpuid_is_allow_list(void)
{
	static const struct {
		uint32_t fn, idx;
		uint8_t reg;		/* 0 EAX, 1 EBX, 2 ECX, 3 EDX */
		uint8_t bit;
		bool set;
		const char *name;
	} bits[] = {
		{ 1, 0, 2, 5, false, "VMX" },
		{ 1, 0, 2, 21, false, "x2APIC" },
		{ 1, 0, 2, 24, false, "TSC deadline" },
		{ 1, 0, 3, 9, false, "APIC" },
		{ 1, 0, 3, 12, false, "MTRR" },
		{ 1, 0, 3, 7, false, "MCE" },
		{ 7, 0, 1, 1, false, "TSC_ADJUST" },
		{ 7, 0, 1, 11, false, "RTM" },
		{ 7, 0, 1, 22, false, "leaf 7 EBX bit 22 (reserved)" },
		{ 7, 0, 2, 3, false, "PKU" },
		{ 7, 0, 3, 19, false, "arch LBR" },
		{ 7, 0, 3, 26, false, "SPEC_CTRL (IBRS/IBPB)" },
		{ 7, 0, 3, 27, false, "STIBP" },
		{ 7, 0, 3, 28, false, "L1D_FLUSH" },
		{ 7, 0, 3, 29, false, "ARCH_CAPABILITIES" },
		{ 7, 0, 3, 31, false, "SSBD" },
		{ 0x80000001, 0, 2, 2, false, "SVM" },
		{ 0x80000001, 0, 2, 3, false, "EXTAPIC" },
		{ 0x80000001, 0, 2, 22, false, "TOPOEXT" },
		{ 0x80000001, 0, 3, 9, false, "APIC (AMD copy)" },
		{ 0x80000001, 0, 3, 12, false, "MTRR (AMD copy)" },
		{ 0x80000001, 0, 3, 7, false, "MCE (AMD copy)" },
		{ 1, 0, 3, 0, true, "FPU" },
		{ 1, 0, 3, 4, true, "TSC" },
		{ 1, 0, 3, 8, true, "CX8" },
		{ 1, 0, 3, 26, true, "SSE2" },
		{ 0x80000001, 0, 3, 11, true, "SYSCALL" },
		{ 0x80000001, 0, 3, 20, true, "NX" },
		{ 0x80000001, 0, 3, 29, true, "LM" },
	};
	struct cpuid *c = calloc(1, sizeof(*c));
	unsigned int i;

	CHECK(!get_supported(c, MVM_MAX_CPUID_ENTRIES), "get");
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		const struct mvm_cpuid_entry *e =
			find_leaf(c, bits[i].fn, bits[i].idx);
		uint32_t r[4] = { 0 };
		bool got;

		if (!e && !bits[i].set)
			continue;	/* no leaf: hidden too */
		CHECK(e, "no leaf %#x.%u for %s", bits[i].fn, bits[i].idx,
		      bits[i].name);
		r[0] = e->eax;
		r[1] = e->ebx;
		r[2] = e->ecx;
		r[3] = e->edx;
		got = r[bits[i].reg] >> bits[i].bit & 1;
		CHECK(got == bits[i].set, "%s (leaf %#x.%u reg %u bit %u) is %u",
		      bits[i].name, bits[i].fn, bits[i].idx, bits[i].reg,
		      bits[i].bit, got);
	}
	return KTAP_PASS;
}

static int supported_cpuid_e2big(void)
{
	struct cpuid *c = calloc(1, sizeof(*c));
	uint32_t n;

	CHECK(!get_supported(c, MVM_MAX_CPUID_ENTRIES), "get");
	n = c->hdr.nent;
	CHECK_ERRNO(get_supported(c, n - 1), E2BIG);
	CHECK_ERRNO(get_supported(c, 0), E2BIG);
	CHECK(!get_supported(c, n), "exactly %u", n);
	CHECK(c->hdr.nent == n, "nent %u, want %u", c->hdr.nent, n);
	return KTAP_PASS;
}

/* A new vCPU's table is MVM_GET_SUPPORTED_CPUID's. */
static int cpuid_default(void)
{
	struct cpuid *s = calloc(2, sizeof(*s)), *v = s + 1;
	struct vcpu *vcpu = new_vcpu();
	unsigned int i;

	CHECK(!get_supported(s, MVM_MAX_CPUID_ENTRIES), "supported");
	v->hdr.nent = MVM_MAX_CPUID_ENTRIES;
	vcpu_ioctl(vcpu, MVM_GET_CPUID, v);
	CHECK(v->hdr.nent == s->hdr.nent, "nent %u, supported %u",
	      v->hdr.nent, s->hdr.nent);
	for (i = 0; i < s->hdr.nent; i++) {
		const struct mvm_cpuid_entry *e =
			find_leaf(v, s->e[i].function, s->e[i].index);
		struct mvm_cpuid_entry want = s->e[i], got;

		CHECK(e, "leaf %#x.%u missing", want.function, want.index);
		got = *e;
		/* Leaf 1 EBX[31:16], APIC id and count, is per vCPU. */
		if (want.function == 1) {
			want.ebx &= 0xffff;
			got.ebx &= 0xffff;
		}
		CHECK(!memcmp(&got, &want, sizeof(got)),
		      "leaf %#x.%u: %08x %08x %08x %08x, supported %08x %08x "
		      "%08x %08x", want.function, want.index, e->eax, e->ebx,
		      e->ecx, e->edx, s->e[i].eax, s->e[i].ebx, s->e[i].ecx,
		      s->e[i].edx);
	}
	return KTAP_PASS;
}

static void test_table(struct cpuid *c)
{
	memset(c, 0, sizeof(*c));
	c->hdr.nent = 3;
	c->e[0] = (struct mvm_cpuid_entry){ .function = 0,
		.eax = 0xd, .ebx = 0x756e6547, .ecx = 0x6c65746e,
		.edx = 0x49656e69 };
	c->e[1] = (struct mvm_cpuid_entry){ .function = 7, .index = 0,
		.flags = MVM_CPUID_FLAG_INDEX, .ebx = 1 };
	c->e[2] = (struct mvm_cpuid_entry){ .function = 0x40000000,
		.eax = 0x40000001, .ebx = 0x11111111, .ecx = 0x22222222,
		.edx = 0x33333333 };
}

static int cpuid_round_trip(void)
{
	struct cpuid *c = calloc(2, sizeof(*c)), *g = c + 1;
	struct vcpu *vcpu = new_vcpu();

	test_table(c);
	vcpu_ioctl(vcpu, MVM_SET_CPUID, c);
	g->hdr.nent = MVM_MAX_CPUID_ENTRIES;
	vcpu_ioctl(vcpu, MVM_GET_CPUID, g);
	CHECK(g->hdr.nent == 3, "nent %u", g->hdr.nent);
	CHECK(!memcmp(c->e, g->e, 3 * sizeof(c->e[0])), "entries differ");
	g->hdr.nent = 2;
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_GET_CPUID, g), E2BIG);
	/* An empty table is a table: every leaf reads as zeros. */
	c->hdr.nent = 0;
	vcpu_ioctl(vcpu, MVM_SET_CPUID, c);
	g->hdr.nent = MVM_MAX_CPUID_ENTRIES;
	vcpu_ioctl(vcpu, MVM_GET_CPUID, g);
	CHECK(g->hdr.nent == 0, "nent %u", g->hdr.nent);
	return KTAP_PASS;
}

static int cpuid_too_many_e2big(void)
{
	struct cpuid *c = calloc(1, sizeof(*c));
	struct vcpu *vcpu = new_vcpu();

	test_table(c);
	c->hdr.nent = MVM_MAX_CPUID_ENTRIES + 1;
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_SET_CPUID, c), E2BIG);
	return KTAP_PASS;
}

static int cpuid_reject(int which)
{
	struct cpuid *c = calloc(2, sizeof(*c)), *g = c + 1;
	struct vcpu *vcpu = new_vcpu();

	test_table(c);
	vcpu_ioctl(vcpu, MVM_SET_CPUID, c);
	switch (which) {
	case 0:
		c->e[2].pad = 1;
		break;
	case 1:
		c->e[1].flags |= 1U << 1;
		break;
	case 2:
		c->hdr.pad = 1;
		break;
	}
	c->e[2].eax = 0x40000005;
	CHECK_ERRNO(__vcpu_ioctl(vcpu, MVM_SET_CPUID, c), EINVAL);
	/* The old table stays. */
	g->hdr.nent = MVM_MAX_CPUID_ENTRIES;
	vcpu_ioctl(vcpu, MVM_GET_CPUID, g);
	CHECK(g->hdr.nent == 3 && g->e[2].eax == 0x40000001, "table changed");
	return KTAP_PASS;
}

static int cpuid_entry_pad_einval(void)
{
	return cpuid_reject(0);
}

static int cpuid_flags_einval(void)
{
	return cpuid_reject(1);
}

static int cpuid_pad_einval(void)
{
	return cpuid_reject(2);
}

/* --- interrupts ------------------------------------------------------------------ */

static int interrupt(unsigned int vector, unsigned int flags)
{
	static struct vcpu *vcpu;
	struct mvm_interrupt irq = { .vector = vector, .flags = flags };

	if (!vcpu)
		vcpu = new_vcpu();
	return __vcpu_ioctl(vcpu, MVM_INTERRUPT, &irq);
}

static int interrupt_vectors(void)
{
	/* Queued on a vCPU that never runs; a repeat is no error. */
	CHECK(!interrupt(32, 0), "vector 32");
	CHECK(!interrupt(255, 0), "vector 255");
	CHECK(!interrupt(255, 0), "vector 255 again");
	return KTAP_PASS;
}

static int interrupt_vector_low_einval(void)
{
	CHECK_ERRNO(interrupt(31, 0), EINVAL);
	CHECK_ERRNO(interrupt(2, 0), EINVAL);
	CHECK_ERRNO(interrupt(0, 0), EINVAL);
	return KTAP_PASS;
}

static int interrupt_vector_high_einval(void)
{
	CHECK_ERRNO(interrupt(256, 0), EINVAL);
	CHECK_ERRNO(interrupt(UINT32_MAX, 0), EINVAL);
	return KTAP_PASS;
}

static int interrupt_flags_einval(void)
{
	CHECK_ERRNO(interrupt(32, 1), EINVAL);
	CHECK_ERRNO(interrupt(32, 1U << 31), EINVAL);
	return KTAP_PASS;
}

static int nmi_arg(void)
{
	struct vcpu *vcpu = new_vcpu();

	CHECK(!ioctl(vcpu->fd, MVM_NMI, 0), "MVM_NMI");
	CHECK_ERRNO(ioctl(vcpu->fd, MVM_NMI, 1), EINVAL);
	return KTAP_PASS;
}

/* --- the ring's eventfd ----------------------------------------------------------- */

static int set_ring_eventfd(struct vcpu *vcpu, int fd, uint32_t flags)
{
	struct mvm_ring_eventfd r = { .fd = fd, .flags = flags };

	return __vcpu_ioctl(vcpu, MVM_SET_RING_EVENTFD, &r);
}

static int ring_eventfd_attach_detach(void)
{
	struct vcpu *vcpu = new_vcpu();
	int efd = eventfd(0, EFD_CLOEXEC), efd2 = eventfd(0, EFD_CLOEXEC);

	CHECK(efd >= 0 && efd2 >= 0, "eventfd");
	CHECK(!set_ring_eventfd(vcpu, efd, 0), "attach");
	CHECK(!set_ring_eventfd(vcpu, efd2, 0), "replace");
	CHECK(!set_ring_eventfd(vcpu, -1, 0), "detach");
	CHECK(!set_ring_eventfd(vcpu, -1, 0), "detach again");
	/* The vCPU holds its own reference: closing ours is fine. */
	CHECK(!set_ring_eventfd(vcpu, efd, 0), "attach");
	close(efd);
	return KTAP_PASS;
}

static int ring_eventfd_not_eventfd(void)
{
	struct vcpu *vcpu = new_vcpu();
	int p[2];

	CHECK(!pipe(p), "pipe");
	CHECK_ERRNO(set_ring_eventfd(vcpu, p[0], 0), EINVAL);
	CHECK_ERRNO(set_ring_eventfd(vcpu, vcpu->fd, 0), EINVAL);
	return KTAP_PASS;
}

static int ring_eventfd_bad_fd(void)
{
	struct vcpu *vcpu = new_vcpu();

	CHECK_ERRNO(set_ring_eventfd(vcpu, 1000, 0), EBADF);
	return KTAP_PASS;
}

static int ring_eventfd_flags_einval(void)
{
	struct vcpu *vcpu = new_vcpu();
	int efd = eventfd(0, EFD_CLOEXEC);

	CHECK(efd >= 0, "eventfd");
	CHECK_ERRNO(set_ring_eventfd(vcpu, efd, 1), EINVAL);
	CHECK_ERRNO(set_ring_eventfd(vcpu, -1, 1U << 31), EINVAL);
	return KTAP_PASS;
}

/* --- posted ranges ------------------------------------------------------------------ */

static int posted_add_delete(void)
{
	struct vm *vm = vm_create_bare(1);

	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x80, 4), "add pio");
	CHECK(!__vm_set_posted(vm, MVM_SPACE_MMIO, 0, 0xd0000000, 0x1000),
	      "add mmio");
	/* Ports and MMIO are separate spaces: the same numbers may be used. */
	CHECK(!__vm_set_posted(vm, MVM_SPACE_MMIO, 0, 0x80, 4), "mmio 0x80");
	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, MVM_POSTED_DELETE, 0x80, 4),
	      "delete pio");
	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x80, 2), "re-add");
	CHECK(!__vm_set_posted(vm, MVM_SPACE_MMIO, MVM_POSTED_DELETE,
			       0xd0000000, 0x1000), "delete mmio");
	return KTAP_PASS;
}

static int posted_overlap_eexist(void)
{
	struct vm *vm = vm_create_bare(1);

	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x80, 4), "add");
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x80, 4), EEXIST);
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x83, 1), EEXIST);
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x7f, 2), EEXIST);
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x70, 0x20), EEXIST);
	/* Touching is not overlapping. */
	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x84, 1), "above");
	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x7f, 1), "below");
	return KTAP_PASS;
}

static int posted_delete_missing_enoent(void)
{
	struct vm *vm = vm_create_bare(1);

	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, MVM_POSTED_DELETE,
				    0x80, 4), ENOENT);
	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x80, 4), "add");
	/* A delete names the range exactly. */
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, MVM_POSTED_DELETE,
				    0x80, 2), ENOENT);
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, MVM_POSTED_DELETE,
				    0x81, 3), ENOENT);
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_MMIO, MVM_POSTED_DELETE,
				    0x80, 4), ENOENT);
	return KTAP_PASS;
}

static int posted_len_zero_einval(void)
{
	struct vm *vm = vm_create_bare(1);

	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x80, 0), EINVAL);
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_MMIO, 0, 0x1000, 0), EINVAL);
	return KTAP_PASS;
}

static int posted_bad_space_einval(void)
{
	struct vm *vm = vm_create_bare(1);

	CHECK_ERRNO(__vm_set_posted(vm, 0, 0, 0x80, 1), EINVAL);
	CHECK_ERRNO(__vm_set_posted(vm, 3, 0, 0x80, 1), EINVAL);
	CHECK_ERRNO(__vm_set_posted(vm, UINT32_MAX, 0, 0x80, 1), EINVAL);
	return KTAP_PASS;
}

static int posted_flags_einval(void)
{
	struct vm *vm = vm_create_bare(1);

	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, 1U << 1, 0x80, 1),
		    EINVAL);
	CHECK_ERRNO(__vm_set_posted(vm, MVM_SPACE_PIO, 1U << 31, 0x80, 1),
		    EINVAL);
	return KTAP_PASS;
}

static int posted_limit(void)
{
	struct vm *vm = vm_create_bare(1);
	long n = sys_ioctl(MVM_CHECK_EXTENSION, MVM_CAP_NR_POSTED);
	long i;

	CHECK(n == 16, "MVM_CAP_NR_POSTED is %ld", n);
	for (i = 0; i < n; i++)
		CHECK(!__vm_set_posted(vm, i & 1 ? MVM_SPACE_MMIO :
				       MVM_SPACE_PIO, 0, 0x100 * i, 8),
		      "range %ld", i);
	errno = 0;
	CHECK(__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x8000, 1) == -1,
	      "range %ld of %ld accepted", n + 1, n);
	ktap_diag("range %ld of %ld: %s", n + 1, n, strerror(errno));
	/* Deleting one makes room. */
	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, MVM_POSTED_DELETE, 0, 8),
	      "delete");
	CHECK(!__vm_set_posted(vm, MVM_SPACE_PIO, 0, 0x8000, 1), "after");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(create_vcpu),
	KTAP_CASE(create_vcpu_all_ids),
	KTAP_CASE(create_vcpu_id_too_large),
	KTAP_CASE(create_vcpu_id_in_use),
	KTAP_CASE(other_process_eio),
	KTAP_CASE(wrong_fd_enotty),
	KTAP_CASE(mmap_size_covers_ring),
	KTAP_CASE(mmap_layout),
	KTAP_CASE(mmap_past_size_einval),
	KTAP_CASE(mmap_private_einval),
	KTAP_CASE(run_arg_einval),
	KTAP_CASE(reset_state),
	KTAP_CASE(regs_round_trip),
	KTAP_CASE(sregs_round_trip),
	KTAP_CASE(sregs_pg_without_pe),
	KTAP_CASE(sregs_nw_without_cd),
	KTAP_CASE(sregs_cd_nw),
	KTAP_CASE(sregs_cr0_high),
	KTAP_CASE(sregs_cr4_reserved),
	KTAP_CASE(sregs_cr4_bit15),
	KTAP_CASE(sregs_efer_reserved),
	KTAP_CASE(sregs_efer_high),
	KTAP_CASE(sregs_lma_without_lme),
	KTAP_CASE(sregs_lme_pg_without_lma),
	KTAP_CASE(sregs_long_without_pae),
	KTAP_CASE(sregs_cs_l_and_d),
	KTAP_CASE(sregs_reserved),
	KTAP_CASE(sregs_segment_pad),
	KTAP_CASE(sregs_dtable_pad),
	KTAP_CASE(sregs_xcr0_no_x87),
	KTAP_CASE(sregs_xcr0_avx_without_sse),
	KTAP_CASE(sregs_xcr0_unsupported),
	KTAP_CASE(sregs_cr8),
	KTAP_CASE(msrs_round_trip),
	KTAP_CASE(msrs_tsc),
	KTAP_CASE(msrs_stop_at_unknown),
	KTAP_CASE(msrs_too_many_e2big),
	KTAP_CASE(msrs_first_entry_reserved_einval),
	KTAP_CASE(msrs_later_entry_reserved_einval),
	KTAP_CASE(msrs_pad_einval),
	KTAP_CASE(msrs_pat_invalid),
	KTAP_CASE(msrs_noncanonical),
	KTAP_CASE(xsave_round_trip),
	KTAP_CASE(xsave_bv_unsupported),
	KTAP_CASE(xsave_xcomp_bv),
	KTAP_CASE(xsave_header_reserved),
	KTAP_CASE(xsave_mxcsr_reserved),
	KTAP_CASE(debugregs_round_trip),
	KTAP_CASE(debugregs_reserved),
	KTAP_CASE(debugregs_dr6_high),
	KTAP_CASE(debugregs_dr7_high),
	KTAP_CASE(supported_cpuid),
	KTAP_CASE(supported_cpuid_is_allow_list),
	KTAP_CASE(supported_cpuid_e2big),
	KTAP_CASE(cpuid_default),
	KTAP_CASE(cpuid_round_trip),
	KTAP_CASE(cpuid_too_many_e2big),
	KTAP_CASE(cpuid_entry_pad_einval),
	KTAP_CASE(cpuid_flags_einval),
	KTAP_CASE(cpuid_pad_einval),
	KTAP_CASE(interrupt_vectors),
	KTAP_CASE(interrupt_vector_low_einval),
	KTAP_CASE(interrupt_vector_high_einval),
	KTAP_CASE(interrupt_flags_einval),
	KTAP_CASE(nmi_arg),
	KTAP_CASE(ring_eventfd_attach_detach),
	KTAP_CASE(ring_eventfd_not_eventfd),
	KTAP_CASE(ring_eventfd_bad_fd),
	KTAP_CASE(ring_eventfd_flags_einval),
	KTAP_CASE(posted_add_delete),
	KTAP_CASE(posted_overlap_eexist),
	KTAP_CASE(posted_delete_missing_enoent),
	KTAP_CASE(posted_len_zero_einval),
	KTAP_CASE(posted_bad_space_einval),
	KTAP_CASE(posted_flags_einval),
	KTAP_CASE(posted_limit),
};

KTAP_MAIN(cases)
