// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the vCPUs, a thread each, and their run loop.
 *
 * A vCPU thread has every signal blocked but SIG_KICK, whose handler does
 * nothing: vcpu_kick() sets the vCPU's immediate_exit and sends it, so
 * MVM_RUN returns EINTR whether the thread was in it or about to enter.
 * The loop then sees the machine's status (vm_stop()) and ends.
 *
 * Port writes that need no answer (the UART's THR, port 0x80) are posted:
 * the module appends them to the vCPU's ring and the guest goes on.  The
 * ring has two consumers, both under the vCPU's ring_lock: the vCPU
 * thread, which drains it before it handles any exit (so devices see
 * accesses in guest order), and a thread woken by the ring's eventfd,
 * which drains it while the guest runs or halts (so output appears, and
 * THRE interrupts follow, without waiting for the next exit).  Both go
 * through the bus, as exits do; the run loop knows no device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "launcher.h"
#include "vm.h"

#define PAGE_SIZE	4096UL

struct vcpu *vcpu_create(struct vm *vm, unsigned int id)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	long size;

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->ring_efd = -1;
	pthread_mutex_init(&vcpu->ring_lock, NULL);
	vcpu->fd = ioctl(vm->fd, MVM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		fprintf(stderr, "mvm: cannot create vCPU %u: %s\n", id,
			strerror(errno));
		free(vcpu);
		return NULL;
	}
	size = ioctl(vm->dev, MVM_GET_VCPU_MMAP_SIZE, 0);
	vcpu->run = size > 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, vcpu->fd, 0) : MAP_FAILED;
	if (vcpu->run == MAP_FAILED || stats_init(&vcpu->stats)) {
		fprintf(stderr, "mvm: cannot map vCPU %u: %s\n", id,
			strerror(errno));
		close(vcpu->fd);
		free(vcpu);
		return NULL;
	}
	vcpu->ring = (struct mvm_ring *)((char *)vcpu->run +
					 MVM_RING_PGOFF * PAGE_SIZE);
	vcpu->tail = vcpu->ring->tail;
	return vcpu;
}

static enum bus_space access_space(const struct mvm_access *a)
{
	return a->space == MVM_SPACE_PIO ? BUS_PIO : BUS_MMIO;
}

/* The ring's consumer; ring_lock held. */
static void ring_drain(struct vcpu *vcpu)
{
	struct mvm_ring *ring = vcpu->ring;
	uint32_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
	uint32_t n = ring->nr_entries;
	struct mvm_access a;

	while (vcpu->tail != head) {
		a = ring->entries[vcpu->tail % n];
		bus_access(&vcpu->vm->machine.bus, vcpu, access_space(&a),
			   a.addr, &a.data, a.size, a.write, true);
		vcpu->tail++;
		vcpu->stats.posted++;
	}
	__atomic_store_n(&ring->tail, vcpu->tail, __ATOMIC_RELEASE);
}

void vcpu_drain(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->ring_lock);
	ring_drain(vcpu);
	pthread_mutex_unlock(&vcpu->ring_lock);
}

static void *ring_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	uint32_t head;
	uint64_t n;

	for (;;) {
		pthread_mutex_lock(&vcpu->ring_lock);
		do {
			ring_drain(vcpu);
			/* Tail stored; look at head once more before sleeping. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			head = __atomic_load_n(&vcpu->ring->head,
					       __ATOMIC_ACQUIRE);
		} while (head != vcpu->tail);
		pthread_mutex_unlock(&vcpu->ring_lock);
		machine_flush(&vcpu->vm->machine);
		if (read(vcpu->ring_efd, &n, sizeof(n)) < 0 && errno != EINTR)
			return NULL;
	}
}

/* The ring's eventfd and its thread; call with every signal blocked. */
int vcpu_start_ring(struct vcpu *vcpu)
{
	struct mvm_ring_eventfd ref;
	pthread_t t;

	vcpu->ring_efd = eventfd(0, EFD_CLOEXEC);
	if (vcpu->ring_efd < 0)
		return -1;
	ref = (struct mvm_ring_eventfd){ .fd = vcpu->ring_efd };
	if (ioctl(vcpu->fd, MVM_SET_RING_EVENTFD, &ref))
		return -1;
	return pthread_create(&t, NULL, ring_thread, vcpu) ? -1 : 0;
}

/* The vCPU's state in one line, after an exit that ends the guest. */
static void dump_state(struct vcpu *vcpu)
{
	struct mvm_sregs sr;
	struct mvm_regs r;

	if (ioctl(vcpu->fd, MVM_GET_REGS, &r) ||
	    ioctl(vcpu->fd, MVM_GET_SREGS, &sr))
		return;
	fprintf(stderr, "mvm: rip %#llx rsp %#llx rflags %#llx cs %#x ss %#x cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx efer %#llx idt %#llx/%#x gdt %#llx/%#x tr %#x\r\n",
		(unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags, sr.cs.selector, sr.ss.selector,
		(unsigned long long)sr.cr0, (unsigned long long)sr.cr2,
		(unsigned long long)sr.cr3, (unsigned long long)sr.cr4,
		(unsigned long long)sr.efer, (unsigned long long)sr.idt.base,
		sr.idt.limit, (unsigned long long)sr.gdt.base, sr.gdt.limit,
		sr.tr.selector);
}

/* One exit.  Returns an exit status, or -1 to go on. */
static int handle_exit(struct vcpu *vcpu)
{
	struct mvm_run *run = vcpu->run;
	uint64_t data;

	switch (run->exit_reason) {
	case MVM_EXIT_IO:
	case MVM_EXIT_MMIO:
	case MVM_EXIT_RING_FULL:
		data = run->io.write ? run->io.data : 0;
		bus_access(&vcpu->vm->machine.bus, vcpu, access_space(&run->io),
			   run->io.addr, &data, run->io.size, run->io.write,
			   false);
		run->io.data = data;
		return -1;
	case MVM_EXIT_SHUTDOWN:
		fprintf(stderr, "mvm: the guest shut down (triple fault) at rip %#llx\r\n",
			(unsigned long long)run->rip);
		if (debug_exits)
			dump_state(vcpu);
		return EXIT_TRIPLE_FAULT;
	case MVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "mvm: the CPU refused the guest state: reason %#llx, info %#llx %#llx\r\n",
			(unsigned long long)run->fail_entry.hardware_reason,
			(unsigned long long)run->fail_entry.info[0],
			(unsigned long long)run->fail_entry.info[1]);
		dump_state(vcpu);
		return EXIT_ERROR;
	case MVM_EXIT_INTERNAL_ERROR:
		fprintf(stderr, "mvm: internal error %u at rip %#llx: %#llx %#llx\r\n",
			run->internal.suberror, (unsigned long long)run->rip,
			(unsigned long long)run->internal.data[0],
			(unsigned long long)run->internal.data[1]);
		dump_state(vcpu);
		return EXIT_ERROR;
	default:
		fprintf(stderr, "mvm: unexpected exit reason %u at rip %#llx\r\n",
			run->exit_reason, (unsigned long long)run->rip);
		return EXIT_ERROR;
	}
}

static int run_loop(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int r, status;

	for (;;) {
		status = vm_status(vm);
		if (status >= 0)
			return status;
		r = ioctl(vcpu->fd, MVM_RUN, 0);
		if (r && errno != EINTR) {
			fprintf(stderr, "mvm: MVM_RUN: %s\r\n", strerror(errno));
			return EXIT_ERROR;
		}
		vcpu_drain(vcpu);
		stats_exit(&vcpu->stats, vcpu->run, r);
		status = r ? -1 : handle_exit(vcpu);
		machine_flush(&vm->machine);
		if (status >= 0)
			return status;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	vcpu->status = run_loop(vcpu);
	vm_stop(vm, vcpu->status);
	if (!__atomic_sub_fetch(&vm->running, 1, __ATOMIC_ACQ_REL))
		pthread_kill(vm->main_thread, SIG_VCPU_DONE);
	return NULL;
}

static void on_kick(int sig)
{
	(void)sig;
}

/* Starts the vCPU's thread; call with every signal blocked. */
int vcpu_start(struct vcpu *vcpu)
{
	static bool handler;
	struct sigaction sa;

	if (!handler) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_kick;	/* no SA_RESTART: MVM_RUN returns */
		sigemptyset(&sa.sa_mask);
		sigaction(SIG_KICK, &sa, NULL);
		handler = true;
	}
	if (pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu))
		return -1;
	/* Only now is vcpu->thread sure to be set, for vcpu_kick(). */
	__atomic_store_n(&vcpu->started, true, __ATOMIC_RELEASE);
	return 0;
}

/*
 * From any thread.  A vCPU whose thread is not started yet sees
 * immediate_exit at its first MVM_RUN; one kicking itself needs no signal.
 */
void vcpu_kick(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&vcpu->started, __ATOMIC_ACQUIRE) &&
	    !pthread_equal(vcpu->thread, pthread_self()))
		pthread_kill(vcpu->thread, SIG_KICK);
}

/* The main thread, after the vCPU's thread ended or was told to. */
void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->started)
		pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}
