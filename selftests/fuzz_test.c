// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer of the whole ioctl ABI: the system, VM and vCPU ioctls,
 * every other number in MVMIO's space with every direction and wrong
 * sizes, mmap/munmap/mremap of the run page and ring, and close, with
 * random and edge-case arguments, from one thread and from several that
 * close and re-create fds under each other.  Guests with random state run
 * for a few milliseconds each.
 *
 * Every call must succeed or fail with an errno from a small set; a wrong
 * errno, a crash or a hang fails the case, and the lane's kernel-log check
 * catches what the kernel reports.
 *
 * The seed comes from $MVM_FUZZ_SEED, else from the clock, and is printed
 * as "# seed 0x..." by every case; the calls a single thread makes follow
 * from it (guest runs end on a timer, so how far a guest gets, and what the
 * threads interleave, does not).  $MVM_FUZZ_CALLS is the budget of ioctl
 * calls for the whole binary, $MVM_FUZZ_SECONDS the time it may take;
 * each case stops at its share of whichever comes first.
 * Documentation/mvm/testing.rst says more.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define DEFAULT_CALLS	150000
#define DEFAULT_SECONDS	40

#define SCRATCH		(64 * 1024)	/* per-thread argument buffer */
#define NONE_SIZE	(64 * 1024)	/* a PROT_NONE area */
#define ARENA_MIB	16		/* guest RAM, shared by all VMs */
#define POOL		16		/* fds the calls pick from */
#define NR_THREADS	4
#define MAX_MAPS	8		/* live mappings per thread */
#define KICK_SIG	SIGUSR2
#define TRACE_LEN	16		/* ioctls remembered per thread */
#define SLOW_S		5		/* an ioctl this long is shown */
#define STUCK_S		60		/* and this long, a failure */
#define MAX_FZ		8

/* Random guest code: real mode at GUEST_CODE16, long mode here. */
#define RANDOM_CODE	0x100000UL
#define RANDOM_CODE_END	0x1c0000UL

/* --- the seed, the budget, and counts shared by the cases ----------------- */

static uint64_t fuzz_seed;
static uint64_t fuzz_calls = DEFAULT_CALLS;
static double fuzz_seconds = DEFAULT_SECONDS;
static pid_t fuzz_parent;
/* Shared with the case children (MAP_SHARED survives fork). */
static _Atomic uint64_t *fuzz_total;

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

__attribute__((constructor)) static void fuzz_init(void)
{
	const char *s = getenv("MVM_FUZZ_SEED");
	struct timespec ts;

	if (s && *s) {
		fuzz_seed = strtoull(s, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		fuzz_seed = mix64((uint64_t)ts.tv_sec * 1000000000ULL +
				  ts.tv_nsec + (uint64_t)getpid());
	}
	s = getenv("MVM_FUZZ_CALLS");
	if (s && *s)
		fuzz_calls = strtoull(s, NULL, 0);
	s = getenv("MVM_FUZZ_SECONDS");
	if (s && *s)
		fuzz_seconds = strtod(s, NULL);
	fuzz_parent = getpid();
	fuzz_total = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fuzz_total == MAP_FAILED)
		fuzz_total = NULL;
}

__attribute__((destructor)) static void fuzz_fini(void)
{
	if (getpid() == fuzz_parent && fuzz_total)
		printf("# fuzz_test: %" PRIu64 " ioctl calls in all, seed 0x%016"
		       PRIx64 "\n", atomic_load(fuzz_total), fuzz_seed);
}

/* --- randomness --------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static int chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

static void fill_random(struct rng *r, void *p, size_t n)
{
	uint8_t *b = p;
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(i & 7))
			v = rnd(r);
		b[i] = v;
		v >>= 8;
	}
}

/* A value with a bias to the edges: 0, ~0, powers of two, small, random. */
static uint64_t edge_u64(struct rng *r)
{
	switch (below(r, 8)) {
	case 0:
		return 0;
	case 1:
		return ~0ULL >> (below(r, 4) * 16);
	case 2:
		return 1ULL << below(r, 64);
	case 3:
		return (1ULL << below(r, 64)) - 1;
	case 4:
		return below(r, 256);
	case 5:
		return -(uint64_t)below(r, 4096);
	default:
		return rnd(r);
	}
}

/* --- the ioctls ----------------------------------------------------------- */

enum { K_SYS, K_VM, K_VCPU, K_ANY };

struct ioc {
	unsigned long cmd;
	const char *name;
	int kind;
};

static const struct ioc iocs[] = {
	{ MVM_GET_API_VERSION, "GET_API_VERSION", K_SYS },
	{ MVM_CREATE_VM, "CREATE_VM", K_SYS },
	{ MVM_CHECK_EXTENSION, "CHECK_EXTENSION", K_SYS },
	{ MVM_GET_VCPU_MMAP_SIZE, "GET_VCPU_MMAP_SIZE", K_SYS },
	{ MVM_GET_SUPPORTED_CPUID, "GET_SUPPORTED_CPUID", K_SYS },
	{ MVM_SET_MEMORY_REGION, "SET_MEMORY_REGION", K_VM },
	{ MVM_CREATE_VCPU, "CREATE_VCPU", K_VM },
	{ MVM_SET_POSTED_RANGE, "SET_POSTED_RANGE", K_VM },
	{ MVM_RUN, "RUN", K_VCPU },
	{ MVM_GET_REGS, "GET_REGS", K_VCPU },
	{ MVM_SET_REGS, "SET_REGS", K_VCPU },
	{ MVM_GET_SREGS, "GET_SREGS", K_VCPU },
	{ MVM_SET_SREGS, "SET_SREGS", K_VCPU },
	{ MVM_GET_MSRS, "GET_MSRS", K_VCPU },
	{ MVM_SET_MSRS, "SET_MSRS", K_VCPU },
	{ MVM_GET_XSAVE, "GET_XSAVE", K_VCPU },
	{ MVM_SET_XSAVE, "SET_XSAVE", K_VCPU },
	{ MVM_GET_DEBUGREGS, "GET_DEBUGREGS", K_VCPU },
	{ MVM_SET_DEBUGREGS, "SET_DEBUGREGS", K_VCPU },
	{ MVM_GET_CPUID, "GET_CPUID", K_VCPU },
	{ MVM_SET_CPUID, "SET_CPUID", K_VCPU },
	{ MVM_INTERRUPT, "INTERRUPT", K_VCPU },
	{ MVM_NMI, "NMI", K_VCPU },
	{ MVM_SET_RING_EVENTFD, "SET_RING_EVENTFD", K_VCPU },
};

#define NIOC		(sizeof(iocs) / sizeof(iocs[0]))
/* Counters after the known ioctls. */
enum {
	C_OTHER = NIOC,	/* other numbers, sizes and directions in MVMIO */
	C_MMAP,
	C_MUNMAP,	/* munmap, mremap, mprotect */
	C_CLOSE,
	C_DUP2,
	C_OPEN,
	NCOUNT
};
static const char *const count_names[] = {
	"other numbers/sizes/directions", "mmap", "munmap/mremap/mprotect",
	"close", "dup2", "open /dev/mvm",
};

static int ioc_index(unsigned long cmd)
{
	unsigned int i;

	for (i = 0; i < NIOC; i++)
		if (iocs[i].cmd == cmd)
			return i;
	return C_OTHER;
}

/* Returns that succeed are 0, but for these. */
static int returns_value(unsigned long cmd)
{
	return cmd == MVM_GET_API_VERSION || cmd == MVM_CREATE_VM ||
	       cmd == MVM_CHECK_EXTENSION || cmd == MVM_GET_VCPU_MMAP_SIZE ||
	       cmd == MVM_CREATE_VCPU || cmd == MVM_GET_MSRS ||
	       cmd == MVM_SET_MSRS;
}

static int errno_allowed(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case ENOTTY: case EEXIST: case ENOENT:
	case ENOMEM: case E2BIG: case EBADF: case EBUSY: case EINTR:
	case EIO: case ENOSPC: case EOPNOTSUPP: case EPERM: case ENXIO:
		return 1;
	}
	return 0;
}

/* --- the state of a case ------------------------------------------------- */

struct map {
	void *p;
	size_t len;
};

/* One per thread. */
struct fz {
	struct rng rng;
	int id;
	int churns;		/* closes and re-creates pool fds */
	uint64_t calls;		/* ioctl calls this thread made */
	uint8_t *scratch;	/* SCRATCH bytes, then a PROT_NONE page */
	timer_t timer;
	struct map maps[MAX_MAPS];
	const char *what;	/* the operation, for reports */
	/* For the watchdog: the ioctl in progress and the last ones. */
	_Atomic uint64_t busy_since;	/* now_ns() at its start, or 0 */
	struct trace {
		uint64_t call;
		unsigned long cmd, arg;
		int fd;
	} trace[TRACE_LEN];
	/* The state the last guest run was given, if it was. */
	struct mvm_sregs run_sregs;
	struct mvm_regs run_regs;
	uint64_t run_call;
	int no_capture;
	uint64_t slow_reported;	/* busy_since of the call shown */
	uint64_t stuck_reported;	/* and of the call failed */
};

static const char *case_name;
static int sysfd = -1, evfd = -1;
static long mmap_size, max_vcpus, ring_entries;
static struct vm *arena_vm;	/* its RAM is every VM's guest RAM */
static uint8_t *none_area, *ro_area;
static _Atomic int pool[POOL];
static _Atomic int pool_kind[POOL];
static _Atomic uint64_t counts[NCOUNT];
static _Atomic uint64_t case_calls;
static _Atomic int failed, stop;
/* The threads of a case, for the watchdog. */
static struct fz *fzs[MAX_FZ];
static _Atomic int nfz;
static uint64_t case_budget, case_deadline;

static void count(int idx)
{
	atomic_fetch_add_explicit(&counts[idx], 1, memory_order_relaxed);
}

static int done(void)
{
	return atomic_load_explicit(&stop, memory_order_relaxed) ||
	       atomic_load_explicit(&failed, memory_order_relaxed) ||
	       atomic_load_explicit(&case_calls, memory_order_relaxed) >=
			case_budget ||
	       now_ns() >= case_deadline;
}

static void report(struct fz *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct fz *f, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ktap_diag("%s: seed 0x%016" PRIx64 " thread %d call %" PRIu64
		  " (%s): %s", case_name, fuzz_seed, f->id, f->calls,
		  f->what ? f->what : "-", buf);
	atomic_store(&failed, 1);
}

static void timer_arm(struct fz *f, long first_us, long every_us);
static void timer_disarm(struct fz *f);

/*
 * Before a run, what the vCPU was given, for the watchdog: uncounted, and
 * leaving the random stream alone.
 */
static void avoid_tcg_lme_hang(struct mvm_sregs *s);

static void run_capture(struct fz *f, int fd)
{
	struct mvm_sregs *s = &f->run_sregs;
	uint64_t efer;

	if (f->no_capture)
		return;
	if (!ioctl(fd, MVM_GET_SREGS, s) &&
	    !ioctl(fd, MVM_GET_REGS, &f->run_regs))
		f->run_call = f->calls;
	else
		return;
	/* Should a guest have got there itself. */
	efer = s->efer;
	avoid_tcg_lme_hang(s);
	if (s->efer != efer)
		ioctl(fd, MVM_SET_SREGS, s);
}

/*
 * The one way ioctls are made: counted and checked.  Every MVM_RUN, whatever
 * its argument, is bounded by this thread's timer: a signal within ~30 ms
 * and every 30 ms after, so a guest that never exits cannot hang the case.
 */
static long fz_ioctl(struct fz *f, int fd, unsigned long cmd,
		     unsigned long arg)
{
	int idx = ioc_index(cmd), e;
	long r;

	if (cmd == MVM_RUN) {
		run_capture(f, fd);
		timer_arm(f, 1000 + below(&f->rng, 30000), 30000);
	}
	f->trace[f->calls % TRACE_LEN] = (struct trace){ f->calls, cmd, arg, fd };
	atomic_store_explicit(&f->busy_since, now_ns(), memory_order_relaxed);
	errno = 0;
	r = ioctl(fd, cmd, arg);
	e = errno;
	atomic_store_explicit(&f->busy_since, 0, memory_order_relaxed);
	if (cmd == MVM_RUN)
		timer_disarm(f);
	f->calls++;
	atomic_fetch_add_explicit(&case_calls, 1, memory_order_relaxed);
	count(idx);
	if (r < 0 && (r != -1 || !errno_allowed(e)))
		report(f, "ioctl(%d, %s %#lx, %#lx) = %ld, errno %d (%s)", fd,
		       idx < (int)NIOC ? iocs[idx].name : "other", cmd, arg, r,
		       e, strerror(e));
	else if (r > 0 && !returns_value(cmd))
		report(f, "ioctl(%d, %s %#lx, %#lx) = %ld, want 0 or -1", fd,
		       idx < (int)NIOC ? iocs[idx].name : "other", cmd, arg,
		       r);
	errno = e;
	return r;
}

static void fz_close(struct fz *f, int fd)
{
	int e;

	if (fd < 3)
		return;
	count(C_CLOSE);
	if (close(fd) && (e = errno) != EBADF && e != EINTR)
		report(f, "close(%d): errno %d (%s)", fd, e, strerror(e));
}

/* --- arguments ------------------------------------------------------------ */

/* Pointers the kernel must not be able to use. */
static unsigned long bad_ptr(struct fz *f)
{
	struct rng *r = &f->rng;

	switch (below(r, 9)) {
	case 0:
		return 0;
	case 1:
		return below(r, 0x10000);		/* below mmap_min_addr */
	case 2:
		return (uintptr_t)none_area + below(r, NONE_SIZE);
	case 3:
		return (uintptr_t)ro_area + below(r, PAGE_SIZE);
	case 4:
		return 0xffff800000000000ULL + (rnd(r) & 0x7fffffffffffULL);
	case 5:
		return 0x0000800000000000ULL - below(r, 64);	/* the edge */
	case 6:
		return 0x0000800000000000ULL + (rnd(r) >> 17);	/* non-canonical */
	case 7:
		return -(unsigned long)below(r, PAGE_SIZE);
	default:
		/* Straddling into the guard page, random contents. */
		fill_random(r, f->scratch + SCRATCH - 64, 64);
		return (uintptr_t)f->scratch + SCRATCH - below(r, 64);
	}
}

/* Where a struct of @len bytes built at f->scratch is handed over from. */
static unsigned long place(struct fz *f, size_t len)
{
	struct rng *r = &f->rng;
	size_t cut;

	if (!len || len > SCRATCH || !chance(r, 15))
		return (uintptr_t)f->scratch;
	/* Move it so that it runs into the PROT_NONE page by 1..len bytes. */
	cut = 1 + below(r, len);
	memmove(f->scratch + SCRATCH - (len - cut), f->scratch, len - cut);
	return (uintptr_t)f->scratch + SCRATCH - (len - cut);
}

/* Guest-physical addresses worth trying. */
static uint64_t gpa_value(struct rng *r)
{
	switch (below(r, 5)) {
	case 0:
		return 0;
	case 1:
		return below(r, 64) * MiB;
	case 2:
		return (1ULL << below(r, 52)) & ~(PAGE_SIZE - 1);
	case 3:
		return below(r, 1 << 20) * PAGE_SIZE;
	default:
		return edge_u64(r);
	}
}

/* Userspace addresses for a memory slot: mostly guest RAM. */
static uint64_t slot_addr(struct fz *f, __u64 *size)
{
	struct rng *r = &f->rng;
	uint64_t arena_pages = ARENA_MIB * MiB / PAGE_SIZE, first;

	switch (below(r, 10)) {
	case 0:
		return bad_ptr(f);
	case 1:
		return (uintptr_t)f->scratch + below(r, 2) * PAGE_SIZE;
	case 2:
		/* A run page or ring this thread mapped: kernel pages. */
		first = below(r, MAX_MAPS);
		if (f->maps[first].p)
			return (uintptr_t)f->maps[first].p;
		return (uintptr_t)ro_area;
	case 3:
		return edge_u64(r);
	default:
		first = below(r, arena_pages);
		if (chance(r, 80))
			*size = (1 + below(r, arena_pages - first)) * PAGE_SIZE;
		return (uintptr_t)arena_vm->mem + first * PAGE_SIZE +
		       (chance(r, 5) ? below(r, PAGE_SIZE) : 0);
	}
}

static const uint32_t msr_list[] = {
	0x10, 0x174, 0x175, 0x176, 0x277, 0xc0000080, 0xc0000081,
	0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101,
	0xc0000102, 0xc0000103, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0xfe, 0x1d9,
	0x2ff, 0xc0010117, 0xc0010114, 0xc0011020, 0x40000000,
};

static uint32_t cpuid_leaf(struct rng *r)
{
	switch (below(r, 4)) {
	case 0:
		return below(r, 0x20);
	case 1:
		return 0x80000000 + below(r, 0x20);
	case 2:
		return 0x40000000 + below(r, 0x10);
	default:
		return rnd(r);
	}
}

static uint32_t count_value(struct rng *r, uint32_t max)
{
	switch (below(r, 6)) {
	case 0:
		return 0;
	case 1:
		return max;
	case 2:
		return max + 1;
	case 3:
		return ~0U - below(r, 2);
	case 4:
		return rnd(r);
	default:
		return below(r, max + 1);
	}
}

static void real_mode_sregs(struct mvm_sregs *s)
{
	set_seg(&s->cs, GUEST_CODE16 >> 4, GUEST_CODE16, 0xffff, 0xb, 0, 0, 0);
	set_seg(&s->ds, 0, 0, 0xffff, 0x3, 0, 0, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
	set_seg(&s->tr, 0, 0, 0xffff, 0x3, 0, 0, 0);
	s->tr.s = 0;
	memset(&s->ldt, 0, sizeof(s->ldt));
	s->ldt.type = 2;
	s->ldt.unusable = 1;
	s->gdt.base = 0;
	s->gdt.limit = 0xffff;
	s->idt.base = 0;
	s->idt.limit = 0x3ff;
	s->cr0 = CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
}

/*
 * QEMU's TCG (7.2, the lanes' emulator) cannot leave a guest that has
 * EFER.LME set with CR0.PG and CR4.PAE clear: at #VMEXIT it restores the
 * host's CR0 while the guest's EFER and CR4 are still loaded, takes the
 * write for an entry into long mode without PAE, and ignores it, so the
 * host goes on with the guest's CR0 (paging off) and the emulated CPU hangs
 * with interrupts off.  The state is a legal one (the module rightly takes
 * it), so the fuzzer never gives it to a guest: it clears LME there.
 */
static void avoid_tcg_lme_hang(struct mvm_sregs *s)
{
	if ((s->efer & EFER_LME) && !(s->cr0 & CR0_PG) && !(s->cr4 & CR4_PAE))
		s->efer &= ~EFER_LME;
}

/* Flip, set or clear a few things in sregs the module may still accept. */
static void mutate_sregs(struct rng *r, struct mvm_sregs *s)
{
	static const uint64_t cr0_bits[] = { CR0_PE, CR0_MP, 1 << 2, 1 << 3,
		CR0_ET, CR0_NE, CR0_WP, 1 << 18, CR0_NW, CR0_CD, CR0_PG };
	struct mvm_segment *seg = &s->cs + below(r, 8);
	unsigned int n = 1 + below(r, 3);

	while (n--) {
		switch (below(r, 12)) {
		case 0:
			s->cr0 ^= cr0_bits[below(r, 11)];
			break;
		case 1:
			s->cr4 ^= 1ULL << below(r, 24);
			break;
		case 2:
			s->efer ^= 1ULL << below(r, 16);
			break;
		case 3:
			s->cr3 = chance(r, 50) ? GUEST_PML4 : gpa_value(r);
			break;
		case 4:
			s->cr8 = chance(r, 80) ? below(r, 16) : rnd(r);
			break;
		case 5:
			s->xcr0 ^= 1ULL << below(r, 10);
			break;
		case 6:
			seg->base = chance(r, 50) ? below(r, 1 << 20) : edge_u64(r);
			break;
		case 7:
			seg->limit = edge_u64(r);
			break;
		case 8:
			seg->type = below(r, 16);
			seg->s = below(r, 2);
			break;
		case 9:
			switch (below(r, 7)) {
			case 0: seg->dpl = below(r, 4); break;
			case 1: seg->present ^= 1; break;
			case 2: seg->l ^= 1; break;
			case 3: seg->db ^= 1; break;
			case 4: seg->g ^= 1; break;
			case 5: seg->unusable ^= 1; break;
			default: seg->selector = rnd(r); break;
			}
			break;
		case 10:
			if (chance(r, 50))
				s->gdt.limit = rnd(r);
			else
				s->idt.base = edge_u64(r);
			break;
		default:
			((uint8_t *)s)[below(r, sizeof(*s))] ^= 1 << below(r, 8);
			break;
		}
	}
}

/*
 * Build an argument for @cmd, a known ioctl with a pointer argument, at
 * f->scratch (after MVM_GET_* from @fd where a valid start helps), and
 * return its length.
 */
static size_t build_struct(struct fz *f, int fd, unsigned long cmd)
{
	struct rng *r = &f->rng;
	void *p = f->scratch;
	size_t len = _IOC_SIZE(cmd);
	uint32_t i, n;

	memset(p, 0, 16384);
	if (cmd == MVM_SET_MEMORY_REGION) {
		struct mvm_memory_region *m = p;

		m->slot = chance(r, 80) ? below(r, 34) : rnd(r);
		m->flags = chance(r, 70) ? 0 : chance(r, 50) ?
			   MVM_MEM_READONLY : 1U << below(r, 32);
		m->guest_phys_addr = gpa_value(r);
		m->memory_size = chance(r, 10) ? 0 : edge_u64(r);
		m->userspace_addr = slot_addr(f, &m->memory_size);
		if (chance(r, 5))
			m->memory_size |= below(r, PAGE_SIZE);
	} else if (cmd == MVM_SET_POSTED_RANGE) {
		struct mvm_posted_range *pr = p;

		pr->space = chance(r, 85) ? 1 + below(r, 2) : rnd(r);
		pr->flags = chance(r, 70) ? 0 : chance(r, 70) ?
			    MVM_POSTED_DELETE : rnd(r);
		pr->addr = chance(r, 60) ? below(r, 0x100) : gpa_value(r);
		pr->len = chance(r, 60) ? below(r, 17) : edge_u64(r);
	} else if (cmd == MVM_SET_REGS || cmd == MVM_GET_REGS) {
		struct mvm_regs *g = p;

		fill_random(r, g, sizeof(*g));
		if (chance(r, 50)) {
			g->rip = below(r, 2) ? below(r, 0x10000) :
				 RANDOM_CODE + below(r, RANDOM_CODE_END -
						     RANDOM_CODE);
			g->rflags = chance(r, 70) ? 2 | (rnd(r) & 0x200) :
				    edge_u64(r);
			g->rsp = GUEST_STACK - below(r, 0x1000);
		}
	} else if (cmd == MVM_SET_SREGS || cmd == MVM_GET_SREGS) {
		struct mvm_sregs *s = p;

		switch (below(r, 5)) {
		case 0:
			fill_random(r, s, sizeof(*s));
			break;
		case 1:
			if (!fz_ioctl(f, fd, MVM_GET_SREGS, (uintptr_t)s))
				real_mode_sregs(s);
			mutate_sregs(r, s);
			break;
		case 2:
			if (!fz_ioctl(f, fd, MVM_GET_SREGS, (uintptr_t)s))
				long_mode_sregs(s);
			mutate_sregs(r, s);
			break;
		default:
			fz_ioctl(f, fd, MVM_GET_SREGS, (uintptr_t)s);
			mutate_sregs(r, s);
			break;
		}
		if (chance(r, 10))
			s->reserved[below(r, 9)] = rnd(r);
		avoid_tcg_lme_hang(s);
	} else if (cmd == MVM_GET_MSRS || cmd == MVM_SET_MSRS) {
		struct mvm_msrs *m = p;

		n = count_value(r, MVM_MAX_MSRS);
		m->nmsrs = n;
		m->pad = chance(r, 95) ? 0 : rnd(r);
		if (n > MVM_MAX_MSRS + 1)
			n = MVM_MAX_MSRS + 1;
		for (i = 0; i < n; i++) {
			struct mvm_msr_entry *e = &m->entries[i];

			e->index = chance(r, 85) ?
				   msr_list[below(r, sizeof(msr_list) / 4)] :
				   rnd(r);
			e->reserved = chance(r, 97) ? 0 : rnd(r);
			e->data = chance(r, 50) ? below(r, 1 << 20) :
				  edge_u64(r);
		}
		len = sizeof(*m) + n * sizeof(m->entries[0]);
	} else if (cmd == MVM_GET_XSAVE || cmd == MVM_SET_XSAVE) {
		uint8_t *x = p;

		if (chance(r, 25) ||
		    fz_ioctl(f, fd, MVM_GET_XSAVE, (uintptr_t)x)) {
			fill_random(r, x, sizeof(struct mvm_xsave));
		} else {
			n = 1 + below(r, 4);
			while (n--) {
				switch (below(r, 5)) {
				case 0:	/* MXCSR */
					*(uint32_t *)(x + 24) = edge_u64(r);
					break;
				case 1:	/* XSTATE_BV */
					*(uint64_t *)(x + 512) ^=
						1ULL << below(r, 64);
					break;
				case 2:	/* XCOMP_BV */
					*(uint64_t *)(x + 520) = edge_u64(r);
					break;
				case 3:	/* the rest of the header */
					x[528 + below(r, 48)] = rnd(r);
					break;
				default:
					x[below(r, 4096)] = rnd(r);
					break;
				}
			}
		}
	} else if (cmd == MVM_GET_DEBUGREGS || cmd == MVM_SET_DEBUGREGS) {
		struct mvm_debugregs *d = p;

		for (i = 0; i < 4; i++)
			d->db[i] = chance(r, 50) ? below(r, 1 << 22) :
				   edge_u64(r);
		d->dr6 = chance(r, 50) ? 0xffff0ff0 : edge_u64(r);
		d->dr7 = chance(r, 50) ? 0x400 | below(r, 0x100) : edge_u64(r);
		if (chance(r, 10))
			d->reserved[below(r, 10)] = rnd(r);
	} else if (cmd == MVM_GET_CPUID || cmd == MVM_SET_CPUID ||
		   cmd == MVM_GET_SUPPORTED_CPUID) {
		struct mvm_cpuid *c = p;

		n = count_value(r, MVM_MAX_CPUID_ENTRIES);
		c->nent = n;
		c->pad = chance(r, 95) ? 0 : rnd(r);
		if (n > MVM_MAX_CPUID_ENTRIES + 1)
			n = MVM_MAX_CPUID_ENTRIES + 1;
		for (i = 0; i < n; i++) {
			struct mvm_cpuid_entry *e = &c->entries[i];

			fill_random(r, e, sizeof(*e));
			e->function = cpuid_leaf(r);
			e->index = chance(r, 80) ? below(r, 4) : rnd(r);
			e->flags = chance(r, 90) ? below(r, 2) : rnd(r);
			if (chance(r, 95))
				e->pad = 0;
		}
		len = sizeof(*c) + n * sizeof(c->entries[0]);
	} else if (cmd == MVM_INTERRUPT) {
		struct mvm_interrupt *irq = p;

		irq->vector = chance(r, 80) ? below(r, 300) : rnd(r);
		irq->flags = chance(r, 90) ? 0 : rnd(r);
	} else if (cmd == MVM_SET_RING_EVENTFD) {
		struct mvm_ring_eventfd *ev = p;
		static const int fds[] = { -1, -2, 0, 1, 1 << 20, 0x7fffffff };

		switch (below(r, 5)) {
		case 0:
			ev->fd = evfd;
			break;
		case 1:
			ev->fd = -1;
			break;
		case 2:
			ev->fd = pool[below(r, POOL)];
			break;
		case 3:
			ev->fd = fds[below(r, 6)];
			break;
		default:
			ev->fd = below(r, 64);
			break;
		}
		ev->flags = chance(r, 90) ? 0 : rnd(r);
	} else {
		fill_random(r, p, len);
	}
	return len;
}

/* An argument for an _IO ioctl: a number. */
static unsigned long number_arg(struct fz *f, unsigned long cmd)
{
	struct rng *r = &f->rng;

	if (chance(r, 10))
		return bad_ptr(f);
	if (chance(r, 15))
		return edge_u64(r);
	switch (cmd) {
	case MVM_CHECK_EXTENSION:
		return below(r, 8);
	case MVM_CREATE_VCPU:
		return chance(r, 90) ? below(r, max_vcpus + 2) :
		       -(unsigned long)below(r, 2);
	case MVM_CREATE_VM:
		return chance(r, 80) ? 0 : below(r, 4);
	default:
		return chance(r, 90) ? 0 : 1;
	}
}

/* Any number in MVMIO's space, any direction, any size. */
static unsigned long weird_cmd(struct rng *r)
{
	unsigned int nr = chance(r, 95) ? below(r, 0xc0) : below(r, 0x100);
	unsigned int dir = below(r, 4), size, known = 0, i;

	for (i = 0; i < NIOC; i++)
		if (_IOC_NR(iocs[i].cmd) == nr)
			known = _IOC_SIZE(iocs[i].cmd);
	switch (below(r, 6)) {
	case 0:
		size = known;
		break;
	case 1:
		size = 0;
		break;
	case 2:
		size = known + 8 - 16 * below(r, 2);
		break;
	case 3:
		size = 8 * below(r, 64);
		break;
	default:
		size = below(r, 1 << _IOC_SIZEBITS);
		break;
	}
	return _IOC(dir, MVMIO, nr, size & ((1 << _IOC_SIZEBITS) - 1));
}

/* --- pool fds ------------------------------------------------------------- */

/* A fresh VM with guest RAM, maybe with posted ranges. */
static int new_vm(struct fz *f, int dev)
{
	struct mvm_memory_region m = { 0 };
	struct mvm_posted_range pr = { 0 };
	int fd = fz_ioctl(f, dev, MVM_CREATE_VM, 0);

	if (fd < 0)
		return -1;
	if (chance(&f->rng, 85)) {
		m.memory_size = ARENA_MIB * MiB;
		m.userspace_addr = (uintptr_t)arena_vm->mem;
		fz_ioctl(f, fd, MVM_SET_MEMORY_REGION, (uintptr_t)&m);
	}
	if (chance(&f->rng, 50)) {
		pr.space = MVM_SPACE_PIO;
		pr.addr = below(&f->rng, 0x100);
		pr.len = 1 + below(&f->rng, 16);
		fz_ioctl(f, fd, MVM_SET_POSTED_RANGE, (uintptr_t)&pr);
	}
	return fd;
}

static int pick_fd(struct fz *f, int *kind)
{
	struct rng *r = &f->rng;
	unsigned int i;

	*kind = K_ANY;
	switch (below(r, 40)) {
	case 0:
		return -1;
	case 1:
		return sysfd;
	case 2:
		return evfd;
	case 3:
		return 3 + below(r, 61);
	default:
		i = below(r, POOL);
		*kind = pool_kind[i];
		return pool[i];
	}
}

/* Replace pool slot @i with @fd of @kind, closing what was there. */
static void pool_put(struct fz *f, unsigned int i, int fd, int kind)
{
	int old = atomic_exchange(&pool[i], fd);

	pool_kind[i] = kind;
	if (old != fd)
		fz_close(f, old);
}

/* A new fd from a create call: the churning thread keeps it. */
static void adopt(struct fz *f, int fd, int kind)
{
	if (!f->churns) {
		fz_close(f, fd);
		return;
	}
	pool_put(f, below(&f->rng, POOL), fd, kind);
}

/* Close a pool fd and maybe make a new one, maybe at the old number. */
static void churn(struct fz *f)
{
	struct rng *r = &f->rng;
	unsigned int i = below(r, POOL);
	int old = pool[i], fd = -1, kind, vmfd, e;

	f->what = "churn";
	if (chance(r, 20)) {
		/* Closed; the number stays in the pool, stale. */
		fz_close(f, old);
		pool_kind[i] = K_ANY;
		return;
	}
	kind = below(r, 10) < 4 ? K_VM : below(r, 10) ? K_VCPU : K_SYS;
	if (kind == K_SYS) {
		count(C_OPEN);
		fd = mvm_open_dev();
		if (fd < 0) {
			e = errno;
			if (e != EMFILE && e != ENOMEM)
				report(f, "open(" MVM_DEV "): errno %d (%s)",
				       e, strerror(e));
			return;
		}
	} else if (kind == K_VM) {
		fd = new_vm(f, chance(r, 80) ? sysfd : pick_fd(f, &e));
	} else {
		vmfd = pool[below(r, POOL)];
		fd = fz_ioctl(f, vmfd, MVM_CREATE_VCPU,
			      below(r, max_vcpus));
	}
	if (fd < 0)
		return;
	if (old >= 3 && chance(r, 40)) {
		/* The old number now names the new file, atomically. */
		count(C_DUP2);
		if (dup2(fd, old) < 0) {
			e = errno;
			if (e != EBADF && e != EBUSY && e != EINTR)
				report(f, "dup2(%d, %d): errno %d (%s)", fd,
				       old, e, strerror(e));
		}
		fz_close(f, fd);
		pool_kind[i] = kind;
		return;
	}
	pool_put(f, i, fd, kind);
}

/* --- mappings ------------------------------------------------------------- */

static void map_forget(struct fz *f, unsigned int i)
{
	count(C_MUNMAP);
	if (munmap(f->maps[i].p, f->maps[i].len))
		report(f, "munmap(%p, %zu): errno %d", f->maps[i].p,
		       f->maps[i].len, errno);
	f->maps[i].p = NULL;
}

static void unmap_all(struct fz *f)
{
	unsigned int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (f->maps[i].p)
			map_forget(f, i);
}

/* mmap of a pool fd with random offset, length, protection and flags. */
static void do_mmap(struct fz *f, int fd)
{
	static const int flag_set[] = {
		MAP_SHARED, MAP_SHARED, MAP_SHARED, MAP_PRIVATE,
		MAP_SHARED | MAP_POPULATE, MAP_SHARED | MAP_LOCKED,
		MAP_SHARED_VALIDATE, MAP_SHARED | MAP_NORESERVE,
	};
	struct rng *r = &f->rng;
	unsigned long off, len;
	int prot, flags, e;
	unsigned int i;
	uint8_t *p;

	f->what = "mmap";
	switch (below(r, 6)) {
	case 0:
		off = 0;
		len = mmap_size;
		break;
	case 1:
		off = MVM_RING_PGOFF * PAGE_SIZE;
		len = mmap_size - off;
		break;
	case 2:
		off = below(r, mmap_size / PAGE_SIZE + 2) * PAGE_SIZE;
		len = (1 + below(r, mmap_size / PAGE_SIZE + 1)) * PAGE_SIZE;
		break;
	case 3:
		off = edge_u64(r) & ~(PAGE_SIZE - 1);
		len = PAGE_SIZE;
		break;
	case 4:
		off = below(r, 2 * PAGE_SIZE);
		len = 1 + below(r, mmap_size + PAGE_SIZE);
		break;
	default:
		off = 0;
		len = PAGE_SIZE;
		break;
	}
	prot = below(r, 8);
	flags = flag_set[below(r, 8)];
	count(C_MMAP);
	p = mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED) {
		e = errno;
		if (!errno_allowed(e) && e != ENODEV && e != EACCES &&
		    e != EOVERFLOW)
			report(f, "mmap(%lu, prot %#x, flags %#x, fd %d, off "
			       "%#lx): errno %d (%s)", len, prot, flags, fd,
			       off, e, strerror(e));
		return;
	}
	/* Touch it: read, and write garbage where the kernel allows it. */
	if (prot & PROT_READ)
		(void)*(volatile uint8_t *)(p + below(r, len));
	if (prot & PROT_WRITE) {
		/* immediate_exit sometimes, else anywhere */
		if (off == 0 && chance(r, 50))
			p[0] = chance(r, 50);
		else
			p[below(r, len)] = rnd(r);
	}
	for (i = 0; i < MAX_MAPS && f->maps[i].p; i++)
		;
	if (i == MAX_MAPS) {
		i = below(r, MAX_MAPS);
		map_forget(f, i);
	}
	f->maps[i].p = p;
	f->maps[i].len = len;
}

/* munmap, partial munmap, mremap or mprotect of one of this thread's. */
static void do_unmap(struct fz *f)
{
	struct rng *r = &f->rng;
	unsigned int i = below(r, MAX_MAPS);
	struct map *m = &f->maps[i];
	size_t pages, cut;
	void *q;
	int e;

	if (!m->p)
		return;
	f->what = "munmap";
	pages = (m->len + PAGE_SIZE - 1) / PAGE_SIZE;
	switch (below(r, 4)) {
	case 0:
		map_forget(f, i);
		return;
	case 1:
		/* Unmap the first pages; keep the rest. */
		if (pages < 2)
			break;
		cut = 1 + below(r, pages - 1);
		count(C_MUNMAP);
		if (!munmap(m->p, cut * PAGE_SIZE)) {
			m->p = (uint8_t *)m->p + cut * PAGE_SIZE;
			m->len = (pages - cut) * PAGE_SIZE;
		}
		return;
	case 2:
		/* Grow (refused: VM_DONTEXPAND) or shrink, maybe moving. */
		cut = chance(r, 50) ? pages + 1 + below(r, 4) :
		      1 + below(r, pages);
		count(C_MUNMAP);
		q = mremap(m->p, m->len, cut * PAGE_SIZE,
			   chance(r, 50) ? MREMAP_MAYMOVE : 0);
		if (q == MAP_FAILED) {
			e = errno;
			if (!errno_allowed(e))
				report(f, "mremap(%zu -> %zu pages): errno %d "
				       "(%s)", pages, cut, e, strerror(e));
		} else {
			m->p = q;
			m->len = cut * PAGE_SIZE;
		}
		return;
	}
	count(C_MUNMAP);
	if (mprotect(m->p, m->len, below(r, 8))) {
		e = errno;
		if (!errno_allowed(e) && e != EACCES)
			report(f, "mprotect: errno %d (%s)", e, strerror(e));
	}
}

/* --- guest runs ----------------------------------------------------------- */

static void timer_setup(struct fz *f)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = KICK_SIG;
	sev._sigev_un._tid = gettid();
	TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &f->timer),
		    "timer_create");
}

/* Kick this thread after @first_us, then every @every_us, until disarmed. */
static void timer_arm(struct fz *f, long first_us, long every_us)
{
	struct itimerspec it = {
		.it_value = { first_us / 1000000, first_us % 1000000 * 1000 },
		.it_interval = { every_us / 1000000,
				 every_us % 1000000 * 1000 },
	};

	timer_settime(f->timer, 0, &it, NULL);
}

static void timer_disarm(struct fz *f)
{
	struct itimerspec it = { 0 };

	timer_settime(f->timer, 0, &it, NULL);
}

/* MVM_RUN: fz_ioctl() bounds it with the timer. */
static long bounded_run(struct fz *f, int fd)
{
	return fz_ioctl(f, fd, MVM_RUN, 0);
}

/*
 * Give a vCPU state the module accepts, some of it random, and run it
 * for a few milliseconds.  @check: @fd is known to be the vCPU @run maps.
 */
static void guest_run(struct fz *f, int fd, int check)
{
	struct rng *r = &f->rng;
	struct mvm_run *run = NULL;
	struct mvm_regs regs;
	struct mvm_sregs s;
	long ret;
	int e;

	f->what = "guest run";
	if (chance(r, 60)) {
		count(C_MMAP);
		run = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (run == MAP_FAILED)
			run = NULL;
	}
	if (chance(r, 70) && !fz_ioctl(f, fd, MVM_GET_SREGS, (uintptr_t)&s)) {
		switch (below(r, 3)) {
		case 0:
			real_mode_sregs(&s);
			break;
		case 1:
			long_mode_sregs(&s);
			break;
		}
		if (chance(r, 60))
			mutate_sregs(r, &s);
		avoid_tcg_lme_hang(&s);
		if (fz_ioctl(f, fd, MVM_SET_SREGS, (uintptr_t)&s) &&
		    !(s.cr0 & CR0_PE))
			real_mode_sregs(&s);
		memset(&regs, 0, sizeof(regs));
		fill_random(r, &regs, sizeof(regs));
		regs.rflags = chance(r, 80) ? 2 | (rnd(r) & 0x200) : rnd(r);
		if (s.efer & EFER_LMA)
			regs.rip = chance(r, 50) ? GUEST_ELF_MIN +
				   below(r, 0x80000) : RANDOM_CODE +
				   below(r, RANDOM_CODE_END - RANDOM_CODE);
		else
			regs.rip = below(r, 0x10000);
		regs.rsp = GUEST_STACK - 8 * below(r, 256);
		fz_ioctl(f, fd, MVM_SET_REGS, (uintptr_t)&regs);
	}
	if (run) {
		run->immediate_exit = chance(r, 15);
		if (chance(r, 20))
			run->io.data = rnd(r);
	}
	ret = bounded_run(f, fd);
	e = errno;
	if (!ret && check && run && !run->immediate_exit &&
	    (run->exit_reason == MVM_EXIT_UNKNOWN ||
	     run->exit_reason == MVM_EXIT_INTR ||
	     run->exit_reason > MVM_EXIT_RING_FULL))
		report(f, "MVM_RUN returned 0 with exit_reason %u",
		       run->exit_reason);
	if (ret && e == EINTR && check && run &&
	    run->exit_reason != MVM_EXIT_INTR &&
	    run->exit_reason != MVM_EXIT_UNKNOWN)
		report(f, "MVM_RUN: EINTR with exit_reason %u",
		       run->exit_reason);
	if (run) {
		count(C_MUNMAP);
		munmap(run, PAGE_SIZE);
	}
}

/* --- one random operation ------------------------------------------------- */

static void random_ioctl(struct fz *f)
{
	struct rng *r = &f->rng;
	unsigned long cmd, arg;
	int fd, kind, k, idx;
	long ret;

	fd = pick_fd(f, &kind);
	if (chance(r, 20)) {
		cmd = weird_cmd(r);
	} else {
		/* A known ioctl, most often of the kind the fd was made as. */
		do {
			idx = below(r, NIOC);
			k = iocs[idx].kind;
		} while (kind != K_ANY && k != kind && chance(r, 70));
		cmd = iocs[idx].cmd;
	}
	f->what = "ioctl";
	idx = ioc_index(cmd);
	if (idx < (int)NIOC && !_IOC_SIZE(cmd)) {
		if (cmd == MVM_RUN && chance(r, 80)) {
			guest_run(f, fd, 0);
			return;
		}
		arg = number_arg(f, cmd);
	} else if (idx < (int)NIOC) {
		arg = chance(r, 12) ? bad_ptr(f) :
		      place(f, build_struct(f, fd, cmd));
	} else {
		fill_random(r, f->scratch, 16384);
		arg = chance(r, 15) ? bad_ptr(f) : chance(r, 10) ?
		      edge_u64(r) : place(f, _IOC_SIZE(cmd));
	}
	ret = fz_ioctl(f, fd, cmd, arg);
	if (ret >= 0 && cmd == MVM_CREATE_VM)
		adopt(f, ret, K_VM);
	else if (ret >= 0 && cmd == MVM_CREATE_VCPU)
		adopt(f, ret, K_VCPU);
}

static void random_op(struct fz *f)
{
	struct rng *r = &f->rng;
	unsigned int p = below(r, 100);
	int kind;

	if (f->churns && p < 4)
		churn(f);
	else if (p < 8)
		do_mmap(f, pick_fd(f, &kind));
	else if (p < 11)
		do_unmap(f);
	else if (p < 16)
		guest_run(f, pick_fd(f, &kind), 0);
	else
		random_ioctl(f);
}

/* --- the watchdog ------------------------------------------------------------- */

/*
 * A case whose process hangs in the kernel prints nothing: init shows a
 * test's output only when it ends.  So a call still busy after SLOW_S
 * seconds is shown at once, to the kernel log (which reaches the serial
 * console) as well as to stdout, with the seed and the calls before it.
 * It fails the case only after STUCK_S: on a starved TCG host, or under
 * the debug lane's KASAN and kmemleak, a call can take a few seconds of
 * wall-clock time (a VM's memory given back, a vCPU thread not scheduled)
 * and be right; a minute is not.
 */
static void wd_say(int kmsg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void wd_say(int kmsg, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ktap_diag("%s", buf);
	if (kmsg >= 0) {
		char line[420];

		n = snprintf(line, sizeof(line), "<3>fuzz_test: %s\n", buf);
		if (write(kmsg, line, n) < 0)
			return;
	}
}

static void wd_seg(int k, const char *name, const struct mvm_segment *g)
{
	wd_say(k, "  %s sel %#x base %#llx limit %#x type %u s %u dpl %u p %u "
	       "l %u db %u g %u unusable %u", name, g->selector,
	       (unsigned long long)g->base, g->limit, g->type, g->s, g->dpl,
	       g->present, g->l, g->db, g->g, g->unusable);
}

static void wd_dump(struct fz *f, uint64_t secs, int stuck)
{
	int k = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	const struct mvm_sregs *s = &f->run_sregs;
	const struct mvm_regs *g = &f->run_regs;
	uint64_t i, first;

	wd_say(k, "%s: seed 0x%016" PRIx64 " thread %d: call %" PRIu64
	       " (%s) %s for %" PRIu64 " s", case_name, fuzz_seed, f->id,
	       f->calls, f->what ? f->what : "-",
	       stuck ? "stuck, a failure," : "still busy", secs);
	first = f->calls >= TRACE_LEN ? f->calls - TRACE_LEN + 1 : 0;
	for (i = first; i <= f->calls; i++) {
		const struct trace *t = &f->trace[i % TRACE_LEN];
		int idx = ioc_index(t->cmd);

		wd_say(k, "  call %" PRIu64 ": ioctl(%d, %s %#lx, %#lx)", t->call,
		       t->fd, idx < (int)NIOC ? iocs[idx].name : "other",
		       t->cmd, t->arg);
	}
	if (f->run_call) {
		wd_say(k, "  state before call %" PRIu64 ": cr0 %#llx cr2 %#llx "
		       "cr3 %#llx cr4 %#llx cr8 %#llx efer %#llx xcr0 %#llx",
		       f->run_call, (unsigned long long)s->cr0,
		       (unsigned long long)s->cr2, (unsigned long long)s->cr3,
		       (unsigned long long)s->cr4, (unsigned long long)s->cr8,
		       (unsigned long long)s->efer,
		       (unsigned long long)s->xcr0);
		wd_seg(k, "cs", &s->cs);
		wd_seg(k, "ss", &s->ss);
		wd_seg(k, "ds", &s->ds);
		wd_seg(k, "tr", &s->tr);
		wd_say(k, "  gdt %#llx/%#x idt %#llx/%#x rip %#llx rflags %#llx "
		       "rsp %#llx", (unsigned long long)s->gdt.base,
		       s->gdt.limit, (unsigned long long)s->idt.base,
		       s->idt.limit, (unsigned long long)g->rip,
		       (unsigned long long)g->rflags,
		       (unsigned long long)g->rsp);
	}
	if (k >= 0)
		close(k);
}

static void *watchdog(void *arg)
{
	uint64_t t, now;
	unsigned int i;
	struct fz *f;

	(void)arg;
	for (;;) {
		sleep(1);
		for (i = 0; i < MAX_FZ; i++) {
			f = fzs[i];
			if (!f)
				continue;
			t = atomic_load(&f->busy_since);
			now = now_ns();
			if (!t || now < t + SLOW_S * 1000000000ULL)
				continue;
			if (f->slow_reported != t) {
				f->slow_reported = t;
				wd_dump(f, (now - t) / 1000000000ULL, 0);
			}
			if (now < t + STUCK_S * 1000000000ULL ||
			    f->stuck_reported == t)
				continue;
			f->stuck_reported = t;
			atomic_store(&failed, 1);
			wd_dump(f, (now - t) / 1000000000ULL, 1);
		}
	}
	return NULL;
}

/* --- case set-up ------------------------------------------------------------ */

static int fz_init(struct fz *f, int id, uint64_t stream)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->rng.s = mix64(fuzz_seed ^ stream) + id;
	f->scratch = mmap(NULL, SCRATCH + PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->scratch == MAP_FAILED)
		return -1;
	if (mprotect(f->scratch + SCRATCH, PAGE_SIZE, PROT_NONE))
		return -1;
	timer_setup(f);
	fzs[atomic_fetch_add(&nfz, 1) % MAX_FZ] = f;
	return 0;
}

static void fz_fini(struct fz *f)
{
	unsigned int i;

	for (i = 0; i < MAX_FZ; i++)
		if (fzs[i] == f)
			fzs[i] = NULL;
	unmap_all(f);
	timer_delete(f->timer);
	munmap(f->scratch, SCRATCH + PAGE_SIZE);
}

static long module_refcnt(void)
{
	return read_long_file("/sys/module/mvm/refcnt");
}

/*
 * What every case shares: the system fd, an eventfd, guest RAM with GDT,
 * IDT, page tables, the test binary and random code, a PROT_NONE and a
 * read-only area, the budget, and the seed printed.
 */
static int case_setup(const char *name, struct fz *f, double share,
		      uint64_t stream)
{
	uint8_t *code16;
	pthread_t wd;
	struct rng r;

	case_name = name;
	ktap_diag("seed 0x%016" PRIx64, fuzz_seed);
	case_budget = fuzz_calls * share;
	case_deadline = now_ns() + (uint64_t)(fuzz_seconds * share * 1e9);
	install_kick_handler(KICK_SIG);
	if (pthread_create(&wd, NULL, watchdog, NULL) || pthread_detach(wd))
		return -1;
	sysfd = mvm_open_dev();
	if (sysfd < 0)
		return -1;
	mmap_size = ioctl(sysfd, MVM_GET_VCPU_MMAP_SIZE, 0);
	max_vcpus = ioctl(sysfd, MVM_CHECK_EXTENSION, MVM_CAP_MAX_VCPUS);
	ring_entries = ioctl(sysfd, MVM_CHECK_EXTENSION, MVM_CAP_RING_ENTRIES);
	evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mmap_size < (long)(2 * PAGE_SIZE) || evfd < 0)
		return -1;
	none_area = mmap(NULL, NONE_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_area = mmap(NULL, PAGE_SIZE, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none_area == MAP_FAILED || ro_area == MAP_FAILED)
		return -1;
	arena_vm = vm_create(ARENA_MIB);
	r.s = mix64(fuzz_seed ^ stream ^ 0xa5a5);
	code16 = gpa2hva(arena_vm, GUEST_CODE16);
	fill_random(&r, code16, GUEST_CODE16_MAX);
	fill_random(&r, gpa2hva(arena_vm, RANDOM_CODE),
		    RANDOM_CODE_END - RANDOM_CODE);
	/* A few real-mode sequences at the start of the random code. */
	memcpy(code16, "\xb0\x42\xe6\x10\xe5\x11\xe7\x12"	/* out, in, out */
	       "\xfb\xf4\xfa\xf4\xeb\xf4", 14);		/* sti hlt cli hlt */
	return fz_init(f, 0, stream);
}

static void print_counts(const char *name)
{
	uint64_t total = 0, n;
	unsigned int i;

	for (i = 0; i < NIOC; i++) {
		n = counts[i];
		total += n;
		ktap_diag("%s: %-22s %8" PRIu64, name, iocs[i].name, n);
	}
	for (i = C_OTHER; i < NCOUNT; i++) {
		n = counts[i];
		if (i == C_OTHER)
			total += n;
		ktap_diag("%s: %-22s %8" PRIu64, name, count_names[i - NIOC],
			  n);
	}
	ktap_diag("%s: %" PRIu64 " ioctl calls", name, total);
	if (fuzz_total)
		atomic_fetch_add(fuzz_total, total);
}

/* Fill the pool: a system fd, VMs and their vCPUs. */
static void pool_fill(struct fz *f)
{
	unsigned int i;
	int vm = -1, fd;

	for (i = 0; i < POOL; i++) {
		pool[i] = -1;
		pool_kind[i] = K_ANY;
	}
	pool[0] = mvm_open_dev();
	pool_kind[0] = K_SYS;
	for (i = 1; i < POOL; i++) {
		if (i % 4 == 1) {
			fd = vm = new_vm(f, sysfd);
			pool_kind[i] = K_VM;
		} else {
			fd = fz_ioctl(f, vm, MVM_CREATE_VCPU, i % 4);
			pool_kind[i] = K_VCPU;
		}
		pool[i] = fd;
	}
}

static void pool_close(struct fz *f)
{
	unsigned int i, j;

	for (i = 0; i < POOL; i++) {
		/* Numbers may repeat: close each once. */
		for (j = 0; j < i; j++)
			if (pool[j] == pool[i])
				break;
		if (j == i)
			fz_close(f, pool[i]);
		pool[i] = -1;
	}
}

/* After everything is closed, the module's reference count comes back. */
static int refcnt_back(long want)
{
	long n = -1;
	int i;

	for (i = 0; i < 100; i++) {
		n = module_refcnt();
		if (n == want)
			return 1;
		usleep(20000);
	}
	ktap_diag("module refcnt %ld, want %ld", n, want);
	return 0;
}

/* --- 1: single_thread ------------------------------------------------------ */

/* Every number of MVMIO's space, each direction, several sizes, each fd. */
static void sweep(struct fz *f)
{
	int fds[3] = { sysfd, pool[1], pool[2] };
	unsigned int k, nr, dir, s, size, known, i;
	unsigned long cmd, arg;

	f->what = "sweep";
	for (k = 0; k < 3; k++) {
		for (nr = 0; nr < 0xc0; nr++) {
			known = 0;
			for (i = 0; i < NIOC; i++)
				if (_IOC_NR(iocs[i].cmd) == nr)
					known = _IOC_SIZE(iocs[i].cmd);
			for (dir = 0; dir < 4; dir++) {
				for (s = 0; s < 4; s++) {
					size = s == 0 ? 0 : s == 1 ? known :
					       s == 2 ? known + 8 :
					       below(&f->rng, 1 << 14);
					cmd = _IOC(dir, MVMIO, nr, size);
					/* Known ones with their own args. */
					if (ioc_index(cmd) < (int)NIOC)
						continue;
					fill_random(&f->rng, f->scratch,
						    size > 256 ? 256 : size);
					arg = place(f, size);
					fz_ioctl(f, fds[k], cmd, arg);
					if (atomic_load(&failed))
						return;
				}
			}
		}
	}
}

static int single_thread(void)
{
	struct fz f;
	long refs = module_refcnt();
	int r;
	uint64_t start;

	r = case_setup(__func__, &f, 0.45, 1);
	if (r == KTAP_SKIP)
		return r;
	CHECK(!r, "set-up");
	f.churns = 1;
	pool_fill(&f);
	start = now_ns();
	sweep(&f);
	while (!done()) {
		/* Runs checked against their own run page. */
		if (chance(&f.rng, 3)) {
			unsigned int i = below(&f.rng, POOL);

			if (pool_kind[i] == K_VCPU)
				guest_run(&f, pool[i], 1);
			continue;
		}
		random_op(&f);
	}
	ktap_diag("%s: %.1f s", __func__, (now_ns() - start) / 1e9);
	print_counts(__func__);
	CHECK(!failed, "a call failed (above)");
	unmap_all(&f);
	pool_close(&f);
	close(evfd);
	close(sysfd);
	vm_free(arena_vm);
	fz_fini(&f);
	CHECK(refs < 0 || refcnt_back(refs), "references left");
	return KTAP_PASS;
}

/* --- 2: threads_and_closes --------------------------------------------------- */

static void *fuzz_thread(void *arg)
{
	struct fz *f = arg;

	if (f->id && fz_init(f, f->id, 2)) {
		report(f, "thread set-up: errno %d", errno);
		return NULL;
	}
	while (!done())
		random_op(f);
	unmap_all(f);
	return NULL;
}

static int threads_and_closes(void)
{
	struct fz f[NR_THREADS];
	pthread_t t[NR_THREADS];
	long refs = module_refcnt();
	int r;
	uint64_t start;
	unsigned int i;

	r = case_setup(__func__, &f[0], 0.40, 2);
	if (r == KTAP_SKIP)
		return r;
	CHECK(!r, "set-up");
	pool_fill(&f[0]);
	f[0].churns = 1;
	start = now_ns();
	for (i = 1; i < NR_THREADS; i++) {
		f[i].id = i;
		CHECK(!pthread_create(&t[i], NULL, fuzz_thread, &f[i]),
		      "pthread_create");
	}
	fuzz_thread(&f[0]);
	for (i = 1; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	ktap_diag("%s: %.1f s, %d threads", __func__,
		  (now_ns() - start) / 1e9, NR_THREADS);
	print_counts(__func__);
	CHECK(!failed, "a call failed (above)");
	pool_close(&f[0]);
	for (i = 1; i < NR_THREADS; i++)
		fz_fini(&f[i]);
	fz_fini(&f[0]);
	close(evfd);
	close(sysfd);
	vm_free(arena_vm);
	CHECK(refs < 0 || refcnt_back(refs), "references left");
	return KTAP_PASS;
}

/* --- 3: ring_garbage --------------------------------------------------------- */

/*
 * Real mode at 0x1000, posted writes forever:
 *	mov $0x42,%al
 * 1:	out %al,$0x10; out %ax,$0x12; out %eax,$0x14
 *	mov %al,0x8000	(ds = 0x9000: guest-physical 0x98000, MMIO)
 *	inc %al; jmp 1b
 */
static const uint8_t ring_code[] = {
	0xb0, 0x42, 0xe6, 0x10, 0xe7, 0x12, 0x66, 0xe7, 0x14, 0xa2, 0x00,
	0x80, 0xfe, 0xc0, 0xeb, 0xf2,
};

#define RING_VCPUS	2
#define RING_MEM	0x80000UL
#define RING_MMIO	0x98000UL

struct ring_vcpu {
	struct fz f;
	int fd;
	struct mvm_run *run;
	struct mvm_ring *ring;
	uint64_t runs, full, einval, eintr;
};

static struct ring_vcpu rv[RING_VCPUS];
/* The host's view of the guest's RAM, for the diagnosis below. */
static const uint8_t *ring_mem;

/*
 * After an exit the ring case does not expect: the vCPU's registers and
 * the guest code as the host sees it, so that a failure says whether the
 * code or the registers went wrong.
 */
static void ring_dump(struct ring_vcpu *v)
{
	struct mvm_regs regs;
	struct mvm_sregs s;
	const uint8_t *c = ring_mem + 0x1000;

	if (!ioctl(v->fd, MVM_GET_REGS, &regs) &&
	    !ioctl(v->fd, MVM_GET_SREGS, &s))
		ktap_diag("ring_garbage: vCPU %u: rip %#llx rflags %#llx rax %#llx"
			  " rbx %#llx rsi %#llx rsp %#llx cs %#x/%#llx ds %#x/%#llx"
			  " ss %#x/%#llx cr0 %#llx", (unsigned int)(v - rv),
			  (unsigned long long)regs.rip,
			  (unsigned long long)regs.rflags,
			  (unsigned long long)regs.rax,
			  (unsigned long long)regs.rbx,
			  (unsigned long long)regs.rsi,
			  (unsigned long long)regs.rsp, s.cs.selector,
			  (unsigned long long)s.cs.base, s.ds.selector,
			  (unsigned long long)s.ds.base, s.ss.selector,
			  (unsigned long long)s.ss.base,
			  (unsigned long long)s.cr0);
	ktap_diag("ring_garbage: code at 0x1000: %02x %02x %02x %02x %02x %02x"
		  " %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x", c[0],
		  c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10],
		  c[11], c[12], c[13], c[14], c[15]);
	mvm_rollbacks_dump();
}

static void *ring_runner(void *arg)
{
	struct ring_vcpu *v = arg;
	struct fz *f = &v->f;
	struct mvm_access *io = &v->run->io;
	long r;

	if (fz_init(f, 1 + (v - rv), 3)) {
		report(f, "thread set-up: errno %d", errno);
		return NULL;
	}
	f->what = "ring run";
	f->no_capture = 1;
	while (!done()) {
		if (chance(&f->rng, 5))
			v->run->immediate_exit = 1;
		r = bounded_run(f, v->fd);
		v->run->immediate_exit = 0;
		v->runs++;
		if (r) {
			if (errno == EINVAL)
				v->einval++;
			else if (errno == EINTR)
				v->eintr++;
			else
				report(f, "MVM_RUN: errno %d (%s), want "
				       "EINVAL or EINTR", errno,
				       strerror(errno));
			continue;
		}
		v->full++;
		/* Nothing but posted writes: only a full ring exits. */
		if (v->run->exit_reason != MVM_EXIT_RING_FULL ||
		    !io->write ||
		    (io->space == MVM_SPACE_PIO &&
		     (io->addr < 0x10 || io->addr + io->size > 0x18)) ||
		    (io->space == MVM_SPACE_MMIO &&
		     (io->addr != RING_MMIO || io->size != 1)) ||
		    (io->space != MVM_SPACE_PIO && io->space != MVM_SPACE_MMIO))
			report(f, "exit %u at rip %#llx: space %u addr %#llx "
			       "size %u write %u (internal %u: %#llx %#llx)",
			       v->run->exit_reason,
			       (unsigned long long)v->run->rip, io->space,
			       (unsigned long long)io->addr, io->size,
			       io->write, v->run->internal.suberror,
			       (unsigned long long)v->run->internal.data[0],
			       (unsigned long long)v->run->internal.data[1]);
		if (v->run->exit_reason != MVM_EXIT_RING_FULL)
			ring_dump(v);
	}
	fz_fini(f);
	return NULL;
}

/* Garbage in head, tail, nr_entries, padding and entries of both rings. */
static void ring_scribble(struct fz *f)
{
	struct rng *r = &f->rng;
	eventfd_t ev;
	uint64_t n = 0;

	f->what = "ring garbage";
	while (!done()) {
		struct ring_vcpu *v = &rv[below(r, RING_VCPUS)];
		volatile uint32_t *w = (volatile uint32_t *)v->ring;
		uint32_t head = w[0], val;

		switch (below(r, 6)) {
		case 0:
			val = head;		/* drained: valid */
			break;
		case 1:
			val = head - below(r, ring_entries + 2);
			break;
		case 2:
			val = head + 1 + below(r, 4);
			break;
		case 3:
			val = edge_u64(r);
			break;
		default:
			val = rnd(r);
			break;
		}
		switch (below(r, 8)) {
		case 0:
			w[0] = val;			/* head */
			break;
		case 1:
			w[1] = val;			/* nr_entries */
			break;
		case 2:
			w[2 + below(r, 14)] = val;	/* pad0 */
			break;
		case 3:
			w[17 + below(r, 15)] = val;	/* pad1 */
			break;
		case 4:
			w[32 + below(r, (mmap_size - PAGE_SIZE - 128) / 4)] =
				rnd(r);			/* entries */
			break;
		default:
			__atomic_store_n(&w[16], val, __ATOMIC_RELEASE);
			break;				/* tail */
		}
		if (!(++n & 255))
			eventfd_read(evfd, &ev);
		if (!(n & 63))
			usleep(100);
	}
	ktap_diag("%s: %" PRIu64 " garbage stores", case_name, n);
}

static int ring_garbage(void)
{
	struct mvm_posted_range pr = { .space = MVM_SPACE_PIO, .addr = 0x10,
				       .len = 8 };
	struct mvm_ring_eventfd ev = { 0 };
	struct mvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	struct mvm_memory_region slot = { .memory_size = RING_MEM };
	struct mvm_sregs s;
	pthread_t t[RING_VCPUS];
	struct vm *vm;
	struct fz f;
	long refs = module_refcnt();
	int r;
	unsigned int i;

	r = case_setup(__func__, &f, 0.15, 3);
	if (r == KTAP_SKIP)
		return r;
	CHECK(!r, "set-up");
	vm = vm_create_bare(1);
	/* Shrink the slot below the MMIO address. */
	slot.userspace_addr = (uintptr_t)vm->mem;
	CHECK(!fz_ioctl(&f, vm->fd, MVM_SET_MEMORY_REGION, (uintptr_t)&slot),
	      "slot");
	memcpy(vm->mem + 0x1000, ring_code, sizeof(ring_code));
	ring_mem = vm->mem;
	CHECK(!fz_ioctl(&f, vm->fd, MVM_SET_POSTED_RANGE, (uintptr_t)&pr),
	      "posted PIO");
	pr = (struct mvm_posted_range){ .space = MVM_SPACE_MMIO,
					.addr = RING_MMIO, .len = 8 };
	CHECK(!fz_ioctl(&f, vm->fd, MVM_SET_POSTED_RANGE, (uintptr_t)&pr),
	      "posted MMIO");
	ev.fd = evfd;
	for (i = 0; i < RING_VCPUS; i++) {
		struct ring_vcpu *v = &rv[i];

		v->fd = fz_ioctl(&f, vm->fd, MVM_CREATE_VCPU, i);
		CHECK(v->fd >= 0, "vCPU %u", i);
		v->run = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		v->ring = mmap(NULL, mmap_size - PAGE_SIZE,
			       PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
			       MVM_RING_PGOFF * PAGE_SIZE);
		CHECK(v->run != MAP_FAILED && v->ring != MAP_FAILED, "mmap");
		CHECK(!fz_ioctl(&f, v->fd, MVM_GET_SREGS, (uintptr_t)&s),
		      "sregs");
		s.cs.selector = 0;
		s.cs.base = 0;
		s.ds.selector = 0x9000;
		s.ds.base = 0x90000;
		CHECK(!fz_ioctl(&f, v->fd, MVM_SET_SREGS, (uintptr_t)&s),
		      "sregs");
		CHECK(!fz_ioctl(&f, v->fd, MVM_SET_REGS, (uintptr_t)&regs),
		      "regs");
		CHECK(!fz_ioctl(&f, v->fd, MVM_SET_RING_EVENTFD,
				(uintptr_t)&ev), "eventfd");
	}
	for (i = 0; i < RING_VCPUS; i++)
		CHECK(!pthread_create(&t[i], NULL, ring_runner, &rv[i]),
		      "pthread_create");
	ring_scribble(&f);
	atomic_store(&stop, 1);
	for (i = 0; i < RING_VCPUS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < RING_VCPUS; i++)
		ktap_diag("%s: vCPU %u: %" PRIu64 " runs, %" PRIu64
			  " ring full, %" PRIu64 " EINVAL, %" PRIu64 " EINTR",
			  __func__, i, rv[i].runs, rv[i].full, rv[i].einval,
			  rv[i].eintr);
	print_counts(__func__);
	CHECK(!failed, "a call failed (above)");
	for (i = 0; i < RING_VCPUS; i++) {
		munmap(rv[i].run, PAGE_SIZE);
		munmap(rv[i].ring, mmap_size - PAGE_SIZE);
		close(rv[i].fd);
	}
	vm_free(vm);
	vm_free(arena_vm);
	close(evfd);
	close(sysfd);
	fz_fini(&f);
	CHECK(refs < 0 || refcnt_back(refs), "references left");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(single_thread, 150),
	KTAP_CASE_T(threads_and_closes, 150),
	KTAP_CASE_T(ring_garbage, 90),
};

KTAP_MAIN(cases)
