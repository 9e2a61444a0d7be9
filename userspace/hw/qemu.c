// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: the two QEMU devices that bare-metal test kernels use.
 *
 * - fw_cfg (QEMU's docs/specs/fw_cfg.rst), the traditional port interface
 *   only: a write of a 16-bit key to 0x510 selects an item and rewinds it,
 *   and each byte read from 0x511 is the item's next byte, 0 past its end
 *   or for a key that has no item.  Writes to the data port are ignored
 *   (the interface is read-only) and there is no DMA interface (FW_CFG_ID
 *   says so).  The items are the signature "QEMU", FW_CFG_ID, a UUID of
 *   zeros, the RAM size, the CPU count (as NB_CPUS and MAX_CPUS), the
 *   command line (its size with the NUL, then its bytes) and an empty
 *   file directory.
 * - isa-debug-exit at 0xf4-0xf7 (as `-device isa-debug-exit,iobase=0xf4,
 *   iosize=4`), with --debug-exit: a write of V ends the launcher with
 *   status (V << 1) | 1, the guest's way to report a test's result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw.h"

#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_ID		0x01
#define FW_CFG_UUID		0x02
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NOGRAPHIC	0x04
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_CMDLINE_SIZE	0x14
#define FW_CFG_CMDLINE_DATA	0x15
#define FW_CFG_FILE_DIR		0x19
#define FW_CFG_ID_TRADITIONAL	0x1

struct fw_cfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
};

struct fw_cfg {
	struct device dev;
	struct fw_cfg_item items[10];
	unsigned int nr_items;
	const struct fw_cfg_item *sel;	/* NULL: no item */
	uint32_t offset;
};

static void fw_cfg_io(struct vcpu *vcpu, uint64_t port, void *data,
		      uint32_t len, bool write, void *opaque)
{
	struct fw_cfg *fc = container_of(opaque, struct fw_cfg, dev);
	uint8_t *out = data;
	unsigned int i;
	uint16_t key;

	(void)vcpu;
	if (port == FW_CFG_PORT_SEL) {
		if (!write) {
			memset(data, 0, len);	/* write-only: reads 0 */
			return;
		}
		key = bus_get(data, len < 2 ? len : 2);
		fc->sel = NULL;
		fc->offset = 0;
		for (i = 0; i < fc->nr_items; i++)
			if (fc->items[i].key == key)
				fc->sel = &fc->items[i];
		return;
	}
	if (write)
		return;
	/* A wider read takes the next bytes, as QEMU's data register does. */
	for (i = 0; i < len; i++) {
		out[i] = fc->sel && fc->offset < fc->sel->len ?
			 fc->sel->data[fc->offset] : 0;
		if (fc->sel && fc->offset < fc->sel->len)
			fc->offset++;
	}
}

static int fw_cfg_add(struct fw_cfg *fc, uint16_t key, const void *data,
		      uint32_t len)
{
	struct fw_cfg_item *it = &fc->items[fc->nr_items];

	it->data = malloc(len ? len : 1);
	if (!it->data)
		return -1;
	memcpy(it->data, data, len);
	it->key = key;
	it->len = len;
	fc->nr_items++;
	return 0;
}

static void fw_cfg_reset(struct device *dev)
{
	struct fw_cfg *fc = container_of(dev, struct fw_cfg, dev);

	fc->sel = NULL;
	fc->offset = 0;
}

static void fw_cfg_save(struct device *dev, struct state_buf *b)
{
	struct fw_cfg *fc = container_of(dev, struct fw_cfg, dev);

	save_u16(b, fc->sel ? fc->sel->key : 0xffff);
	save_u32(b, fc->offset);
}

static int fw_cfg_load(struct device *dev, struct state_buf *b)
{
	struct fw_cfg *fc = container_of(dev, struct fw_cfg, dev);
	uint16_t key = load_u16(b);
	unsigned int i;

	fc->offset = load_u32(b);
	fc->sel = NULL;
	for (i = 0; i < fc->nr_items; i++)
		if (fc->items[i].key == key)
			fc->sel = &fc->items[i];
	if ((key != 0xffff && !fc->sel) ||
	    fc->offset > (fc->sel ? fc->sel->len : 0))
		return -EINVAL;
	return 0;
}

static const struct device_ops fw_cfg_ops = {
	.name = "fw_cfg",
	.version = 1,
	.reset = fw_cfg_reset,
	.save = fw_cfg_save,
	.load = fw_cfg_load,
};

/* Registers @dev and claims its one port range: @dev, or NULL (errno). */
static struct device *claim(struct machine *m, struct device *dev,
			    const struct device_ops *ops, uint16_t base,
			    uint16_t len, bus_fn fn)
{
	int ret;

	device_register(m, dev, ops);
	ret = bus_register(&m->bus, BUS_PIO, base, len, dev, fn, dev);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return dev;
}

struct device *fw_cfg_create(struct machine *m, uint64_t ram_size,
			     uint16_t cpus, const char *cmdline)
{
	struct fw_cfg *fc = calloc(1, sizeof(*fc));
	uint32_t id = FW_CFG_ID_TRADITIONAL, cmd_len = strlen(cmdline) + 1;
	uint32_t dir = 0;		/* big-endian count of files: none */
	uint16_t one = 1;
	uint8_t uuid[16] = { 0 };

	if (!fc)
		return NULL;
	if (fw_cfg_add(fc, FW_CFG_SIGNATURE, "QEMU", 4) ||
	    fw_cfg_add(fc, FW_CFG_ID, &id, 4) ||
	    fw_cfg_add(fc, FW_CFG_UUID, uuid, sizeof(uuid)) ||
	    fw_cfg_add(fc, FW_CFG_RAM_SIZE, &ram_size, 8) ||
	    fw_cfg_add(fc, FW_CFG_NOGRAPHIC, &one, 2) ||
	    fw_cfg_add(fc, FW_CFG_NB_CPUS, &cpus, 2) ||
	    fw_cfg_add(fc, FW_CFG_MAX_CPUS, &cpus, 2) ||
	    fw_cfg_add(fc, FW_CFG_CMDLINE_SIZE, &cmd_len, 4) ||
	    fw_cfg_add(fc, FW_CFG_CMDLINE_DATA, cmdline, cmd_len) ||
	    fw_cfg_add(fc, FW_CFG_FILE_DIR, &dir, 4))
		goto fail;
	/* The selector is 16 bits wide at 0x510, so it covers the data port. */
	return claim(m, &fc->dev, &fw_cfg_ops, FW_CFG_PORT_SEL, 2, fw_cfg_io);
fail:
	while (fc->nr_items)
		free(fc->items[--fc->nr_items].data);
	free(fc);
	errno = ENOMEM;
	return NULL;
}

/* --- isa-debug-exit ------------------------------------------------------ */

struct debug_exit {
	struct device dev;
};

static void debug_exit_io(struct vcpu *vcpu, uint64_t port, void *data,
			  uint32_t len, bool write, void *opaque)
{
	struct device *dev = opaque;

	(void)vcpu;
	(void)port;
	if (!write) {
		memset(data, 0xff, len);
		return;
	}
	machine_request_exit(dev->machine,
			     (int)(((bus_get(data, len) << 1) | 1) & 0xff));
}

static const struct device_ops debug_exit_ops = {
	.name = "isa-debug-exit",
	.version = 1,		/* no state */
};

struct device *debug_exit_create(struct machine *m)
{
	struct debug_exit *de = calloc(1, sizeof(*de));

	if (!de)
		return NULL;
	return claim(m, &de->dev, &debug_exit_ops, DEBUG_EXIT_PORT, 4,
		     debug_exit_io);
}
