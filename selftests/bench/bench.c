// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: the same guest workloads under mvm, then under KVM, in one
 * boot of the test VM.  Not a test: it prints figures.
 *
 * The init script has loaded mvm.  This program runs every workload on
 * /dev/mvm, closes everything, unloads mvm (delete_module), loads kvm and
 * the vendor module with busybox modprobe, runs the workloads again on
 * /dev/kvm, and prints each figure as a KTAP diagnostic line
 * ("# name: mvm X unit, kvm Y unit, ratio R") and a summary table.
 *
 * One figure is a whole Linux boot: the launcher (/usr/bin/mvm) boots the
 * test VM's kernel while mvm is loaded, and QEMU with -accel kvm -M microvm
 * boots the same kernel and initramfs once KVM is; see "Linux boot to init"
 * below.
 *
 * Both hypervisors run the same guest bytes: 32-bit flat protected mode
 * without paging, so a guest-physical address is a linear address.  Each
 * figure is the median of REPS repetitions; a repetition's iteration count
 * is calibrated on each hypervisor to take about TARGET_NS (KVM's VM
 * create/destroy is far slower than mvm's, and mvm's count would take
 * minutes), and printed.  The test VM's clock runs on QEMU TCG's emulated
 * CPU: only the ratios mean anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/mvm_util.h"

#define PAGE		4096UL
#define MiB		(1UL << 20)

/* Guest-physical layout: slot 0 at 0 holds the GDT, TSS, params and code. */
#define LOW_MEM		(2 * MiB)
#define GDT_GPA		0x500
#define TSS_GPA		0x600
#define PARAM_N		0x800		/* u32: iterations of the next round */
#define PARAM_ADDR	0x804		/* u32: where the touch loop starts */
#define CODE_GPA	0x1000
#define TOUCH_SLOT	1
#define TOUCH_GPA	0x10000000UL	/* slot 1: the first-touch memory */
#define TOUCH_MIB	64
#define CYCLE_MEM	(1 * MiB)	/* the create/destroy VM's one slot */

#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_TSS		0x18

#define PORT_SYNC	0x10		/* the port-I/O loop's port */
#define PORT_POSTED	0x80		/* posted (mvm), coalesced (KVM) */
#define PORT_DONE	0xf0		/* end of a round: a synchronous exit */

#define REPS		5
#define TARGET_NS	300000000ULL	/* a repetition takes about this */

#define STR_(x)		#x
#define STR(x)		STR_(x)

/*
 * The guests.  Each round reads its count from PARAM_N, so the host sets
 * the count and resumes the vCPU; a round ends with an OUT to PORT_DONE.
 */
__asm__(".pushsection .rodata, \"a\"\n"
    ".code32\n"
    "guest_code:\n"
    /* N x CPUID leaf 0, handled in the kernel. */
    "guest_cpuid:\n"
    "1:	mov " STR(PARAM_N) ", %esi\n"
    "2:	xor %eax, %eax\n"
    "	cpuid\n"
    "	dec %esi\n"
    "	jnz 2b\n"
    "	out %al, $" STR(PORT_DONE) "\n"
    "	jmp 1b\n"
    /* One exit to userspace per OUT, forever. */
    "guest_pio:\n"
    "1:	out %al, $" STR(PORT_SYNC) "\n"
    "	jmp 1b\n"
    /* N x OUT to the posted (coalesced) port. */
    "guest_posted:\n"
    "1:	mov " STR(PARAM_N) ", %esi\n"
    "2:	out %al, $" STR(PORT_POSTED) "\n"
    "	dec %esi\n"
    "	jnz 2b\n"
    "	out %al, $" STR(PORT_DONE) "\n"
    "	jmp 1b\n"
    /* One byte written to each of N pages from PARAM_ADDR on. */
    "guest_touch:\n"
    "1:	mov " STR(PARAM_ADDR) ", %edi\n"
    "	mov " STR(PARAM_N) ", %ecx\n"
    "2:	movb $1, (%edi)\n"
    "	add $4096, %edi\n"
    "	dec %ecx\n"
    "	jnz 2b\n"
    "	out %al, $" STR(PORT_DONE) "\n"
    "	jmp 1b\n"
    "guest_code_end:\n"
    ".code64\n"
    ".popsection\n");

extern const uint8_t guest_code[], guest_code_end[];
extern const uint8_t guest_cpuid[], guest_pio[], guest_posted[], guest_touch[];

/* --- the two hypervisors behind one interface ------------------------------ */

struct hv {
	const char *name;
	int kvm;
	int dev;
	long mmap_size;
	long coalesced_pgoff;	/* KVM: the coalesced ring's page, or 0 */
	int coalesced_pio;	/* KVM: KVM_CAP_COALESCED_PIO */
};

struct bvm {
	struct hv *hv;
	int fd;
	int vcpu;
	uint8_t *mem;		/* slot 0 */
	void *run;		/* struct mvm_run or struct kvm_run */
	void *ring;		/* struct mvm_ring or kvm_coalesced_mmio_ring */
};

enum { X_PORT, X_RING_FULL, X_ERR };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#define die(fmt, ...)							\
	do {								\
		printf("# bench: %s: " fmt " (errno %d: %s)\n",	\
		       hv->name, ##__VA_ARGS__, errno, strerror(errno)); \
		fflush(stdout);						\
		exit(1);						\
	} while (0)

static int hv_open(struct hv *hv)
{
	hv->dev = open(hv->kvm ? "/dev/kvm" : MVM_DEV, O_RDWR | O_CLOEXEC);
	if (hv->dev < 0)
		return -1;
	hv->mmap_size = ioctl(hv->dev, hv->kvm ? KVM_GET_VCPU_MMAP_SIZE :
			      MVM_GET_VCPU_MMAP_SIZE, 0);
	if (hv->mmap_size <= 0)
		return -1;
	if (hv->kvm) {
		hv->coalesced_pgoff = ioctl(hv->dev, KVM_CHECK_EXTENSION,
					    KVM_CAP_COALESCED_MMIO);
		hv->coalesced_pio = ioctl(hv->dev, KVM_CHECK_EXTENSION,
					  KVM_CAP_COALESCED_PIO) > 0;
	}
	return 0;
}

static void set_slot(struct bvm *v, uint32_t slot, uint64_t gpa,
		     uint64_t size, void *hva)
{
	struct hv *hv = v->hv;
	int r;

	if (hv->kvm) {
		struct kvm_userspace_memory_region m = {
			.slot = slot, .guest_phys_addr = gpa,
			.memory_size = size, .userspace_addr = (uintptr_t)hva,
		};

		r = ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &m);
	} else {
		struct mvm_memory_region m = {
			.slot = slot, .guest_phys_addr = gpa,
			.memory_size = size, .userspace_addr = (uintptr_t)hva,
		};

		r = ioctl(v->fd, MVM_SET_MEMORY_REGION, &m);
	}
	if (r)
		die("set slot %u (%llu bytes)", slot, (unsigned long long)size);
}

/* The hidden parts the guest runs with; the GDT holds the same. */
struct seg {
	uint64_t base;
	uint32_t limit;
	uint16_t sel;
	uint8_t type, s, db, g;
};

static const struct seg code32 = { 0, 0xffffffff, SEL_CODE32, 0xb, 1, 1, 1 };
static const struct seg data32 = { 0, 0xffffffff, SEL_DATA, 0x3, 1, 1, 1 };
static const struct seg tss32 = { TSS_GPA, 0x67, SEL_TSS, 0xb, 0, 0, 0 };

static uint64_t gdt_entry(const struct seg *s)
{
	uint32_t lim = s->g ? s->limit >> 12 : s->limit;

	return (lim & 0xffffULL) | (s->base & 0xffffffULL) << 16 |
	       (uint64_t)s->type << 40 | (uint64_t)s->s << 44 | 1ULL << 47 |
	       ((uint64_t)lim >> 16 & 0xf) << 48 | (uint64_t)s->db << 54 |
	       (uint64_t)s->g << 55 | (s->base >> 24 & 0xffULL) << 56;
}

#define FILL_SEG(d, src)						\
	do {								\
		memset(&(d), 0, sizeof(d));				\
		(d).base = (src)->base;					\
		(d).limit = (src)->limit;				\
		(d).selector = (src)->sel;				\
		(d).type = (src)->type;					\
		(d).s = (src)->s;					\
		(d).present = 1;					\
		(d).db = (src)->db;					\
		(d).g = (src)->g;					\
	} while (0)

#define FILL_SREGS(sr)							\
	do {								\
		FILL_SEG((sr).cs, &code32);				\
		FILL_SEG((sr).ds, &data32);				\
		(sr).es = (sr).fs = (sr).gs = (sr).ss = (sr).ds;	\
		FILL_SEG((sr).tr, &tss32);				\
		memset(&(sr).ldt, 0, sizeof((sr).ldt));			\
		(sr).ldt.type = 2;					\
		(sr).ldt.unusable = 1;					\
		(sr).gdt.base = GDT_GPA;				\
		(sr).gdt.limit = 4 * 8 - 1;				\
		(sr).idt.base = 0;					\
		(sr).idt.limit = 0;					\
		(sr).cr0 = 0x33;	/* PE MP ET NE */		\
		(sr).cr3 = 0;						\
		(sr).cr4 = 0x600;	/* OSFXSR OSXMMEXCPT */		\
		(sr).efer = 0;						\
	} while (0)

static void kvm_set_cpuid(struct bvm *v)
{
	struct hv *hv = v->hv;
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	if (!c)
		die("calloc");
	c->nent = 256;
	if (ioctl(hv->dev, KVM_GET_SUPPORTED_CPUID, c))
		die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(v->vcpu, KVM_SET_CPUID2, c))
		die("KVM_SET_CPUID2");
	free(c);
}

/* A VM with slot 0 at gpa 0 and one vCPU at @entry in 32-bit flat mode. */
static void vm_new(struct hv *hv, struct bvm *v, const uint8_t *entry)
{
	uint64_t *gdt;

	memset(v, 0, sizeof(*v));
	v->hv = hv;
	v->fd = ioctl(hv->dev, hv->kvm ? KVM_CREATE_VM : MVM_CREATE_VM, 0);
	if (v->fd < 0)
		die("create VM");
	v->mem = mmap(NULL, LOW_MEM, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED)
		die("mmap");
	gdt = (uint64_t *)(v->mem + GDT_GPA);
	gdt[SEL_CODE32 / 8] = gdt_entry(&code32);
	gdt[SEL_DATA / 8] = gdt_entry(&data32);
	gdt[SEL_TSS / 8] = gdt_entry(&tss32);
	memcpy(v->mem + CODE_GPA, guest_code, guest_code_end - guest_code);
	set_slot(v, 0, 0, LOW_MEM, v->mem);

	v->vcpu = ioctl(v->fd, hv->kvm ? KVM_CREATE_VCPU : MVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		die("create vCPU");
	v->run = mmap(NULL, hv->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	if (v->run == MAP_FAILED)
		die("mmap vCPU");
	if (hv->kvm) {
		struct kvm_sregs sr;
		struct kvm_regs r = { .rflags = 2 };

		if (hv->coalesced_pgoff > 0)
			v->ring = (char *)v->run + hv->coalesced_pgoff * PAGE;
		kvm_set_cpuid(v);
		if (ioctl(v->vcpu, KVM_GET_SREGS, &sr))
			die("KVM_GET_SREGS");
		FILL_SREGS(sr);
		if (ioctl(v->vcpu, KVM_SET_SREGS, &sr))
			die("KVM_SET_SREGS");
		r.rip = CODE_GPA + (entry - guest_code);
		if (ioctl(v->vcpu, KVM_SET_REGS, &r))
			die("KVM_SET_REGS");
	} else {
		struct mvm_sregs sr;
		struct mvm_regs r = { .rflags = 2 };

		v->ring = (char *)v->run + MVM_RING_PGOFF * PAGE;
		if (ioctl(v->vcpu, MVM_GET_SREGS, &sr))
			die("MVM_GET_SREGS");
		FILL_SREGS(sr);
		if (ioctl(v->vcpu, MVM_SET_SREGS, &sr))
			die("MVM_SET_SREGS");
		r.rip = CODE_GPA + (entry - guest_code);
		if (ioctl(v->vcpu, MVM_SET_REGS, &r))
			die("MVM_SET_REGS");
	}
}

static void vm_free(struct bvm *v)
{
	munmap(v->run, v->hv->mmap_size);
	close(v->vcpu);
	close(v->fd);
	munmap(v->mem, LOW_MEM);
}

static void set_param(struct bvm *v, uint32_t off, uint32_t val)
{
	memcpy(v->mem + off, &val, sizeof(val));
}

/* Runs to the next exit: an OUT (X_PORT), a full mvm ring, or else. */
static int vm_run(struct bvm *v, uint16_t *port)
{
	struct hv *hv = v->hv;

	if (hv->kvm) {
		struct kvm_run *r = v->run;

		if (ioctl(v->vcpu, KVM_RUN, 0))
			die("KVM_RUN");
		if (r->exit_reason == KVM_EXIT_IO &&
		    r->io.direction == KVM_EXIT_IO_OUT && r->io.count == 1) {
			*port = r->io.port;
			return X_PORT;
		}
		printf("# bench: kvm: exit %u\n", r->exit_reason);
	} else {
		struct mvm_run *r = v->run;

		if (ioctl(v->vcpu, MVM_RUN, 0))
			die("MVM_RUN");
		if ((r->exit_reason == MVM_EXIT_IO ||
		     r->exit_reason == MVM_EXIT_RING_FULL) &&
		    r->io.space == MVM_SPACE_PIO && r->io.write) {
			*port = r->io.addr;
			return r->exit_reason == MVM_EXIT_IO ? X_PORT :
			       X_RING_FULL;
		}
		printf("# bench: mvm: exit %u at rip %#llx\n", r->exit_reason,
		       (unsigned long long)r->rip);
	}
	return X_ERR;
}

/* Runs one round: to the OUT to PORT_DONE. */
static void run_round(struct bvm *v)
{
	struct hv *hv = v->hv;
	uint16_t port;

	errno = 0;
	if (vm_run(v, &port) != X_PORT || port != PORT_DONE)
		die("round did not end at port %#x", PORT_DONE);
}

/* Consumes the ring (mvm's, or KVM's coalesced ring); entries consumed. */
static uint64_t ring_drain(struct bvm *v)
{
	uint32_t head, tail, n;

	if (!v->ring)
		return 0;
	if (v->hv->kvm) {
		struct kvm_coalesced_mmio_ring *r = v->ring;
		uint32_t max = (PAGE - sizeof(*r)) / sizeof(r->coalesced_mmio[0]);
		uint64_t data = 0;

		head = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
		tail = r->first;
		for (n = 0; tail != head; tail = (tail + 1) % max, n++)
			data += r->coalesced_mmio[tail].data[0];
		__atomic_store_n(&r->first, tail, __ATOMIC_RELEASE);
		(void)data;
		return n;
	} else {
		struct mvm_ring *r = v->ring;
		uint64_t data = 0;

		head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		tail = r->tail;
		for (n = 0; tail != head; tail++, n++)
			data += r->entries[tail % r->nr_entries].data;
		__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
		(void)data;
		return n;
	}
}

/* --- workloads: each runs n iterations, returns elapsed ns ------------------ */

struct ctx {
	struct hv *hv;
	struct bvm vm;
	uint64_t extra;		/* a second figure from the same run */
};

static uint64_t w_cpuid(struct ctx *c, uint64_t n)
{
	uint64_t t0;

	set_param(&c->vm, PARAM_N, n);
	t0 = now_ns();
	run_round(&c->vm);
	return now_ns() - t0;
}

static uint64_t w_pio(struct ctx *c, uint64_t n)
{
	struct hv *hv = c->hv;
	uint64_t t0 = now_ns(), i;
	uint16_t port;

	for (i = 0; i < n; i++) {
		errno = 0;
		if (vm_run(&c->vm, &port) != X_PORT || port != PORT_SYNC)
			die("port-I/O loop");
	}
	return now_ns() - t0;
}

/* Posted (mvm) or coalesced (KVM) writes; every write accounted for. */
static uint64_t w_posted(struct ctx *c, uint64_t n)
{
	struct hv *hv = c->hv;
	uint64_t t0, got = 0, exits = 0;
	uint16_t port;
	int x;

	set_param(&c->vm, PARAM_N, n);
	t0 = now_ns();
	for (;;) {
		errno = 0;
		x = vm_run(&c->vm, &port);
		if (x == X_ERR)
			die("posted loop");
		got += ring_drain(&c->vm);
		if (port == PORT_DONE && x == X_PORT)
			break;
		if (port != PORT_POSTED)
			die("posted loop: port %#x", port);
		/* A write that did not fit, or a synchronous one. */
		got++;
		exits++;
	}
	t0 = now_ns() - t0;
	if (got != n)
		die("posted loop: %llu of %llu writes",
		    (unsigned long long)got, (unsigned long long)n);
	c->extra = exits;
	return t0;
}

/*
 * First touch: a fresh slot of TOUCH_MIB, one byte per page.  Returns the
 * guest's loop; c->extra gets the slot's creation plus the loop (mvm pins
 * the slot's pages when it is set, KVM faults them in on first touch).
 */
static uint64_t w_touch(struct ctx *c, uint64_t n)
{
	struct hv *hv = c->hv;
	uint64_t size = n * PAGE, t0, t1, t2;
	void *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap %llu MiB", (unsigned long long)size >> 20);
	set_param(&c->vm, PARAM_N, n);
	set_param(&c->vm, PARAM_ADDR, TOUCH_GPA);
	t0 = now_ns();
	set_slot(&c->vm, TOUCH_SLOT, TOUCH_GPA, size, mem);
	t1 = now_ns();
	run_round(&c->vm);
	t2 = now_ns();
	set_slot(&c->vm, TOUCH_SLOT, TOUCH_GPA, 0, mem);
	munmap(mem, size);
	c->extra = t2 - t0;
	return t2 - t1;
}

/* Create a VM with one slot and one vCPU, close it: n times. */
static uint64_t w_cycle(struct ctx *c, uint64_t n)
{
	static void *mem;
	struct hv *hv = c->hv;
	uint64_t t0, i;
	int vm, vcpu;

	if (!mem) {
		mem = mmap(NULL, CYCLE_MEM, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (mem == MAP_FAILED)
			die("mmap");
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		struct bvm v = { .hv = hv };

		vm = ioctl(hv->dev, hv->kvm ? KVM_CREATE_VM : MVM_CREATE_VM, 0);
		if (vm < 0)
			die("create VM, cycle %llu", (unsigned long long)i);
		v.fd = vm;
		set_slot(&v, 0, 0, CYCLE_MEM, mem);
		vcpu = ioctl(vm, hv->kvm ? KVM_CREATE_VCPU : MVM_CREATE_VCPU, 0);
		if (vcpu < 0)
			die("create vCPU, cycle %llu", (unsigned long long)i);
		close(vcpu);
		close(vm);
	}
	return now_ns() - t0;
}

/* --- figures ------------------------------------------------------------------ */

enum { MVM, KVM };

struct figure {
	const char *name;
	const char *unit;
	int higher_better;
	uint64_t n[2];		/* iterations per repetition */
	double v[2];		/* the median; 0: not measured */
	const char *skip;	/* why it was not measured at all */
	int failed;		/* a run failed: the figure is not ok */
};

enum {
	F_CPUID, F_PIO, F_POSTED_SYNC, F_POSTED_COALESCED, F_POSTED_EXITS,
	F_TOUCH, F_SLOT_TOUCH, F_CYCLE, F_BOOT, NR_FIGURES
};

static struct figure figs[NR_FIGURES] = {
	[F_CPUID] = { "cpuid", "ns/cpuid", 0 },
	[F_PIO] = { "pio_exit", "ns/exit", 0 },
	[F_POSTED_SYNC] = { "posted_vs_kvm_sync_pio", "writes/s", 1 },
	[F_POSTED_COALESCED] = { "posted_vs_kvm_coalesced_pio", "writes/s", 1 },
	[F_POSTED_EXITS] = { "posted_exits", "exits/1k writes", 0 },
	[F_TOUCH] = { "first_touch", "ns/page", 0 },
	[F_SLOT_TOUCH] = { "slot_set_and_touch", "ns/page", 0 },
	[F_CYCLE] = { "vm_create_destroy", "us/cycle", 0 },
	[F_BOOT] = { "linux_boot_to_init", "s", 0 },
};

/*
 * MVM_BENCH_ONLY (make bench MVM_BENCH_ONLY="cpuid pio_exit"; the test
 * VM's init passes it on): the workloads to run, by the names measure()
 * prints; unset, all of them.  The others are SKIP, for quick rounds on
 * one exit in the vmx lane, whose full run takes over half an hour.
 */
static const char *const only_skip = "not in MVM_BENCH_ONLY";

static int selected(const char *name)
{
	const char *only = getenv("MVM_BENCH_ONLY"), *p;
	size_t len = strlen(name);

	if (!only || !*only)
		return 1;
	for (p = only; (p = strstr(p, name)); p += len)
		if ((p == only || p[-1] == ',' || p[-1] == ' ') &&
		    (!p[len] || p[len] == ',' || p[len] == ' '))
			return 1;
	return 0;
}

/* @name not selected: figures @first to @last are SKIP. */
static int skip_unless(const char *name, int first, int last)
{
	int i;

	if (selected(name))
		return 0;
	for (i = first; i <= last; i++)
		figs[i].skip = only_skip;
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static long mem_available_mib(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? kb : kb >> 10;
}

/* Iterations for about TARGET_NS, from growing trial runs. */
static uint64_t calibrate(struct ctx *c, uint64_t (*w)(struct ctx *, uint64_t),
			  uint64_t n)
{
	uint64_t t;

	for (;;) {
		t = w(c, n);
		if (t >= TARGET_NS / 8 || n >= (1ULL << 30))
			break;
		n *= 4;
	}
	n = n * (double)TARGET_NS / (t ? t : 1);
	return n ? n : 1;
}

/*
 * REPS repetitions of @n iterations (calibrated first if @n is 0); the
 * medians of elapsed/iteration * @scale and, if @extra, of c->extra.
 */
static uint64_t measure(struct ctx *c, const char *name,
			uint64_t (*w)(struct ctx *, uint64_t), uint64_t n,
			double scale, double *med, double *extra_med)
{
	double v[REPS], e[REPS];
	int i;

	printf("# %s %s: MemAvailable %ld MiB\n", c->hv->name, name,
	       mem_available_mib());
	if (!n)
		n = calibrate(c, w, 16);
	printf("# %s %s: n=%llu:", c->hv->name, name, (unsigned long long)n);
	fflush(stdout);
	for (i = 0; i < REPS; i++) {
		v[i] = (double)w(c, n) * scale / n;
		e[i] = (double)c->extra * scale / n;
		printf(" %.4g", v[i]);
		fflush(stdout);
	}
	printf("\n");
	fflush(stdout);
	*med = median(v, REPS);
	if (extra_med)
		*extra_med = median(e, REPS);
	return n;
}

/* --- Linux boot to init ---------------------------------------------------- */

/*
 * The launcher, and QEMU with -accel kvm -M microvm, boot the same kernel
 * and initramfs (the svm lane's /guest: the test VM's own kernel and
 * selftests/vm/guest-init) with the same command line, memory and one
 * vCPU.  A run is timed from fork() to the guest init's first line on the
 * serial console (GUEST_MARKER), which mvm.guest=bench follows with a
 * power-off.  The launcher appends tsc_early_khz= and tsc=reliable
 * (launcher.rst says why); microvm's guest gets kvmclock instead.
 */
#define GUEST_KERNEL	"/guest/vmlinuz"
#define GUEST_INITRD	"/guest/initrd.cpio.gz"
#define GUEST_MEM	"256M"
#define GUEST_APPEND	"console=ttyS0 quiet panic=-1 pci=noearly mvm.guest=bench"
#define GUEST_MARKER	"mvm-guest: init after "
#define LAUNCHER	"/usr/bin/mvm"
#define QEMU		"/usr/bin/qemu-system-x86_64"
#define QEMU_DATA	"/usr/share/qemu"	/* qboot, linuxboot_dma.bin */
#define BOOT_REPS	3
#define BOOT_TIMEOUT_S	240	/* to the marker */
#define POWEROFF_S	30	/* from the marker to the VMM's exit */
#define BOOT_OUT_MAX	(64 * 1024)

static const char *const mvm_boot[] = {
	LAUNCHER, "run", "-k", GUEST_KERNEL, "-i", GUEST_INITRD,
	"-m", GUEST_MEM, "-p", GUEST_APPEND, NULL,
};

/* -L: the firmware that run.sh's stage_qemu puts in the test VM. */
static const char *const qemu_boot[] = {
	QEMU, "-nodefaults", "-no-user-config", "-L", QEMU_DATA,
	"-accel", "kvm", "-M", "microvm", "-cpu", "host",
	"-m", GUEST_MEM, "-smp", "1", "-nographic", "-serial", "stdio",
	"-no-reboot", "-kernel", GUEST_KERNEL, "-initrd", GUEST_INITRD,
	"-append", GUEST_APPEND, NULL,
};

struct boot {
	double init_s;		/* fork() to the marker; < 0: none */
	double guest_s;		/* the guest's uptime at the marker */
	int status;		/* the VMM's exit status, 128 + N: signal N */
	char out[BOOT_OUT_MAX + 1];	/* the VMM's output (the last of it) */
	size_t len;
};

/* Appends what the pipe holds; 0 at its end (the VMM has exited). */
static ssize_t boot_read(struct boot *b, int fd)
{
	ssize_t n;

	if (b->len == BOOT_OUT_MAX) {
		/* Keep the later half, which has the marker if it came. */
		memmove(b->out, b->out + BOOT_OUT_MAX / 2, BOOT_OUT_MAX / 2);
		b->len = BOOT_OUT_MAX / 2;
	}
	n = read(fd, b->out + b->len, BOOT_OUT_MAX - b->len);
	if (n > 0) {
		b->len += n;
		b->out[b->len] = '\0';
	}
	return n;
}

/* One boot: the VMM's output to a pipe, stdin at its end. */
static void boot_once(const char *const *argv, struct boot *b)
{
	struct pollfd p = { .events = POLLIN };
	uint64_t t0, end;
	const char *m;
	int fds[2], st;
	pid_t pid;

	memset(b, 0, sizeof(*b));
	b->init_s = -1;
	b->status = -1;
	if (pipe2(fds, O_CLOEXEC))
		return;
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	p.fd = fds[0];
	end = t0 + BOOT_TIMEOUT_S * 1000000000ULL;
	while (now_ns() < end) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (boot_read(b, p.fd) <= 0)
			break;
		m = strstr(b->out, GUEST_MARKER);
		if (b->init_s < 0 && m) {
			b->init_s = (now_ns() - t0) / 1e9;
			end = now_ns() + POWEROFF_S * 1000000000ULL;
		}
	}
	if (waitpid(pid, &st, WNOHANG) != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	b->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	close(p.fd);
	m = strstr(b->out, GUEST_MARKER);
	if (m)
		sscanf(m + strlen(GUEST_MARKER), "%lf", &b->guest_s);
}

static void boot_dump(const char *name, const struct boot *b)
{
	char *copy = strdup(b->out), *line, *save;

	for (line = copy ? strtok_r(copy, "\r\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\r\n", &save))
		printf("#   %s: %s\n", name, line);
	free(copy);
}

/* The medians of the guest's uptime at init: the part its kernel ran. */
static double boot_guest_s[2];

/*
 * BOOT_REPS boots of @argv; the median time to init goes to figure
 * F_BOOT for hypervisor @h.  The first boot's output is printed, and that
 * of any boot that does not reach init.
 */
static void measure_boot(const char *name, const char *const *argv, int h)
{
	static struct boot b;
	struct figure *f = &figs[F_BOOT];
	double v[BOOT_REPS], g[BOOT_REPS];
	int i;

	if (skip_unless("linux_boot_to_init", F_BOOT, F_BOOT))
		return;
	if (access(GUEST_KERNEL, R_OK) || access(GUEST_INITRD, R_OK)) {
		f->skip = "no " GUEST_KERNEL " in this test VM";
		return;
	}
	if (access(argv[0], X_OK)) {
		printf("# %s linux_boot_to_init: no %s\n", name, argv[0]);
		f->skip = h == KVM ? "no QEMU in this test VM" : "no launcher";
		return;
	}
	printf("# %s linux_boot_to_init: MemAvailable %ld MiB, %s\n", name,
	       mem_available_mib(), GUEST_APPEND);
	for (i = 0; i < BOOT_REPS; i++) {
		boot_once(argv, &b);
		if (b.init_s < 0) {
			printf("# %s linux_boot_to_init: run %d: no \"%s\" within %d s, exit status %d; its output:\n",
			       name, i + 1, GUEST_MARKER, BOOT_TIMEOUT_S,
			       b.status);
			boot_dump(name, &b);
			f->failed = 1;
			return;
		}
		printf("# %s linux_boot_to_init: run %d: %.2f s to init (guest uptime %.2f s), exit status %d\n",
		       name, i + 1, b.init_s, b.guest_s, b.status);
		if (!i)
			boot_dump(name, &b);
		v[i] = b.init_s;
		g[i] = b.guest_s;
	}
	f->v[h] = median(v, BOOT_REPS);
	f->n[h] = 1;
	boot_guest_s[h] = median(g, BOOT_REPS);
}

static void run_posted(struct hv *hv, int h);

static void run_all(struct hv *hv, int h)
{
	struct ctx c = { .hv = hv };

	if (!skip_unless("cpuid", F_CPUID, F_CPUID)) {
		vm_new(hv, &c.vm, guest_cpuid);
		figs[F_CPUID].n[h] = measure(&c, "cpuid", w_cpuid, 0,
					     1, &figs[F_CPUID].v[h], NULL);
		vm_free(&c.vm);
	}

	if (!skip_unless("pio_exit", F_PIO, F_PIO)) {
		vm_new(hv, &c.vm, guest_pio);
		figs[F_PIO].n[h] = measure(&c, "pio_exit", w_pio, 0,
					   1, &figs[F_PIO].v[h], NULL);
		vm_free(&c.vm);
	}

	if (!skip_unless("posted", F_POSTED_SYNC, F_POSTED_EXITS))
		run_posted(hv, h);

	if (!skip_unless("first_touch", F_TOUCH, F_SLOT_TOUCH)) {
		vm_new(hv, &c.vm, guest_touch);
		figs[F_TOUCH].n[h] = figs[F_SLOT_TOUCH].n[h] =
			measure(&c, "first_touch", w_touch,
				TOUCH_MIB * MiB / PAGE, 1, &figs[F_TOUCH].v[h],
				&figs[F_SLOT_TOUCH].v[h]);
		vm_free(&c.vm);
	}

	if (!skip_unless("vm_create_destroy", F_CYCLE, F_CYCLE))
		figs[F_CYCLE].n[h] = measure(&c, "vm_create_destroy", w_cycle,
					     0, 1e-3, &figs[F_CYCLE].v[h],
					     NULL);
}

/* mvm: posted; KVM: coalesced, if it has coalesced PIO. */
static void run_posted(struct hv *hv, int h)
{
	struct ctx c = { .hv = hv };
	double posted_ns, exits;

	vm_new(hv, &c.vm, guest_posted);
	if (hv->kvm && (!hv->coalesced_pio || !c.vm.ring)) {
		printf("# kvm: no coalesced PIO\n");
	} else {
		if (hv->kvm) {
			struct kvm_coalesced_mmio_zone z = {
				.addr = PORT_POSTED, .size = 1, .pio = 1,
			};

			if (ioctl(c.vm.fd, KVM_REGISTER_COALESCED_MMIO, &z))
				die("KVM_REGISTER_COALESCED_MMIO");
		} else {
			struct mvm_posted_range pr = {
				.space = MVM_SPACE_PIO, .addr = PORT_POSTED,
				.len = 1,
			};

			if (ioctl(c.vm.fd, MVM_SET_POSTED_RANGE, &pr))
				die("MVM_SET_POSTED_RANGE");
		}
		figs[F_POSTED_COALESCED].n[h] =
			measure(&c, hv->kvm ? "coalesced_pio" : "posted",
				w_posted, 0, 1,
				&posted_ns, &exits);
		figs[F_POSTED_COALESCED].v[h] = 1e9 / posted_ns;
		/* extra is exits per run, scaled per write: make it per 1k. */
		figs[F_POSTED_EXITS].v[h] = exits * 1000;
		figs[F_POSTED_EXITS].n[h] = figs[F_POSTED_COALESCED].n[h];
	}
	vm_free(&c.vm);
}

/* --- switching hypervisors ------------------------------------------------- */

static const char *kvm_vendor;

static int load_kvm(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "modprobe %s", kvm_vendor);
	return system(cmd);
}

/* Prints the figures; returns how many are not ok. */
static int print_results(void)
{
	const struct figure *f;
	int i, failed = 0;

	/* mvm's posted rate against KVM's synchronous port I/O, from (2). */
	figs[F_POSTED_SYNC].v[MVM] = figs[F_POSTED_COALESCED].v[MVM];
	figs[F_POSTED_SYNC].n[MVM] = figs[F_POSTED_COALESCED].n[MVM];
	if (figs[F_PIO].v[KVM]) {
		figs[F_POSTED_SYNC].v[KVM] = 1e9 / figs[F_PIO].v[KVM];
		figs[F_POSTED_SYNC].n[KVM] = figs[F_PIO].n[KVM];
	}

	printf("1..%d\n", NR_FIGURES);
	for (i = 0; i < NR_FIGURES; i++) {
		f = &figs[i];
		printf("# %s: mvm %.4g %s, kvm %.4g %s, ratio %.3g\n", f->name,
		       f->v[MVM], f->unit, f->v[KVM], f->unit,
		       f->v[KVM] ? f->v[MVM] / f->v[KVM] : 0.0);
		if (f->failed) {
			printf("not ok %d %s # a run failed\n", i + 1, f->name);
			failed++;
		} else if (f->skip) {
			printf("ok %d %s # SKIP %s\n", i + 1, f->name, f->skip);
		} else if (f->v[MVM] && f->v[KVM]) {
			printf("ok %d %s\n", i + 1, f->name);
		} else if (f->v[MVM] || i == F_POSTED_EXITS) {
			printf("ok %d %s # SKIP not measured on KVM\n", i + 1,
			       f->name);
		} else {
			printf("not ok %d %s\n", i + 1, f->name);
			failed++;
		}
	}
	printf("# posted writes vs KVM synchronous port I/O: %.1fx (target >= 10x)\n",
	       figs[F_POSTED_SYNC].v[KVM] ?
	       figs[F_POSTED_SYNC].v[MVM] / figs[F_POSTED_SYNC].v[KVM] : 0.0);
	printf("# posted writes vs mvm's own synchronous port I/O: %.2fx\n",
	       figs[F_PIO].v[MVM] ?
	       figs[F_POSTED_SYNC].v[MVM] * figs[F_PIO].v[MVM] / 1e9 : 0.0);
	f = &figs[F_BOOT];
	printf("# Linux boot to init, mvm vs QEMU -accel kvm -M microvm: %.2f (target <= 1)\n",
	       f->v[KVM] ? f->v[MVM] / f->v[KVM] : 0.0);
	printf("# of which the guest's uptime at init (median): mvm %.2f s, QEMU %.2f s; the rest is the VMM, firmware and the kernel's decompression\n",
	       boot_guest_s[MVM], boot_guest_s[KVM]);
	printf("#\n# Summary: medians of %d runs (%s: %d); %s emulated time, only the ratios mean anything\n",
	       REPS, figs[F_BOOT].name, BOOT_REPS,
	       strcmp(kvm_vendor, "kvm_amd") ? "Bochs's" : "QEMU TCG's");
	printf("# %s: kvm is QEMU -accel kvm -M microvm, seconds from fork to the guest's init\n",
	       figs[F_BOOT].name);
	printf("# %-28s %-16s %12s %12s %9s  %s\n", "figure", "unit", "mvm",
	       "kvm", "mvm/kvm", "better");
	for (i = 0; i < NR_FIGURES; i++) {
		f = &figs[i];
		if (!f->n[MVM] && !f->n[KVM]) {
			printf("# %-28s not measured: %s\n", f->name,
			       f->skip ? f->skip : "not in this lane");
			continue;
		}
		printf("# %-28s %-16s %12.4g %12.4g %9.3f  %s\n", f->name,
		       f->unit, f->v[MVM], f->v[KVM],
		       f->v[KVM] ? f->v[MVM] / f->v[KVM] : 0.0,
		       f->higher_better ? "higher" : "lower");
	}
	printf("# iterations per run (mvm/kvm):");
	for (i = 0; i < NR_FIGURES; i++)
		printf(" %s %llu/%llu", figs[i].name,
		       (unsigned long long)figs[i].n[MVM],
		       (unsigned long long)figs[i].n[KVM]);
	printf("\n");
	return failed;
}

int main(void)
{
	struct hv mvm = { .name = "mvm" }, kvm = { .name = "kvm", .kvm = 1 };
	struct hv *hv = &mvm;
	long backend;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	if (hv_open(&mvm))
		die("open %s", MVM_DEV);
	backend = ioctl(mvm.dev, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND);
	kvm_vendor = backend == MVM_BACKEND_SVM ? "kvm_amd" : "kvm_intel";
	printf("# mvm phase (backend %ld), %d runs per figure\n", backend, REPS);
	run_all(&mvm, MVM);
	close(mvm.dev);
	/* The launcher's VMs, while mvm still owns SVM or VMX. */
	measure_boot("mvm", mvm_boot, MVM);

	if (mvm_unload())
		die("delete_module(mvm)");
	printf("# mvm unloaded; modprobe %s\n", kvm_vendor);
	hv = &kvm;
	if (load_kvm() || hv_open(&kvm)) {
		printf("# kvm: cannot load or open /dev/kvm: no KVM figures\n");
	} else {
		printf("# kvm phase: coalesced ring at page %ld, coalesced PIO %d\n",
		       kvm.coalesced_pgoff, kvm.coalesced_pio);
		run_all(&kvm, KVM);
		close(kvm.dev);
		measure_boot("qemu", qemu_boot, KVM);
	}
	return print_results() ? 1 : 0;
}
