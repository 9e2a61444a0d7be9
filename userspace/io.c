// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the port registry.  Devices claim port ranges with one
 * handler signature; a port nobody claims reads all ones and drops writes,
 * as on a PC with nothing decoding it, and --debug-exits lists each one.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"

pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
bool debug_exits;

struct pio_range {
	uint16_t base, len;
	const char *name;
	pio_fn fn;
	void *opaque;
};

#define MAX_PIO_RANGES	32

static struct pio_range ranges[MAX_PIO_RANGES];
static unsigned int nr_ranges;
static enum machine_request request;

void pio_register(uint16_t base, uint16_t len, const char *name, pio_fn fn,
		  void *opaque)
{
	unsigned int i;

	for (i = 0; i < nr_ranges; i++) {
		if (base < ranges[i].base + ranges[i].len &&
		    ranges[i].base < base + len) {
			fprintf(stderr, "mvm: ports %#x-%#x of %s overlap %s\n",
				base, base + len - 1, name, ranges[i].name);
			abort();
		}
	}
	if (nr_ranges == MAX_PIO_RANGES)
		abort();
	ranges[nr_ranges++] = (struct pio_range){ base, len, name, fn, opaque };
}

void pio_reset(void)
{
	nr_ranges = 0;
	request = REQ_NONE;
}

static const struct pio_range *pio_find(uint16_t port)
{
	unsigned int i;

	for (i = 0; i < nr_ranges; i++)
		if (port >= ranges[i].base &&
		    port - ranges[i].base < ranges[i].len)
			return &ranges[i];
	return NULL;
}

void pio_access(uint16_t port, uint8_t size, bool write, uint32_t *data)
{
	const struct pio_range *r = pio_find(port);

	if (r) {
		r->fn(r->opaque, port, size, write, data);
		return;
	}
	if (!write)
		*data = size == 4 ? 0xffffffff : (1U << (8 * size)) - 1;
	if (debug_exits)
		fprintf(stderr, "mvm: unclaimed port %#06x: %s%u %#x\r\n", port,
			write ? "out" : "in", 8 * size, *data);
}

void mmio_access(uint64_t addr, uint8_t size, bool write, uint64_t *data)
{
	if (!write)
		*data = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	if (debug_exits)
		fprintf(stderr, "mvm: MMIO %#llx: %s%u %#llx (nothing there)\r\n",
			(unsigned long long)addr, write ? "write" : "read",
			8 * size, (unsigned long long)*data);
}

void machine_request(enum machine_request req)
{
	if (request == REQ_NONE)
		request = req;
}

enum machine_request machine_pending(void)
{
	return request;
}
