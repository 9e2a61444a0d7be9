// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: exit counters, kept per vCPU beside the machine, and the
 * summary --debug-exits prints at the end.  The per-device counts come
 * from the bus, which counts each range's exits and ring entries.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "hw/hw.h"
#include "launcher.h"
#include "vm.h"

#define NR_PORTS	65536

/* The per-port histogram only with --debug-exits: 512 KiB a vCPU. */
int stats_init(struct vcpu_stats *s)
{
	if (!debug_exits)
		return 0;
	s->port_exits = calloc(NR_PORTS, sizeof(*s->port_exits));
	return s->port_exits ? 0 : -1;
}

/* After MVM_RUN returned @r. */
void stats_exit(struct vcpu_stats *s, const struct mvm_run *run, int r)
{
	if (r) {
		s->exits[MVM_EXIT_INTR]++;
		return;
	}
	if (run->exit_reason > MVM_EXIT_RING_FULL)
		return;
	s->exits[run->exit_reason]++;
	if (s->port_exits && run->io.space == MVM_SPACE_PIO &&
	    (run->exit_reason == MVM_EXIT_IO ||
	     run->exit_reason == MVM_EXIT_MMIO ||
	     run->exit_reason == MVM_EXIT_RING_FULL))
		s->port_exits[run->io.addr & 0xffff][run->io.write & 1]++;
}

void stats_print(struct vm *vm)
{
	uint64_t exits[MVM_EXIT_RING_FULL + 1] = { 0 }, posted = 0, total = 0;
	uint64_t uart_exits, uart_bytes, n;
	const struct vcpu_stats *s;
	unsigned int c, i, w;

	for (c = 0; c < vm->nr_vcpus; c++) {
		s = &vm->vcpus[c]->stats;
		for (i = 0; i <= MVM_EXIT_RING_FULL; i++)
			exits[i] += s->exits[i];
		posted += s->posted;
	}
	for (i = 0; i <= MVM_EXIT_RING_FULL; i++)
		total += exits[i];
	/* THR is the serial port's only posted register: a byte each. */
	bus_device_counts(&vm->machine.bus, SERIAL_NAME, &uart_exits,
			  &uart_bytes);
	fprintf(stderr, "mvm: %llu exits (%llu I/O, %llu MMIO, %llu ring full, %llu signals), %llu at the UART; %llu posted writes, %llu bytes to the UART\r\n",
		(unsigned long long)total,
		(unsigned long long)exits[MVM_EXIT_IO],
		(unsigned long long)exits[MVM_EXIT_MMIO],
		(unsigned long long)exits[MVM_EXIT_RING_FULL],
		(unsigned long long)exits[MVM_EXIT_INTR],
		(unsigned long long)uart_exits,
		(unsigned long long)posted,
		(unsigned long long)uart_bytes);
	for (i = 0; i < NR_PORTS; i++) {
		for (w = 0; w < 2; w++) {
			n = 0;
			for (c = 0; c < vm->nr_vcpus; c++)
				if (vm->vcpus[c]->stats.port_exits)
					n += vm->vcpus[c]->stats.port_exits[i][w];
			if (n * 100 > total)
				fprintf(stderr, "mvm:   port %#06x %s: %llu exits\r\n",
					i, w ? "out" : "in",
					(unsigned long long)n);
		}
	}
}
