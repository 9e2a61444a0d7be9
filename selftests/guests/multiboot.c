// SPDX-License-Identifier: GPL-2.0
/*
 * A Multiboot test kernel of the kind written for QEMU's -kernel, for
 * launcher_test: 32-bit, no paging, no libc.  It prints on COM1 what the
 * loader and fw_cfg gave it, one "key=value" per line, checks what it can
 * check itself, and reports through isa-debug-exit: 0x10 plus the number
 * of checks that failed, so status 33 means all passed.
 */
#include <stdint.h>

#define MB_MAGIC	0x1badb002U
#define MB_FLAGS	0x3U		/* page-aligned modules, memory info */

/* The header, with room for the flag-16 addresses (the test fills them). */
__attribute__((section(".multiboot"), aligned(4), used))
static const uint32_t mb_header[8] = {
	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS), 0, 0, 0, 0, 0,
};

static uint8_t stack[8192] __attribute__((aligned(16), used));
static unsigned int failures;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void puts_(const char *s)
{
	while (*s)
		outb(0x3f8, *s++);
}

static void putx(uint32_t v)
{
	static const char hex[] = "0123456789abcdef";
	char buf[11];
	int i;

	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < 8; i++)
		buf[2 + i] = hex[(v >> (28 - 4 * i)) & 0xf];
	buf[10] = 0;
	puts_(buf);
}

static void kv(const char *k, uint32_t v)
{
	puts_(k);
	puts_("=");
	putx(v);
	puts_("\n");
}

static void check(int ok, const char *what)
{
	if (!ok) {
		failures++;
		puts_("FAIL ");
		puts_(what);
		puts_("\n");
	}
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void fw_select(uint16_t key)
{
	outw(0x510, key);
}

static uint32_t fw_read(unsigned int n)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (uint32_t)inb(0x511) << (8 * i);
	return v;
}

static char fw_cmdline[256];

void mb_main(uint32_t magic, const uint32_t *mbi);

void mb_main(uint32_t magic, const uint32_t *mbi)
{
	const uint32_t *mod, *e;
	const char *cmd, *args;
	uint32_t ram_lo, ram_hi, len, i, n;

	puts_("multiboot: started\n");
	check(magic == 0x2badb002U, "magic");
	kv("flags", mbi[0]);
	kv("mem_lower", mbi[1]);
	kv("mem_upper", mbi[2]);
	check((mbi[0] & 0x24d) == 0x24d, "mbi flags");
	cmd = (const char *)mbi[4];
	puts_("cmdline=");
	puts_(cmd);
	puts_("\n");
	kv("mods", mbi[5]);
	mod = (const uint32_t *)mbi[6];
	for (i = 0; i < mbi[5]; i++, mod += 4) {
		puts_("mod=");
		puts_((const char *)mod[2]);
		puts_("\n");
		kv("mod_size", mod[1] - mod[0]);
		check(!(mod[0] & 0xfff), "module page-aligned");
		puts_("mod_text=");
		for (n = 0; n < mod[1] - mod[0] && n < 64; n++)
			outb(0x3f8, ((const char *)mod[0])[n]);
		puts_("\n");
	}
	for (e = (const uint32_t *)mbi[12];
	     (const char *)e < (const char *)mbi[12] + mbi[11];
	     e = (const uint32_t *)((const char *)e + e[0] + 4)) {
		puts_("mmap=");
		putx(e[1]);
		puts_(" ");
		putx(e[3]);
		puts_(" ");
		putx(e[5]);
		puts_("\n");
	}
	puts_("loader=");
	puts_((const char *)mbi[16]);
	puts_("\n");

	fw_select(0);
	check(fw_read(4) == 0x554d4551, "fw_cfg signature");	/* "QEMU" */
	fw_select(1);
	kv("fw_id", fw_read(4));
	fw_select(5);
	kv("fw_cpus", fw_read(2));
	fw_select(3);
	ram_lo = fw_read(4);
	ram_hi = fw_read(4);
	kv("fw_ram_hi", ram_hi);
	kv("fw_ram_lo", ram_lo);
	check(ram_hi == 0 && mbi[2] * 1024 + 0x100000 == ram_lo,
	      "fw_cfg RAM size is the loader's");
	fw_select(0x14);
	len = fw_read(4);
	kv("fw_cmdline_size", len);
	fw_select(0x15);
	for (i = 0; i < len && i < sizeof(fw_cmdline) - 1; i++)
		fw_cmdline[i] = fw_read(1);
	fw_cmdline[i] = 0;
	puts_("fw_cmdline=");
	puts_(fw_cmdline);
	puts_("\n");
	/* The loader's line is the file name, a space, then the same text. */
	for (args = cmd; *args && *args != ' '; args++)
		;
	check(streq(*args ? args + 1 : args, fw_cmdline),
	      "fw_cfg command line is the loader's");
	fw_select(0x7777);
	check(fw_read(4) == 0, "an absent item reads 0");
	kv("failures", failures);
	outl(0xf4, 0x10 + failures);
	for (;;)
		__asm__ volatile("cli; hlt");
}

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	mov $stack + 8192, %esp\n"
	"	push %ebx\n"
	"	push %eax\n"
	"	call mb_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");
