// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's command line: what it prints and its exit statuses, and
 * small guests (flat real-mode binaries, an ELF64) that end in each way a
 * guest can end.  Runs /usr/bin/mvm (override: $MVM_LAUNCHER); the Linux
 * guest is linux_test's.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/ktap.h"
#include "lib/mvm_util.h"

static const char *launcher(void)
{
	const char *p = getenv("MVM_LAUNCHER");

	return p ? p : "/usr/bin/mvm";
}

/* Runs the launcher with ARGS; returns its exit status, output in @out. */
static int run(const char *args, char *out, size_t len)
{
	char cmd[256];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1 </dev/null", launcher(), args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (n + 1 < len && fgets(out + n, len - n, p))
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int info(void)
{
	char out[1024];

	CHECK(run("info", out, sizeof(out)) == 0, "info: %s", out);
	CHECK(strstr(out, "API version 1\n"), "no API version in: %s", out);
	CHECK(strstr(out, "backend: AMD SVM") || strstr(out, "backend: Intel VMX"),
	      "no backend in: %s", out);
	CHECK(strstr(out, "switched on for a test VM"), "no VM in: %s", out);
	return KTAP_PASS;
}

static int help(void)
{
	char out[8192];

	CHECK(run("help", out, sizeof(out)) == 0, "help");
	CHECK(strstr(out, "usage: mvm COMMAND"), "%s", out);
	CHECK(run("--help", out, sizeof(out)) == 0, "--help");
	CHECK(strstr(out, "Exit status:"), "%s", out);
	CHECK(run("run --help", out, sizeof(out)) == 0, "run --help");
	CHECK(strstr(out, "usage: mvm run -k KERNEL"), "%s", out);
	CHECK(strstr(out, "--debug-exits"), "%s", out);
	CHECK(strstr(out, "--debug-exit "), "%s", out);
	CHECK(strstr(out, "130 for Ctrl-C"), "%s", out);
	return KTAP_PASS;
}

/* --- images -------------------------------------------------------------- */

/* NULL, or why no guest can run here. */
static const char *no_vcpus(void)
{
	const char *why = NULL;
	int vm, vcpu;

	vm = mvm_create_vm();
	if (vm < 0)
		return "cannot create a VM";
	vcpu = ioctl(vm, MVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		why = "cannot create a vCPU";
	else
		close(vcpu);
	close(vm);
	return why;
}

#define NEED_VCPUS()							\
	do {								\
		const char *__why = no_vcpus();				\
		if (__why)						\
			SKIP("%s", __why);				\
	} while (0)

#define TMP_IMAGE	"/tmp/launcher_test.img"

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");
	size_t n;

	if (!f)
		return -1;
	n = fwrite(buf, 1, len, f);
	return fclose(f) || n != len ? -1 : 0;
}

/* Real mode, at 1000:0000: write "hi\n" to COM1, then ACPI S5. */
static const uint8_t flat_poweroff[] = {
	0xba, 0xf8, 0x03,		/* mov dx, 0x3f8 */
	0xb0, 'h', 0xee,		/* mov al, 'h'; out dx, al */
	0xb0, 'i', 0xee,
	0xb0, '\n', 0xee,
	0xba, 0x04, 0x06,		/* mov dx, 0x604 (PM1a_CNT) */
	0xb8, 0x00, 0x34,		/* mov ax, SLP_EN | SLP_TYP 5 */
	0xef,				/* out dx, ax */
	0xf4, 0xeb, 0xfd,		/* hlt; jmp $-1 */
};

/* The i8042's pulse-reset command. */
static const uint8_t flat_reset[] = {
	0xb0, 0xfe, 0xe6, 0x64,		/* mov al, 0xfe; out 0x64, al */
	0xf4, 0xeb, 0xfd,
};

/* An IVT limit of 0, then INT3: #GP, #DF, shutdown. */
static const uint8_t flat_triple_fault[] = {
	0x0e, 0x1f,			/* push cs; pop ds */
	0x0f, 0x01, 0x1e, 0x0c, 0x00,	/* lidt [0x0c] */
	0xcc,				/* int3 */
	0xf4, 0xeb, 0xfd, 0x90,
	0, 0, 0, 0, 0, 0,		/* 0x0c: limit 0, base 0 */
};

static const uint8_t flat_spin[] = { 0xeb, 0xfe };	/* jmp $ */

/* isa-debug-exit: 0x2a to port 0xf4, then (no such device) ACPI S5. */
static const uint8_t flat_debug_exit[] = {
	0xb0, 0x2a, 0xe6, 0xf4,		/* mov al, 0x2a; out 0xf4, al */
	0xba, 0x04, 0x06,		/* mov dx, 0x604 (PM1a_CNT) */
	0xb8, 0x00, 0x34,		/* mov ax, SLP_EN | SLP_TYP 5 */
	0xef,				/* out dx, ax */
	0xf4, 0xeb, 0xfd,
};

/*
 * The Multiboot test kernel (selftests/guests/multiboot.c), an ELF32
 * linked at 2 MiB; the Makefile builds it and names it in MB_GUEST.
 */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	"mb_guest: .incbin \"" MB_GUEST "\"\n"
	"mb_guest_end:\n"
	".popsection\n");
extern const uint8_t mb_guest[], mb_guest_end[];

/* Runs the launcher on @img; returns its exit status, output in @out. */
static int run_image(const void *img, size_t len, const char *opts, char *out,
		     size_t outlen)
{
	char args[256];

	if (write_file(TMP_IMAGE, img, len))
		return -1;
	snprintf(args, sizeof(args), "run %s %s", opts, TMP_IMAGE);
	return run(args, out, outlen);
}

static int flat_binary_powers_off_0(void)
{
	char out[1024];
	int st;

	NEED_VCPUS();
	st = run_image(flat_poweroff, sizeof(flat_poweroff), "-m 4M", out,
		       sizeof(out));
	CHECK(st == 0, "exit status %d: %s", st, out);
	CHECK(strstr(out, "hi\n"), "no UART output in: %s", out);
	return KTAP_PASS;
}

static int reset_exits_5(void)
{
	char out[1024];
	int st;

	NEED_VCPUS();
	st = run_image(flat_reset, sizeof(flat_reset), "", out, sizeof(out));
	CHECK(st == 5, "exit status %d: %s", st, out);
	return KTAP_PASS;
}

static int triple_fault_exits_6(void)
{
	char out[1024];
	int st;

	NEED_VCPUS();
	st = run_image(flat_triple_fault, sizeof(flat_triple_fault), "", out,
		       sizeof(out));
	CHECK(st == 6, "exit status %d: %s", st, out);
	CHECK(strstr(out, "triple fault"), "%s", out);
	return KTAP_PASS;
}

/*
 * An ELF64 executable, entered in 64-bit mode: it pushes and pops (the
 * stack is mapped), writes "E\n" to COM1 and powers off.
 */
static int elf64_powers_off_0(void)
{
	static const uint8_t code[] = {
		0x50, 0x58,			/* push rax; pop rax */
		0x66, 0xba, 0xf8, 0x03,		/* mov dx, 0x3f8 */
		0xb0, 'E', 0xee,		/* mov al, 'E'; out dx, al */
		0xb0, '\n', 0xee,
		0x66, 0xba, 0x04, 0x06,		/* mov dx, 0x604 */
		0x66, 0xb8, 0x00, 0x34,		/* mov ax, 0x3400 */
		0x66, 0xef,			/* out dx, ax */
		0xf4, 0xeb, 0xfd,
	};
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		uint8_t code[sizeof(code)];
	} __attribute__((packed)) img;
	const uint64_t base = 0x100000;
	char out[1024];
	int st;

	NEED_VCPUS();
	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_X86_64;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_entry = base + sizeof(img.eh) + sizeof(img.ph);
	img.eh.e_phoff = sizeof(img.eh);
	img.eh.e_ehsize = sizeof(img.eh);
	img.eh.e_phentsize = sizeof(img.ph);
	img.eh.e_phnum = 1;
	img.ph.p_type = PT_LOAD;
	img.ph.p_flags = PF_R | PF_X;
	img.ph.p_vaddr = img.ph.p_paddr = base;
	img.ph.p_filesz = img.ph.p_memsz = sizeof(img);
	memcpy(img.code, code, sizeof(code));
	st = run_image(&img, sizeof(img), "-m 8M", out, sizeof(out));
	CHECK(st == 0, "exit status %d: %s", st, out);
	CHECK(strstr(out, "E\n"), "no UART output in: %s", out);

	/* The same with its segment outside guest memory. */
	img.ph.p_paddr = 64ULL << 20;
	st = run_image(&img, sizeof(img), "-m 8M", out, sizeof(out));
	CHECK(st == 4, "exit status %d: %s", st, out);
	CHECK(strstr(out, "does not fit in guest memory"), "%s", out);
	return KTAP_PASS;
}

/* --- command-line errors ------------------------------------------------- */

/* The test VM's own kernel, which the Linux guest tests boot. */
#define GUEST_KERNEL	"/guest/vmlinuz"

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Each error: the status, a message saying what, and a single line. */
#define CHECK_RUN_ERROR(args, status, msg)				\
	do {								\
		int __st = run(args, out, sizeof(out));			\
		CHECK(__st == (status), "'%s': exit status %d: %s",	\
		      args, __st, out);					\
		CHECK(strstr(out, msg), "'%s': no '%s' in: %s", args,	\
		      msg, out);					\
		CHECK(count_lines(out) == 1, "'%s': not one line: %s",	\
		      args, out);					\
	} while (0)

static int run_bad_options_exit_2(void)
{
	char out[2048];

	CHECK_RUN_ERROR("run --frobnicate", 2, "unknown option '--frobnicate'");
	CHECK_RUN_ERROR("run -k", 2, "needs an argument");
	CHECK_RUN_ERROR("run", 2, "give either -k KERNEL or an IMAGE");
	CHECK_RUN_ERROR("run -k a b", 2, "give either");
	CHECK_RUN_ERROR("run a b", 2, "unexpected argument 'b'");
	CHECK_RUN_ERROR("run -i initrd", 2, "give either");
	CHECK_RUN_ERROR("run -m lots -k k", 2, "bad memory size 'lots'");
	CHECK_RUN_ERROR("run -m 12Q -k k", 2, "bad memory size");
	CHECK_RUN_ERROR("run -m 1M -k k", 2, "out of range");
	CHECK_RUN_ERROR("run -m 2T -k k", 2, "out of range");
	/* 2^34 + 1 GiB: once taken for 1 GiB, the product wrapped. */
	CHECK_RUN_ERROR("run -m 17179869185G -k k", 2, "out of range");
	CHECK_RUN_ERROR("run -m 99999999999999999999 -k k", 2, "bad memory size");
	CHECK_RUN_ERROR("run --cpus 2 -k k", 2, "only 1 vCPU");
	CHECK_RUN_ERROR("run --cpus x -k k", 2, "only 1 vCPU");
	CHECK_RUN_ERROR("run -p quiet img", 2, "-i and -p go with -k");
	return KTAP_PASS;
}

static int run_bad_kernel_exit_4(void)
{
	static const char junk[] = "this is not a kernel\n";
	char out[2048], args[256];
	uint8_t *head;
	FILE *f;
	size_t n;

	CHECK_RUN_ERROR("run -k /nonexistent/vmlinuz", 4,
			"cannot open kernel /nonexistent/vmlinuz");
	CHECK_RUN_ERROR("run -k /dev/null", 4, "not a file");
	CHECK(!write_file(TMP_IMAGE, junk, sizeof(junk)), "write");
	CHECK_RUN_ERROR("run -k " TMP_IMAGE, 4, "neither a bzImage");
	if (access(GUEST_KERNEL, R_OK))
		SKIP("no %s in this test VM", GUEST_KERNEL);
	snprintf(args, sizeof(args), "run -k %s -i /nonexistent", GUEST_KERNEL);
	CHECK_RUN_ERROR(args, 4, "cannot open initramfs /nonexistent");

	/* A real bzImage cut short after its setup header. */
	head = malloc(8192);
	f = fopen(GUEST_KERNEL, "r");
	CHECK(head && f, "open %s", GUEST_KERNEL);
	n = fread(head, 1, 8192, f);
	fclose(f);
	CHECK(n == 8192 && !write_file(TMP_IMAGE, head, 2048), "copy");
	free(head);
	CHECK_RUN_ERROR("run -k " TMP_IMAGE, 4, "truncated or corrupt");

	/*
	 * Cut after 100,000 bytes: the header is whole, the compressed
	 * kernel is not.  It used to run and triple-fault at 0x100022.
	 */
	head = malloc(100000);
	f = fopen(GUEST_KERNEL, "r");
	CHECK(head && f, "open %s", GUEST_KERNEL);
	n = fread(head, 1, 100000, f);
	fclose(f);
	CHECK(n == 100000 && !write_file(TMP_IMAGE, head, n), "copy");
	free(head);
	CHECK_RUN_ERROR("run -k " TMP_IMAGE, 4, "truncated or corrupt");
	return KTAP_PASS;
}

static int run_too_little_memory_exit_2(void)
{
	char out[2048], args[256];

	if (access(GUEST_KERNEL, R_OK))
		SKIP("no %s in this test VM", GUEST_KERNEL);
	snprintf(args, sizeof(args), "run -m 32M -k %s", GUEST_KERNEL);
	CHECK_RUN_ERROR(args, 2, "32 MiB of memory is too little for this kernel");
	CHECK(strstr(out, "it needs at least"), "%s", out);
	return KTAP_PASS;
}

/*
 * Ctrl-C: a guest that spins, on a terminal.  The launcher puts the
 * terminal in raw mode (ISIG kept), SIGINT ends it with 130, and the
 * terminal's settings are back as they were.
 */
static int ctrl_c_exits_130_and_restores_tty(void)
{
	struct termios before, t;
	struct timespec ms = { .tv_nsec = 10 * 1000 * 1000 };
	int master, slave, st, i;
	char *name;
	pid_t pid;

	NEED_VCPUS();
	CHECK(!write_file(TMP_IMAGE, flat_spin, sizeof(flat_spin)), "write");
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0)
		SKIP("no pseudo-terminals (devpts) here");
	CHECK(!grantpt(master) && !unlockpt(master), "pty");
	name = ptsname(master);
	CHECK(name, "ptsname");
	slave = open(name, O_RDWR | O_NOCTTY);
	CHECK(slave >= 0, "open %s", name);
	CHECK(!tcgetattr(slave, &before), "tcgetattr");
	CHECK(before.c_lflag & ICANON, "a new pty is canonical");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		execl(launcher(), "mvm", "run", "-m", "4M", TMP_IMAGE, NULL);
		_exit(127);
	}
	/* Raw mode shows that the guest is running. */
	for (i = 0; i < 1000; i++) {
		CHECK(!tcgetattr(slave, &t), "tcgetattr");
		if (!(t.c_lflag & ICANON))
			break;
		nanosleep(&ms, NULL);
	}
	CHECK(!(t.c_lflag & ICANON) && !(t.c_lflag & ECHO) &&
	      (t.c_lflag & ISIG), "raw mode with ISIG: lflag %#x",
	      (unsigned int)t.c_lflag);
	nanosleep(&ms, NULL);
	CHECK(!kill(pid, SIGINT), "kill");
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %#x", st);
	CHECK(!tcgetattr(slave, &t), "tcgetattr");
	CHECK(t.c_lflag == before.c_lflag && t.c_iflag == before.c_iflag &&
	      t.c_oflag == before.c_oflag, "terminal not restored: lflag %#x",
	      (unsigned int)t.c_lflag);
	close(slave);
	close(master);
	return KTAP_PASS;
}

static int sigterm_exits_143(void)
{
	int st;
	pid_t pid;
	struct timespec d = { .tv_nsec = 300 * 1000 * 1000 };

	NEED_VCPUS();
	CHECK(!write_file(TMP_IMAGE, flat_spin, sizeof(flat_spin)), "write");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execl(launcher(), "mvm", "run", "-m", "4M", TMP_IMAGE, NULL);
		_exit(127);
	}
	nanosleep(&d, NULL);
	CHECK(!kill(pid, SIGTERM), "kill");
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 143, "status %#x", st);
	return KTAP_PASS;
}

static int bad_command_lines_exit_2(void)
{
	char out[2048];

	CHECK(run("", out, sizeof(out)) == 2, "no command");
	CHECK(run("frobnicate", out, sizeof(out)) == 2, "unknown command");
	CHECK(strstr(out, "unknown command 'frobnicate'"), "%s", out);
	CHECK(run("info extra", out, sizeof(out)) == 2, "extra argument");
	return KTAP_PASS;
}

static int no_module_exit_3(void)
{
	char out[1024];
	int st;

	CHECK(!mvm_unload(), "unload mvm");
	st = run("info", out, sizeof(out));
	CHECK(!mvm_load(), "reload mvm");
	CHECK(st == 3, "exit status %d: %s", st, out);
	CHECK(strstr(out, "is the mvm module loaded?"), "%s", out);

	CHECK(!mvm_unload(), "unload mvm");
	st = run_image(flat_poweroff, sizeof(flat_poweroff), "", out,
		       sizeof(out));
	CHECK(!mvm_load(), "reload mvm");
	CHECK(st == 3, "run: exit status %d: %s", st, out);
	CHECK(strstr(out, "is the mvm module loaded?") && count_lines(out) == 1,
	      "%s", out);
	return KTAP_PASS;
}

static int debug_exit_ends_with_its_status(void)
{
	char out[1024];
	int st;

	NEED_VCPUS();
	st = run_image(flat_debug_exit, sizeof(flat_debug_exit),
		       "-m 4M --debug-exit", out, sizeof(out));
	CHECK(st == ((0x2a << 1) | 1), "exit status %d: %s", st, out);
	/* Without the option nothing decodes 0xf4: the guest goes on. */
	st = run_image(flat_debug_exit, sizeof(flat_debug_exit), "-m 4M", out,
		       sizeof(out));
	CHECK(st == 0, "without --debug-exit: exit status %d: %s", st, out);
	return KTAP_PASS;
}

#define MB_KERNEL	"/tmp/launcher_test.mb"
#define MB_MODULE	"/tmp/launcher_test.mod"
#define MB_MODULE_TEXT	"a module's bytes"

/* The guest printed "@key=@val" on a line of its own. */
static bool has_line(const char *out, const char *key, const char *val)
{
	char line[512];

	snprintf(line, sizeof(line), "\n%s=%s\n", key, val);
	return strstr(out, line) != NULL;
}

/*
 * Runs the Multiboot kernel at MB_KERNEL with a command line and a module,
 * and checks what it saw of the boot information and of fw_cfg.
 */
static int check_multiboot_run(const char *what)
{
	char out[8192], args[256], val[64];
	int st;

	snprintf(args, sizeof(args),
		 "run --debug-exit -m 64M -k %s -p 'one two  three' -i '%s modarg,,x'",
		 MB_KERNEL, MB_MODULE);
	st = run(args, out, sizeof(out));
	CHECK(st == ((0x10 << 1) | 1), "%s: exit status %d: %s", what, st, out);
	CHECK(strstr(out, "multiboot: started\n"), "%s: %s", what, out);
	CHECK(has_line(out, "mem_lower", "0x00000280"), "%s: %s", what, out);
	snprintf(val, sizeof(val), "0x%08x", (64 - 1) * 1024);
	CHECK(has_line(out, "mem_upper", val), "%s: %s", what, out);
	CHECK(has_line(out, "cmdline", MB_KERNEL " one two  three"), "%s: %s",
	      what, out);
	CHECK(has_line(out, "mods", "0x00000001"), "%s: %s", what, out);
	CHECK(has_line(out, "mod", MB_MODULE " modarg,x"), "%s: %s", what, out);
	snprintf(val, sizeof(val), "0x%08zx", sizeof(MB_MODULE_TEXT) - 1);
	CHECK(has_line(out, "mod_size", val), "%s: %s", what, out);
	CHECK(has_line(out, "mod_text", MB_MODULE_TEXT), "%s: %s", what, out);
	CHECK(has_line(out, "mmap", "0x00100000 0x03f00000 0x00000001"),
	      "%s: %s", what, out);
	CHECK(has_line(out, "loader", "mvm"), "%s: %s", what, out);
	CHECK(has_line(out, "fw_cpus", "0x00000001"), "%s: %s", what, out);
	CHECK(has_line(out, "fw_ram_lo", "0x04000000"), "%s: %s", what, out);
	CHECK(has_line(out, "fw_cmdline", "one two  three"), "%s: %s", what,
	      out);
	CHECK(has_line(out, "failures", "0x00000000"), "%s: %s", what, out);
	return KTAP_PASS;
}

/*
 * A test kernel as written for QEMU's -kernel: Multiboot from its ELF32
 * segments, a command line and a module; it reads fw_cfg and ends through
 * isa-debug-exit, whose status comes back.
 */
static int multiboot_elf_with_fw_cfg_and_debug_exit(void)
{
	NEED_VCPUS();
	CHECK(!write_file(MB_MODULE, MB_MODULE_TEXT,
			  sizeof(MB_MODULE_TEXT) - 1), "write");
	CHECK(!write_file(MB_KERNEL, mb_guest, mb_guest_end - mb_guest),
	      "write");
	return check_multiboot_run("ELF32");
}

/*
 * The same kernel as a flat image whose header gives the addresses (flag
 * 16, the "a.out kludge"), built here from the ELF's one segment.
 */
static int multiboot_header_addresses(void)
{
	const uint8_t *elf = mb_guest;
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)elf;
	Elf32_Phdr ph;
	unsigned int i, loads = 0;
	uint32_t *hdr;
	uint8_t *img;
	int ret;

	NEED_VCPUS();
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, elf + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD)
			loads++;
	}
	CHECK(loads == 1, "%u PT_LOAD segments", loads);
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, elf + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD)
			break;
	}
	img = malloc(ph.p_filesz);
	CHECK(img, "malloc");
	memcpy(img, elf + ph.p_offset, ph.p_filesz);
	hdr = (uint32_t *)img;			/* the header comes first */
	CHECK(hdr[0] == 0x1badb002, "header at the start");
	hdr[1] |= 1U << 16;
	hdr[2] = -(hdr[0] + hdr[1]);
	hdr[3] = ph.p_paddr;			/* header_addr */
	hdr[4] = ph.p_paddr;			/* load_addr */
	hdr[5] = 0;				/* load_end: the whole file */
	hdr[6] = ph.p_paddr + ph.p_memsz;	/* bss_end */
	hdr[7] = eh->e_entry;
	ret = write_file(MB_KERNEL, img, ph.p_filesz);
	free(img);
	CHECK(!ret, "write");
	CHECK(!write_file(MB_MODULE, MB_MODULE_TEXT,
			  sizeof(MB_MODULE_TEXT) - 1), "write");
	return check_multiboot_run("header addresses");
}

/* Multiboot kernels that cannot be used: one line, status 4. */
static int multiboot_refused_exit_4(void)
{
	const size_t len = mb_guest_end - mb_guest;
	char out[2048];
	uint8_t *img = malloc(len);

	CHECK(img, "malloc");
	memcpy(img, mb_guest, len);
	/* A bad checksum: no header, so neither kind of kernel. */
	img[0x1000 + 8] ^= 1;
	CHECK(!write_file(MB_KERNEL, img, len), "write");
	CHECK_RUN_ERROR("run -k " MB_KERNEL, 4, "neither a bzImage");
	img[0x1000 + 8] ^= 1;
	/* Loaded at 2 MiB, so it does not fit in 2 MiB of memory. */
	CHECK(!write_file(MB_KERNEL, img, len), "write");
	CHECK_RUN_ERROR("run -m 2M -k " MB_KERNEL, 4, "do not fit in guest memory");
	/* A header flag (a.out symbols table, bit 4) it cannot honour... */
	((uint32_t *)(img + 0x1000))[1] |= 1U << 4;
	((uint32_t *)(img + 0x1000))[2] -= 1U << 4;
	CHECK(!write_file(MB_KERNEL, img, len), "write");
	CHECK_RUN_ERROR("run -k " MB_KERNEL, 4, "ask for what mvm does not give");
	/* ...and a segment past the end of the file. */
	((uint32_t *)(img + 0x1000))[1] &= ~(1U << 4);
	((uint32_t *)(img + 0x1000))[2] += 1U << 4;
	CHECK(!write_file(MB_KERNEL, img, 0x1000 + 0x100), "write");
	CHECK_RUN_ERROR("run -k " MB_KERNEL, 4, "past the end of the file");
	/* A module that is not there. */
	CHECK(!write_file(MB_KERNEL, img, len), "write");
	CHECK_RUN_ERROR("run -k " MB_KERNEL " -i /nonexistent", 4,
			"cannot open module /nonexistent");
	free(img);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(info),
	KTAP_CASE(help),
	KTAP_CASE(bad_command_lines_exit_2),
	KTAP_CASE(no_module_exit_3),
	KTAP_CASE(run_bad_options_exit_2),
	KTAP_CASE(run_bad_kernel_exit_4),
	KTAP_CASE(run_too_little_memory_exit_2),
	KTAP_CASE(flat_binary_powers_off_0),
	KTAP_CASE(elf64_powers_off_0),
	KTAP_CASE(reset_exits_5),
	KTAP_CASE(triple_fault_exits_6),
	KTAP_CASE(debug_exit_ends_with_its_status),
	KTAP_CASE(multiboot_elf_with_fw_cfg_and_debug_exit),
	KTAP_CASE(multiboot_header_addresses),
	KTAP_CASE(multiboot_refused_exit_4),
	KTAP_CASE(ctrl_c_exits_130_and_restores_tty),
	KTAP_CASE(sigterm_exits_143),
};

KTAP_MAIN(cases)
