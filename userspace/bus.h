/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm launcher: the bus, one registry of port and MMIO ranges.
 *
 * A device claims [base, base + len) in one space with a handler of the
 * one signature below; ranges of a space never overlap (bus_register()
 * refuses one that would).  Each space is an array sorted by base, found
 * by binary search.  Registration happens before the vCPUs run; lookups
 * then take no lock.  The bus takes the owning device's lock around each
 * handler call, so a handler sees its device's state alone.
 *
 * An access nobody claims reads all ones and drops writes, as on a PC
 * where nothing decodes the address; --debug-exits lists each one.
 */
#ifndef MVM_BUS_H
#define MVM_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct vcpu;
struct device;

enum bus_space {
	BUS_PIO,
	BUS_MMIO,
	BUS_NR_SPACES,
};

/*
 * One access: @data holds @len (1, 2, 4 or 8) bytes, little-endian, which
 * a write brings and a read fills.  @addr is the port or guest-physical
 * address itself, not an offset.  @vcpu is the vCPU that made the access,
 * or NULL when the access comes from elsewhere (a test).
 */
typedef void (*bus_fn)(struct vcpu *vcpu, uint64_t addr, void *data,
		       uint32_t len, bool write, void *opaque);

struct bus_range {
	uint64_t base, len;
	struct device *dev;	/* whose lock the bus takes */
	bus_fn fn;
	void *opaque;
	uint64_t exits;		/* accesses that came with an exit */
	uint64_t posted;	/* accesses that came through a ring */
};

struct bus {
	struct bus_range *ranges[BUS_NR_SPACES];
	unsigned int nr[BUS_NR_SPACES], cap[BUS_NR_SPACES];
	bool debug;		/* print unclaimed accesses */
};

/*
 * Claims a range for @dev.  0, or -EINVAL (empty, or past the end of the
 * space), -EEXIST (overlaps a claimed range; nothing changes), -ENOMEM.
 */
int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
		 uint64_t len, struct device *dev, bus_fn fn, void *opaque);
/* The range holding @addr, or NULL. */
const struct bus_range *bus_find(const struct bus *bus, enum bus_space space,
				 uint64_t addr);
/*
 * Dispatches one access to its range's handler under the device's lock;
 * @posted says it came through a ring (for the counters).  Returns false
 * when nobody claims @addr (then a read is all ones).
 */
bool bus_access(struct bus *bus, struct vcpu *vcpu, enum bus_space space,
		uint64_t addr, void *data, uint32_t len, bool write,
		bool posted);
/* Accesses of every range of the device named @name. */
void bus_device_counts(const struct bus *bus, const char *name,
		       uint64_t *exits, uint64_t *posted);
void bus_free(struct bus *bus);

/* The value in an access's bytes, and back. */
static inline uint64_t bus_get(const void *data, uint32_t len)
{
	uint64_t v = 0;

	memcpy(&v, data, len > 8 ? 8 : len);
	return v;
}

static inline void bus_put(void *data, uint32_t len, uint64_t v)
{
	memcpy(data, &v, len > 8 ? 8 : len);
}

#endif /* MVM_BUS_H */
