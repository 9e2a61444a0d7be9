// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's bus (userspace/bus.c, device.c) and device models
 * (userspace/hw/serial.c, i8259.c, i8254.c, platform.c), linked into this
 * test.  Guest code drives the devices: the host's run loop hands every
 * port access that is not a ucall to the launcher's bus, and the PIC
 * queues its vectors with MVM_INTERRUPT, as in the launcher.  Guests check
 * what they read with GUEST_ASSERT; counts and times come back to the
 * host in ucalls, and the host checks those.  The bus's registry and each
 * device's save and load are tested from the host alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
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
	/* Ports nobody claims (COM2 here) read all ones. */
	GUEST_ASSERT_EQ(inb(0x2f8), 0xff);
	GUEST_ASSERT_EQ(inw(0x2fa), 0xffff);
	GUEST_ASSERT_EQ(inl(0x2fc), 0xffffffff);
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

/* --- the bus, from the host ---------------------------------------------- */

/* What the last handler call saw. */
static struct {
	unsigned int calls;
	uintptr_t id;		/* the range's opaque */
	uint64_t addr, data;
	uint32_t len;
	bool write;
	struct vcpu *vcpu;
} seen;

static void record_io(struct vcpu *vcpu, uint64_t addr, void *data,
		      uint32_t len, bool write, void *opaque)
{
	seen.calls++;
	seen.id = (uintptr_t)opaque;
	seen.addr = addr;
	seen.len = len;
	seen.write = write;
	seen.vcpu = vcpu;
	if (write)
		seen.data = bus_get(data, len);
	else	/* the range's id in every byte, then the offset */
		bus_put(data, len, 0x0101010101010101ULL * seen.id);
}

static struct device test_dev;
static const struct device_ops test_ops = { .name = "test" };

static int bus_reg(struct bus *bus, enum bus_space space, uint64_t base,
		   uint64_t len, uintptr_t id)
{
	return bus_register(bus, space, base, len, &test_dev, record_io,
			    (void *)id);
}

/* Reads @addr; returns the range id that answered, 0 for nobody. */
static uintptr_t bus_probe(struct bus *bus, enum bus_space space,
			   uint64_t addr, uint32_t len, uint64_t *data)
{
	unsigned int calls = seen.calls;
	uint64_t v = 0;
	bool hit;

	hit = bus_access(bus, (struct vcpu *)&seen, space, addr, &v, len,
			 false, false);
	if (data)
		*data = v;
	if (!hit)
		return seen.calls == calls ? 0 : (uintptr_t)-1;
	if (seen.calls != calls + 1 || seen.addr != addr || seen.len != len ||
	    seen.write || seen.vcpu != (struct vcpu *)&seen)
		return (uintptr_t)-1;
	return seen.id;
}

static int bus_overlap_refused(void)
{
	struct bus bus = { 0 };

	device_register(&mach, &test_dev, &test_ops);
	CHECK(!bus_reg(&bus, BUS_PIO, 0x100, 8, 1), "first range");
	/* Every way of overlapping [0x100, 0x108): refused, nothing added. */
	CHECK(bus_reg(&bus, BUS_PIO, 0x107, 4, 2) == -EEXIST, "over the end");
	CHECK(bus_reg(&bus, BUS_PIO, 0xfe, 3, 2) == -EEXIST, "over the start");
	CHECK(bus_reg(&bus, BUS_PIO, 0x102, 1, 2) == -EEXIST, "inside");
	CHECK(bus_reg(&bus, BUS_PIO, 0xf0, 0x100, 2) == -EEXIST, "around");
	CHECK(bus_reg(&bus, BUS_PIO, 0x100, 8, 2) == -EEXIST, "the same");
	CHECK(bus.nr[BUS_PIO] == 1, "%u ranges", bus.nr[BUS_PIO]);
	/* Touching is not overlapping. */
	CHECK(!bus_reg(&bus, BUS_PIO, 0x108, 8, 3), "right after");
	CHECK(!bus_reg(&bus, BUS_PIO, 0xf8, 8, 4), "right before");
	/* The spaces are apart: the same numbers in MMIO are free. */
	CHECK(!bus_reg(&bus, BUS_MMIO, 0x100, 8, 5), "MMIO");
	CHECK(bus_reg(&bus, BUS_MMIO, 0x104, 1, 6) == -EEXIST, "MMIO inside");
	/* Empty, or past the end of the space. */
	CHECK(bus_reg(&bus, BUS_PIO, 0x200, 0, 7) == -EINVAL, "empty");
	CHECK(bus_reg(&bus, BUS_PIO, 0xffff, 2, 7) == -EINVAL, "past 0xffff");
	CHECK(bus_reg(&bus, BUS_PIO, 0x10000, 1, 7) == -EINVAL, "port 0x10000");
	CHECK(bus_reg(&bus, BUS_MMIO, ~0ULL - 4, 8, 7) == -EINVAL, "wraps");
	CHECK(bus_reg(&bus, BUS_NR_SPACES, 0, 1, 7) == -EINVAL, "no space");
	CHECK(!bus_reg(&bus, BUS_PIO, 0xffff, 1, 8), "the last port");
	CHECK(bus_probe(&bus, BUS_PIO, 0x107, 1, NULL) == 1 &&
	      bus_probe(&bus, BUS_PIO, 0x108, 1, NULL) == 3 &&
	      bus_probe(&bus, BUS_PIO, 0xff, 1, NULL) == 4 &&
	      bus_probe(&bus, BUS_PIO, 0xffff, 1, NULL) == 8,
	      "lookups after the refusals");
	/* The launcher's own devices refuse a second copy of themselves. */
	CHECK(platform_create(&mach), "platform");
	CHECK(!platform_create(&mach) && errno == EBUSY, "a second platform");
	bus_free(&bus);
	return KTAP_PASS;
}

static int bus_dispatch_edges(void)
{
	/* Out of order, with gaps and neighbours; id = index + 1. */
	static const struct { uint64_t base, len; } r[] = {
		{ 0x3f8, 8 }, { 0x20, 2 }, { 0xcf8, 8 }, { 0x22, 1 },
		{ 0x0, 1 }, { 0x4d0, 2 }, { 0xa0, 2 }, { 0xfffe, 2 },
		{ 0x60, 1 }, { 0x64, 1 }, { 0x1000, 0x100 }, { 0x1, 0x1f },
	};
	struct bus bus = { 0 };
	const struct bus_range *br;
	uint64_t v, addr;
	unsigned int i, j;
	uintptr_t want, got;

	device_register(&mach, &test_dev, &test_ops);
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		CHECK(!bus_reg(&bus, BUS_PIO, r[i].base, r[i].len, i + 1),
		      "range %u", i);
	/* Sorted, so that lookups can halve. */
	for (i = 1; i < bus.nr[BUS_PIO]; i++)
		CHECK(bus.ranges[BUS_PIO][i - 1].base +
		      bus.ranges[BUS_PIO][i - 1].len <=
		      bus.ranges[BUS_PIO][i].base, "order at %u", i);
	/* Each range's first and last byte, and the byte on each side. */
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		uint64_t probe[4] = { r[i].base, r[i].base + r[i].len - 1,
				      r[i].base - 1, r[i].base + r[i].len };

		for (j = 0; j < 4; j++) {
			addr = probe[j];
			if (addr > 0xffff)	/* below 0 or past 0xffff */
				continue;
			br = bus_find(&bus, BUS_PIO, addr);
			want = br ? (uintptr_t)br->opaque : 0;
			if (j < 2)
				CHECK(want == i + 1, "%#llx: range %lu, want %u",
				      (unsigned long long)addr,
				      (unsigned long)want, i + 1);
			got = bus_probe(&bus, BUS_PIO, addr, 2, &v);
			CHECK(got == want, "%#llx: handler %ld, want %lu",
			      (unsigned long long)addr, (long)got,
			      (unsigned long)want);
			CHECK(v == (want ? 0x0101 * want : 0xffff),
			      "%#llx read %#llx", (unsigned long long)addr,
			      (unsigned long long)v);
		}
	}
	/* Writes bring their bytes and their width. */
	v = 0x12345678;
	CHECK(bus_access(&bus, NULL, BUS_PIO, 0x1080, &v, 4, true, false),
	      "write");
	CHECK(seen.id == 11 && seen.write && seen.len == 4 &&
	      seen.data == 0x12345678 && !seen.vcpu, "write seen as %lu %u %#llx",
	      (unsigned long)seen.id, seen.len, (unsigned long long)seen.data);
	/* MMIO: the same, 8 bytes wide, up in the address space. */
	CHECK(!bus_reg(&bus, BUS_MMIO, 0xfee00000ULL, 0x1000, 40), "MMIO");
	CHECK(!bus_reg(&bus, BUS_MMIO, 0xfec00000ULL, 0x20, 41), "MMIO 2");
	CHECK(bus_probe(&bus, BUS_MMIO, 0xfee00fffULL, 8, &v) == 40 &&
	      v == 0x2828282828282828ULL, "MMIO last byte: %#llx",
	      (unsigned long long)v);
	CHECK(bus_probe(&bus, BUS_MMIO, 0xfee01000ULL, 8, &v) == 0 &&
	      v == ~0ULL, "MMIO past the end: %#llx", (unsigned long long)v);
	CHECK(bus_probe(&bus, BUS_MMIO, 0xfec0001fULL, 4, NULL) == 41 &&
	      bus_probe(&bus, BUS_MMIO, 0xfebfffffULL, 4, NULL) == 0,
	      "MMIO neighbours");
	/* The ranges count what came by exit and by ring. */
	br = bus_find(&bus, BUS_MMIO, 0xfee00000ULL);
	CHECK(br && br->exits == 1 && br->posted == 0, "counts");
	bus_free(&bus);
	return KTAP_PASS;
}

static int bus_unclaimed_reads_ones(void)
{
	static const uint32_t lens[] = { 1, 2, 4 };
	static const uint64_t ones[] = { 0xff, 0xffff, 0xffffffffULL };
	uint64_t v;
	unsigned int i;

	/* The launcher's machine: nothing at 0x2f8 (COM2), 0x1234, MMIO. */
	add_pic(&mach, NULL, NULL);
	CHECK(i8254_create(&mach) && serial_create(&mach, -1, -1) &&
	      platform_create(&mach), "devices");
	for (i = 0; i < 3; i++) {
		v = 0;
		CHECK(!bus_access(&mach.bus, NULL, BUS_PIO, 0x2f8, &v, lens[i],
				  false, false), "0x2f8 claimed");
		CHECK(v == ones[i], "in%u 0x2f8: %#llx", 8 * lens[i],
		      (unsigned long long)v);
		v = 0;
		bus_access(&mach.bus, NULL, BUS_PIO, 0x1234, &v, lens[i],
			   false, false);
		CHECK(v == ones[i], "in%u 0x1234: %#llx", 8 * lens[i],
		      (unsigned long long)v);
	}
	v = 0;
	CHECK(!bus_access(&mach.bus, NULL, BUS_MMIO, 0xfed00000ULL, &v, 8,
			  false, false) && v == ~0ULL, "MMIO read %#llx",
	      (unsigned long long)v);
	/* Writes to nothing are dropped, and the devices see none. */
	v = 0x5a;
	CHECK(!bus_access(&mach.bus, NULL, BUS_PIO, 0x2ff, &v, 1, true, false),
	      "write claimed");
	v = 0;
	bus_access(&mach.bus, NULL, BUS_PIO, COM1 + 7, &v, 1, false, false);
	CHECK(v == 0, "the UART's scratch register: %#llx",
	      (unsigned long long)v);
	return KTAP_PASS;
}

/* --- save and load, from the host ----------------------------------------- */

static uint64_t io(struct machine *m, uint16_t port, uint32_t len, bool write,
		   uint64_t v)
{
	bus_access(&m->bus, NULL, BUS_PIO, port, &v, len, write, false);
	return v;
}

static void out8(struct machine *m, uint16_t port, uint8_t v)
{
	io(m, port, 1, true, v);
}

static uint8_t in8(struct machine *m, uint16_t port)
{
	return io(m, port, 1, false, 0);
}

static unsigned int nr_delivered;
static uint8_t last_vector;

static void note_vector(void *ctx, uint8_t vector)
{
	(void)ctx;
	nr_delivered++;
	last_vector = vector;
}

/*
 * Saves @a, loads the state into @b (a fresh device of the same model),
 * and checks that saving @b again gives the same bytes (@same_bytes:
 * for models without times in their state).
 */
static int round_trip(struct device *a, struct device *b, bool same_bytes)
{
	struct state_buf sa = { 0 }, sb = { 0 };

	CHECK(!device_save(a, &sa), "save %s", a->ops->name);
	CHECK(sa.len > DEVICE_NAME_LEN + 12, "%zu bytes", sa.len);
	CHECK(!device_load(b, &sa), "load %s", b->ops->name);
	CHECK(sa.pos == sa.len, "read %zu of %zu bytes", sa.pos, sa.len);
	CHECK(!device_save(b, &sb), "save again");
	if (same_bytes)
		CHECK(sb.len == sa.len && !memcmp(sa.data, sb.data, sa.len),
		      "the state changed on the way");
	state_buf_free(&sa);
	state_buf_free(&sb);
	return KTAP_PASS;
}

static void host_pic_init(struct machine *m)
{
	out8(m, PIC1_CMD, 0x11);
	out8(m, PIC1_DATA, IRQ_BASE);
	out8(m, PIC1_DATA, 0x04);
	out8(m, PIC1_DATA, 0x01);
	out8(m, PIC2_CMD, 0x11);
	out8(m, PIC2_DATA, IRQ_BASE + 8);
	out8(m, PIC2_DATA, 0x02);
	out8(m, PIC2_DATA, 0x01);
}

static int pic_save_load(void)
{
	struct machine b = { 0 };
	struct device *pa, *pb;

	pa = add_pic(&mach, note_vector, NULL);
	pb = add_pic(&b, note_vector, NULL);
	host_pic_init(&mach);
	out8(&mach, PIC1_DATA, 0xcb);		/* IRQ 2, 4 and 5 open */
	out8(&mach, PIC2_DATA, 0xfd);		/* IRQ 9 open */
	machine_set_irq(&mach, 4, 1);		/* delivered, in service */
	machine_set_irq(&mach, 9, 1);		/* IRQ 2 beats 4: delivered */
	machine_set_irq(&mach, 5, 1);		/* waits behind IRQ 4 */
	machine_set_irq(&mach, 6, 1);		/* masked: in IRR */
	out8(&mach, 0x4d0, 0x20);		/* ELCR: IRQ 5 level */
	out8(&mach, PIC1_CMD, 0x0b);		/* reads return ISR */
	CHECK(nr_delivered == 2 && last_vector == IRQ_BASE + 9,
	      "%u vectors, last %#x", nr_delivered, last_vector);
	CHECK(round_trip(pa, pb, true) == KTAP_PASS, "round trip");
	/* Nothing is delivered by the load itself. */
	CHECK(nr_delivered == 2, "%u vectors", nr_delivered);
	CHECK(in8(&b, PIC1_CMD) == 0x14, "ISR %#x", in8(&b, PIC1_CMD));
	CHECK(in8(&b, PIC1_DATA) == 0xcb && in8(&b, PIC2_DATA) == 0xfd,
	      "masks");
	CHECK(in8(&b, 0x4d0) == 0x20, "ELCR");
	out8(&b, PIC1_CMD, 0x0a);
	CHECK(in8(&b, PIC1_CMD) == 0x60, "IRR %#x", in8(&b, PIC1_CMD));
	/* The copy goes on as the original would: two EOIs, then IRQ 5. */
	out8(&b, PIC2_CMD, 0x20);
	out8(&b, PIC1_CMD, 0x20);
	CHECK(nr_delivered == 2, "after one EOI: %u vectors", nr_delivered);
	out8(&b, PIC1_CMD, 0x20);
	CHECK(nr_delivered == 3 && last_vector == IRQ_BASE + 5,
	      "after EOI: %u vectors, last %#x", nr_delivered, last_vector);
	return KTAP_PASS;
}

static int pit_save_load(void)
{
	struct machine b = { 0 };
	struct device *pa = i8254_create(&mach), *pb = i8254_create(&b);
	uint8_t lo, hi, a_lo, a_hi;

	CHECK(pa && pb, "i8254_create");
	/* Channel 1: mode 2, a count latched, half read. */
	out8(&mach, 0x43, 0x74);
	out8(&mach, 0x41, 0x34);
	out8(&mach, 0x41, 0x12);
	out8(&mach, 0x43, 0x40);
	a_lo = in8(&mach, 0x41);
	/* Channel 2: mode 0, counting, then gated off: frozen. */
	out8(&mach, 0x61, 0x01);
	out8(&mach, 0x43, 0xb0);
	out8(&mach, 0x42, 0xff);
	out8(&mach, 0x42, 0xff);
	out8(&mach, 0x61, 0x00);
	/* Channel 0: mode 3, MSB only, its status latched. */
	out8(&mach, 0x43, 0x26);
	out8(&mach, 0x40, 0x40);
	out8(&mach, 0x43, 0xe2);
	CHECK(round_trip(pa, pb, false) == KTAP_PASS, "round trip");
	/* Both read the same from here on. */
	CHECK(in8(&b, 0x40) == in8(&mach, 0x40), "channel 0's status");
	a_hi = in8(&mach, 0x41);
	CHECK(in8(&b, 0x41) == a_hi, "channel 1's latch MSB");
	CHECK((a_hi << 8 | a_lo) <= 0x1234, "latched %#x", a_hi << 8 | a_lo);
	out8(&mach, 0x43, 0x80);
	out8(&b, 0x43, 0x80);
	lo = in8(&b, 0x42);
	hi = in8(&b, 0x42);
	CHECK(lo == in8(&mach, 0x42) && hi == in8(&mach, 0x42),
	      "channel 2 frozen at %#x", hi << 8 | lo);
	CHECK((in8(&b, 0x61) & 0x2f) == (in8(&mach, 0x61) & 0x2f), "port B");
	return KTAP_PASS;
}

static int serial_save_load(void)
{
	struct machine b = { 0 };
	struct device *sa, *sb;

	add_pic(&mach, NULL, NULL);
	add_pic(&b, NULL, NULL);
	sa = serial_create(&mach, -1, -1);
	sb = serial_create(&b, -1, -1);
	CHECK(sa && sb, "serial_create");
	out8(&mach, UART_LCR, 0x83);		/* divisor 0x0201 */
	out8(&mach, COM1, 0x01);
	out8(&mach, UART_IER, 0x02);
	out8(&mach, UART_LCR, 0x1b);		/* 8E1 */
	out8(&mach, UART_IER, 0x05);
	out8(&mach, UART_MCR, 0x10 | 0x0b);	/* loopback */
	out8(&mach, UART_IIR, 0x01);		/* FIFO on */
	out8(&mach, UART_SCR, 0xa5);
	out8(&mach, COM1, 'a');
	out8(&mach, COM1, 'b');
	out8(&mach, COM1, 'c');
	CHECK(in8(&mach, COM1) == 'a', "loopback");
	CHECK(round_trip(sa, sb, true) == KTAP_PASS, "round trip");
	CHECK(in8(&b, UART_LCR) == 0x1b && in8(&b, UART_IER) == 0x05 &&
	      in8(&b, UART_MCR) == 0x1b && in8(&b, UART_SCR) == 0xa5,
	      "registers");
	CHECK(in8(&b, UART_IIR) == 0xc4, "IIR %#x: FIFO, data", in8(&b, UART_IIR));
	CHECK(in8(&b, COM1) == 'b' && in8(&b, COM1) == 'c', "the FIFO");
	CHECK(!(in8(&b, UART_LSR) & 0x01), "no more data");
	out8(&b, UART_LCR, 0x9b);
	CHECK(in8(&b, COM1) == 0x01 && in8(&b, UART_IER) == 0x02, "divisor");
	return KTAP_PASS;
}

static int platform_save_load(void)
{
	struct machine b = { 0 };
	struct device *pa = platform_create(&mach), *pb = platform_create(&b);

	CHECK(pa && pb, "platform_create");
	out8(&mach, 0x70, 0x20);
	out8(&mach, 0x71, 0x99);
	out8(&mach, 0x70, 0x7f);
	out8(&mach, 0x71, 0x42);
	io(&mach, 0xcf8, 4, true, 0x8000f8a4);
	io(&mach, ACPI_PM1A_EVT + 2, 2, true, 0x0121);
	io(&mach, ACPI_PM1A_CNT, 2, true, 0x0401);	/* not S5, no SLP_EN */
	CHECK(round_trip(pa, pb, true) == KTAP_PASS, "round trip");
	CHECK(in8(&b, 0x71) == 0x42, "the CMOS index and its byte");
	out8(&b, 0x70, 0x20);
	CHECK(in8(&b, 0x71) == 0x99, "CMOS byte 0x20");
	CHECK(io(&b, 0xcf8, 4, false, 0) == 0x8000f8a4, "PCI address");
	CHECK(io(&b, ACPI_PM1A_EVT + 2, 2, false, 0) == 0x0121, "PM1 enable");
	CHECK(io(&b, ACPI_PM1A_CNT, 2, false, 0) == 0x0401, "PM1 control");
	CHECK(machine_pending(&b) == REQ_NONE, "a request");
	/* Reset: as at power-on. */
	machine_reset(&b);
	CHECK(io(&b, 0xcf8, 4, false, 0) == 0, "PCI address after reset");
	CHECK(io(&b, ACPI_PM1A_EVT + 2, 2, false, 0) == 0, "PM1 enable");
	out8(&b, 0x70, 0x20);
	CHECK(in8(&b, 0x71) == 0, "CMOS byte 0x20 after reset");
	return KTAP_PASS;
}

/* A fresh copy of @src's bytes (a device_load() consumes its reader). */
static struct state_buf copy_of(const struct state_buf *src)
{
	struct state_buf b = { 0 };

	save_bytes(&b, src->data, src->len);
	return b;
}

static int state_load_refuses(void)
{
	struct machine b = { 0 };
	struct device *pa, *pb, *serial;
	struct state_buf s = { 0 }, t;
	const size_t hdr = DEVICE_NAME_LEN + 12;
	uint32_t h;

	pa = add_pic(&mach, NULL, NULL);
	pb = add_pic(&b, NULL, NULL);
	serial = serial_create(&b, -1, -1);
	CHECK(serial, "serial_create");
	host_pic_init(&mach);
	out8(&mach, PIC1_DATA, 0x5a);
	CHECK(!device_save(pa, &s), "save");

	/* Another device's section. */
	t = copy_of(&s);
	CHECK(device_load(serial, &t) == -EINVAL, "the PIC's state as serial");
	state_buf_free(&t);
	/* Another version. */
	t = copy_of(&s);
	t.data[DEVICE_NAME_LEN]++;
	CHECK(device_load(pb, &t) == -EINVAL, "version");
	state_buf_free(&t);
	/* A payload byte changed: the hash says so. */
	t = copy_of(&s);
	t.data[hdr + 2] ^= 0x01;
	CHECK(device_load(pb, &t) == -EINVAL, "hash");
	state_buf_free(&t);
	/* Cut short. */
	t = copy_of(&s);
	t.len--;
	CHECK(device_load(pb, &t) == -EINVAL, "truncated");
	state_buf_free(&t);
	/* A length that says less than the model reads: refused, reset. */
	t = copy_of(&s);
	t.data[DEVICE_NAME_LEN + 4]--;
	h = state_hash(t.data + hdr, s.len - hdr - 1);
	memcpy(t.data + DEVICE_NAME_LEN + 8, &h, 4);
	out8(&b, PIC1_DATA, 0x00);
	CHECK(device_load(pb, &t) == -EINVAL, "short payload");
	CHECK(in8(&b, PIC1_DATA) == 0xff, "not reset: mask %#x",
	      in8(&b, PIC1_DATA));
	state_buf_free(&t);
	/* A well-formed section the model cannot be in: ICW step 1. */
	t = copy_of(&s);
	t.data[hdr + 5] = 1;
	h = state_hash(t.data + hdr, s.len - hdr);
	memcpy(t.data + DEVICE_NAME_LEN + 8, &h, 4);
	CHECK(device_load(pb, &t) == -EINVAL, "init step 1");
	state_buf_free(&t);
	/* The section itself still loads. */
	t = copy_of(&s);
	CHECK(!device_load(pb, &t), "load");
	CHECK(in8(&b, PIC1_DATA) == 0x5a, "mask %#x", in8(&b, PIC1_DATA));
	state_buf_free(&t);
	state_buf_free(&s);
	return KTAP_PASS;
}

/*
 * Sections with random bytes changed and the hash made to match again: the
 * models' own checks are all that stands between them and their state.
 * Each load succeeds or is -EINVAL, and the device then answers every one
 * of its ports without going out of bounds (ASan builds catch what a
 * plain one might not).
 */
static int state_load_random(void)
{
	static const uint16_t ports[] = {
		0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43,
		0x61, 0x70, 0x71, 0xcf8, 0xcfc, 0x60, 0x64, 0x600, 0x602,
		0x604, 0x608, COM1, COM1 + 1, COM1 + 2, COM1 + 3, COM1 + 4,
		COM1 + 5, COM1 + 6, COM1 + 7,
	};
	const size_t hdr = DEVICE_NAME_LEN + 12;
	struct device *dev[4], *copy[4];
	struct machine b = { 0 };
	struct state_buf s, t;
	unsigned int d, n, i, k, loaded = 0, refused = 0;
	size_t plen;
	uint32_t h;
	int r;

	dev[0] = add_pic(&mach, NULL, NULL);
	copy[0] = add_pic(&b, NULL, NULL);
	dev[1] = i8254_create(&mach);
	copy[1] = i8254_create(&b);
	dev[2] = serial_create(&mach, -1, -1);
	copy[2] = serial_create(&b, -1, -1);
	dev[3] = platform_create(&mach);
	copy[3] = platform_create(&b);
	for (d = 0; d < 4; d++)
		CHECK(dev[d] && copy[d], "device %u", d);
	srand(15);
	for (d = 0; d < 4; d++) {
		memset(&s, 0, sizeof(s));
		CHECK(!device_save(dev[d], &s), "save");
		plen = s.len - hdr;
		for (n = 0; n < 300; n++) {
			t = copy_of(&s);
			for (k = 0; k < 1 + (unsigned int)rand() % 4; k++)
				t.data[hdr + rand() % plen] = rand();
			h = state_hash(t.data + hdr, plen);
			memcpy(t.data + DEVICE_NAME_LEN + 8, &h, 4);
			r = device_load(copy[d], &t);
			CHECK(r == 0 || r == -EINVAL, "load: %d", r);
			if (r)
				refused++;
			else
				loaded++;
			for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
				in8(&b, ports[i]);
				io(&b, ports[i], 4, false, 0);
			}
			state_buf_free(&t);
		}
		state_buf_free(&s);
	}
	ktap_diag("%u loaded, %u refused", loaded, refused);
	CHECK(loaded && refused, "%u loaded, %u refused", loaded, refused);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(uart_loopback),
	KTAP_CASE(uart_interrupts),
	KTAP_CASE(pic_mask_eoi),
	KTAP_CASE(pit_counts),
	KTAP_CASE(pit_periodic_irq0),
	KTAP_CASE(pit_oneshot_irq0),
	KTAP_CASE(bus_overlap_refused),
	KTAP_CASE(bus_dispatch_edges),
	KTAP_CASE(bus_unclaimed_reads_ones),
	KTAP_CASE(pic_save_load),
	KTAP_CASE(pit_save_load),
	KTAP_CASE(serial_save_load),
	KTAP_CASE(platform_save_load),
	KTAP_CASE(state_load_refuses),
	KTAP_CASE(state_load_random),
};

KTAP_MAIN(cases)
