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

#include "launcher.h"

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

static struct {
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
} uart;

static uint8_t uart_iir(void)
{
	uint8_t fifo = uart.fcr & FCR_ENABLE ? IIR_FIFO : 0;

	if ((uart.ier & IER_RDI) && uart.rx_len)
		return IIR_RDI | fifo;
	if ((uart.ier & IER_THRI) && uart.thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

/*
 * The IRQ line.  On a PC the UART's interrupt reaches the PIC only with
 * OUT2 set (it gates the driver); Linux sets it before it relies on
 * interrupts, and tests the line with it clear.
 */
static void uart_update_irq(void)
{
	bool level = !(uart_iir() & IIR_NO_INT) && (uart.mcr & MCR_OUT2);

	pic_set_irq(UART_COM1_IRQ, level);
}

static void uart_rx_push(uint8_t b)
{
	if (uart.rx_len == RX_FIFO)
		return;		/* overrun: the byte is lost */
	uart.rx[(uart.rx_head + uart.rx_len) % RX_FIFO] = b;
	uart.rx_len++;
}

void uart_flush(void)
{
	unsigned int off = 0;
	ssize_t n;

	while (off < uart.out_len) {
		n = write(uart.out_fd, uart.out + off, uart.out_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* nobody reads: the guest's output is lost */
		off += n;
	}
	uart.out_len = 0;
}

static void uart_tx(uint8_t b)
{
	if (uart.mcr & MCR_LOOP) {
		uart_rx_push(b);
	} else {
		if (uart.out_len == OUT_BUF)
			uart_flush();
		uart.out[uart.out_len++] = b;
	}
	uart.thr_ipending = true;
}

static uint8_t uart_msr(void)
{
	uint8_t m = uart.mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
	       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
}

static void uart_write(unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_RX:
		if (uart.lcr & LCR_DLAB)
			uart.dll = v;
		else
			uart_tx(v);
		break;
	case UART_IER:
		if (uart.lcr & LCR_DLAB) {
			uart.dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises it at once. */
		if ((v & IER_THRI) && !(uart.ier & IER_THRI))
			uart.thr_ipending = true;
		uart.ier = v & IER_MASK;
		break;
	case UART_IIR:
		uart.fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX) {
			uart.rx_len = 0;
			pthread_cond_signal(&uart.rx_room);
		}
		break;
	case UART_LCR:
		uart.lcr = v;
		break;
	case UART_MCR:
		uart.mcr = v & 0x1f;
		break;
	case UART_SCR:
		uart.scr = v;
		break;
	}
	uart_update_irq();
}

static uint8_t uart_read(unsigned int reg)
{
	uint8_t v = 0;

	switch (reg) {
	case UART_RX:
		if (uart.lcr & LCR_DLAB)
			return uart.dll;
		if (uart.rx_len) {
			v = uart.rx[uart.rx_head];
			uart.rx_head = (uart.rx_head + 1) % RX_FIFO;
			uart.rx_len--;
			pthread_cond_signal(&uart.rx_room);
		}
		break;
	case UART_IER:
		return uart.lcr & LCR_DLAB ? uart.dlm : uart.ier;
	case UART_IIR:
		v = uart_iir();
		/* Reading IIR that reports THRE acknowledges it. */
		if ((v & 0x0f) == IIR_THRI)
			uart.thr_ipending = false;
		break;
	case UART_LCR:
		return uart.lcr;
	case UART_MCR:
		return uart.mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (uart.rx_len ? LSR_DR : 0);
	case UART_MSR:
		return uart_msr();
	case UART_SCR:
		return uart.scr;
	}
	uart_update_irq();
	return v;
}

static void uart_io(void *opaque, uint16_t port, uint8_t size, bool write,
		    uint32_t *data)
{
	(void)opaque;
	(void)size;
	if (write)
		uart_write(port - UART_COM1, *data);
	else
		*data = uart_read(port - UART_COM1);
}

/* Terminal input, a byte at a time as the guest makes room. */
static void *uart_rx_thread(void *arg)
{
	uint8_t buf[64];
	ssize_t n, i;

	(void)arg;
	for (;;) {
		n = read(uart.in_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;	/* end of input: the guest sees none */
		pthread_mutex_lock(&dev_lock);
		for (i = 0; i < n; i++) {
			while (uart.rx_len == RX_FIFO)
				pthread_cond_wait(&uart.rx_room, &dev_lock);
			uart_rx_push(buf[i]);
			uart_update_irq();
		}
		pthread_mutex_unlock(&dev_lock);
	}
}

static void uart_restore_tty(void)
{
	if (uart.tty)
		tcsetattr(uart.in_fd, TCSAFLUSH, &uart.saved);
}

/*
 * Raw mode, except ISIG: Ctrl-C (and Ctrl-\) still signal the launcher,
 * which ends it with status 130 (131); every other key, Ctrl-Z included,
 * goes to the guest.
 */
static void uart_raw_tty(void)
{
	struct termios t;

	if (!isatty(uart.in_fd) || tcgetattr(uart.in_fd, &uart.saved))
		return;
	t = uart.saved;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
		       ICRNL | IXON);
	t.c_oflag &= ~OPOST;
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VSUSP] = _POSIX_VDISABLE;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(uart.in_fd, TCSAFLUSH, &t))
		return;
	uart.tty = true;
	atexit(uart_restore_tty);
}

int uart_init(int in_fd, int out_fd)
{
	pthread_t t;

	memset(&uart, 0, sizeof(uart));
	pthread_cond_init(&uart.rx_room, NULL);
	uart.in_fd = in_fd;
	uart.out_fd = out_fd;
	uart.dll = 12;		/* 9600 baud, as a BIOS would leave it */
	uart.lcr = 0x03;	/* 8N1 */
	pio_register(UART_COM1, 8, "uart", uart_io, NULL);
	if (in_fd < 0)
		return 0;
	uart_raw_tty();
	return pthread_create(&t, NULL, uart_rx_thread, NULL) ? -1 : 0;
}
