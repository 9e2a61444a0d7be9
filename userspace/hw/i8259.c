// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: a pair of i8259A interrupt controllers, master at 0x20 and
 * slave at 0xa0 on the master's IRQ 2, as in every PC.
 *
 * What Linux uses: the ICW1-4 initialization sequence, a readable interrupt
 * mask (without it Linux decides there is no PIC), specific and
 * non-specific EOI, reading IRR and ISR through OCW3, and auto-EOI.  Inputs
 * are edge-triggered (a rising edge sets the request); priorities are fixed,
 * IRQ 0 highest, fully nested.  Not modelled: rotation, special mask mode,
 * poll mode, level-triggered mode (ELCR), buffered mode.
 *
 * mvm has no local APIC: MVM_INTERRUPT queues a vector that the vCPU takes
 * as soon as RFLAGS.IF allows.  So an interrupt is acknowledged (the INTA
 * cycle: request cleared, in-service set) when it is queued, not when the
 * CPU takes it; until its EOI, lower-priority requests wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw.h"

#define PIC_CASCADE	2

#define ICW1_ICW4	0x01	/* ICW4 follows */
#define ICW1_SINGLE	0x02	/* no slave: no ICW3 */
#define ICW1_INIT	0x10	/* a command port write with this is ICW1 */
#define ICW4_AEOI	0x02
#define OCW2_EOI	0x20
#define OCW2_SL		0x40	/* specific: the level is in bits 2:0 */
#define OCW3_SEL	0x08	/* a command write with this is OCW3 */
#define OCW3_RR		0x02	/* read register: RIS selects */
#define OCW3_RIS	0x01	/* 1: ISR, 0: IRR */

struct i8259 {
	uint8_t irr, isr, imr;
	uint8_t lines;		/* input levels, for edge detection */
	uint8_t base;		/* vector of IRQ 0, from ICW2 */
	uint8_t init_step;	/* 0: ready; 2, 3, 4: the next ICW */
	bool need_icw4, single, auto_eoi, read_isr;
};

struct i8259_pair {
	struct device dev;
	struct i8259 chip[2];
	uint8_t elcr[2];	/* kept, not acted on: inputs are edges */
	void (*deliver)(void *ctx, uint8_t vector);
	void *ctx;
};

/* Highest-priority pending input that beats everything in service. */
static int pic_pending(const struct i8259 *c)
{
	uint8_t req = c->irr & ~c->imr;
	int i;

	for (i = 0; i < 8; i++) {
		if (c->isr & (1U << i))
			return -1;
		if (req & (1U << i))
			return i;
	}
	return -1;
}

static void pic_slave_output(struct i8259_pair *pic)
{
	struct i8259 *m = &pic->chip[0];
	bool level = pic_pending(&pic->chip[1]) >= 0;

	if (level && !(m->lines & (1U << PIC_CASCADE)))
		m->irr |= 1U << PIC_CASCADE;
	if (level)
		m->lines |= 1U << PIC_CASCADE;
	else
		m->lines &= ~(1U << PIC_CASCADE);
}

static void pic_ack(struct i8259 *c, int irq)
{
	c->irr &= ~(1U << irq);
	if (!c->auto_eoi)
		c->isr |= 1U << irq;
}

/* Hand the CPU whatever the master would signal now. */
static void pic_update(struct i8259_pair *pic)
{
	struct i8259 *m = &pic->chip[0], *s = &pic->chip[1];
	int irq, sirq;
	uint8_t vector;

	pic_slave_output(pic);
	while ((irq = pic_pending(m)) >= 0) {
		if (irq == PIC_CASCADE && !m->single) {
			sirq = pic_pending(s);
			pic_ack(m, irq);
			if (sirq < 0)
				vector = s->base | 7;	/* spurious IRQ 15 */
			else {
				pic_ack(s, sirq);
				vector = s->base | sirq;
			}
			pic_slave_output(pic);
		} else {
			pic_ack(m, irq);
			vector = m->base | irq;
		}
		if (pic->deliver && vector >= 32)
			pic->deliver(pic->ctx, vector);
		if (!m->auto_eoi)
			break;
	}
}

void i8259_set_irq(void *opaque, unsigned int irq, int level)
{
	struct i8259_pair *pic = container_of(opaque, struct i8259_pair, dev);
	struct i8259 *c = &pic->chip[irq >= 8];
	uint8_t bit = 1U << (irq & 7);

	if (irq >= 16)
		return;
	pthread_mutex_lock(&pic->dev.lock);
	if (level && !(c->lines & bit))
		c->irr |= bit;
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
	pic_update(pic);
	pthread_mutex_unlock(&pic->dev.lock);
}

static void pic_eoi(struct i8259 *c, uint8_t ocw2)
{
	int i;

	if (ocw2 & OCW2_SL) {
		c->isr &= ~(1U << (ocw2 & 7));
		return;
	}
	for (i = 0; i < 8; i++) {
		if (c->isr & (1U << i)) {
			c->isr &= ~(1U << i);
			return;
		}
	}
}

static void pic_io(struct vcpu *vcpu, uint64_t port, void *data, uint32_t len,
		   bool write, void *opaque)
{
	struct i8259_pair *pic = opaque;
	struct i8259 *c = &pic->chip[port >= PIC_SLAVE];
	uint8_t v = bus_get(data, 1);

	(void)vcpu;
	if (!write) {
		if (port & 1)
			bus_put(data, len, c->imr);
		else
			bus_put(data, len, c->read_isr ? c->isr : c->irr);
		return;
	}
	if (!(port & 1)) {
		if (v & ICW1_INIT) {
			c->imr = c->isr = c->irr = 0;
			c->lines = 0;
			c->need_icw4 = v & ICW1_ICW4;
			c->single = v & ICW1_SINGLE;
			c->auto_eoi = false;
			c->read_isr = false;
			c->init_step = 2;
		} else if (v & OCW3_SEL) {
			if (v & OCW3_RR)
				c->read_isr = v & OCW3_RIS;
		} else if (v & OCW2_EOI) {
			pic_eoi(c, v);
		}
	} else {
		switch (c->init_step) {
		case 2:
			c->base = v & 0xf8;
			c->init_step = c->single ? (c->need_icw4 ? 4 : 0) : 3;
			break;
		case 3:
			c->init_step = c->need_icw4 ? 4 : 0;
			break;
		case 4:
			c->auto_eoi = v & ICW4_AEOI;
			c->init_step = 0;
			break;
		default:
			c->imr = v;
			break;
		}
	}
	pic_update(pic);
}

/* The edge/level control registers at 0x4d0 and 0x4d1 (ACPI sets them). */
static void elcr_io(struct vcpu *vcpu, uint64_t port, void *data, uint32_t len,
		    bool write, void *opaque)
{
	static const uint8_t mask[2] = { 0xf8, 0xde };
	struct i8259_pair *pic = opaque;
	unsigned int i = port & 1;

	(void)vcpu;
	if (write)
		pic->elcr[i] = bus_get(data, 1) & mask[i];
	else
		bus_put(data, len, pic->elcr[i]);
}

static void i8259_reset(struct device *dev)
{
	struct i8259_pair *pic = container_of(dev, struct i8259_pair, dev);

	memset(pic->chip, 0, sizeof(pic->chip));
	memset(pic->elcr, 0, sizeof(pic->elcr));
	/* As a BIOS leaves them: every input masked, vectors 8 and 0x70. */
	pic->chip[0].base = 0x08;
	pic->chip[0].imr = 0xff;
	pic->chip[1].base = 0x70;
	pic->chip[1].imr = 0xff;
}

static void i8259_save(struct device *dev, struct state_buf *b)
{
	struct i8259_pair *pic = container_of(dev, struct i8259_pair, dev);
	const struct i8259 *c;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		c = &pic->chip[i];
		save_u8(b, c->irr);
		save_u8(b, c->isr);
		save_u8(b, c->imr);
		save_u8(b, c->lines);
		save_u8(b, c->base);
		save_u8(b, c->init_step);
		save_u8(b, c->need_icw4);
		save_u8(b, c->single);
		save_u8(b, c->auto_eoi);
		save_u8(b, c->read_isr);
		save_u8(b, pic->elcr[i]);
	}
}

/* Nothing is delivered: what was, the vCPU's own state holds. */
static int i8259_load(struct device *dev, struct state_buf *b)
{
	struct i8259_pair *pic = container_of(dev, struct i8259_pair, dev);
	struct i8259 *c;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		c = &pic->chip[i];
		c->irr = load_u8(b);
		c->isr = load_u8(b);
		c->imr = load_u8(b);
		c->lines = load_u8(b);
		c->base = load_u8(b);
		c->init_step = load_u8(b);
		c->need_icw4 = load_bool(b);
		c->single = load_bool(b);
		c->auto_eoi = load_bool(b);
		c->read_isr = load_bool(b);
		pic->elcr[i] = load_u8(b);
		if ((c->base & 7) || c->init_step == 1 || c->init_step > 4)
			return -EINVAL;
	}
	return 0;
}

static const struct device_ops i8259_ops = {
	.name = "i8259",
	.version = 1,
	.reset = i8259_reset,
	.save = i8259_save,
	.load = i8259_load,
};

struct device *i8259_create(struct machine *m,
			    void (*deliver)(void *ctx, uint8_t vector),
			    void *ctx)
{
	struct i8259_pair *pic = calloc(1, sizeof(*pic));

	if (!pic)
		return NULL;
	pic->deliver = deliver;
	pic->ctx = ctx;
	device_register(m, &pic->dev, &i8259_ops);
	i8259_reset(&pic->dev);
	if (bus_register(&m->bus, BUS_PIO, PIC_MASTER, 2, &pic->dev, pic_io,
			 pic) ||
	    bus_register(&m->bus, BUS_PIO, PIC_SLAVE, 2, &pic->dev, pic_io,
			 pic) ||
	    bus_register(&m->bus, BUS_PIO, PIC_ELCR, 2, &pic->dev, elcr_io,
			 pic)) {
		errno = EBUSY;
		return NULL;
	}
	return &pic->dev;
}
