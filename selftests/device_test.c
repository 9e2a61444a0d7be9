// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's bus (userspace/bus.c, device.c) and device models
 * (userspace/hw/serial.c, i8259.c, i8254.c, platform.c), linked into this
 * test.  Guest code drives the devices: the host's run loop hands every
 * port access that is not a ucall to the launcher's bus, and the PIC
 * queues its vectors with MVM_INTERRUPT, as in the launcher.  Guests check
 * what they read with GUEST_ASSERT; counts and times come back to the
 * host in ucalls, and the host checks those.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lib/guest.h"
#include "bus.h"
#include "device.h"
#include "hw/hw.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define IRQ_BASE	0x20	/* IRQ 0 -> vector 0x20, IRQ 8 -> 0x28 */

#define COM1		0x3f8
#define UART_IER	(COM1 + 1)
#define UART_IIR	(COM1 + 2)
#define UART_LCR	(COM1 + 3)
#define UART_MCR	(COM1 + 4)
#define UART_LSR	(COM1 + 5)
#define UART_MSR	(COM1 + 6)
#define UART_SCR	(COM1 + 7)

/* --- guest side ----------------------------------------------------------- */

static volatile uint64_t irq_count[16];
static volatile uint8_t last_iir, last_rx;
static volatile int handler_eoi = 1;

static void guest_pic_init(uint8_t mask1, uint8_t mask2)
{
	outb(PIC1_CMD, 0x11);		/* ICW1: edge, cascade, ICW4 */
	outb(PIC1_DATA, IRQ_BASE);	/* ICW2 */
	outb(PIC1_DATA, 0x04);		/* ICW3: slave on IRQ 2 */
	outb(PIC1_DATA, 0x01);		/* ICW4: 8086 mode */
	outb(PIC2_CMD, 0x11);
	outb(PIC2_DATA, IRQ_BASE + 8);
	outb(PIC2_DATA, 0x02);
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, mask1);
	outb(PIC2_DATA, mask2);
}

static uint8_t pic_read_isr(void)
{
	outb(PIC1_CMD, 0x0b);		/* OCW3: read ISR */
	return inb(PIC1_CMD);
}

static uint8_t pic_read_irr(void)
{
	outb(PIC1_CMD, 0x0a);		/* OCW3: read IRR */
	return inb(PIC1_CMD);
}

static void timer_handler(struct ex_regs *regs)
{
	(void)regs;
	irq_count[0]++;
	outb(PIC1_CMD, 0x20);		/* non-specific EOI */
}

/* IRQ 4: note IIR; THRE: stop asking for it; data: take the byte. */
static void uart_handler(struct ex_regs *regs)
{
	uint8_t iir = inb(UART_IIR);

	(void)regs;
	irq_count[4]++;
	last_iir = iir;
	if ((iir & 0x0f) == 0x04)
		last_rx = inb(COM1);
	if (handler_eoi)
		outb(PIC1_CMD, 0x20);
}

/* Waits with interrupts on until @n interrupts of @irq were counted. */
static void wait_irqs(unsigned int irq, uint64_t n)
{
	while (irq_count[irq] < n)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* Interrupts on for a moment: whatever is queued gets delivered. */
static void irq_window(void)
{
	__asm__ volatile("sti; nop; nop; cli" ::: "memory");
}

static void guest_uart_loopback(void)
{
	const char *msg = "mvm";
	int i;

	/* Loopback: RTS -> CTS, OUT2 -> DCD, as Linux probes it. */
	outb(UART_MCR, 0x10 | 0x0a);
	GUEST_ASSERT_EQ(inb(UART_MSR) & 0xf0, 0x90);
	outb(UART_MCR, 0x10 | 0x05);	/* DTR -> DSR, OUT1 -> RI */
	GUEST_ASSERT_EQ(inb(UART_MSR) & 0xf0, 0x60);
	outb(UART_IIR, 0x07);		/* FCR: FIFO on, both cleared */
	GUEST_ASSERT_EQ(inb(UART_IIR), 0xc1);	/* FIFO, no interrupt */
	GUEST_ASSERT_EQ(inb(UART_LSR) & 0x61, 0x60);	/* empty, no data */
	for (i = 0; msg[i]; i++)
		outb(COM1, msg[i]);
	for (i = 0; msg[i]; i++) {
		GUEST_ASSERT(inb(UART_LSR) & 0x01);
		GUEST_ASSERT_EQ(inb(COM1), msg[i]);
	}
	GUEST_ASSERT_EQ(inb(UART_LSR) & 0x01, 0);
	outb(UART_SCR, 0x5a);
	GUEST_ASSERT_EQ(inb(UART_SCR), 0x5a);
	/* The divisor latch hides RBR and IER while DLAB is set. */
	outb(UART_LCR, 0x83);
	outb(COM1, 0x01);
	outb(UART_IER, 0x00);
	GUEST_ASSERT_EQ(inb(COM1), 0x01);
	outb(UART_LCR, 0x03);
	GUEST_ASSERT_EQ(inb(UART_IER), 0);
	/* Out of loopback the bytes go to the host. */
	outb(UART_MCR, 0x0b);
	outb(COM1, 'o');
	outb(COM1, 'k');
	GUEST_DONE();
}

static void guest_uart_interrupts(void)
{
	guest_pic_init(0xef, 0xff);	/* IRQ 4 only */
	outb(UART_MCR, 0x10 | 0x08);	/* loopback, OUT2 gates the IRQ */
	outb(UART_IER, 0x02);		/* THRE: THR is empty, so at once */
	wait_irqs(4, 1);
	GUEST_ASSERT_EQ(last_iir & 0x0f, 0x02);
	GUEST_ASSERT_EQ(inb(UART_IIR) & 0x0f, 0x01);	/* read: acked */
	outb(UART_IER, 0x01);		/* received data */
	outb(COM1, 'x');
	wait_irqs(4, 2);
	GUEST_ASSERT_EQ(last_iir & 0x0f, 0x04);
	GUEST_ASSERT_EQ(last_rx, 'x');
	GUEST_ASSERT_EQ(inb(UART_LSR) & 0x01, 0);
	/* Without OUT2 the line stays low: no interrupt. */
	outb(UART_MCR, 0x10);
	outb(COM1, 'y');
	irq_window();
	GUEST_ASSERT_EQ(irq_count[4], 2);
	GUEST_ASSERT_EQ(inb(UART_IIR) & 0x0f, 0x04);	/* yet pending */
	GUEST_VALUE(irq_count[4], last_rx, 0);
	GUEST_DONE();
}

static void guest_pic_mask_eoi(void)
{
	guest_pic_init(0xff, 0xff);
	/* A readable mask: Linux checks for one. */
	outb(PIC1_DATA, 0xa5);
	GUEST_ASSERT_EQ(inb(PIC1_DATA), 0xa5);
	outb(PIC1_DATA, 0xff);

	/* A masked request waits in IRR. */
	handler_eoi = 0;
	outb(UART_MCR, 0x10 | 0x08);
	outb(UART_IER, 0x02);
	irq_window();
	GUEST_ASSERT_EQ(irq_count[4], 0);
	GUEST_ASSERT(pic_read_irr() & 0x10);

	/* Unmasked, it is delivered and in service until its EOI. */
	outb(PIC1_DATA, 0xef);
	irq_window();
	GUEST_ASSERT_EQ(irq_count[4], 1);
	GUEST_ASSERT_EQ(pic_read_isr(), 0x10);
	GUEST_ASSERT_EQ(pic_read_irr() & 0x10, 0);

	/* A new edge while in service waits... */
	outb(UART_IER, 0x00);
	outb(UART_IER, 0x02);
	irq_window();
	GUEST_ASSERT_EQ(irq_count[4], 1);
	GUEST_ASSERT(pic_read_irr() & 0x10);

	/* ...until a specific EOI for IRQ 4. */
	outb(PIC1_CMD, 0x64);
	irq_window();
	GUEST_ASSERT_EQ(irq_count[4], 2);
	outb(PIC1_CMD, 0x20);		/* non-specific EOI */
	GUEST_ASSERT_EQ(pic_read_isr(), 0);
	GUEST_VALUE(irq_count[4], 0, 0);
	GUEST_DONE();
}

static uint16_t pit2_latch(void)
{
	uint16_t lo;

	outb(0x43, 0x80);		/* counter latch, channel 2 */
	lo = inb(0x42);
	return lo | inb(0x42) << 8;
}

static void guest_pit_counts(void)
{
	uint16_t c1, c2, c3, c4;
	int i;

	/* Channel 2 as Linux calibrates with it: gate on, speaker off. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);		/* channel 2, LSB then MSB, mode 0 */
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	c1 = pit2_latch();
	GUEST_ASSERT_EQ(inb(0x61) & 0x20, 0);	/* OUT2 low while counting */
	GUEST_SYNC(1);			/* the host waits a few ms */
	c2 = pit2_latch();

	/* Read-back of the status: OUT low, LSB/MSB, mode 0. */
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	outb(0x43, 0xe8);
	GUEST_ASSERT_EQ(inb(0x42), 0x30);

	/* A short count ends: OUT2 goes high. */
	outb(0x42, 0x10);
	outb(0x42, 0x00);
	for (i = 0; i < 1000000 && !(inb(0x61) & 0x20); i++)
		;
	GUEST_ASSERT(inb(0x61) & 0x20);

	/* Gate off: the count stands still. */
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	outb(0x61, 0x00);
	c3 = pit2_latch();
	GUEST_SYNC(2);
	c4 = pit2_latch();
	GUEST_VALUE(c1, c2, (uint64_t)c3 << 16 | c4);
	GUEST_DONE();
}

static void guest_pit_irq0(uint64_t mode)
{
	guest_pic_init(0xfe, 0xff);	/* IRQ 0 only */
	GUEST_SYNC(0);			/* the host notes the time */
	if (mode == 2) {
		outb(0x43, 0x34);	/* channel 0, LSB/MSB, mode 2 */
		outb(0x40, 11932 & 0xff);	/* 10 ms */
		outb(0x40, 11932 >> 8);
		wait_irqs(0, 5);
		GUEST_SYNC(1);
	} else {
		outb(0x43, 0x30);	/* channel 0, LSB/MSB, mode 0 */
		outb(0x40, 1193 & 0xff);	/* 1 ms, once */
		outb(0x40, 1193 >> 8);
		wait_irqs(0, 1);
		GUEST_SYNC(1);		/* the host waits 50 ms */
		irq_window();
	}
	GUEST_VALUE(irq_count[0], 0, 0);
	GUEST_DONE();
}

/* --- host side ------------------------------------------------------------ */

static void deliver(void *ctx, uint8_t vector)
{
	struct vcpu *vcpu = ctx;
	struct mvm_interrupt irq = { .vector = vector };

	TEST_ASSERT(!ioctl(vcpu->fd, MVM_INTERRUPT, &irq), "MVM_INTERRUPT %u",
		    vector);
}

/* The machine the devices plug into; each case runs in its own process. */
static struct machine mach;

/* The PIC, with its output to @deliver, and the machine's ISA lines on it. */
static struct device *add_pic(struct machine *m,
			      void (*fn)(void *ctx, uint8_t vector), void *ctx)
{
	struct device *pic = i8259_create(m, fn, ctx);

	TEST_ASSERT(pic, "i8259_create");
	m->irq_line = i8259_set_irq;
	m->irq_ctx = pic;
	return pic;
}

/* A VM with the launcher's PIC, PIT and UART; UART output to @out_fd. */
static struct vcpu *devices_vcpu(void (*entry)(void), int out_fd)
{
	struct vm *vm = vm_create(64);
	struct vcpu *vcpu = vcpu_create(vm, 0);

	add_pic(&mach, deliver, vcpu);
	TEST_ASSERT(i8254_create(&mach), "i8254_create");
	TEST_ASSERT(serial_create(&mach, -1, out_fd), "serial_create");
	vm_install_handler(vm, IRQ_BASE + 0, timer_handler);
	vm_install_handler(vm, IRQ_BASE + 4, uart_handler);
	vcpu_setup_long(vcpu, entry);
	return vcpu;
}

/* Runs to the next ucall, handing port accesses to the devices. */
static uint32_t run_devices(struct vcpu *vcpu, struct ucall *uc)
{
	struct mvm_run *run = vcpu->run;
	uint64_t v;

	for (;;) {
		vcpu_run(vcpu);
		if (get_ucall(vcpu, uc) != UCALL_NONE) {
			if (uc->code == UCALL_FAIL)
				report_guest_fail(uc);
			return uc->code;
		}
		if (run->exit_reason != MVM_EXIT_IO) {
			vcpu_describe_exit(vcpu);
			TEST_ASSERT(0, "an exit other than port I/O");
		}
		v = run->io.write ? run->io.data : 0;
		bus_access(&mach.bus, vcpu, BUS_PIO, run->io.addr, &v,
			   run->io.size, run->io.write, false);
		machine_flush(&mach);
		if (!run->io.write)
			run->io.data = v;
	}
}

static void sleep_ms(long ms)
{
	struct timespec d = { .tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&d, NULL);
}

static int uart_loopback(void)
{
	struct vcpu *vcpu;
	struct ucall uc;
	char buf[16] = "";
	int p[2];

	CHECK(!pipe2(p, O_NONBLOCK), "pipe");
	vcpu = devices_vcpu(guest_uart_loopback, p[1]);
	CHECK(run_devices(vcpu, &uc) == UCALL_DONE, "ucall %u", uc.code);
	/* Only what was sent outside loopback reached the host. */
	CHECK(read(p[0], buf, sizeof(buf) - 1) == 2, "host read");
	CHECK(!strcmp(buf, "ok"), "host got '%s'", buf);
	return KTAP_PASS;
}

static int uart_interrupts(void)
{
	struct vcpu *vcpu = devices_vcpu(guest_uart_interrupts, -1);
	struct ucall uc;

	CHECK(run_devices(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 2 && uc.args[1] == 'x', "%lu interrupts, byte %#lx",
	      (unsigned long)uc.args[0], (unsigned long)uc.args[1]);
	CHECK(run_devices(vcpu, &uc) == UCALL_DONE, "ucall %u", uc.code);
	return KTAP_PASS;
}

static int pic_mask_eoi(void)
{
	struct vcpu *vcpu = devices_vcpu(guest_pic_mask_eoi, -1);
	struct ucall uc;

	CHECK(run_devices(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	CHECK(uc.args[0] == 2, "%lu interrupts", (unsigned long)uc.args[0]);
	CHECK(run_devices(vcpu, &uc) == UCALL_DONE, "ucall %u", uc.code);
	return KTAP_PASS;
}

static int pit_counts(void)
{
	struct vcpu *vcpu = devices_vcpu(guest_pit_counts, -1);
	uint64_t t0, ticks;
	struct ucall uc;
	uint16_t c1, c2, c3, c4;

	t0 = now_ns();
	CHECK(run_devices(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	sleep_ms(5);
	CHECK(run_devices(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	sleep_ms(5);
	CHECK(run_devices(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	c1 = uc.args[0];
	c2 = uc.args[1];
	c3 = uc.args[2] >> 16;
	c4 = uc.args[2];
	/* 1.193182 MHz: at least the 5 ms the host slept went by. */
	ticks = c1 - c2;
	CHECK(c1 > c2 && ticks >= 5 * 1193 &&
	      ticks <= (now_ns() - t0) * 1193182 / 1000000000 + 1,
	      "channel 2 counted from %#x to %#x", c1, c2);
	CHECK(c3 == c4, "gate off, the count moved: %#x, %#x", c3, c4);
	CHECK(run_devices(vcpu, &uc) == UCALL_DONE, "ucall %u", uc.code);
	return KTAP_PASS;
}

static int pit_irq0(uint64_t mode, uint64_t *count, uint64_t *ns)
{
	struct vcpu *vcpu = devices_vcpu((void (*)(void))guest_pit_irq0, -1);
	struct ucall uc;
	uint64_t t0;

	vcpu_args_set(vcpu, mode, 0, 0);
	CHECK(run_devices(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	t0 = now_ns();
	CHECK(run_devices(vcpu, &uc) == UCALL_SYNC, "ucall %u", uc.code);
	*ns = now_ns() - t0;
	if (mode == 0)
		sleep_ms(50);
	CHECK(run_devices(vcpu, &uc) == UCALL_VALUE, "ucall %u", uc.code);
	*count = uc.args[0];
	CHECK(run_devices(vcpu, &uc) == UCALL_DONE, "ucall %u", uc.code);
	return KTAP_PASS;
}

static int pit_periodic_irq0(void)
{
	uint64_t count, ns;

	CHECK(pit_irq0(2, &count, &ns) == KTAP_PASS, "run");
	/* Five 10 ms periods: no sooner than 40 ms. */
	CHECK(count >= 5 && ns >= 40000000ULL, "%lu interrupts in %lu ns",
	      (unsigned long)count, (unsigned long)ns);
	return KTAP_PASS;
}

static int pit_oneshot_irq0(void)
{
	uint64_t count, ns;

	CHECK(pit_irq0(0, &count, &ns) == KTAP_PASS, "run");
	/* Mode 0 interrupts once, however long the guest waits after. */
	CHECK(count == 1, "%lu interrupts", (unsigned long)count);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(uart_loopback),
	KTAP_CASE(uart_interrupts),
	KTAP_CASE(pic_mask_eoi),
	KTAP_CASE(pit_counts),
	KTAP_CASE(pit_periodic_irq0),
	KTAP_CASE(pit_oneshot_irq0),
};

KTAP_MAIN(cases)
