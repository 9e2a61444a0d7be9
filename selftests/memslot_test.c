// SPDX-License-Identifier: GPL-2.0
/*
 * MVM_SET_MEMORY_REGION: slots are added, replaced, moved and deleted, and
 * every bad argument gets its own errno.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define PAGE	4096UL
#define MB	(1UL << 20)

static int set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		      uint64_t size, void *mem)
{
	struct mvm_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	return ioctl(vm, MVM_SET_MEMORY_REGION, &r);
}

static void *anon(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int add_and_delete(void)
{
	int vm = mvm_create_vm();
	void *mem = anon(2 * MB, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK(!set_region(vm, 0, 0, 0, 2 * MB, mem), "add");
	CHECK(!set_region(vm, 0, 0, 0, 0, NULL), "delete");
	CHECK_ERRNO(set_region(vm, 0, 0, 0, 0, NULL), ENOENT);
	close(vm);
	return KTAP_PASS;
}

static int nr_memslots(void)
{
	int dev = mvm_open_dev(), vm = mvm_create_vm(), n, i;
	void *mem = anon(PAGE, PROT_READ | PROT_WRITE);

	CHECK(dev >= 0 && vm >= 0 && mem, "setup");
	n = ioctl(dev, MVM_CHECK_EXTENSION, MVM_CAP_NR_MEMSLOTS);
	CHECK(n >= 8, "MVM_CAP_NR_MEMSLOTS is %d", n);
	/* Every slot number below the limit works, none above it. */
	for (i = 0; i < n; i++)
		CHECK(!set_region(vm, i, 0, (uint64_t)i * MB, PAGE, mem),
		      "slot %d", i);
	CHECK_ERRNO(set_region(vm, n, 0, (uint64_t)n * MB, PAGE, mem), EINVAL);
	CHECK_ERRNO(set_region(vm, UINT32_MAX, 0, 0, PAGE, mem), EINVAL);
	close(vm);
	close(dev);
	return KTAP_PASS;
}

static int bad_flags(void)
{
	int vm = mvm_create_vm();
	void *mem = anon(PAGE, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK_ERRNO(set_region(vm, 0, 1U << 1, 0, PAGE, mem), EINVAL);
	CHECK_ERRNO(set_region(vm, 0, 1U << 31, 0, PAGE, mem), EINVAL);
	/* Flags are checked on delete too. */
	CHECK_ERRNO(set_region(vm, 0, 1U << 1, 0, 0, NULL), EINVAL);
	close(vm);
	return KTAP_PASS;
}

static int misaligned(void)
{
	int vm = mvm_create_vm();
	char *mem = anon(2 * PAGE, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK_ERRNO(set_region(vm, 0, 0, 0x800, PAGE, mem), EINVAL);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, PAGE + 1, mem), EINVAL);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, PAGE / 2, mem), EINVAL);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, PAGE, mem + 8), EINVAL);
	close(vm);
	return KTAP_PASS;
}

static int gpa_range(void)
{
	int vm = mvm_create_vm();
	void *mem = anon(2 * PAGE, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	/* Wraps around the 64-bit space. */
	CHECK_ERRNO(set_region(vm, 0, 0, -PAGE, 2 * PAGE, mem), EINVAL);
	/* Beyond any MAXPHYADDR (52 bits at most). */
	CHECK_ERRNO(set_region(vm, 0, 0, 1ULL << 52, PAGE, mem), EINVAL);
	CHECK_ERRNO(set_region(vm, 0, 0, (1ULL << 52) - PAGE, 2 * PAGE, mem),
		    EINVAL);
	/* High but inside 36 bits, which every 64-bit CPU has. */
	CHECK(!set_region(vm, 0, 0, (1ULL << 36) - PAGE, PAGE, mem), "high");
	close(vm);
	return KTAP_PASS;
}

/*
 * Slots end where the nested tables do: at 2^MVM_CAP_GPA_BITS, which is
 * the host's MAXPHYADDR, or 48 where four levels of tables cannot reach
 * that (above 48, the walk would alias a lower address).
 */
static int gpa_bits_bound(void)
{
	int dev = mvm_open_dev(), vm = mvm_create_vm();
	void *mem = anon(2 * PAGE, PROT_READ | PROT_WRITE);
	unsigned int eax, ebx, ecx, edx, maxphy, min_bits;
	uint64_t top;
	int bits;

	CHECK(dev >= 0 && vm >= 0 && mem, "setup");
	CHECK(__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx), "CPUID 0x80000008");
	maxphy = eax & 0xff;
	min_bits = maxphy < 48 ? maxphy : 48;
	bits = ioctl(dev, MVM_CHECK_EXTENSION, MVM_CAP_GPA_BITS);
	CHECK(bits >= (int)min_bits && bits <= (int)maxphy,
	      "MVM_CAP_GPA_BITS is %d, MAXPHYADDR %u", bits, maxphy);
	ktap_diag("MVM_CAP_GPA_BITS %d, MAXPHYADDR %u", bits, maxphy);
	top = 1ULL << bits;
	CHECK(!set_region(vm, 0, 0, top - PAGE, PAGE, mem),
	      "a slot ending at 2^%d", bits);
	CHECK_ERRNO(set_region(vm, 1, 0, top - PAGE, 2 * PAGE, mem), EINVAL);
	CHECK_ERRNO(set_region(vm, 1, 0, top, PAGE, mem), EINVAL);
	/* Replacing the slot in place checks the same bound. */
	CHECK_ERRNO(set_region(vm, 0, 0, top - PAGE, 2 * PAGE, mem), EINVAL);
	CHECK(!set_region(vm, 1, 0, top - 3 * PAGE, 2 * PAGE, mem),
	      "a slot just below it");
	close(vm);
	close(dev);
	return KTAP_PASS;
}

static int overlap(void)
{
	int vm = mvm_create_vm();
	void *mem = anon(4 * PAGE, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK(!set_region(vm, 0, 0, 0x10000, 2 * PAGE, mem), "slot 0");
	CHECK_ERRNO(set_region(vm, 1, 0, 0x10000, PAGE, mem), EEXIST);
	CHECK_ERRNO(set_region(vm, 1, 0, 0x11000, PAGE, mem), EEXIST);
	CHECK_ERRNO(set_region(vm, 1, 0, 0xf000, 2 * PAGE, mem), EEXIST);
	CHECK_ERRNO(set_region(vm, 1, 0, 0xf000, 4 * PAGE, mem), EEXIST);
	/* Touching is not overlapping; sharing the user memory is allowed. */
	CHECK(!set_region(vm, 1, 0, 0xf000, PAGE, mem), "below");
	CHECK(!set_region(vm, 2, 0, 0x12000, PAGE, mem), "above");
	close(vm);
	return KTAP_PASS;
}

/* Setting an existing slot replaces it: move, grow, shrink. */
static int replace_and_move(void)
{
	int vm = mvm_create_vm();
	void *mem = anon(4 * PAGE, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK(!set_region(vm, 0, 0, 0x10000, 2 * PAGE, mem), "add");
	CHECK(!set_region(vm, 0, 0, 0x11000, 2 * PAGE, mem), "move onto itself");
	CHECK(!set_region(vm, 0, 0, 0x100000, 4 * PAGE, mem), "move and grow");
	CHECK(!set_region(vm, 1, 0, 0x10000, PAGE, mem), "old place is free");
	/* A failed replace keeps the old slot. */
	CHECK_ERRNO(set_region(vm, 0, 0, 0x10000, PAGE, mem), EEXIST);
	CHECK_ERRNO(set_region(vm, 2, 0, 0x100000, PAGE, mem), EEXIST);
	close(vm);
	return KTAP_PASS;
}

static int unmapped_memory_efault(void)
{
	int vm = mvm_create_vm();
	char *mem = anon(4 * PAGE, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK(!munmap(mem + 2 * PAGE, PAGE), "munmap");
	/* The hole is in the middle: pages before it were pinned, then let go. */
	CHECK_ERRNO(set_region(vm, 0, 0, 0, 4 * PAGE, mem), EFAULT);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, PAGE, mem + 2 * PAGE), EFAULT);
	/* Kernel addresses and non-canonical ones. */
	CHECK_ERRNO(set_region(vm, 0, 0, 0, PAGE, (void *)0xffff888000000000UL),
		    EFAULT);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, PAGE, (void *)(1UL << 62)), EFAULT);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, 2 * PAGE, (void *)-PAGE), EFAULT);
	CHECK(!set_region(vm, 0, 0, 0, 2 * PAGE, mem), "the mapped part");
	CHECK_ERRNO(ioctl(vm, MVM_SET_MEMORY_REGION, NULL), EFAULT);
	CHECK_ERRNO(ioctl(vm, MVM_SET_MEMORY_REGION, (void *)1), EFAULT);
	close(vm);
	return KTAP_PASS;
}

static int readonly(void)
{
	int vm = mvm_create_vm();
	void *ro = anon(2 * PAGE, PROT_READ);

	CHECK(vm >= 0 && ro, "setup");
	/* The guest may write a writable slot: its memory must be writable. */
	CHECK_ERRNO(set_region(vm, 0, 0, 0, 2 * PAGE, ro), EFAULT);
	CHECK(!set_region(vm, 0, MVM_MEM_READONLY, 0, 2 * PAGE, ro), "ro");
	close(vm);
	return KTAP_PASS;
}

static uint64_t mem_total(void)
{
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (f) {
		if (fscanf(f, "MemTotal: %llu kB", &kb) != 1)
			kb = 0;
		fclose(f);
	}
	return kb * 1024;
}

static int too_large_e2big(void)
{
	int vm = mvm_create_vm();
	void *mem = anon(PAGE, PROT_READ | PROT_WRITE);
	/* More than the host has, in a range every MAXPHYADDR (>= 36) holds. */
	uint64_t size = (mem_total() * 2 + MB - 1) & ~(MB - 1);

	CHECK(vm >= 0 && mem && size, "setup");
	if (size > 1ULL << 36)
		SKIP("this host has too much RAM to ask for more below 64 GiB");
	CHECK_ERRNO(set_region(vm, 0, 0, 0, size, mem), E2BIG);
	close(vm);
	return KTAP_PASS;
}

/*
 * A slot of 1 TiB or more would need a page array larger than kvmalloc()
 * allows (INT_MAX bytes), which WARNs: it is refused with E2BIG before
 * anything is allocated, wherever it would go.  The lane fails on any
 * WARNING in the kernel log.  The test VMs have far less than 1 TiB of
 * RAM, so the RAM bound refuses these sizes too; only a host with more
 * would have reached kvmalloc().
 */
static int slot_1tib_e2big(void)
{
	int vm = mvm_create_vm();
	void *mem = anon(PAGE, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK_ERRNO(set_region(vm, 0, 0, 0, 1ULL << 40, mem), E2BIG);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, (1ULL << 40) + 2 * MB, mem), E2BIG);
	CHECK_ERRNO(set_region(vm, 1, 0, 1ULL << 44, 1ULL << 40, mem), E2BIG);
	CHECK_ERRNO(set_region(vm, 2, 0, 0, 1ULL << 62, mem), E2BIG);
	/* Nothing was set up: the slot takes a real page afterwards. */
	CHECK(!set_region(vm, 0, 0, 0, PAGE, mem), "slot after the refusals");
	close(vm);
	return KTAP_PASS;
}

/* The slot holds the pages: unmapping them under it is safe. */
static int munmap_under_slot(void)
{
	int vm = mvm_create_vm(), i;
	char *mem = anon(2 * MB, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	for (i = 0; i < 2 * (int)MB; i += PAGE)
		mem[i] = (char)i;
	CHECK(!set_region(vm, 0, 0, 0, 2 * MB, mem), "add");
	CHECK(!munmap(mem, 2 * MB), "munmap");
	mem = anon(2 * MB, PROT_READ | PROT_WRITE);
	CHECK(mem, "remap");
	CHECK(!set_region(vm, 1, 0, 4 * MB, 2 * MB, mem), "slot on new memory");
	CHECK(!set_region(vm, 0, 0, 0, 0, NULL), "delete the orphaned slot");
	close(vm);	/* slot 1 goes with the VM */
	return KTAP_PASS;
}

static int memfd_backed(void)
{
	int vm = mvm_create_vm(), fd = memfd_create("guest", MFD_CLOEXEC);
	void *mem;

	CHECK(vm >= 0 && fd >= 0, "setup");
	CHECK(!ftruncate(fd, 4 * MB), "ftruncate");
	mem = mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(mem != MAP_FAILED, "mmap");
	CHECK(!set_region(vm, 0, 0, 0, 4 * MB, mem), "memfd slot");
	close(fd);
	CHECK(!munmap(mem, 4 * MB), "munmap");
	close(vm);
	return KTAP_PASS;
}

/*
 * A regular file: shared (the guest's writes go to the file) and private
 * (copy-on-write, the file stays as it was).  /tmp is a tmpfs in the
 * test VMs, whose pages need no writeback, so a long-term pin is allowed
 * (for a writable one on a disk file system, recent kernels refuse it).
 */
static int file_backed(void)
{
	int vm = mvm_create_vm();
	int fd = open("/tmp/memslot-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	void *shared, *private;

	CHECK(vm >= 0 && fd >= 0, "setup");
	unlink("/tmp/memslot-file");
	CHECK(!ftruncate(fd, 4 * MB), "ftruncate");
	shared = mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	private = mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		       0);
	CHECK(shared != MAP_FAILED && private != MAP_FAILED, "mmap");
	CHECK(!set_region(vm, 0, 0, 0, 4 * MB, shared), "shared file slot");
	CHECK(!set_region(vm, 1, 0, 4 * MB, 4 * MB, private),
	      "private file slot");
	CHECK(!set_region(vm, 2, MVM_MEM_READONLY, 8 * MB, 4 * MB, shared),
	      "read-only slot over the same pages");
	close(fd);
	CHECK(!munmap(shared, 4 * MB) && !munmap(private, 4 * MB), "munmap");
	close(vm);
	return KTAP_PASS;
}

/*
 * Memory that is not RAM with struct pages mvm can pin (VM_PFNMAP,
 * VM_IO) cannot back a slot: the vDSO's data pages ([vvar]) are such a
 * mapping in every process.
 */
static void *vvar_mapping(void)
{
	char line[256];
	unsigned long lo = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "[vvar]")) {
			if (sscanf(line, "%lx-", &lo) != 1)
				lo = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return (void *)lo;
}

static int pfnmap_efault(void)
{
	int vm = mvm_create_vm();
	void *vvar = vvar_mapping();

	CHECK(vm >= 0, "setup");
	if (!vvar)
		SKIP("no [vvar] mapping in this process");
	CHECK_ERRNO(set_region(vm, 0, MVM_MEM_READONLY, 0, PAGE, vvar),
		    EFAULT);
	CHECK_ERRNO(set_region(vm, 0, 0, 0, PAGE, vvar), EFAULT);
	/* Nothing half made: the slot is free for real memory. */
	CHECK(!set_region(vm, 0, 0, 0, PAGE, anon(PAGE, PROT_READ | PROT_WRITE)),
	      "slot after the refusals");
	close(vm);
	return KTAP_PASS;
}

/* Without CAP_IPC_LOCK, slots count against RLIMIT_MEMLOCK. */
static int memlock_limit(void)
{
	struct rlimit rl = { 1 * MB, 1 * MB };
	int vm = mvm_create_vm();
	void *mem = anon(4 * MB, PROT_READ | PROT_WRITE);

	CHECK(vm >= 0 && mem, "setup");
	CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit");
	/* Dropping root clears the capabilities; each case is its own process. */
	CHECK(!setgid(65534) && !setuid(65534), "drop root");
	CHECK_ERRNO(set_region(vm, 0, 0, 0, 2 * MB, mem), ENOMEM);
	CHECK(!set_region(vm, 0, 0, 0, MB / 2, mem), "within the limit");
	CHECK_ERRNO(set_region(vm, 1, 0, MB, MB, mem), ENOMEM);
	/* Deleting gives the charge back. */
	CHECK(!set_region(vm, 0, 0, 0, 0, NULL), "delete");
	CHECK(!set_region(vm, 1, 0, MB, MB, mem), "after delete");
	close(vm);
	return KTAP_PASS;
}

/* Create and tear down VMs with slots; KASAN and kmemleak watch. */
static int churn(void)
{
	char *mem = anon(8 * MB, PROT_READ | PROT_WRITE);
	int i, j;

	CHECK(mem, "setup");
	for (i = 0; i < 50; i++) {
		int vm = mvm_create_vm();

		CHECK(vm >= 0, "create VM #%d", i);
		for (j = 0; j < 4; j++)
			CHECK(!set_region(vm, j, j & 1 ? MVM_MEM_READONLY : 0,
					  (uint64_t)j * 2 * MB, 2 * MB,
					  mem + j * 2 * MB), "slot %d", j);
		if (i & 1)
			CHECK(!set_region(vm, 0, 0, 0, 0, NULL), "delete");
		close(vm);
	}
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(add_and_delete),
	KTAP_CASE(nr_memslots),
	KTAP_CASE(bad_flags),
	KTAP_CASE(misaligned),
	KTAP_CASE(gpa_range),
	KTAP_CASE(gpa_bits_bound),
	KTAP_CASE(overlap),
	KTAP_CASE(replace_and_move),
	KTAP_CASE(unmapped_memory_efault),
	KTAP_CASE(readonly),
	KTAP_CASE(too_large_e2big),
	KTAP_CASE(slot_1tib_e2big),
	KTAP_CASE(munmap_under_slot),
	KTAP_CASE(memfd_backed),
	KTAP_CASE(file_backed),
	KTAP_CASE(pfnmap_efault),
	KTAP_CASE(memlock_limit),
	KTAP_CASE_T(churn, 300),
};

KTAP_MAIN(cases)
