# SPDX-License-Identifier: GPL-2.0
#
# mvm: see README.md.
#
#   make              the module (against Debian's 6.1 test kernel), the
#                     launcher and the selftests, all under build/
#   make unit         build and run the host-side unit tests (no VM)
#   make demo         boot the svm test VM, load mvm, show it working
#   make check        every lane; LANE="svm vmx" runs some
#   make bench        boot the svm test VM (LANE=vmx: the vmx one), time
#                     guest workloads under mvm, then under KVM, print
#                     both and the ratios
#   make clean
#
#   make install      the launcher, the uapi header, the udev rule and the
#                     sysusers entry for group mvm (PREFIX, DESTDIR)
#   make dkms-install the module's sources to /usr/src/mvm-VERSION, then
#                     dkms add, build and install (KVER: default the
#                     running kernel)
#   make uninstall, make dkms-uninstall
#
# Kbuild (top-level and module/Kbuild) describes the module itself, and
# dkms.conf how DKMS builds it.

VM        := selftests/vm
BUILD     := build
# MVM_API_VERSION of uapi/linux/mvm.h, then a release number.
VERSION   := $(shell cat VERSION)
UCFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Werror -Iuapi -static
SELFTESTS := dev_test module_test coexist_test memslot_test launcher_test hw_test \
	     smoke_test vcpu_test guest_test ring_test exit_test events_test \
	     lifecycle_test linux_test device_test hostile_test fuzz_test stat_test
TESTLIB   := selftests/lib/ktap.c selftests/lib/mvm_util.c selftests/lib/guest.c
TESTHDRS  := selftests/lib/ktap.h selftests/lib/mvm_util.h \
	     selftests/lib/guest.h uapi/linux/mvm.h
# Test code also runs as guest code (selftests/lib/guest.h): interrupts
# land on the guest's current stack, and there is no TLS for a canary.
GUESTCFLAGS := -mno-red-zone -fno-stack-protector

all: module userspace selftests

module:
	@$(VM)/run.sh module

userspace: $(BUILD)/bin/mvm

LAUNCHER  := $(wildcard userspace/*.c userspace/hw/*.c userspace/loader/*.c)
LAUNCHERH := $(wildcard userspace/*.h userspace/hw/*.h userspace/loader/*.h)

$(BUILD)/bin/mvm: $(LAUNCHER) $(LAUNCHERH) uapi/linux/mvm.h
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -pthread -Iuserspace -o $@ $(LAUNCHER)

selftests: $(SELFTESTS:%=$(BUILD)/selftests/%)

$(BUILD)/selftests/%: selftests/%.c $(TESTLIB) $(TESTHDRS)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(GUESTCFLAGS) $(TESTDEFS) -pthread -Iselftests -o $@ $< $(TESTLIB)

# launcher_test carries the Multiboot test kernel (selftests/guests/):
# 32-bit and freestanding, so gcc alone builds it, without multilib.
MBGUEST   := $(BUILD)/selftests/multiboot_guest.elf
$(MBGUEST): selftests/guests/multiboot.c selftests/guests/multiboot.ld
	@mkdir -p $(@D)
	$(CC) -m32 -march=i686 -std=c11 -O2 -Wall -Wextra -Werror \
		-ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -nostdlib -static \
		-Wl,-T,selftests/guests/multiboot.ld -Wl,--build-id=none \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -o $@ $<

$(BUILD)/selftests/launcher_test: $(MBGUEST)
$(BUILD)/selftests/launcher_test: TESTDEFS = -DMB_GUEST='"$(MBGUEST)"'

# device_test drives the launcher's bus and device models from guests.
DEVICES   := userspace/bus.c userspace/device.c $(wildcard userspace/hw/*.c)

$(BUILD)/selftests/device_test: selftests/device_test.c $(DEVICES) \
				$(LAUNCHERH) $(TESTLIB) $(TESTHDRS)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(GUESTCFLAGS) -pthread -Iselftests -Iuserspace -o $@ \
		$< $(DEVICES) $(TESTLIB)

# Unit tests of the module's pure code, built for the host with a shim for
# the kernel types, and with ASan and UBSan so a read past the guest's bytes
# fails the test.
UNITFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -Iuapi \
	     -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT      := decode_test paging_test loader_test

# The launcher's loaders, fed the Multiboot test kernel and mutants of it,
# of a bzImage and of an ELF64.
$(BUILD)/unit/loader_test: selftests/unit/loader_test.c \
			   $(wildcard userspace/loader/*.c) userspace/device.c \
			   userspace/bus.c $(LAUNCHERH) $(MBGUEST) \
			   selftests/lib/ktap.c selftests/lib/ktap.h
	@mkdir -p $(@D)
	$(CC) $(UNITFLAGS) -pthread -Iselftests -Iuserspace \
		-DMB_GUEST='"$(MBGUEST)"' -o $@ $< \
		$(wildcard userspace/loader/*.c) userspace/device.c \
		userspace/bus.c selftests/lib/ktap.c

unit: $(UNIT:%=$(BUILD)/unit/%)
	@set -e; for t in $^; do $$t; done

# The module's pure files, for the host; kept, not removed as intermediates.
.PRECIOUS: $(BUILD)/unit/%.o
$(BUILD)/unit/%.o: module/emul/%.c module/emul/%.h module/regs.h selftests/unit/shim.h uapi/linux/mvm.h
	@mkdir -p $(@D)
	$(CC) $(UNITFLAGS) -Imodule -include selftests/unit/shim.h -c -o $@ $<

$(BUILD)/unit/%_test: selftests/unit/%_test.c $(BUILD)/unit/%.o \
		      selftests/lib/ktap.c selftests/lib/ktap.h
	$(CC) $(UNITFLAGS) -Iselftests -Imodule -o $@ $< $(BUILD)/unit/$*.o \
		selftests/lib/ktap.c

demo: userspace selftests
	@$(VM)/run.sh demo

# The benchmark: guest code is asm in the file, no guest library.
$(BUILD)/bench/bench: selftests/bench/bench.c selftests/lib/mvm_util.c \
		      selftests/lib/mvm_util.h uapi/linux/mvm.h
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -Iselftests -o $@ $< selftests/lib/mvm_util.c

bench: userspace selftests $(BUILD)/bench/bench
	@$(VM)/run.sh bench $(LANE)

check: userspace selftests
	@$(VM)/run.sh check $(LANE)

clean:
	rm -rf $(BUILD)

# Installing.  udev and systemd-sysusers read /etc whatever PREFIX is;
# packagers set UDEVRULESDIR=/lib/udev/rules.d SYSUSERSDIR=/usr/lib/sysusers.d.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
INCLUDEDIR   ?= $(PREFIX)/include
UDEVRULESDIR ?= /etc/udev/rules.d
SYSUSERSDIR  ?= /etc/sysusers.d
INSTALLED    := $(BINDIR)/mvm $(INCLUDEDIR)/linux/mvm.h \
		$(UDEVRULESDIR)/60-mvm.rules $(SYSUSERSDIR)/mvm.conf

# Into a staging DESTDIR nothing is done to this machine; into / the group
# is made now rather than at the next boot's systemd-sysusers.
install: userspace
	install -D -m 0755 $(BUILD)/bin/mvm $(DESTDIR)$(BINDIR)/mvm
	install -D -m 0644 uapi/linux/mvm.h $(DESTDIR)$(INCLUDEDIR)/linux/mvm.h
	install -D -m 0644 dist/60-mvm.rules $(DESTDIR)$(UDEVRULESDIR)/60-mvm.rules
	install -D -m 0644 dist/mvm.sysusers $(DESTDIR)$(SYSUSERSDIR)/mvm.conf
	@if [ -z "$(DESTDIR)" ] && ! getent group mvm > /dev/null; then \
		echo "groupadd --system mvm"; groupadd --system mvm; fi

# The group is left: files may still belong to it.
uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)%)

# DKMS.  DKMS_SRCTREE and DKMSFLAGS let selftests/vm/dkms-test.sh run these
# same targets in a scratch tree (dkms --dkmstree, --installtree, ...).
KVER         ?= $(shell uname -r)
# The module's sources: the core in module/, the rest a folder down.
MODULE_SRC   := $(wildcard module/*.[chS] module/*.inc module/*/*.[chS])
DKMS_SRCTREE ?= /usr/src
DKMS_SRC     := $(DKMS_SRCTREE)/mvm-$(VERSION)
DKMSFLAGS    ?=
DKMS         := dkms --sourcetree=$(DKMS_SRCTREE) $(DKMSFLAGS)

# Only the module's sources: not build/, nor objects of an in-tree build.
dkms-source:
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)/module $(DKMS_SRC)/uapi/linux
	install -m 0644 dkms.conf VERSION Kbuild $(DKMS_SRC)/
	for f in module/Kbuild $(MODULE_SRC); do \
		install -D -m 0644 $$f $(DKMS_SRC)/$$f || exit; done
	install -m 0644 uapi/linux/mvm.h $(DKMS_SRC)/uapi/linux/

# Installing the same VERSION again replaces it (dkms add refuses a
# module/version it already has).
dkms-install: dkms-uninstall
	@$(MAKE) --no-print-directory dkms-source
	$(DKMS) add -m mvm -v $(VERSION)
	$(DKMS) build -m mvm -v $(VERSION) -k $(KVER)
	$(DKMS) install -m mvm -v $(VERSION) -k $(KVER)

dkms-uninstall:
	@command -v dkms > /dev/null || { echo "needs dkms: apt-get install dkms"; exit 1; }
	@if [ -n "$$($(DKMS) status -m mvm -v $(VERSION))" ]; then \
		echo "$(DKMS) remove -m mvm -v $(VERSION) --all"; \
		$(DKMS) remove -m mvm -v $(VERSION) --all; fi
	rm -rf $(DKMS_SRC)

.PHONY: all module userspace selftests unit demo check bench clean \
	install uninstall dkms-source dkms-install dkms-uninstall
