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
#include <stdio.h>
#include <string.h>

#include "launcher.h"

#define PIC_MASTER	0x20
#define PIC_SLAVE	0xa0
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

static struct {
	struct i8259 chip[2];
	uint8_t elcr[2];	/* kept, not acted on: inputs are edges */
	void (*deliver)(void *ctx, uint8_t vector);
	void *ctx;
} pic;

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

static void pic_update(void);

static void pic_slave_output(void)
{
	struct i8259 *m = &pic.chip[0];
	bool level = pic_pending(&pic.chip[1]) >= 0;

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
static void pic_update(void)
{
	struct i8259 *m = &pic.chip[0], *s = &pic.chip[1];
	int irq, sirq;
	uint8_t vector;

	pic_slave_output();
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
			pic_slave_output();
		} else {
			pic_ack(m, irq);
			vector = m->base | irq;
		}
		if (pic.deliver && vector >= 32)
			pic.deliver(pic.ctx, vector);
		if (!m->auto_eoi)
			break;
	}
}

void pic_set_irq(unsigned int irq, int level)
{
	struct i8259 *c = &pic.chip[irq >= 8];
	uint8_t bit = 1U << (irq & 7);

	if (irq >= 16)
		return;
	if (level && !(c->lines & bit))
		c->irr |= bit;
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
	pic_update();
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

static void pic_io(void *opaque, uint16_t port, uint8_t size, bool write,
		   uint32_t *data)
{
	struct i8259 *c = opaque;
	uint8_t v = *data;

	(void)size;
	if (!write) {
		if (port & 1)
			*data = c->imr;
		else
			*data = c->read_isr ? c->isr : c->irr;
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
	pic_update();
}

/* The edge/level control registers at 0x4d0 and 0x4d1 (ACPI sets them). */
static void elcr_io(void *opaque, uint16_t port, uint8_t size, bool write,
		    uint32_t *data)
{
	static const uint8_t mask[2] = { 0xf8, 0xde };
	unsigned int i = port & 1;

	(void)opaque;
	(void)size;
	if (write)
		pic.elcr[i] = *data & mask[i];
	else
		*data = pic.elcr[i];
}

void pic_init(void (*deliver)(void *ctx, uint8_t vector), void *ctx)
{
	memset(&pic, 0, sizeof(pic));
	pic.deliver = deliver;
	pic.ctx = ctx;
	/* As a BIOS leaves them: every input masked, vectors 8 and 0x70. */
	pic.chip[0].base = 0x08;
	pic.chip[0].imr = 0xff;
	pic.chip[1].base = 0x70;
	pic.chip[1].imr = 0xff;
	pio_register(PIC_MASTER, 2, "pic-master", pic_io, &pic.chip[0]);
	pio_register(PIC_SLAVE, 2, "pic-slave", pic_io, &pic.chip[1]);
	pio_register(0x4d0, 2, "pic-elcr", elcr_io, NULL);
}
