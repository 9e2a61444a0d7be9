// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the bus (bus.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "device.h"

/* Ports are 16 bits; guest-physical addresses 52 (SDM 4.1.4, APM 5.3.3). */
static const uint64_t space_end[BUS_NR_SPACES] = {
	[BUS_PIO] = 1ULL << 16,
	[BUS_MMIO] = 1ULL << 52,
};

static const char *const space_name[BUS_NR_SPACES] = {
	[BUS_PIO] = "port",
	[BUS_MMIO] = "MMIO",
};

/* Index of the first range whose end is above @addr (maybe nr). */
static unsigned int bus_search(const struct bus *bus, enum bus_space space,
			       uint64_t addr)
{
	const struct bus_range *r = bus->ranges[space];
	unsigned int lo = 0, hi = bus->nr[space], mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (r[mid].base + r[mid].len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
		 uint64_t len, struct device *dev, bus_fn fn, void *opaque)
{
	struct bus_range *r;
	unsigned int i, cap;

	if (space >= BUS_NR_SPACES || !len || !fn ||
	    base >= space_end[space] || len > space_end[space] - base)
		return -EINVAL;
	i = bus_search(bus, space, base);
	r = bus->ranges[space];
	/* The first range ending above base must start at or past its end. */
	if (i < bus->nr[space] && r[i].base < base + len) {
		fprintf(stderr, "mvm: %s %#llx-%#llx of %s overlaps %s\n",
			space_name[space], (unsigned long long)base,
			(unsigned long long)(base + len - 1),
			dev ? dev->ops->name : "?",
			r[i].dev ? r[i].dev->ops->name : "?");
		return -EEXIST;
	}
	if (bus->nr[space] == bus->cap[space]) {
		cap = bus->cap[space] ? 2 * bus->cap[space] : 16;
		r = realloc(r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bus->ranges[space] = r;
		bus->cap[space] = cap;
	}
	memmove(&r[i + 1], &r[i], (bus->nr[space] - i) * sizeof(*r));
	r[i] = (struct bus_range){
		.base = base, .len = len, .dev = dev, .fn = fn,
		.opaque = opaque,
	};
	bus->nr[space]++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, enum bus_space space,
				 uint64_t addr)
{
	unsigned int i;

	if (space >= BUS_NR_SPACES)
		return NULL;
	i = bus_search(bus, space, addr);
	if (i < bus->nr[space] && bus->ranges[space][i].base <= addr)
		return &bus->ranges[space][i];
	return NULL;
}

bool bus_access(struct bus *bus, struct vcpu *vcpu, enum bus_space space,
		uint64_t addr, void *data, uint32_t len, bool write,
		bool posted)
{
	struct bus_range *r = (struct bus_range *)bus_find(bus, space, addr);

	if (len > 8)
		len = 8;
	if (!r) {
		if (!write)
			memset(data, 0xff, len);
		if (bus->debug && space == BUS_PIO)
			fprintf(stderr, "mvm: unclaimed port %#06llx: %s%u %#llx\r\n",
				(unsigned long long)addr, write ? "out" : "in",
				8 * len, (unsigned long long)bus_get(data, len));
		else if (bus->debug)
			fprintf(stderr, "mvm: MMIO %#llx: %s%u %#llx (nothing there)\r\n",
				(unsigned long long)addr,
				write ? "write" : "read", 8 * len,
				(unsigned long long)bus_get(data, len));
		return false;
	}
	__atomic_fetch_add(posted ? &r->posted : &r->exits, 1,
			   __ATOMIC_RELAXED);
	if (r->dev)
		pthread_mutex_lock(&r->dev->lock);
	r->fn(vcpu, addr, data, len, write, r->opaque);
	if (r->dev)
		pthread_mutex_unlock(&r->dev->lock);
	return true;
}

void bus_device_counts(const struct bus *bus, const char *name,
		       uint64_t *exits, uint64_t *posted)
{
	const struct bus_range *r;
	unsigned int s, i;

	*exits = *posted = 0;
	for (s = 0; s < BUS_NR_SPACES; s++) {
		for (i = 0; i < bus->nr[s]; i++) {
			r = &bus->ranges[s][i];
			if (!r->dev || strcmp(r->dev->ops->name, name))
				continue;
			*exits += __atomic_load_n(&r->exits, __ATOMIC_RELAXED);
			*posted += __atomic_load_n(&r->posted, __ATOMIC_RELAXED);
		}
	}
}

void bus_free(struct bus *bus)
{
	unsigned int s;

	for (s = 0; s < BUS_NR_SPACES; s++) {
		free(bus->ranges[s]);
		bus->ranges[s] = NULL;
		bus->nr[s] = bus->cap[s] = 0;
	}
}
