// SPDX-License-Identifier: GPL-2.0
/*
 * Observability: the exit counters in debugfs (mvm/<pid>-<fd>/ and its
 * vcpuN/), `mvm stat --once` reading them for a running VM, and the
 * mvm:mvm_entry and mvm:mvm_exit tracepoints in tracefs (trace-cmd's
 * interface) and through perf_event_open() (perf's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/guest.h"
#include "lib/ktap.h"
#include "lib/mvm_util.h"

#define GUEST_MIB	16
#define DEBUGFS		"/sys/kernel/debug"
#define TRACEFS		"/sys/kernel/tracing"
#define PORT_COUNT	0x80	/* a port write that exits to the host */
#define N_CPUID		100
#define N_OUT		37

static void guest_known_exits(void)
{
	unsigned int i;
	uint32_t a, b, c, d;

	GUEST_SYNC(1);
	for (i = 0; i < N_CPUID; i++) {
		a = 0;
		c = 0;
		__asm__ volatile("cpuid"
				 : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	for (i = 0; i < N_OUT; i++)
		outb(PORT_COUNT, i);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* Run to the next ucall; port PORT_COUNT exits are counted and resumed. */
static uint32_t run_counting(struct vcpu *vcpu, struct ucall *uc,
			     unsigned int *outs)
{
	const struct mvm_run *run = vcpu->run;
	uint32_t code;

	vcpu_run(vcpu);
	while (run->exit_reason == MVM_EXIT_IO && run->io.write &&
	       run->io.addr == PORT_COUNT) {
		(*outs)++;
		vcpu_run(vcpu);
	}
	code = get_ucall(vcpu, uc);
	if (code == UCALL_FAIL)
		report_guest_fail(uc);
	TEST_ASSERT(code != UCALL_NONE, "exit %s without a ucall",
		    exit_reason_str(run->exit_reason));
	return code;
}

/* debugfs is there in the test VM's kernels; mount it if it is not. */
static int have_debugfs(void)
{
	struct stat st;

	if (!stat(DEBUGFS "/mvm", &st))
		return 1;
	mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	return !stat(DEBUGFS "/mvm", &st);
}

/* Counter @name of @vm (vcpu < 0) or of its vCPU @vcpu; -1 if unreadable. */
static long long counter(struct vm *vm, int vcpu, const char *name)
{
	char path[256];

	if (vcpu < 0)
		snprintf(path, sizeof(path), DEBUGFS "/mvm/%d-%d/%s",
			 (int)getpid(), vm->fd, name);
	else
		snprintf(path, sizeof(path), DEBUGFS "/mvm/%d-%d/vcpu%d/%s",
			 (int)getpid(), vm->fd, vcpu, name);
	return read_long_file(path);
}

static const char *const checked[] = {
	"exits", "exit_cpuid", "exit_io", "io_exits", "exit_msr",
};
#define NR_CHECKED	(sizeof(checked) / sizeof(checked[0]))

/*
 * The vCPU's first MVM_RUN, ended at once by immediate_exit: it makes the
 * counters' directories, and nothing exits.
 */
static void first_run(struct vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	TEST_ASSERT(ioctl(vcpu->fd, MVM_RUN, 0) == -1 && errno == EINTR,
		    "MVM_RUN with immediate_exit: errno %d", errno);
	vcpu->run->immediate_exit = 0;
}

static int counters_count_exits(void)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	long long before[NR_CHECKED], after[NR_CHECKED];
	unsigned int i, outs = 0;

	CHECK(have_debugfs(), "no " DEBUGFS "/mvm with mvm loaded");
	vm = vm_create(GUEST_MIB);
	vcpu = vcpu_create(vm, 0);
	vcpu_setup_long(vcpu, guest_known_exits);

	/* Nothing in debugfs until the first run, then zeroes. */
	CHECK(counter(vm, -1, "exits") == -1 && counter(vm, 0, "exits") == -1,
	      "counters before the first run: VM %lld, vCPU %lld",
	      counter(vm, -1, "exits"), counter(vm, 0, "exits"));
	first_run(vcpu);
	CHECK(counter(vm, -1, "exits") == 0, "a new VM's exits: %lld",
	      counter(vm, -1, "exits"));
	CHECK(counter(vm, 0, "exits") == 0, "a new vCPU's exits: %lld",
	      counter(vm, 0, "exits"));
	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC && uc.args[0] == 1,
	      "ucall %u", uc.code);
	for (i = 0; i < NR_CHECKED; i++) {
		before[i] = counter(vm, 0, checked[i]);
		CHECK(before[i] >= 0, "vcpu0/%s unreadable", checked[i]);
		CHECK(counter(vm, -1, checked[i]) == before[i],
		      "VM's %s %lld, its one vCPU's %lld", checked[i],
		      counter(vm, -1, checked[i]), before[i]);
	}
	/* The SYNC was a port exit handed to userspace. */
	CHECK(before[2] >= 1 && before[3] >= 1, "exit_io %lld, io_exits %lld",
	      before[2], before[3]);
	CHECK(before[0] >= before[1] + before[2] + before[4],
	      "exits %lld below its classes", before[0]);

	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC && uc.args[0] == 2,
	      "ucall %u", uc.code);
	CHECK(outs == N_OUT, "%u port exits, want %u", outs, N_OUT);
	for (i = 0; i < NR_CHECKED; i++)
		after[i] = counter(vm, 0, checked[i]);
	ktap_diag("deltas: exits %lld, cpuid %lld, io %lld, io_exits %lld, msr %lld",
		  after[0] - before[0], after[1] - before[1],
		  after[2] - before[2], after[3] - before[3],
		  after[4] - before[4]);
	/* Exact: each CPUID and OUT exits once; the second SYNC is one OUT. */
	CHECK(after[1] - before[1] == N_CPUID, "CPUID exits %lld, want %d",
	      after[1] - before[1], N_CPUID);
	CHECK(after[2] - before[2] == N_OUT + 1, "port exits %lld, want %d",
	      after[2] - before[2], N_OUT + 1);
	CHECK(after[3] - before[3] == N_OUT + 1, "io_exits %lld, want %d",
	      after[3] - before[3], N_OUT + 1);
	CHECK(after[4] == before[4], "MSR exits %lld without an MSR access",
	      after[4] - before[4]);
	/* Host interrupts may add exits of their own, never fewer. */
	CHECK(after[0] - before[0] >= N_CPUID + N_OUT + 1,
	      "exits %lld, want at least %d", after[0] - before[0],
	      N_CPUID + N_OUT + 1);
	CHECK(counter(vm, -1, "exit_cpuid") == after[1], "VM's exit_cpuid");

	/* A vCPU's counts stay in its VM's after the vCPU is gone. */
	vcpu_free(vcpu);
	CHECK(counter(vm, 0, "exits") == -1, "vcpu0/ outlived its vCPU");
	CHECK(counter(vm, -1, "exit_cpuid") == after[1],
	      "VM's exit_cpuid %lld after its vCPU went, want %lld",
	      counter(vm, -1, "exit_cpuid"), after[1]);
	vm_free(vm);
	return KTAP_PASS;
}

/* The directory goes with the VM; closing the VM fd alone keeps it. */
static int counters_dir_lifetime(void)
{
	char path[256];
	struct stat st;
	struct vm *vm;
	struct vcpu *vcpu;
	int fd;

	CHECK(have_debugfs(), "no " DEBUGFS "/mvm with mvm loaded");
	vm = vm_create(GUEST_MIB);
	vcpu = vcpu_create(vm, 3);
	first_run(vcpu);
	fd = vm->fd;
	snprintf(path, sizeof(path), DEBUGFS "/mvm/%d-%d/vcpu3/halt_wakeup",
		 (int)getpid(), fd);
	CHECK(!stat(path, &st), "%s", path);
	/* The vCPU holds the VM: its files stay while the VM fd is closed. */
	close(vm->fd);
	vm->fd = -1;
	CHECK(!stat(path, &st), "%s gone with the VM fd", path);
	vcpu_free(vcpu);
	snprintf(path, sizeof(path), DEBUGFS "/mvm/%d-%d", (int)getpid(), fd);
	CHECK(stat(path, &st) == -1 && errno == ENOENT, "%s outlived its VM",
	      path);
	vm_free(vm);
	return KTAP_PASS;
}

/* `mvm stat --once -p PID` against this running VM. */
static int stat_once_shows_vm(void)
{
	char cmd[128], line[256], name[64];
	unsigned long long total, cpuid = 0;
	int found = 0, header = 0, rc;
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	unsigned int outs = 0;
	FILE *p;

	CHECK(have_debugfs(), "no " DEBUGFS "/mvm with mvm loaded");
	CHECK(access("/usr/bin/mvm", X_OK) == 0, "no launcher at /usr/bin/mvm");
	vm = vm_create(GUEST_MIB);
	vcpu = vcpu_create(vm, 0);
	vcpu_setup_long(vcpu, guest_known_exits);
	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC, "ucall %u",
	      uc.code);
	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC, "ucall %u",
	      uc.code);

	snprintf(cmd, sizeof(cmd), "/usr/bin/mvm stat --once -p %d 2>&1",
		 (int)getpid());
	p = popen(cmd, "r");
	CHECK(p, "popen");
	while (fgets(line, sizeof(line), p)) {
		ktap_diag("stat: %.*s", (int)strcspn(line, "\n"), line);
		if (strstr(line, "1 VM of pid"))
			header = 1;
		if (sscanf(line, "%63s %llu", name, &total) != 2)
			continue;
		if (!strcmp(name, "exit_cpuid")) {
			cpuid = total;
			found++;
		}
		if (!strcmp(name, "exits") || !strcmp(name, "io_exits"))
			found++;
	}
	rc = pclose(p);
	CHECK(rc == 0, "mvm stat ended with %#x", rc);
	CHECK(header, "no '1 VM of pid %d' line", (int)getpid());
	CHECK(found == 3, "%d of exits, exit_cpuid and io_exits shown", found);
	CHECK((long long)cpuid == counter(vm, -1, "exit_cpuid"),
	      "mvm stat's exit_cpuid %llu, debugfs %lld", cpuid,
	      counter(vm, -1, "exit_cpuid"));
	CHECK(cpuid >= N_CPUID, "exit_cpuid %llu", cpuid);

	/* A pid without VMs: a table with none, still status 0. */
	p = popen("/usr/bin/mvm stat -1 -p 1 2>&1", "r");
	CHECK(p, "popen");
	header = 0;
	while (fgets(line, sizeof(line), p))
		header |= !!strstr(line, "0 VMs of pid 1");
	CHECK(pclose(p) == 0 && header, "mvm stat -1 -p 1");
	vcpu_free(vcpu);
	vm_free(vm);
	return KTAP_PASS;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int tracepoints_fire(void)
{
	static char buf[1 << 20];
	const char *isa;
	struct stat st;
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	unsigned int outs = 0, exits = 0, cpuid = 0, entries = 0;
	char *line, *save;
	ssize_t n, len = 0;
	int fd, backend;

	if (stat(TRACEFS "/events", &st))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (stat(TRACEFS "/events", &st))
		SKIP("no tracefs at " TRACEFS " (%s)", strerror(errno));
	CHECK(!stat(TRACEFS "/events/mvm/mvm_entry/format", &st),
	      "no mvm:mvm_entry");
	CHECK(!stat(TRACEFS "/events/mvm/mvm_exit/format", &st),
	      "no mvm:mvm_exit");
	backend = open_ioctl_close(MVM_DEV, MVM_CHECK_EXTENSION,
				   MVM_CAP_BACKEND);
	isa = backend == MVM_BACKEND_SVM ? "isa SVM" : "isa VMX";

	vm = vm_create(GUEST_MIB);
	vcpu = vcpu_create(vm, 0);
	vcpu_setup_long(vcpu, guest_known_exits);
	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC, "ucall %u",
	      uc.code);

	CHECK(!write_file(TRACEFS "/tracing_on", "0"), "tracing_on");
	CHECK(!write_file(TRACEFS "/trace", ""), "clear the trace");
	CHECK(!write_file(TRACEFS "/events/mvm/mvm_exit/enable", "1"),
	      "enable mvm_exit");
	CHECK(!write_file(TRACEFS "/events/mvm/mvm_entry/enable", "1"),
	      "enable mvm_entry");
	CHECK(!write_file(TRACEFS "/tracing_on", "1"), "tracing_on");
	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC, "ucall %u",
	      uc.code);
	write_file(TRACEFS "/tracing_on", "0");
	write_file(TRACEFS "/events/mvm/mvm_exit/enable", "0");
	write_file(TRACEFS "/events/mvm/mvm_entry/enable", "0");

	fd = open(TRACEFS "/trace", O_RDONLY);
	CHECK(fd >= 0, "open trace");
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "mvm_entry: vcpu 0"))
			entries++;
		if (!strstr(line, "mvm_exit: vcpu 0"))
			continue;
		if (!exits)
			ktap_diag("first: %s", line);
		exits++;
		CHECK(strstr(line, isa), "not %s: %s", isa, line);
		if (strstr(line, "class cpuid"))
			cpuid++;
	}
	ktap_diag("%u mvm_entry, %u mvm_exit, %u of class cpuid", entries,
		  exits, cpuid);
	CHECK(cpuid == N_CPUID, "%u CPUID exits traced, want %d", cpuid,
	      N_CPUID);
	CHECK(exits >= N_CPUID + N_OUT + 1, "%u exits traced", exits);
	CHECK(entries >= exits, "%u entries for %u exits", entries, exits);
	write_file(TRACEFS "/trace", "");
	vcpu_free(vcpu);
	vm_free(vm);
	return KTAP_PASS;
}

/* A counting perf event on tracepoint mvm:@name, for this thread. */
static int perf_tracepoint(const char *name)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.disabled = 1,
	};
	char path[128];
	long long id;

	snprintf(path, sizeof(path), TRACEFS "/events/mvm/%s/id", name);
	id = read_long_file(path);
	if (id < 0)
		return -1;
	attr.config = id;
	return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static long long perf_count(int fd)
{
	long long n;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : -1;
}

/*
 * perf counts both tracepoints for the vCPU thread: exactly one mvm_exit
 * per exit the counters count, with the CPUIDs among them, and an entry
 * for each (VMX handles CPUID without leaving vmx_enter(), and must trace
 * it all the same).
 */
static int perf_sees_tracepoints(void)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	long long exits0, cpuid0, exits, cpuid, n_exit, n_entry;
	unsigned int outs = 0;
	struct stat st;
	int fd_exit, fd_entry;

	CHECK(have_debugfs(), "no " DEBUGFS "/mvm with mvm loaded");
	if (stat(TRACEFS "/events", &st))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (stat(TRACEFS "/events", &st))
		SKIP("no tracefs at " TRACEFS " (%s)", strerror(errno));
	fd_exit = perf_tracepoint("mvm_exit");
	if (fd_exit < 0 && (errno == ENOSYS || errno == ENOENT))
		SKIP("no perf events for tracepoints (%s)", strerror(errno));
	CHECK(fd_exit >= 0, "perf_event_open(mvm:mvm_exit): %s",
	      strerror(errno));
	fd_entry = perf_tracepoint("mvm_entry");
	CHECK(fd_entry >= 0, "perf_event_open(mvm:mvm_entry): %s",
	      strerror(errno));

	vm = vm_create(GUEST_MIB);
	vcpu = vcpu_create(vm, 0);
	vcpu_setup_long(vcpu, guest_known_exits);
	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC, "ucall %u",
	      uc.code);
	exits0 = counter(vm, 0, "exits");
	cpuid0 = counter(vm, 0, "exit_cpuid");
	CHECK(exits0 >= 0 && cpuid0 >= 0, "counters unreadable");

	CHECK(!ioctl(fd_exit, PERF_EVENT_IOC_ENABLE, 0) &&
	      !ioctl(fd_entry, PERF_EVENT_IOC_ENABLE, 0), "enable: %s",
	      strerror(errno));
	CHECK(run_counting(vcpu, &uc, &outs) == UCALL_SYNC, "ucall %u",
	      uc.code);
	ioctl(fd_exit, PERF_EVENT_IOC_DISABLE, 0);
	ioctl(fd_entry, PERF_EVENT_IOC_DISABLE, 0);
	exits = counter(vm, 0, "exits") - exits0;
	cpuid = counter(vm, 0, "exit_cpuid") - cpuid0;
	n_exit = perf_count(fd_exit);
	n_entry = perf_count(fd_entry);
	close(fd_exit);
	close(fd_entry);

	ktap_diag("perf: %lld mvm_entry, %lld mvm_exit; counters: %lld exits, %lld CPUID",
		  n_entry, n_exit, exits, cpuid);
	CHECK(cpuid == N_CPUID, "%lld CPUID exits counted, want %d", cpuid,
	      N_CPUID);
	CHECK(n_exit == exits, "perf saw %lld mvm_exit for %lld exits",
	      n_exit, exits);
	CHECK(n_entry >= n_exit, "perf saw %lld mvm_entry for %lld mvm_exit",
	      n_entry, n_exit);
	vcpu_free(vcpu);
	vm_free(vm);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(counters_count_exits, 30),
	KTAP_CASE_T(counters_dir_lifetime, 30),
	KTAP_CASE_T(stat_once_shows_vm, 30),
	KTAP_CASE_T(tracepoints_fire, 30),
	KTAP_CASE_T(perf_sees_tracepoints, 30),
};

KTAP_MAIN(cases)
