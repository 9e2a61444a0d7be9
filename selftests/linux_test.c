// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher boots an unmodified Linux guest: the test VM's own kernel
 * (/guest/vmlinuz) with a busybox initramfs whose /init starts a shell on
 * ttyS0 (selftests/vm/guest-init).  The test talks to the guest's serial
 * console through pipes, as a person would at a terminal: it waits for the
 * kernel's banner and the shell's prompt, types a command, checks what the
 * shell answers, types "exit", and the guest powers off (status 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define GUEST_KERNEL	"/guest/vmlinuz"
#define GUEST_INITRD	"/guest/initrd.cpio.gz"
#define PROMPT		"mvm-guest# "
#define OUT_MAX		(1 << 20)

struct guest {
	pid_t pid;
	int in, out;		/* the guest's UART input and output */
	char *buf;		/* everything it printed, NUL-terminated */
	size_t len;
	double t0;
};

static const char *launcher(void)
{
	const char *p = getenv("MVM_LAUNCHER");

	return p ? p : "/usr/bin/mvm";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int guest_start_mem(struct guest *g, const char *params,
			   const char *mem)
{
	int in[2], out[2];

	memset(g, 0, sizeof(*g));
	g->buf = calloc(1, OUT_MAX + 1);
	if (!g->buf || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -1;
	g->t0 = now_s();
	g->pid = fork();
	if (g->pid < 0)
		return -1;
	if (!g->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl(launcher(), "mvm", "run", "-k", GUEST_KERNEL, "-i",
		      GUEST_INITRD, "-m", mem, "--debug-exits",
		      params ? "-p" : NULL, params, NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	g->in = in[1];
	g->out = out[0];
	return 0;
}

static int guest_start(struct guest *g, const char *params)
{
	return guest_start_mem(g, params, "256M");
}

/*
 * Reads the guest's output until @what appears after offset @from, for at
 * most @timeout_s; returns a pointer to it in the buffer, or NULL.
 */
static const char *guest_expect(struct guest *g, size_t from, const char *what,
				double timeout_s)
{
	double end = now_s() + timeout_s;
	struct pollfd p = { .fd = g->out, .events = POLLIN };
	const char *hit;
	ssize_t n;

	for (;;) {
		hit = strstr(g->buf + from, what);
		if (hit)
			return hit;
		if (now_s() > end || g->len == OUT_MAX)
			return NULL;
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(g->out, g->buf + g->len, OUT_MAX - g->len);
		if (n <= 0)
			return NULL;	/* the launcher has gone */
		g->len += n;
		g->buf[g->len] = '\0';
	}
}

static int guest_type(struct guest *g, const char *s)
{
	size_t len = strlen(s);

	return write(g->in, s, len) == (ssize_t)len ? 0 : -1;
}

/* Waits for the launcher to exit; its status, or -1 after @timeout_s. */
static int guest_wait(struct guest *g, double timeout_s)
{
	double end = now_s() + timeout_s;
	int st;

	while (now_s() < end) {
		guest_expect(g, g->len, "\x01", 0.2);	/* keep draining */
		if (waitpid(g->pid, &st, WNOHANG) == g->pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	kill(g->pid, SIGKILL);
	waitpid(g->pid, &st, 0);
	return -1;
}

/* The last lines of the guest's output, as diagnostics. */
static void guest_dump(const struct guest *g)
{
	const char *p = g->buf + g->len;
	int lines = 0;
	char *copy, *line, *save;

	while (p > g->buf && lines < 25)
		lines += *--p == '\n';
	copy = strdup(p);
	for (line = strtok_r(copy, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save))
		ktap_diag("guest: %s", line);
	free(copy);
	mvm_rollbacks_dump();
}

/* The lines from the one holding @hit on, as diagnostics. */
static void guest_dump_from(const char *start, const char *hit)
{
	const char *p = hit;
	char *copy, *line, *save;
	int n = 0, before = 2;

	/* From two lines before the hit's own. */
	while (p > start && (p[-1] != '\n' || before--))
		p--;
	copy = strdup(p);
	for (line = strtok_r(copy, "\r\n", &save); line && n < 20;
	     line = strtok_r(NULL, "\r\n", &save), n++)
		ktap_diag("guest: %s", line);
	free(copy);
}

static void guest_stop(struct guest *g)
{
	if (g->pid > 0 && waitpid(g->pid, NULL, WNOHANG) == 0) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, NULL, 0);
	}
	close(g->in);
	close(g->out);
	free(g->buf);
}

/* CHECK() for a running guest: shows its last lines, then stops it. */
#define GUEST_CHECK(g, cond, fmt, ...)					\
	do {								\
		if (!(cond)) {						\
			guest_dump(g);					\
			guest_stop(g);					\
			ktap_diag("%s:%d: GUEST_CHECK(%s) failed: " fmt, \
				  __FILE__, __LINE__, #cond,		\
				  ##__VA_ARGS__);			\
			return KTAP_FAIL;				\
		}							\
	} while (0)

static int skip_reason(void)
{
	if (access(GUEST_KERNEL, R_OK) || access(GUEST_INITRD, R_OK)) {
		ktap_set_skip_reason("no %s or %s in this test VM", GUEST_KERNEL,
				     GUEST_INITRD);
		return 1;
	}
	return 0;
}

/* Exits per console byte, from the launcher's --debug-exits summary. */
static void report_exits(const struct guest *g, double t_init, double t_prompt)
{
	unsigned long long exits, io, mmio, full, sig, uart, posted, bytes;
	const char *s = strstr(g->buf, "mvm: ");

	while (s && sscanf(s, "mvm: %llu exits (%llu I/O, %llu MMIO, %llu ring full, %llu signals), %llu at the UART; %llu posted writes, %llu bytes to the UART",
			   &exits, &io, &mmio, &full, &sig, &uart, &posted,
			   &bytes) != 8)
		s = strstr(s + 1, "mvm: ");
	ktap_diag("guest init reached after %.1f s, %.1f s to the end (test-VM time, from exec)",
		  t_init, t_prompt);
	if (s)
		ktap_diag("%llu exits, %llu of them at the UART, for %llu bytes the guest sent to the UART: %.2f UART exits per byte",
			  exits, uart, bytes, bytes ? (double)uart / bytes : 0.0);
}

static int boots_to_shell_and_powers_off(void)
{
	static const char *const reports[] = {
		"WARNING: CPU:", "BUG:", "Call Trace:", "unchecked MSR access",
		"XSAVE consistency problem", "Marking TSC unstable", NULL,
	};
	const char *const *r;
	struct guest g;
	const char *p, *cmd;
	double t_init, t_prompt;
	int st;

	if (skip_reason())
		return KTAP_SKIP;
	CHECK(!guest_start(&g, NULL), "start the launcher");
	p = guest_expect(&g, 0, "Linux version ", 120);
	GUEST_CHECK(&g, p, "no kernel banner");
	GUEST_CHECK(&g, guest_expect(&g, 0, "mvm-guest: init after", 240),
		    "the guest's init did not start");
	t_init = now_s() - g.t0;
	GUEST_CHECK(&g, guest_expect(&g, 0, PROMPT, 60), "no shell prompt");
	t_prompt = now_s() - g.t0;

	/* The shell echoes what is typed, then answers. */
	cmd = "echo $((6 * 7)); uname -sr\n";
	GUEST_CHECK(&g, !guest_type(&g, cmd), "typing into the guest");
	p = guest_expect(&g, 0, "echo $((6 * 7)); uname -sr", 30);
	GUEST_CHECK(&g, p, "the typed command was not echoed");
	GUEST_CHECK(&g, guest_expect(&g, p - g.buf, "\n42\r\n", 30),
		    "no 42 from the guest's shell");
	GUEST_CHECK(&g, guest_expect(&g, p - g.buf, "Linux 6.", 30),
		    "no uname from the guest's shell");
	GUEST_CHECK(&g, guest_expect(&g, p - g.buf + 20, PROMPT, 30),
		    "no prompt after the command");

	/* exit ends the shell; the guest's init powers off through ACPI. */
	GUEST_CHECK(&g, !guest_type(&g, "exit\n"), "typing exit");
	st = guest_wait(&g, 60);
	GUEST_CHECK(&g, st == 0, "launcher exit status %d, want 0 (power-off)",
		    st);
	GUEST_CHECK(&g, strstr(g.buf, "reboot: Power down"),
		    "the guest did not power off");
	/* Nothing the guest kernel complained about on the way. */
	for (r = reports; *r; r++) {
		p = strstr(g.buf, *r);
		if (p)
			guest_dump_from(g.buf, p);
		GUEST_CHECK(&g, !p, "the guest logged '%s'", *r);
	}
	report_exits(&g, t_init, t_prompt);
	guest_stop(&g);
	return KTAP_PASS;
}

/*
 * The same boot with "quiet", which spares the serial console most of the
 * log (an exit per byte): the time to the guest's init, reported.
 */
static int quiet_boot_to_init(void)
{
	struct guest g;
	double t_init;
	int st;

	if (skip_reason())
		return KTAP_SKIP;
	CHECK(!guest_start(&g, "console=ttyS0 panic=-1 pci=noearly quiet"),
	      "start the launcher");
	GUEST_CHECK(&g, guest_expect(&g, 0, "mvm-guest: init after", 240),
		    "the guest's init did not start");
	t_init = now_s() - g.t0;
	GUEST_CHECK(&g, guest_expect(&g, 0, PROMPT, 60), "no shell prompt");
	GUEST_CHECK(&g, !guest_type(&g, "exit\n"), "typing exit");
	st = guest_wait(&g, 60);
	GUEST_CHECK(&g, st == 0, "launcher exit status %d, want 0", st);
	report_exits(&g, t_init, now_s() - g.t0);
	guest_stop(&g);
	return KTAP_PASS;
}

/* A guest kernel that panics resets the machine (panic=-1): status 5. */
static int guest_panic_resets_5(void)
{
	struct guest g;
	int st;

	if (skip_reason())
		return KTAP_SKIP;
	/* No such init: the kernel panics once it has tried them all. */
	CHECK(!guest_start(&g, "console=ttyS0 panic=-1 pci=noearly quiet rdinit=/nonexistent init=/nonexistent"),
	      "start the launcher");
	st = guest_wait(&g, 240);
	GUEST_CHECK(&g, st == 5, "launcher exit status %d, want 5 (reset)", st);
	GUEST_CHECK(&g, strstr(g.buf, "Kernel panic"), "no panic");
	guest_stop(&g);
	return KTAP_PASS;
}

/* MemAvailable of the test VM in MiB, or 0. */
static unsigned long avail_mib(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 1024;
}

/*
 * -m past the 3 GiB below the PCI hole: 3 GiB there and 256 MiB from
 * 4 GiB up, which the guest finds in its e820 map and counts.
 */
#define HIGH_MEM	"3328M"
#define HIGH_MEM_MIB	3328UL

static int boots_with_ram_above_4g(void)
{
	unsigned long total_kb = 0;
	struct guest g;
	const char *p;
	int st;

	if (skip_reason())
		return KTAP_SKIP;
	/* The slots are pinned: the test VM needs the memory, and some. */
	if (avail_mib() < HIGH_MEM_MIB + 256)
		SKIP("the test VM has %lu MiB available, and a %s guest needs %lu (the svm lanes' test VMs have it)",
		     avail_mib(), HIGH_MEM, HIGH_MEM_MIB + 256);
	CHECK(!guest_start_mem(&g, "console=ttyS0 panic=-1 pci=noearly quiet",
			       HIGH_MEM), "start the launcher");
	GUEST_CHECK(&g, guest_expect(&g, 0, PROMPT, 300), "no shell prompt");
	GUEST_CHECK(&g, !guest_type(&g, "grep 'System RAM' /proc/iomem; grep MemTotal /proc/meminfo\n"),
		    "typing into the guest");
	GUEST_CHECK(&g, guest_expect(&g, 0, "100000000-10fffffff : System RAM", 30),
		    "no System RAM at 4 GiB in /proc/iomem");
	GUEST_CHECK(&g, guest_expect(&g, 0, "00100000-bfffffff : System RAM", 30),
		    "no System RAM up to 3 GiB in /proc/iomem");
	p = guest_expect(&g, 0, "MemTotal:", 30);
	/* The line may come in pieces: wait for its end. */
	GUEST_CHECK(&g, p && guest_expect(&g, p - g.buf, " kB", 30) &&
		    sscanf(p, "MemTotal: %lu kB", &total_kb) == 1,
		    "no MemTotal");
	/* The kernel keeps some, but counts past what fits below 3 GiB. */
	GUEST_CHECK(&g, total_kb > 3072UL * 1024 &&
		    total_kb <= HIGH_MEM_MIB * 1024,
		    "MemTotal %lu kB for a %s guest", total_kb, HIGH_MEM);
	ktap_diag("a %s guest: MemTotal %lu kB", HIGH_MEM, total_kb);
	GUEST_CHECK(&g, !guest_type(&g, "exit\n"), "typing exit");
	st = guest_wait(&g, 60);
	GUEST_CHECK(&g, st == 0, "launcher exit status %d, want 0", st);
	guest_stop(&g);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(boots_to_shell_and_powers_off, 400),
	KTAP_CASE_T(quiet_boot_to_init, 300),
	KTAP_CASE_T(guest_panic_resets_5, 300),
	KTAP_CASE_T(boots_with_ram_above_4g, 500),
};

KTAP_MAIN(cases)
