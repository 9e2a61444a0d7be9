// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: a 16550A UART on 0x3f8, IRQ 4, and the terminal behind it.
 *
 * Transmission is instant: a byte written to THR goes to the output buffer
 * and THR is empty again at once, so LSR always has THRE and TEMT, and the
 * transmit-empty interrupt (when enabled) is pending again after every
 * write.  THR writes are posted (vm.c), so they reach this code through the
 * ring, in order, without an exit each.  Received bytes wait in a FIFO of
 * RX_FIFO bytes filled by a thread reading the input descriptor; the guest
 * sees "data ready" and the receive interrupt while it is not empty.
 * Loopback (MCR bit 4) sends THR to the receiver and the modem-control
 * outputs to the modem-status inputs, which Linux checks when it probes the
 * port.  Not modelled: baud rate (the divisor is kept and ignored), line
 * errors, break, the receive timeout interrupt, modem-status interrupts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hw/hw.h"

/* Register offsets. */
#define UART_RX		0	/* RBR, THR; DLL with DLAB */
#define UART_IER	1	/* DLM with DLAB */
#define UART_IIR	2	/* FCR on write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_MASK	0x0f

#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10

#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define RX_FIFO		256
#define OUT_BUF		4096

struct serial {
	struct device dev;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_ipending;	/* the THRE interrupt is pending */
	uint8_t rx[RX_FIFO];
	unsigned int rx_head, rx_len;
	uint8_t out[OUT_BUF];
	unsigned int out_len;
	int in_fd, out_fd;
	pthread_cond_t rx_room;
	bool tty;
	struct termios saved;
};

/* The one whose terminal is raw, for atexit(). */
static struct serial *tty_serial;

static uint8_t uart_iir(const struct serial *u)
{
	uint8_t fifo = u->fcr & FCR_ENABLE ? IIR_FIFO : 0;

	if ((u->ier & IER_RDI) && u->rx_len)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

/*
 * The IRQ line.  On a PC the UART's interrupt reaches the PIC only with
 * OUT2 set (it gates the driver); Linux sets it before it relies on
 * interrupts, and tests the line with it clear.
 */
static void uart_update_irq(struct serial *u)
{
	bool level = !(uart_iir(u) & IIR_NO_INT) && (u->mcr & MCR_OUT2);

	machine_set_irq(u->dev.machine, SERIAL_COM1_IRQ, level);
}

static void uart_rx_push(struct serial *u, uint8_t b)
{
	if (u->rx_len == RX_FIFO)
		return;		/* overrun: the byte is lost */
	u->rx[(u->rx_head + u->rx_len) % RX_FIFO] = b;
	u->rx_len++;
}

static void uart_flush(struct serial *u)
{
	unsigned int off = 0;
	ssize_t n;

	while (off < u->out_len) {
		n = write(u->out_fd, u->out + off, u->out_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* nobody reads: the guest's output is lost */
		off += n;
	}
	u->out_len = 0;
}

static void uart_tx(struct serial *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP) {
		uart_rx_push(u, b);
	} else {
		if (u->out_len == OUT_BUF)
			uart_flush(u);
		u->out[u->out_len++] = b;
	}
	u->thr_ipending = true;
}

static uint8_t uart_msr(const struct serial *u)
{
	uint8_t m = u->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
	       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
}

static void uart_write(struct serial *u, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_RX:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			uart_tx(u, v);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises it at once. */
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thr_ipending = true;
		u->ier = v & IER_MASK;
		break;
	case UART_IIR:
		u->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX) {
			u->rx_len = 0;
			pthread_cond_signal(&u->rx_room);
		}
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	}
	uart_update_irq(u);
}

static uint8_t uart_read(struct serial *u, unsigned int reg)
{
	uint8_t v = 0;

	switch (reg) {
	case UART_RX:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (u->rx_len) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % RX_FIFO;
			u->rx_len--;
			pthread_cond_signal(&u->rx_room);
		}
		break;
	case UART_IER:
		return u->lcr & LCR_DLAB ? u->dlm : u->ier;
	case UART_IIR:
		v = uart_iir(u);
		/* Reading IIR that reports THRE acknowledges it. */
		if ((v & 0x0f) == IIR_THRI)
			u->thr_ipending = false;
		break;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0);
	case UART_MSR:
		return uart_msr(u);
	case UART_SCR:
		return u->scr;
	}
	uart_update_irq(u);
	return v;
}

static void uart_io(struct vcpu *vcpu, uint64_t port, void *data,
		    uint32_t len, bool write, void *opaque)
{
	struct serial *u = opaque;

	(void)vcpu;
	if (write) {
		uart_write(u, port - SERIAL_COM1, bus_get(data, 1));
	} else {
		memset(data, 0, len);
		bus_put(data, 1, uart_read(u, port - SERIAL_COM1));
	}
}

/* Terminal input, a byte at a time as the guest makes room. */
static void *uart_rx_thread(void *arg)
{
	struct serial *u = arg;
	uint8_t buf[64];
	ssize_t n, i;

	for (;;) {
		n = read(u->in_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;	/* end of input: the guest sees none */
		pthread_mutex_lock(&u->dev.lock);
		for (i = 0; i < n; i++) {
			while (u->rx_len == RX_FIFO)
				pthread_cond_wait(&u->rx_room, &u->dev.lock);
			uart_rx_push(u, buf[i]);
			uart_update_irq(u);
		}
		pthread_mutex_unlock(&u->dev.lock);
	}
}

static void uart_restore_tty(void)
{
	struct serial *u = tty_serial;

	if (u && u->tty)
		tcsetattr(u->in_fd, TCSAFLUSH, &u->saved);
}

/*
 * Raw mode, except ISIG: Ctrl-C (and Ctrl-\) still signal the launcher,
 * which ends it with status 130 (131); every other key, Ctrl-Z included,
 * goes to the guest.
 */
static void uart_raw_tty(struct serial *u)
{
	struct termios t;

	if (!isatty(u->in_fd) || tcgetattr(u->in_fd, &u->saved))
		return;
	t = u->saved;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
		       ICRNL | IXON);
	t.c_oflag &= ~OPOST;
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VSUSP] = _POSIX_VDISABLE;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(u->in_fd, TCSAFLUSH, &t))
		return;
	u->tty = true;
	if (!tty_serial) {
		tty_serial = u;
		atexit(uart_restore_tty);
	}
}

static void serial_reset(struct device *dev)
{
	struct serial *u = container_of(dev, struct serial, dev);

	u->ier = u->mcr = u->scr = u->fcr = u->dlm = 0;
	u->dll = 12;		/* 9600 baud, as a BIOS would leave it */
	u->lcr = 0x03;		/* 8N1 */
	u->thr_ipending = false;
	u->rx_head = u->rx_len = 0;
	pthread_cond_broadcast(&u->rx_room);
	uart_update_irq(u);
}

static void serial_flush(struct device *dev)
{
	uart_flush(container_of(dev, struct serial, dev));
}

/* Output not yet written goes out first: it is not state. */
static void serial_save(struct device *dev, struct state_buf *b)
{
	struct serial *u = container_of(dev, struct serial, dev);
	unsigned int i;

	uart_flush(u);
	save_u8(b, u->ier);
	save_u8(b, u->lcr);
	save_u8(b, u->mcr);
	save_u8(b, u->scr);
	save_u8(b, u->fcr);
	save_u8(b, u->dll);
	save_u8(b, u->dlm);
	save_u8(b, u->thr_ipending);
	save_u16(b, u->rx_len);
	for (i = 0; i < u->rx_len; i++)
		save_u8(b, u->rx[(u->rx_head + i) % RX_FIFO]);
}

static int serial_load(struct device *dev, struct state_buf *b)
{
	struct serial *u = container_of(dev, struct serial, dev);
	unsigned int i, len;

	u->ier = load_u8(b);
	u->lcr = load_u8(b);
	u->mcr = load_u8(b);
	u->scr = load_u8(b);
	u->fcr = load_u8(b);
	u->dll = load_u8(b);
	u->dlm = load_u8(b);
	u->thr_ipending = load_bool(b);
	len = load_u16(b);
	if (len > RX_FIFO || (u->ier & ~IER_MASK) || (u->mcr & ~0x1f) ||
	    (u->fcr & ~0xc9))
		return -EINVAL;
	u->rx_head = 0;
	for (i = 0; i < len; i++)
		u->rx[i] = load_u8(b);
	u->rx_len = len;
	/* The IRQ line's level is the PIC's state, saved there. */
	pthread_cond_broadcast(&u->rx_room);
	return 0;
}

static const struct device_ops serial_ops = {
	.name = SERIAL_NAME,
	.version = 1,
	.reset = serial_reset,
	.save = serial_save,
	.load = serial_load,
	.flush = serial_flush,
};

struct device *serial_create(struct machine *m, int in_fd, int out_fd)
{
	struct serial *u = calloc(1, sizeof(*u));
	pthread_t t;

	if (!u)
		return NULL;
	pthread_cond_init(&u->rx_room, NULL);
	u->in_fd = in_fd;
	u->out_fd = out_fd;
	device_register(m, &u->dev, &serial_ops);
	serial_reset(&u->dev);
	if (bus_register(&m->bus, BUS_PIO, SERIAL_COM1, 8, &u->dev, uart_io,
			 u)) {
		errno = EBUSY;
		return NULL;
	}
	if (in_fd < 0)
		return &u->dev;
	uart_raw_tty(u);
	if (pthread_create(&t, NULL, uart_rx_thread, u))
		return NULL;
	return &u->dev;
}
