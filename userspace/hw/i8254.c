// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the i8254 programmable interval timer and port 0x61.
 *
 * Counters are not ticked: a channel keeps the time it was loaded, and its
 * count and OUT are computed from CLOCK_MONOTONIC at 1.193182 MHz whenever
 * the guest reads them.  That is what Linux's TSC calibration needs from
 * channel 2 (gated by port 0x61 bit 0, OUT visible in bit 5): a count that
 * follows real time.  Channel 0 drives IRQ 0: in modes 2 and 3 (periodic)
 * and 0 (one-shot, what a tickless kernel programs) a thread sleeping on a
 * timerfd raises the IRQ when the count runs out.  Channel 1 counts and
 * does nothing else.  BCD counting is not modelled.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "hw/hw.h"

#define PIT_MODE_PORT	0x43
/* PORT_B, 0x61: NMI status and control; gate 2, OUT 2. */

#define PORTB_GATE2	0x01
#define PORTB_SPEAKER	0x02
#define PORTB_REFRESH	0x10	/* toggles as the DRAM refresh would */
#define PORTB_OUT2	0x20

/* Access modes of the control word, bits 5:4. */
enum { RW_LATCH, RW_LSB, RW_MSB, RW_WORD };

struct pit_channel {
	uint8_t mode;		/* 0-5 */
	uint8_t rw;		/* RW_* */
	bool gate;
	bool armed;		/* a count was loaded and counts */
	bool write_msb;		/* RW_WORD: the next write is the MSB */
	bool read_msb;		/* RW_WORD: the next read is the MSB */
	bool latched;		/* a latched count waits to be read */
	bool latch_msb;		/* ... its LSB was read */
	bool status_latched;
	uint8_t status;
	uint16_t latch;
	uint16_t write_lsb;
	uint32_t count;		/* reload value, 1-65536 */
	uint64_t load_ns;	/* when counting started */
	uint64_t frozen;	/* ticks counted when the gate went low */
};

struct i8254 {
	struct device dev;
	struct pit_channel ch[3];
	uint8_t portb;
	int tfd;
};

static uint64_t pit_ticks(const struct pit_channel *c)
{
	uint64_t ns;

	if (!c->armed)
		return 0;
	if (!c->gate)
		return c->frozen;
	ns = mono_ns() - c->load_ns;
	return c->frozen + (uint64_t)((unsigned __int128)ns * PIT_HZ /
				      1000000000ULL);
}

/* The counting element now. */
static uint16_t pit_count(const struct pit_channel *c)
{
	uint64_t t = pit_ticks(c);

	if (!c->armed)
		return c->count;
	switch (c->mode) {
	case 2:
		return c->count - t % c->count;
	case 3:	/* counts down by two, twice per period */
		return (c->count - (2 * t) % c->count) & ~1U;
	default:	/* 0, 1, 4, 5: once through, then wraps */
		return (uint16_t)(c->count - t);
	}
}

static bool pit_out(const struct pit_channel *c)
{
	uint64_t t = pit_ticks(c);

	if (!c->armed)
		return c->mode != 0;
	switch (c->mode) {
	case 0:
		return t >= c->count;
	case 2:
		return t % c->count != c->count - 1;
	case 3:
		return t % c->count < (c->count + 1) / 2;
	default:
		return t == c->count;
	}
}

/* Channel 0's timerfd follows its programming. */
static void pit_arm_irq0(struct i8254 *pit)
{
	struct pit_channel *c = &pit->ch[0];
	struct itimerspec its;
	uint64_t ns;

	memset(&its, 0, sizeof(its));
	if (c->armed && c->gate && c->mode != 1 && c->mode != 5) {
		ns = c->count * 1000000000ULL / PIT_HZ;
		if (ns < 20000)	/* a floor against a runaway guest */
			ns = 20000;
		its.it_value.tv_sec = ns / 1000000000ULL;
		its.it_value.tv_nsec = ns % 1000000000ULL;
		if (c->mode == 2 || c->mode == 3)
			its.it_interval = its.it_value;
	}
	timerfd_settime(pit->tfd, 0, &its, NULL);
}

static void pit_load(struct i8254 *pit, struct pit_channel *c,
		     unsigned int idx, uint16_t v)
{
	c->count = v ? v : 0x10000;
	c->armed = true;
	c->frozen = 0;
	c->load_ns = mono_ns();
	if (idx == 0)
		pit_arm_irq0(pit);
}

static void pit_control(struct i8254 *pit, uint8_t v)
{
	struct pit_channel *c;
	unsigned int i;

	if ((v >> 6) == 3) {	/* read-back: bit 5 clear latches counts */
		for (i = 0; i < 3; i++) {
			if (!(v & (2U << i)))
				continue;
			c = &pit->ch[i];
			if (!(v & 0x20) && !c->latched) {
				c->latch = pit_count(c);
				c->latched = true;
				c->latch_msb = false;
			}
			if (!(v & 0x10) && !c->status_latched) {
				c->status = (pit_out(c) << 7) | (!c->armed << 6) |
					    (c->rw << 4) | (c->mode << 1);
				c->status_latched = true;
			}
		}
		return;
	}
	c = &pit->ch[v >> 6];
	if (((v >> 4) & 3) == RW_LATCH) {
		if (!c->latched) {
			c->latch = pit_count(c);
			c->latched = true;
			c->latch_msb = false;
		}
		return;
	}
	c->rw = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* 6 and 7 are 2 and 3 */
	c->armed = false;
	c->write_msb = false;
	c->read_msb = false;
	c->latched = false;
	if (c == &pit->ch[0])
		pit_arm_irq0(pit);
}

static void pit_io(struct vcpu *vcpu, uint64_t port, void *data, uint32_t len,
		   bool write, void *opaque)
{
	struct i8254 *pit = opaque;
	unsigned int idx = port - PIT_BASE;
	uint8_t in = bus_get(data, 1);
	struct pit_channel *c;
	uint16_t v;

	(void)vcpu;
	if (!write)
		memset(data, 0, len);
	if (port == PIT_MODE_PORT) {
		if (write)
			pit_control(pit, in);
		else
			bus_put(data, 1, 0xff);
		return;
	}
	c = &pit->ch[idx];
	if (write) {
		switch (c->rw) {
		case RW_LSB:
			pit_load(pit, c, idx, in);
			break;
		case RW_MSB:
			pit_load(pit, c, idx, in << 8);
			break;
		case RW_WORD:
			if (!c->write_msb) {
				c->write_lsb = in;
				/* Mode 0 stops counting at the first byte. */
				if (c->mode == 0) {
					c->armed = false;
					if (idx == 0)
						pit_arm_irq0(pit);
				}
			} else {
				pit_load(pit, c, idx, c->write_lsb | in << 8);
			}
			c->write_msb = !c->write_msb;
			break;
		}
		return;
	}
	if (c->status_latched) {
		c->status_latched = false;
		bus_put(data, 1, c->status);
		return;
	}
	if (c->latched) {
		v = c->latch;
		if (c->rw == RW_WORD && !c->latch_msb) {
			c->latch_msb = true;
			bus_put(data, 1, v & 0xff);
			return;
		}
		c->latched = false;
		bus_put(data, 1, c->rw == RW_MSB || c->rw == RW_WORD ?
			v >> 8 : v & 0xff);
		return;
	}
	v = pit_count(c);
	switch (c->rw) {
	case RW_MSB:
		bus_put(data, 1, v >> 8);
		break;
	case RW_WORD:
		bus_put(data, 1, c->read_msb ? v >> 8 : v & 0xff);
		c->read_msb = !c->read_msb;
		break;
	default:
		bus_put(data, 1, v & 0xff);
		break;
	}
}

static void portb_io(struct vcpu *vcpu, uint64_t port, void *data,
		     uint32_t len, bool write, void *opaque)
{
	struct i8254 *pit = opaque;
	struct pit_channel *c2 = &pit->ch[2];
	uint8_t in = bus_get(data, 1);
	bool gate;

	(void)vcpu;
	(void)port;
	if (write) {
		pit->portb = in & 0x0f;
		gate = in & PORTB_GATE2;
		if (gate == c2->gate)
			return;
		if (gate) {
			/* Modes 1, 2, 3 and 5 restart on the rising edge. */
			if (c2->mode == 0 || c2->mode == 4)
				c2->load_ns = mono_ns();
			else if (c2->armed)
				pit_load(pit, c2, 2, c2->count & 0xffff);
		} else {
			c2->frozen = pit_ticks(c2);
		}
		c2->gate = gate;
		return;
	}
	pit->portb ^= PORTB_REFRESH;
	memset(data, 0, len);
	bus_put(data, 1, (pit->portb & (0x0f | PORTB_REFRESH)) |
		(pit_out(c2) ? PORTB_OUT2 : 0));
}

/*
 * Channel 0's expirations raise IRQ 0.  The thread takes no PIT state, so
 * no lock but the PIC's.
 */
static void *pit_thread(void *arg)
{
	struct i8254 *pit = arg;
	uint64_t n;

	for (;;) {
		if (read(pit->tfd, &n, sizeof(n)) != sizeof(n)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return NULL;
		}
		/* Expirations the guest missed are one interrupt. */
		machine_pulse_irq(pit->dev.machine, PIT_IRQ);
	}
	return NULL;
}

static void i8254_reset(struct device *dev)
{
	struct i8254 *pit = container_of(dev, struct i8254, dev);
	int i;

	memset(pit->ch, 0, sizeof(pit->ch));
	pit->portb = 0;
	for (i = 0; i < 3; i++)
		pit->ch[i].count = 0x10000;
	pit->ch[0].gate = pit->ch[1].gate = true;
	pit_arm_irq0(pit);
}

/*
 * Times are saved as how long ago the channel started counting, so that
 * a state loaded later (or elsewhere) goes on from where it was.
 */
static void i8254_save(struct device *dev, struct state_buf *b)
{
	struct i8254 *pit = container_of(dev, struct i8254, dev);
	const struct pit_channel *c;
	uint64_t now = mono_ns();
	unsigned int i;

	for (i = 0; i < 3; i++) {
		c = &pit->ch[i];
		save_u8(b, c->mode);
		save_u8(b, c->rw);
		save_u8(b, c->gate);
		save_u8(b, c->armed);
		save_u8(b, c->write_msb);
		save_u8(b, c->read_msb);
		save_u8(b, c->latched);
		save_u8(b, c->latch_msb);
		save_u8(b, c->status_latched);
		save_u8(b, c->status);
		save_u16(b, c->latch);
		save_u16(b, c->write_lsb);
		save_u32(b, c->count);
		save_u64(b, c->armed && c->gate ? now - c->load_ns : 0);
		save_u64(b, c->frozen);
	}
	save_u8(b, pit->portb);
}

static int i8254_load(struct device *dev, struct state_buf *b)
{
	struct i8254 *pit = container_of(dev, struct i8254, dev);
	struct pit_channel *c;
	uint64_t now = mono_ns(), ago;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		c = &pit->ch[i];
		c->mode = load_u8(b);
		c->rw = load_u8(b);
		c->gate = load_bool(b);
		c->armed = load_bool(b);
		c->write_msb = load_bool(b);
		c->read_msb = load_bool(b);
		c->latched = load_bool(b);
		c->latch_msb = load_bool(b);
		c->status_latched = load_bool(b);
		c->status = load_u8(b);
		c->latch = load_u16(b);
		c->write_lsb = load_u16(b);
		c->count = load_u32(b);
		ago = load_u64(b);
		c->frozen = load_u64(b);
		if (c->mode > 5 || c->rw > RW_WORD || !c->count ||
		    c->count > 0x10000 || ago > now)
			return -EINVAL;
		c->load_ns = now - ago;
	}
	pit->portb = load_u8(b) & 0x0f;
	pit_arm_irq0(pit);
	return 0;
}

static const struct device_ops i8254_ops = {
	.name = "i8254",
	.version = 1,
	.reset = i8254_reset,
	.save = i8254_save,
	.load = i8254_load,
};

struct device *i8254_create(struct machine *m)
{
	struct i8254 *pit = calloc(1, sizeof(*pit));
	pthread_t t;

	if (!pit)
		return NULL;
	pit->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (pit->tfd < 0) {
		free(pit);
		return NULL;
	}
	device_register(m, &pit->dev, &i8254_ops);
	i8254_reset(&pit->dev);
	if (bus_register(&m->bus, BUS_PIO, PIT_BASE, 4, &pit->dev, pit_io,
			 pit) ||
	    bus_register(&m->bus, BUS_PIO, PORT_B, 1, &pit->dev, portb_io,
			 pit)) {
		errno = EBUSY;
		return NULL;
	}
	if (pthread_create(&t, NULL, pit_thread, pit))
		return NULL;
	return &pit->dev;
}
