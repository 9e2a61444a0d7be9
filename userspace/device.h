/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm launcher: devices and what they plug into.
 *
 * A device is a struct device embedded in the model's own state, with
 * its ops and its lock.  The lock guards everything of that device; the
 * bus takes it around the device's port and MMIO handlers, and the
 * device's own threads (a timer, terminal input) take it themselves.
 * Lock order: a vCPU's ring lock, then a device's lock, then the
 * interrupt controller's (devices raise lines while holding their own).
 *
 * A device reaches the rest of the machine only through struct machine:
 * it claims ranges on machine->bus, raises ISA lines with machine_set_irq()
 * (the machine routes them, today to the i8259 pair), and asks for a power
 * off or reset with machine_request(), or an exit status of its own with
 * machine_request_exit().
 */
#ifndef MVM_DEVICE_H
#define MVM_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

struct device;
struct state_buf;

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

/* reset, save and load are NULL for a device that has no state. */
struct device_ops {
	const char *name;
	/* Power-on state, as the firmware would leave it. */
	void (*reset)(struct device *dev);
	/*
	 * The device's state into and out of a section of a state buffer
	 * (save_*() and load_*() below), format @version.  load returns 0,
	 * or -EINVAL for a state this model cannot be in; then the device
	 * is reset.  Both run under the device's lock.
	 */
	uint32_t version;
	void (*save)(struct device *dev, struct state_buf *b);
	int (*load)(struct device *dev, struct state_buf *b);
	/* Optional: a batch of accesses ended; write out what is buffered. */
	void (*flush)(struct device *dev);
};

struct device {
	const struct device_ops *ops;
	pthread_mutex_t lock;
	struct machine *machine;
	struct device *next;	/* machine->devices, in registration order */
};

/* What the machine asks of its owner, seen by the vCPUs after an access. */
enum machine_request {
	REQ_NONE,
	REQ_POWEROFF,
	REQ_REBOOT,
	REQ_EXIT,		/* end with machine->exit_status */
};

struct machine {
	struct bus bus;
	struct device *devices;
	/* Interrupt routing: an ISA line, 0-15, to its controller. */
	void (*irq_line)(void *ctx, unsigned int irq, int level);
	void *irq_ctx;
	int request;			/* REQ_*, the first one wins; atomic */
	int exit_status;		/* of REQ_EXIT, set before on_request */
	/* Called once, from the requesting thread, at the first request. */
	void (*on_request)(struct machine *m, enum machine_request req);
	void *owner;			/* for on_request */
};

/* Adds @dev (lock initialised here) to @m's list. */
void device_register(struct machine *m, struct device *dev,
		     const struct device_ops *ops);
/* Each device's flush op, under its lock. */
void machine_flush(struct machine *m);
/* Each device's reset op, under its lock. */
void machine_reset(struct machine *m);
/* Frees the bus; the devices belong to their models. */
void machine_free(struct machine *m);

static inline void machine_set_irq(struct machine *m, unsigned int irq,
				   int level)
{
	if (m->irq_line)
		m->irq_line(m->irq_ctx, irq, level);
}

static inline void machine_pulse_irq(struct machine *m, unsigned int irq)
{
	machine_set_irq(m, irq, 1);
	machine_set_irq(m, irq, 0);
}

void machine_request(struct machine *m, enum machine_request req);
/* REQ_EXIT with the launcher's exit status @status, if it is the first. */
void machine_request_exit(struct machine *m, int status);
enum machine_request machine_pending(struct machine *m);

/*
 * Device state as bytes.  A section is the device's name (16 bytes, NUL
 * padded), its format version, the payload's length and an FNV-1a hash of
 * the payload (all little-endian u32), then the payload: fields one by
 * one with save_u8()..save_u64(), so no padding or host layout leaks in.
 * A reader past the end, or a bad header, sets ->error.
 */
struct state_buf {
	uint8_t *data;
	size_t len, cap;	/* written bytes, allocated bytes */
	size_t pos, end;	/* the reader: next byte, end of section */
	bool error;
};

#define DEVICE_NAME_LEN	16

void save_bytes(struct state_buf *b, const void *p, size_t n);
void save_u8(struct state_buf *b, uint8_t v);
void save_u16(struct state_buf *b, uint16_t v);
void save_u32(struct state_buf *b, uint32_t v);
void save_u64(struct state_buf *b, uint64_t v);
void load_bytes(struct state_buf *b, void *p, size_t n);
uint8_t load_u8(struct state_buf *b);
uint16_t load_u16(struct state_buf *b);
uint32_t load_u32(struct state_buf *b);
uint64_t load_u64(struct state_buf *b);
static inline bool load_bool(struct state_buf *b)
{
	return load_u8(b) != 0;
}

/* Appends @dev's section to @b: 0, or -ENOMEM. */
int device_save(struct device *dev, struct state_buf *b);
/*
 * Reads the section at b->pos into @dev: 0, or -EINVAL (another device's
 * or version's section, a bad hash, a payload too short or too long, or
 * a state the model refuses; then @dev is reset).
 */
int device_load(struct device *dev, struct state_buf *b);
void state_buf_free(struct state_buf *b);
/* The hash each saved section carries over its payload. */
uint32_t state_hash(const uint8_t *p, size_t n);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mono_ns(void);

#endif /* MVM_DEVICE_H */
