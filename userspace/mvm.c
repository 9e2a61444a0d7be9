// SPDX-License-Identifier: GPL-2.0
/*
 * mvm: the launcher.
 *
 * mvm COMMAND [ARGS...]; see usage() for the commands.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mvm.h>

#define MVM_DEV "/dev/mvm"

enum {
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_NO_MVM = 3,	/* no /dev/mvm, or a module of another API */
};

static void usage(FILE *f)
{
	fputs("usage: mvm COMMAND [ARGS...]\n"
	      "\n"
	      "A minimal virtual machine monitor, on the mvm kernel module.\n"
	      "\n"
	      "Commands:\n"
	      "  info       Check that " MVM_DEV " works and print what the module\n"
	      "             offers: its API version, its hardware backend, and\n"
	      "             whether a VM can be created now (another hypervisor,\n"
	      "             such as KVM, may own the CPUs).\n"
	      "  help       Print this text.\n"
	      "\n"
	      "Exit status: 0 on success, 1 when no VM can be created, 2 for\n"
	      "a bad command line, 3 when " MVM_DEV " is missing or speaks\n"
	      "another API version.\n", f);
}

/* Opens /dev/mvm and checks the API version; exits on failure. */
static int mvm_open(void)
{
	int fd = open(MVM_DEV, O_RDWR | O_CLOEXEC);
	int version;

	if (fd < 0) {
		fprintf(stderr, "mvm: cannot open %s: %s%s\n", MVM_DEV,
			strerror(errno),
			errno == ENOENT ? " (is the mvm module loaded?)" : "");
		exit(EXIT_NO_MVM);
	}
	version = ioctl(fd, MVM_GET_API_VERSION, 0);
	if (version != MVM_API_VERSION) {
		fprintf(stderr,
			"mvm: %s speaks API version %d, this launcher %d\n",
			MVM_DEV, version, MVM_API_VERSION);
		exit(EXIT_NO_MVM);
	}
	return fd;
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

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "mvm: unknown command '%s'; see 'mvm help'\n", argv[1]);
	return EXIT_USAGE;
}
