// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: device registration, machine requests and device state
 * (device.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void device_register(struct machine *m, struct device *dev,
		     const struct device_ops *ops)
{
	struct device **p = &m->devices;

	dev->ops = ops;
	dev->machine = m;
	dev->next = NULL;
	pthread_mutex_init(&dev->lock, NULL);
	while (*p)
		p = &(*p)->next;
	*p = dev;
}

void machine_flush(struct machine *m)
{
	struct device *dev;

	for (dev = m->devices; dev; dev = dev->next) {
		if (!dev->ops->flush)
			continue;
		pthread_mutex_lock(&dev->lock);
		dev->ops->flush(dev);
		pthread_mutex_unlock(&dev->lock);
	}
}

void machine_reset(struct machine *m)
{
	struct device *dev;

	for (dev = m->devices; dev; dev = dev->next) {
		if (!dev->ops->reset)
			continue;
		pthread_mutex_lock(&dev->lock);
		dev->ops->reset(dev);
		pthread_mutex_unlock(&dev->lock);
	}
}

void machine_free(struct machine *m)
{
	bus_free(&m->bus);
	m->devices = NULL;
}

static void request(struct machine *m, enum machine_request req, int status)
{
	int none = REQ_NONE;

	if (req == REQ_NONE)
		return;
	if (!__atomic_compare_exchange_n(&m->request, &none, req, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	m->exit_status = status;
	if (m->on_request)
		m->on_request(m, req);
}

void machine_request(struct machine *m, enum machine_request req)
{
	request(m, req, 0);
}

void machine_request_exit(struct machine *m, int status)
{
	request(m, REQ_EXIT, status);
}

enum machine_request machine_pending(struct machine *m)
{
	return __atomic_load_n(&m->request, __ATOMIC_ACQUIRE);
}

/* --- state buffers ------------------------------------------------------- */

void save_bytes(struct state_buf *b, const void *p, size_t n)
{
	size_t cap;
	uint8_t *d;

	if (b->error)
		return;
	if (b->cap - b->len < n) {
		cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->error = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Little-endian, whatever the host. */
static void save_le(struct state_buf *b, uint64_t v, unsigned int n)
{
	uint8_t bytes[8];
	unsigned int i;

	for (i = 0; i < n; i++)
		bytes[i] = v >> (8 * i);
	save_bytes(b, bytes, n);
}

void save_u8(struct state_buf *b, uint8_t v)
{
	save_le(b, v, 1);
}

void save_u16(struct state_buf *b, uint16_t v)
{
	save_le(b, v, 2);
}

void save_u32(struct state_buf *b, uint32_t v)
{
	save_le(b, v, 4);
}

void save_u64(struct state_buf *b, uint64_t v)
{
	save_le(b, v, 8);
}

void load_bytes(struct state_buf *b, void *p, size_t n)
{
	if (b->error || b->end - b->pos < n || b->end > b->len) {
		b->error = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, b->data + b->pos, n);
	b->pos += n;
}

static uint64_t load_le(struct state_buf *b, unsigned int n)
{
	uint8_t bytes[8];
	uint64_t v = 0;
	unsigned int i;

	load_bytes(b, bytes, n);
	for (i = 0; i < n; i++)
		v |= (uint64_t)bytes[i] << (8 * i);
	return v;
}

uint8_t load_u8(struct state_buf *b)
{
	return load_le(b, 1);
}

uint16_t load_u16(struct state_buf *b)
{
	return load_le(b, 2);
}

uint32_t load_u32(struct state_buf *b)
{
	return load_le(b, 4);
}

uint64_t load_u64(struct state_buf *b)
{
	return load_le(b, 8);
}

void state_buf_free(struct state_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* FNV-1a, 32 bits: catches a corrupted or misplaced payload. */
uint32_t state_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261U;

	while (n--) {
		h ^= *p++;
		h *= 16777619U;
	}
	return h;
}

#define SECTION_HDR	(DEVICE_NAME_LEN + 12)

static void poke_u32(uint8_t *p, uint32_t v)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

int device_save(struct device *dev, struct state_buf *b)
{
	char name[DEVICE_NAME_LEN] = "";
	size_t hdr = b->len, payload;

	strncpy(name, dev->ops->name, sizeof(name) - 1);
	save_bytes(b, name, sizeof(name));
	save_u32(b, dev->ops->version);
	save_u32(b, 0);		/* length and hash, filled in below */
	save_u32(b, 0);
	pthread_mutex_lock(&dev->lock);
	if (dev->ops->save)
		dev->ops->save(dev, b);
	pthread_mutex_unlock(&dev->lock);
	if (b->error)
		return -ENOMEM;
	payload = b->len - hdr - SECTION_HDR;
	poke_u32(b->data + hdr + DEVICE_NAME_LEN + 4, payload);
	poke_u32(b->data + hdr + DEVICE_NAME_LEN + 8,
		 state_hash(b->data + hdr + SECTION_HDR, payload));
	return 0;
}

int device_load(struct device *dev, struct state_buf *b)
{
	char name[DEVICE_NAME_LEN], want[DEVICE_NAME_LEN] = "";
	uint32_t version, len, hash;
	int ret;

	b->error = false;
	b->end = b->len;
	load_bytes(b, name, sizeof(name));
	version = load_u32(b);
	len = load_u32(b);
	hash = load_u32(b);
	strncpy(want, dev->ops->name, sizeof(want) - 1);
	if (b->error || memcmp(name, want, sizeof(name)) ||
	    version != dev->ops->version || len > b->len - b->pos ||
	    state_hash(b->data + b->pos, len) != hash)
		return -EINVAL;
	b->end = b->pos + len;
	pthread_mutex_lock(&dev->lock);
	ret = dev->ops->load ? dev->ops->load(dev, b) : 0;
	if (!ret && (b->error || b->pos != b->end))
		ret = -EINVAL;
	if (ret && dev->ops->reset)
		dev->ops->reset(dev);
	pthread_mutex_unlock(&dev->lock);
	b->pos = b->end;
	return ret;
}
