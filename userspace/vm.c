// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the VM, its vCPU and the run loop.
 *
 * One vCPU (there is no local APIC to start others), run by the main
 * thread.  Device threads (the PIT's timer, terminal input, the ring) have
 * every signal blocked, so SIGINT, SIGTERM, SIGHUP and SIGQUIT reach the
 * main thread, whose handler sets immediate_exit: MVM_RUN returns EINTR
 * and the loop ends with status 128 + the signal.
 *
 * Port writes that need no answer (the UART's THR, port 0x80) are posted:
 * the module appends them to the vCPU's ring and the guest goes on.  The
 * ring has two consumers, both under dev_lock: the vCPU thread, which
 * drains it before it handles any exit (so devices see accesses in guest
 * order), and a thread woken by the ring's eventfd, which drains it while
 * the guest runs or halts (so output appears, and THRE interrupts follow,
 * without waiting for the next exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/mvm.h>

#include "launcher.h"

#define MVM_DEV		"/dev/mvm"
#define PAGE_SIZE	4096UL

/* CPUID bits the launcher hides beyond what the module already does. */
#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DL	(1U << 24)
#define CPUID_1_EDX_APIC	(1U << 9)
#define CPUID_1_EDX_MTRR	(1U << 12)
#define CPUID_1_EDX_MCE		(1U << 7)
#define CPUID_1_EDX_MCA		(1U << 14)
#define CPUID_81_ECX_EXTAPIC	(1U << 3)
#define CPUID_81_ECX_TOPOEXT	(1U << 22)

static struct {
	int dev, fd, vcpu_fd;
	struct mvm_run *run;
	struct mvm_ring *ring;
	uint32_t tail;
	struct guest_mem gm;
	uint64_t exits[MVM_EXIT_RING_FULL + 1];
	uint64_t posted, uart_exits, uart_bytes;
	uint32_t port_exits[65536][2];	/* [port][write], exits only */
} vm;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
	if (vm.run)
		vm.run->immediate_exit = 1;
}

/* Opens /dev/mvm and checks the API version: the fd, or -1 (said why). */
int mvm_open(void)
{
	int fd = open(MVM_DEV, O_RDWR | O_CLOEXEC);
	int version;

	if (fd < 0) {
		fprintf(stderr, "mvm: cannot open %s: %s%s\n", MVM_DEV,
			strerror(errno),
			errno == ENOENT ? " (is the mvm module loaded?)" : "");
		return -1;
	}
	version = ioctl(fd, MVM_GET_API_VERSION, 0);
	if (version != MVM_API_VERSION) {
		fprintf(stderr, "mvm: %s speaks API version %d, this launcher %d\n",
			MVM_DEV, version, MVM_API_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

static void deliver_vector(void *ctx, uint8_t vector)
{
	struct mvm_interrupt irq = { .vector = vector };

	(void)ctx;
	if (ioctl(vm.vcpu_fd, MVM_INTERRUPT, &irq))
		fprintf(stderr, "mvm: MVM_INTERRUPT %u: %s\r\n", vector,
			strerror(errno));
}

static void access_one(const struct mvm_access *a, uint64_t *data)
{
	uint32_t v = *data;

	if (a->space == MVM_SPACE_PIO) {
		pio_access(a->addr, a->size, a->write, &v);
		*data = v;
	} else {
		mmio_access(a->addr, a->size, a->write, data);
	}
}

/* The ring's consumer; dev_lock held. */
static void ring_drain(void)
{
	uint32_t head = __atomic_load_n(&vm.ring->head, __ATOMIC_ACQUIRE);
	uint32_t n = vm.ring->nr_entries;
	struct mvm_access a;
	uint64_t data;

	while (vm.tail != head) {
		a = vm.ring->entries[vm.tail % n];
		data = a.data;
		if (a.space == MVM_SPACE_PIO && a.addr == UART_COM1)
			vm.uart_bytes++;
		access_one(&a, &data);
		vm.tail++;
		vm.posted++;
	}
	__atomic_store_n(&vm.ring->tail, vm.tail, __ATOMIC_RELEASE);
}

static void *ring_thread(void *arg)
{
	int efd = (int)(long)arg;
	uint64_t n;
	uint32_t head;

	for (;;) {
		pthread_mutex_lock(&dev_lock);
		do {
			ring_drain();
			/* Tail stored; look at head once more before sleeping. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			head = __atomic_load_n(&vm.ring->head, __ATOMIC_ACQUIRE);
		} while (head != vm.tail);
		uart_flush();
		pthread_mutex_unlock(&dev_lock);
		if (read(efd, &n, sizeof(n)) < 0 && errno != EINTR)
			return NULL;
	}
}

/*
 * The guest's CPUID: the module's supported table, less what this machine
 * does not have.
 */
static int setup_cpuid(void)
{
	struct mvm_cpuid *c;
	struct mvm_cpuid_entry *e;
	unsigned int i;
	int r;

	c = calloc(1, sizeof(*c) + MVM_MAX_CPUID_ENTRIES * sizeof(*e));
	if (!c)
		return -1;
	c->nent = MVM_MAX_CPUID_ENTRIES;
	r = ioctl(vm.dev, MVM_GET_SUPPORTED_CPUID, c);
	for (i = 0; !r && i < c->nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 1:
			/* One CPU, APIC id 0; no APIC, MTRRs or machine checks. */
			e->ebx &= 0x0000ffff;
			e->ecx &= ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DL);
			e->edx &= ~(CPUID_1_EDX_APIC | CPUID_1_EDX_MTRR |
				    CPUID_1_EDX_MCE | CPUID_1_EDX_MCA);
			break;
		case 0xd:
			/*
			 * EBX is the XSAVE area size for the XCR0 in force;
			 * the module's static table has the host's.  A guest
			 * enables everything supported, whose size is ECX,
			 * and Linux checks that the two agree (else it runs
			 * without XSAVE, while CPUID's static OSXSAVE tells
			 * its programs to use XGETBV, which then faults).
			 */
			if (e->index == 0)
				e->ebx = e->ecx;
			break;
		case 0x80000001:
			e->ecx &= ~(CPUID_81_ECX_EXTAPIC | CPUID_81_ECX_TOPOEXT);
			break;
		}
	}
	if (!r)
		r = ioctl(vm.vcpu_fd, MVM_SET_CPUID, c);
	if (r)
		fprintf(stderr, "mvm: setting the guest's CPUID: %s\n",
			strerror(errno));
	free(c);
	return r;
}

static void set_seg(struct mvm_segment *s, uint16_t sel, uint64_t base,
		    uint32_t limit, uint8_t type, uint8_t l, uint8_t db,
		    uint8_t g)
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

static int setup_entry(const struct guest_entry *e)
{
	struct mvm_sregs sregs;
	struct mvm_regs regs;

	if (ioctl(vm.vcpu_fd, MVM_GET_SREGS, &sregs))
		return -1;
	switch (e->mode) {
	case ENTRY_REAL:
		set_seg(&sregs.cs, e->rip >> 4, e->rip & ~0xfULL, 0xffff, 0xb,
			0, 0, 0);
		set_seg(&sregs.ds, 0, 0, 0xffff, 0x3, 0, 0, 0);
		sregs.cr0 = 0x10;	/* ET */
		break;
	case ENTRY_PROT32:
		set_seg(&sregs.cs, 0x10, 0, 0xffffffff, 0xb, 0, 1, 1);
		set_seg(&sregs.ds, 0x18, 0, 0xffffffff, 0x3, 0, 1, 1);
		sregs.cr0 = 0x11;	/* PE, ET */
		break;
	case ENTRY_LONG:
		set_seg(&sregs.cs, 0x08, 0, 0xffffffff, 0xb, 1, 0, 1);
		set_seg(&sregs.ds, 0x18, 0, 0xffffffff, 0x3, 0, 1, 1);
		sregs.cr0 = 0x80010033;	/* PG, WP, NE, ET, MP, PE */
		sregs.cr3 = e->cr3;
		sregs.cr4 = 0x620;	/* OSXMMEXCPT, OSFXSR, PAE */
		sregs.efer = 0x500;	/* LMA, LME */
		break;
	}
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 2;
	sregs.ldt.unusable = 1;
	if (e->mode != ENTRY_REAL) {
		/* A busy TSS, unused until the guest loads its own. */
		memset(&sregs.tr, 0, sizeof(sregs.tr));
		sregs.tr.limit = 0x67;
		sregs.tr.type = 0xb;
		sregs.tr.present = 1;
		sregs.gdt.base = e->gdt;
		sregs.gdt.limit = 0x1f;
		sregs.idt.base = 0;
		sregs.idt.limit = 0;
	}
	if (ioctl(vm.vcpu_fd, MVM_SET_SREGS, &sregs))
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = e->mode == ENTRY_REAL ? 0 : e->rip;
	regs.rsp = e->rsp;
	regs.rsi = e->rsi;
	regs.rflags = 0x2;
	return ioctl(vm.vcpu_fd, MVM_SET_REGS, &regs);
}

static int create_vm(const struct vm_config *cfg)
{
	vm.dev = mvm_open();
	if (vm.dev < 0)
		return EXIT_NO_MVM;
	vm.fd = ioctl(vm.dev, MVM_CREATE_VM, 0);
	if (vm.fd < 0) {
		fprintf(stderr, "mvm: cannot create a VM: %s%s\n",
			strerror(errno), errno == EBUSY ?
			" (another hypervisor owns the CPUs)" : "");
		return EXIT_ERROR;
	}
	vm.gm.size = cfg->mem_size;
	vm.gm.mem = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm.gm.mem == MAP_FAILED) {
		fprintf(stderr, "mvm: cannot allocate %llu MiB of guest memory: %s\n",
			(unsigned long long)(cfg->mem_size / MiB),
			strerror(errno));
		return EXIT_ERROR;
	}
	madvise(vm.gm.mem, cfg->mem_size, MADV_HUGEPAGE);
	return 0;
}

static int create_vcpu(void)
{
	long size;

	vm.vcpu_fd = ioctl(vm.fd, MVM_CREATE_VCPU, 0);
	if (vm.vcpu_fd < 0) {
		fprintf(stderr, "mvm: cannot create a vCPU: %s\n",
			strerror(errno));
		return EXIT_ERROR;
	}
	size = ioctl(vm.dev, MVM_GET_VCPU_MMAP_SIZE, 0);
	vm.run = size > 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, vm.vcpu_fd, 0) : MAP_FAILED;
	if (vm.run == MAP_FAILED) {
		fprintf(stderr, "mvm: cannot map the vCPU: %s\n",
			strerror(errno));
		vm.run = NULL;
		return EXIT_ERROR;
	}
	vm.ring = (struct mvm_ring *)((char *)vm.run +
				      MVM_RING_PGOFF * PAGE_SIZE);
	vm.tail = vm.ring->tail;
	return 0;
}

static int set_memory(void)
{
	struct mvm_memory_region r = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm.gm.size,
		.userspace_addr = (uintptr_t)vm.gm.mem,
	};

	if (!ioctl(vm.fd, MVM_SET_MEMORY_REGION, &r))
		return 0;
	fprintf(stderr, "mvm: cannot give the guest %llu MiB: %s%s\n",
		(unsigned long long)(vm.gm.size / MiB), strerror(errno),
		errno == ENOMEM ? " (RLIMIT_MEMLOCK?)" : "");
	return EXIT_ERROR;
}

static int post_ports(uint16_t port, uint16_t len)
{
	struct mvm_posted_range r = {
		.space = MVM_SPACE_PIO,
		.addr = port,
		.len = len,
	};

	return ioctl(vm.fd, MVM_SET_POSTED_RANGE, &r);
}

/* Devices, posted ranges, threads; signals blocked in the threads. */
static int start_devices(void)
{
	struct mvm_ring_eventfd ref = { .fd = -1 };
	sigset_t all, old;
	pthread_t t;
	int ret = -1;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pic_init(deliver_vector, NULL);
	platform_init();
	if (pit_init() || uart_init(STDIN_FILENO, STDOUT_FILENO))
		goto out;
	if (post_ports(UART_COM1, 1) || post_ports(0x80, 1))
		goto out;
	ref.fd = eventfd(0, EFD_CLOEXEC);
	if (ref.fd < 0 || ioctl(vm.vcpu_fd, MVM_SET_RING_EVENTFD, &ref))
		goto out;
	if (pthread_create(&t, NULL, ring_thread, (void *)(long)ref.fd))
		goto out;
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "mvm: cannot set up the devices: %s\n",
			strerror(errno));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static void install_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	unsigned int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: MVM_RUN returns */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* A reader that goes away loses the guest's output, nothing more. */
	signal(SIGPIPE, SIG_IGN);
}

static void print_stats(void)
{
	uint64_t total = 0;
	unsigned int i, w;

	for (i = 0; i <= MVM_EXIT_RING_FULL; i++)
		total += vm.exits[i];
	fprintf(stderr, "mvm: %llu exits (%llu I/O, %llu MMIO, %llu ring full, %llu signals), %llu at the UART; %llu posted writes, %llu bytes to the UART\r\n",
		(unsigned long long)total,
		(unsigned long long)vm.exits[MVM_EXIT_IO],
		(unsigned long long)vm.exits[MVM_EXIT_MMIO],
		(unsigned long long)vm.exits[MVM_EXIT_RING_FULL],
		(unsigned long long)vm.exits[MVM_EXIT_INTR],
		(unsigned long long)vm.uart_exits,
		(unsigned long long)vm.posted,
		(unsigned long long)vm.uart_bytes);
	for (i = 0; i < 65536; i++)
		for (w = 0; w < 2; w++)
			if (vm.port_exits[i][w] * 100ULL > total)
				fprintf(stderr, "mvm:   port %#06x %s: %u exits\r\n",
					i, w ? "out" : "in", vm.port_exits[i][w]);
}

/* The vCPU's state in one line, after an exit that ends the guest. */
static void dump_state(void)
{
	struct mvm_sregs sr;
	struct mvm_regs r;

	if (ioctl(vm.vcpu_fd, MVM_GET_REGS, &r) ||
	    ioctl(vm.vcpu_fd, MVM_GET_SREGS, &sr))
		return;
	fprintf(stderr, "mvm: rip %#llx rsp %#llx rflags %#llx cs %#x cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx efer %#llx\r\n",
		(unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags, sr.cs.selector,
		(unsigned long long)sr.cr0, (unsigned long long)sr.cr2,
		(unsigned long long)sr.cr3, (unsigned long long)sr.cr4,
		(unsigned long long)sr.efer);
}

/* One exit; dev_lock held.  Returns an exit status, or -1 to go on. */
static int handle_exit(void)
{
	struct mvm_run *run = vm.run;
	uint64_t data;

	switch (run->exit_reason) {
	case MVM_EXIT_IO:
	case MVM_EXIT_MMIO:
	case MVM_EXIT_RING_FULL:
		data = run->io.data;
		if (run->io.space == MVM_SPACE_PIO) {
			vm.port_exits[run->io.addr & 0xffff][run->io.write]++;
			if (run->io.addr >= UART_COM1 &&
			    run->io.addr < UART_COM1 + 8)
				vm.uart_exits++;
		}
		access_one(&run->io, &data);
		run->io.data = data;
		return -1;
	case MVM_EXIT_SHUTDOWN:
		fprintf(stderr, "mvm: the guest shut down (triple fault) at rip %#llx\r\n",
			(unsigned long long)run->rip);
		return EXIT_TRIPLE_FAULT;
	case MVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "mvm: the CPU refused the guest state: reason %#llx, info %#llx %#llx\r\n",
			(unsigned long long)run->fail_entry.hardware_reason,
			(unsigned long long)run->fail_entry.info[0],
			(unsigned long long)run->fail_entry.info[1]);
		dump_state();
		return EXIT_ERROR;
	case MVM_EXIT_INTERNAL_ERROR:
		fprintf(stderr, "mvm: internal error %u at rip %#llx: %#llx %#llx\r\n",
			run->internal.suberror, (unsigned long long)run->rip,
			(unsigned long long)run->internal.data[0],
			(unsigned long long)run->internal.data[1]);
		dump_state();
		return EXIT_ERROR;
	default:
		fprintf(stderr, "mvm: unexpected exit reason %u at rip %#llx\r\n",
			run->exit_reason, (unsigned long long)run->rip);
		return EXIT_ERROR;
	}
}

static int run_loop(void)
{
	int r, status;

	for (;;) {
		if (stop_signal)
			return EXIT_SIGNAL + stop_signal;
		r = ioctl(vm.vcpu_fd, MVM_RUN, 0);
		if (r && errno != EINTR) {
			fprintf(stderr, "mvm: MVM_RUN: %s\r\n", strerror(errno));
			return EXIT_ERROR;
		}
		pthread_mutex_lock(&dev_lock);
		ring_drain();
		if (r) {
			vm.exits[MVM_EXIT_INTR]++;
			status = -1;
		} else {
			if (vm.run->exit_reason <= MVM_EXIT_RING_FULL)
				vm.exits[vm.run->exit_reason]++;
			status = handle_exit();
		}
		uart_flush();
		switch (machine_pending()) {
		case REQ_POWEROFF:
			status = EXIT_POWEROFF;
			break;
		case REQ_REBOOT:
			status = EXIT_REBOOT;
			break;
		case REQ_NONE:
			break;
		}
		pthread_mutex_unlock(&dev_lock);
		if (status >= 0)
			return status;
	}
}

int vm_run(const struct vm_config *cfg)
{
	struct guest_entry entry;
	int ret;

	ret = create_vm(cfg);
	if (ret)
		return ret;
	acpi_build(vm.gm.mem);
	memset(&entry, 0, sizeof(entry));
	if (cfg->kernel)
		ret = load_bzimage(&vm.gm, cfg->kernel, cfg->initrd,
				   cfg->cmdline, &entry);
	else
		ret = load_elf_or_flat(&vm.gm, cfg->image, &entry);
	if (ret)
		return ret;
	ret = set_memory();
	if (!ret)
		ret = create_vcpu();
	if (ret)
		return ret;
	if (setup_cpuid())
		return EXIT_ERROR;
	if (setup_entry(&entry)) {
		fprintf(stderr, "mvm: cannot set the vCPU's entry state: %s\n",
			strerror(errno));
		return EXIT_ERROR;
	}
	install_signals();
	if (start_devices())
		return EXIT_ERROR;
	ret = run_loop();
	pthread_mutex_lock(&dev_lock);
	ring_drain();
	uart_flush();
	pthread_mutex_unlock(&dev_lock);
	if (debug_exits)
		print_stats();
	return ret;
}
