// SPDX-License-Identifier: GPL-2.0
/*
 * mvm: the launcher.
 *
 * mvm COMMAND [ARGS...]; see usage() and run_usage() for the commands, and
 * Documentation/mvm/launcher.rst for the machine it builds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mvm.h>

#include "launcher.h"

#define MVM_DEV		"/dev/mvm"
#define MEM_DEFAULT	(256 * MiB)
#define MEM_MIN		(2 * MiB)
/* Past 3 GiB, RAM goes on at 4 GiB (vm.c); the module may refuse less. */
#define MEM_MAX		(1024 * GiB)

static const char exit_statuses[] =
	"Exit status:\n"
	"  0    the guest powered off (ACPI S5), or `mvm info' succeeded\n"
	"  1    mvm failed while running the guest (the line before says\n"
	"       why), or `mvm info' could not create a VM\n"
	"  2    bad command line, or too little memory for the guest\n"
	"  3    " MVM_DEV " is missing or speaks another API version\n"
	"  4    the kernel, initramfs or image cannot be used\n"
	"  5    the guest reset the machine (reboot)\n"
	"  6    the guest triple-faulted\n"
	"  128+N  signal N: 130 for Ctrl-C (SIGINT), 143 for SIGTERM\n"
	"  odd    with --debug-exit, the guest wrote V to port 0xf4:\n"
	"         (V << 1) | 1\n";

static void usage(FILE *f)
{
	fputs("usage: mvm COMMAND [ARGS...]\n"
	      "\n"
	      "A minimal virtual machine monitor, on the mvm kernel module.\n"
	      "\n"
	      "Commands:\n"
	      "  run        Boot a Linux kernel, or run an ELF64 or flat binary,\n"
	      "             in a VM with one vCPU and a serial console on this\n"
	      "             terminal.  See 'mvm run --help'.\n"
	      "  info       Check that " MVM_DEV " works and print what the module\n"
	      "             offers: its API version, its hardware backend, and\n"
	      "             whether a VM can be created now (another hypervisor,\n"
	      "             such as KVM, may own the CPUs).\n"
	      "  stat       Show the exit counters of running VMs, live, as\n"
	      "             kvm_stat does for KVM.  See 'mvm stat --help'.\n"
	      "  help       Print this text.\n"
	      "\n", f);
	fputs(exit_statuses, f);
}

static void run_usage(FILE *f)
{
	fputs("usage: mvm run -k KERNEL [-i INITRD] [-p PARAMS] [OPTIONS]\n"
	      "       mvm run [OPTIONS] IMAGE\n"
	      "\n"
	      "Boot a Linux bzImage (Debian's vmlinuz will do) with an optional\n"
	      "initramfs, or a Multiboot kernel (as QEMU's -kernel takes it)\n"
	      "with optional modules, or run IMAGE: an x86-64 ELF executable,\n"
	      "entered in 64-bit mode at its entry point with the first 4 GiB\n"
	      "identity-mapped, or else a flat binary, entered in real mode at\n"
	      "1000:0000.\n"
	      "The guest's serial port (COM1, ttyS0) is this terminal, in raw\n"
	      "mode while the guest runs, or standard input and output when\n"
	      "they are not a terminal.  Ctrl-C ends the launcher.\n"
	      "\n"
	      "Options:\n"
	      "  -k, --kernel FILE   the kernel to boot: a Linux bzImage, or else\n"
	      "                      a Multiboot kernel\n"
	      "  -i, --initrd FILE   the initramfs to give Linux; for Multiboot,\n"
	      "                      its modules: \"FILE[ ARGS][,FILE[ ARGS]...]\"\n"
	      "  -p, --params TEXT   the kernel command line; default for Linux:\n"
	      "                      \"" CMDLINE_DEFAULT "\"\n"
	      "  -m, --mem SIZE      guest memory: a number with K, M or G, or\n"
	      "                      MiB without a suffix; default 256M, at\n"
	      "                      least 2M; past 3G the rest is above 4G\n"
	      "  -c, --cpus N        vCPUs; 1 is the only value for now (there is\n"
	      "                      no local APIC to start others)\n"
	      "      --debug-exit    QEMU's isa-debug-exit at port 0xf4: a write\n"
	      "                      of V ends mvm with status (V << 1) | 1\n"
	      "      --debug-exits   list accesses to ports and addresses no\n"
	      "                      device claims, and count exits at the end\n"
	      "  -h, --help          print this text\n"
	      "\n"
	      "The machine: 8250/16550A UART at 0x3f8 (IRQ 4), i8259 PIC pair,\n"
	      "i8254 PIT (IRQ 0), CMOS RTC, ACPI tables with a PM1 block for\n"
	      "power-off, i8042 reset line, PCI configuration with no devices,\n"
	      "QEMU's fw_cfg (ports 0x510-0x511: CPU count, RAM size, command\n"
	      "line).\n"
	      "Documentation/mvm/launcher.rst describes it.\n"
	      "\n", f);
	fputs(exit_statuses, f);
}

static int cmd_info(int argc, char **argv)
{
	static const char *const backends[] = {
		[MVM_BACKEND_SVM] = "AMD SVM with nested paging",
		[MVM_BACKEND_VMX] = "Intel VMX with EPT and VPID",
	};
	int fd, backend, vm;

	(void)argv;
	if (argc > 1) {
		fputs("mvm: info takes no arguments\n", stderr);
		return EXIT_USAGE;
	}
	fd = mvm_open();
	if (fd < 0)
		return EXIT_NO_MVM;
	backend = ioctl(fd, MVM_CHECK_EXTENSION, MVM_CAP_BACKEND);
	printf("mvm: API version %d\n", MVM_API_VERSION);
	printf("mvm: backend: %s\n",
	       backend > 0 && backend <= MVM_BACKEND_VMX ? backends[backend] :
	       "unknown");
	vm = ioctl(fd, MVM_CREATE_VM, 0);
	if (vm >= 0) {
		printf("mvm: virtualization: switched on for a test VM and off again\n");
		close(vm);
	} else {
		printf("mvm: virtualization: cannot create a VM: %s%s\n",
		       strerror(errno), errno == EBUSY ?
		       " (another hypervisor owns the CPUs)" : "");
	}
	close(fd);
	return vm >= 0 ? 0 : 1;
}

/* "256M", "1G", "65536K", "128" (MiB); 0 if not a size. */
static uint64_t parse_size(const char *s)
{
	unsigned long long v, unit = MiB;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		return 0;
	switch (*end) {
	case 'k': case 'K':
		unit = KiB;
		end++;
		break;
	case 'm': case 'M':
		end++;
		break;
	case 'g': case 'G':
		unit = GiB;
		end++;
		break;
	case 't': case 'T':
		unit = 1024 * GiB;
		end++;
		break;
	case '\0':
		break;
	default:
		return 0;
	}
	if (!strcmp(end, "iB") || !strcmp(end, "B"))	/* "256MiB" */
		end += strlen(end);
	/* Too big to say in bytes is out of range too, not a wrapped size. */
	if (v > UINT64_MAX / unit)
		return MEM_MAX + 4 * KiB;
	return *end ? 0 : v * unit;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "params", required_argument, NULL, 'p' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "debug-exits", no_argument, NULL, 'D' },
		{ "debug-exit", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config cfg = {
		.mem_size = MEM_DEFAULT,
		.cpus = 1,
	};
	char *end;
	long n;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:k:i:p:m:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			cfg.kernel = optarg;
			break;
		case 'i':
			cfg.initrd = optarg;
			break;
		case 'p':
			cfg.cmdline = optarg;
			break;
		case 'm':
			cfg.mem_size = parse_size(optarg);
			if (!cfg.mem_size || cfg.mem_size % (4 * KiB)) {
				fprintf(stderr, "mvm: run: bad memory size '%s' (try 256M or 1G)\n",
					optarg);
				return EXIT_USAGE;
			}
			if (cfg.mem_size < MEM_MIN || cfg.mem_size > MEM_MAX) {
				fprintf(stderr, "mvm: run: memory size '%s' out of range (2M to 1T)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || n != 1) {
				fprintf(stderr, "mvm: run: --cpus %s: only 1 vCPU is supported (no local APIC to start others)\n",
					optarg);
				return EXIT_USAGE;
			}
			cfg.cpus = n;
			break;
		case 'D':
			debug_exits = true;
			break;
		case 'E':
			cfg.debug_exit = true;
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "mvm: run: option '%s' needs an argument; see 'mvm run --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "mvm: run: unknown option '%s'; see 'mvm run --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		cfg.image = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "mvm: run: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (!cfg.kernel == !cfg.image) {
		fprintf(stderr, "mvm: run: give either -k KERNEL or an IMAGE; see 'mvm run --help'\n");
		return EXIT_USAGE;
	}
	if (cfg.image && (cfg.initrd || cfg.cmdline)) {
		fprintf(stderr, "mvm: run: -i and -p go with -k KERNEL\n");
		return EXIT_USAGE;
	}
	return vm_run(&cfg);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stat"))
		return cmd_stat(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "mvm: unknown command '%s'; see 'mvm help'\n", argv[1]);
	return EXIT_USAGE;
}
