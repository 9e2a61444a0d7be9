// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the machine.  The VM and its memory, the devices on its
 * bus, and the interrupt routing: ISA lines go to the i8259 pair, whose
 * vectors go to vCPU 0 (there is no local APIC to address others).
 *
 * The main thread builds the machine, starts one thread per vCPU (vcpu.c)
 * and then only waits, with SIGINT, SIGTERM, SIGHUP and SIGQUIT blocked,
 * in sigwaitinfo(): a signal stops the machine with status 128 + the
 * signal; a vCPU thread that ends sends SIG_VCPU_DONE.  Every other thread
 * has these signals blocked, so they reach the main thread alone.  The
 * machine stops at the first vm_stop(): a vCPU's exit that ends the guest,
 * a device's request (power off, reset), or a signal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hw/hw.h"
#include "launcher.h"
#include "vm.h"

#define MVM_DEV		"/dev/mvm"

bool debug_exits;

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

void vm_stop(struct vm *vm, int status)
{
	int running = -1;
	unsigned int i;

	if (status < 0 ||
	    !__atomic_compare_exchange_n(&vm->status, &running, status, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

int vm_status(struct vm *vm)
{
	return __atomic_load_n(&vm->status, __ATOMIC_ACQUIRE);
}

/* A device asked: the machine stops with the matching status. */
static void on_request(struct machine *m, enum machine_request req)
{
	vm_stop(m->owner, req == REQ_REBOOT ? EXIT_REBOOT :
			  req == REQ_EXIT ? m->exit_status : EXIT_POWEROFF);
}

/* The i8259's output: vCPU 0 takes the vector (PIC lock held). */
static void deliver_vector(void *ctx, uint8_t vector)
{
	struct vm *vm = ctx;
	struct mvm_interrupt irq = { .vector = vector };

	if (ioctl(vm->vcpus[0]->fd, MVM_INTERRUPT, &irq))
		fprintf(stderr, "mvm: MVM_INTERRUPT %u: %s\r\n", vector,
			strerror(errno));
}

/*
 * The guest's CPUID: the module's supported table as it is, which already
 * hides everything this machine lacks (an APIC and x2APIC, the TSC
 * deadline timer, MTRRs, machine checks, a topology: leaf 1 EBX[31:16] is
 * 0, one CPU with APIC id 0).  The launcher hides nothing more; it only
 * sets leaf 0xd's XSAVE size for the XCR0 its guest will use.
 */
static int setup_cpuid(struct vm *vm, struct vcpu *vcpu)
{
	struct mvm_cpuid *c;
	struct mvm_cpuid_entry *e;
	unsigned int i;
	int r;

	c = calloc(1, sizeof(*c) + MVM_MAX_CPUID_ENTRIES * sizeof(*e));
	if (!c)
		return -1;
	c->nent = MVM_MAX_CPUID_ENTRIES;
	r = ioctl(vm->dev, MVM_GET_SUPPORTED_CPUID, c);
	for (i = 0; !r && i < c->nent; i++) {
		e = &c->entries[i];
		/*
		 * Leaf 0xd EBX is the XSAVE area size for the XCR0 in force;
		 * the module's static table has the host's.  A guest enables
		 * everything supported, whose size is ECX, and Linux checks
		 * that the two agree (else it runs without XSAVE, while
		 * CPUID's static OSXSAVE tells its programs to use XGETBV,
		 * which then faults).
		 */
		if (e->function == 0xd && e->index == 0)
			e->ebx = e->ecx;
	}
	if (!r)
		r = ioctl(vcpu->fd, MVM_SET_CPUID, c);
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

static int setup_entry(struct vcpu *vcpu, const struct guest_entry *e)
{
	struct mvm_sregs sregs;
	struct mvm_regs regs;

	if (ioctl(vcpu->fd, MVM_GET_SREGS, &sregs))
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
	if (ioctl(vcpu->fd, MVM_SET_SREGS, &sregs))
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = e->mode == ENTRY_REAL ? 0 : e->rip;
	regs.rsp = e->rsp;
	regs.rsi = e->rsi;
	regs.rax = e->rax;
	regs.rbx = e->rbx;
	regs.rflags = 0x2;
	return ioctl(vcpu->fd, MVM_SET_REGS, &regs);
}

static int create_vm(struct vm *vm, const struct vm_config *cfg)
{
	vm->dev = mvm_open();
	if (vm->dev < 0)
		return EXIT_NO_MVM;
	vm->fd = ioctl(vm->dev, MVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		fprintf(stderr, "mvm: cannot create a VM: %s%s\n",
			strerror(errno), errno == EBUSY ?
			" (another hypervisor owns the CPUs)" : "");
		return EXIT_ERROR;
	}
	/* RAM below the PCI hole, the rest from 4 GiB up, as on a PC. */
	vm->gm.size = cfg->mem_size < LOW_RAM_MAX ? cfg->mem_size : LOW_RAM_MAX;
	vm->gm.high = cfg->mem_size - vm->gm.size;
	vm->gm.mem = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->gm.mem == MAP_FAILED) {
		fprintf(stderr, "mvm: cannot allocate %llu MiB of guest memory: %s\n",
			(unsigned long long)(cfg->mem_size / MiB),
			strerror(errno));
		return EXIT_ERROR;
	}
	madvise(vm->gm.mem, cfg->mem_size, MADV_HUGEPAGE);
	return 0;
}

/* Slot 0 is the RAM below the PCI hole, slot 1 the RAM above 4 GiB. */
static int set_memory(struct vm *vm)
{
	struct mvm_memory_region r[2] = {
		{
			.slot = 0,
			.guest_phys_addr = 0,
			.memory_size = vm->gm.size,
			.userspace_addr = (uintptr_t)vm->gm.mem,
		}, {
			.slot = 1,
			.guest_phys_addr = HIGH_RAM_BASE,
			.memory_size = vm->gm.high,
			.userspace_addr = (uintptr_t)(vm->gm.mem + vm->gm.size),
		},
	};
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (!r[i].memory_size ||
		    !ioctl(vm->fd, MVM_SET_MEMORY_REGION, &r[i]))
			continue;
		fprintf(stderr, "mvm: cannot give the guest %llu MiB at %#llx: %s%s\n",
			(unsigned long long)(r[i].memory_size / MiB),
			(unsigned long long)r[i].guest_phys_addr,
			strerror(errno), errno == ENOMEM ?
			" (RLIMIT_MEMLOCK, or the host's memory?)" :
			errno == EINVAL && i ?
			" (beyond the guest-physical addresses mvm maps?)" : "");
		return EXIT_ERROR;
	}
	return 0;
}

static int post_ports(struct vm *vm, uint16_t port, uint16_t len)
{
	struct mvm_posted_range r = {
		.space = MVM_SPACE_PIO,
		.addr = port,
		.len = len,
	};

	return ioctl(vm->fd, MVM_SET_POSTED_RANGE, &r);
}

/*
 * The devices, the ports whose writes are posted, the rings' threads;
 * called with every signal blocked, which the threads inherit.
 */
static int start_devices(struct vm *vm, const struct vm_config *cfg)
{
	struct machine *m = &vm->machine;
	unsigned int i;

	m->bus.debug = debug_exits;
	m->on_request = on_request;
	m->owner = vm;
	vm->pic = i8259_create(m, deliver_vector, vm);
	if (!vm->pic)
		return -1;
	m->irq_line = i8259_set_irq;
	m->irq_ctx = vm->pic;
	if (!platform_create(m) || !i8254_create(m) ||
	    !serial_create(m, STDIN_FILENO, STDOUT_FILENO) ||
	    !fw_cfg_create(m, vm->gm.size + vm->gm.high, vm->nr_vcpus,
			   cfg->cmdline ? cfg->cmdline : "") ||
	    (cfg->debug_exit && !debug_exit_create(m)))
		return -1;
	if (post_ports(vm, SERIAL_COM1, 1) || post_ports(vm, PORT_POST, 1))
		return -1;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start_ring(vm->vcpus[i]))
			return -1;
	return 0;
}

/* Waits for the vCPUs; a stop signal stops the machine first. */
static void wait_vcpus(struct vm *vm, const sigset_t *sigs)
{
	int sig;

	while (__atomic_load_n(&vm->running, __ATOMIC_ACQUIRE)) {
		sig = sigwaitinfo(sigs, NULL);
		if (sig < 0 || sig == SIG_VCPU_DONE)
			continue;
		vm_stop(vm, EXIT_SIGNAL + sig);
	}
}

int vm_run(const struct vm_config *cfg)
{
	static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct guest_entry entry;
	struct vm *vm = calloc(1, sizeof(*vm));
	sigset_t all, sigs;
	unsigned int i;
	int ret;

	if (!vm)
		return EXIT_ERROR;
	vm->status = -1;
	vm->main_thread = pthread_self();
	ret = create_vm(vm, cfg);
	if (ret)
		return ret;
	acpi_build(vm->gm.mem);
	memset(&entry, 0, sizeof(entry));
	ret = load_guest(&vm->gm, cfg->kernel, cfg->image, cfg->initrd,
			 cfg->cmdline, &entry);
	if (ret)
		return ret;
	ret = set_memory(vm);
	if (ret)
		return ret;
	for (i = 0; i < cfg->cpus && i < MAX_VCPUS; i++) {
		vm->vcpus[i] = vcpu_create(vm, i);
		if (!vm->vcpus[i])
			return EXIT_ERROR;
		vm->nr_vcpus++;
		if (setup_cpuid(vm, vm->vcpus[i]))
			return EXIT_ERROR;
	}
	if (setup_entry(vm->vcpus[0], &entry)) {
		fprintf(stderr, "mvm: cannot set the vCPU's entry state: %s\n",
			strerror(errno));
		return EXIT_ERROR;
	}

	sigemptyset(&sigs);
	for (i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++)
		sigaddset(&sigs, stop_sigs[i]);
	sigaddset(&sigs, SIG_VCPU_DONE);
	/* A reader that goes away loses the guest's output, nothing more. */
	signal(SIGPIPE, SIG_IGN);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (start_devices(vm, cfg)) {
		fprintf(stderr, "mvm: cannot set up the devices: %s\n",
			strerror(errno));
		return EXIT_ERROR;
	}
	vm->running = vm->nr_vcpus;
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_start(vm->vcpus[i])) {
			fprintf(stderr, "mvm: cannot start vCPU %u: %s\n", i,
				strerror(errno));
			vm_stop(vm, EXIT_ERROR);
			__atomic_sub_fetch(&vm->running, vm->nr_vcpus - i,
					   __ATOMIC_ACQ_REL);
			break;
		}
	}
	wait_vcpus(vm, &sigs);
	for (i = 0; i < vm->nr_vcpus; i++) {
		vcpu_join(vm->vcpus[i]);
		vcpu_drain(vm->vcpus[i]);
	}
	machine_flush(&vm->machine);
	if (debug_exits)
		stats_print(vm);
	return vm_status(vm);
}
