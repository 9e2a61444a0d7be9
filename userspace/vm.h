/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm launcher: the machine (vm.c), its vCPUs (vcpu.c) and their
 * statistics (stats.c).
 */
#ifndef MVM_VM_H
#define MVM_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include <linux/mvm.h>

#include "device.h"
#include "loader/loader.h"

#define MAX_VCPUS	1	/* no local APIC to start others, yet */

/* Counters of one vCPU; its thread writes them (posted: ring_lock). */
struct vcpu_stats {
	uint64_t exits[MVM_EXIT_RING_FULL + 1];
	uint64_t posted;		/* ring entries handled */
	uint32_t (*port_exits)[2];	/* [port][write], exits only */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct mvm_run *run;
	pthread_t thread;
	bool started;
	/*
	 * The ring: its two consumers (this vCPU, the ring thread) take
	 * ring_lock; tail, the consumer's index, and stats.posted are
	 * under it.
	 */
	struct mvm_ring *ring;
	pthread_mutex_t ring_lock;
	uint32_t tail;
	int ring_efd;
	int status;			/* the run loop's result */
	struct vcpu_stats stats;
};

struct vm {
	int dev, fd;
	struct guest_mem gm;
	struct machine machine;		/* bus, devices, interrupt routing */
	struct device *pic;
	unsigned int nr_vcpus;
	struct vcpu *vcpus[MAX_VCPUS];
	/*
	 * The status the launcher ends with: -1 while the guest runs; the
	 * first vm_stop() sets it, and every vCPU then leaves its loop.
	 */
	int status;
	pthread_t main_thread;
	unsigned int running;		/* vCPU threads not yet ended */
};

/* vm.c */
void vm_stop(struct vm *vm, int status);
int vm_status(struct vm *vm);

/* vcpu.c */
#define SIG_KICK	SIGUSR1		/* makes a vCPU leave MVM_RUN */
#define SIG_VCPU_DONE	SIGUSR2		/* tells the main thread one ended */

struct vcpu *vcpu_create(struct vm *vm, unsigned int id);
int vcpu_start_ring(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
/* What is left in the ring, after the vCPU stopped. */
void vcpu_drain(struct vcpu *vcpu);

/* stats.c */
int stats_init(struct vcpu_stats *s);
void stats_exit(struct vcpu_stats *s, const struct mvm_run *run, int r);
void stats_print(struct vm *vm);

#endif /* MVM_VM_H */
