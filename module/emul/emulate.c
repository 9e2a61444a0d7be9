// SPDX-License-Identifier: GPL-2.0
/*
 * Emulation of the guest instructions the hardware leaves to us: loads and
 * stores that reach MMIO, string port output, and stepping over intercepted
 * instructions when the hardware does not say where the next one starts.
 *
 * The emulator reads the guest by virtual address through a software walk
 * of the guest's page tables (paging.c), and decodes with decode.c.  The
 * address of an MMIO access is the one the hardware reported, never one
 * computed from the instruction.
 *
 * What is not emulated: segment limit and type checks (the hardware made
 * them when it ran the instruction), protection keys, and the accessed and
 * dirty bits (see paging.c).  Debug traps (RFLAGS.TF, DR7 breakpoints)
 * after an emulated instruction are not delivered, and the interrupt
 * shadow is the backend's to clear.
 *
 * Every entry point may sleep, and is called without vm->slots_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include <linux/mvm.h>
#include "decode.h"
#include "mvm.h"
#include "paging.h"

/* A REP string instruction runs this many elements, then the guest again. */
#define MVM_STRING_BATCH	4096

/* An exception for the guest, from a walk that failed. */
struct mvm_fault {
	u8 vector;
	u32 error;
	u64 cr2;
};

/* What the walk needs of the vCPU state, read once per emulation. */
struct mvm_ctx {
	struct mvm_vcpu *vcpu;
	struct mvm_regs regs;
	struct mvm_sregs sregs;
	unsigned int mode;	/* 16, 32 or 64, for mvm_decode() */
};

static void mvm_ctx_init(struct mvm_ctx *ctx, struct mvm_vcpu *vcpu)
{
	const struct mvm_sregs *s = &ctx->sregs;

	ctx->vcpu = vcpu;
	mvm_ops->get_regs(vcpu, &ctx->regs);
	mvm_ops->get_sregs(vcpu, &ctx->sregs);

	/*
	 * Real and virtual-8086 mode are 16-bit whatever CS holds; 64-bit
	 * mode needs both EFER.LMA and CS.L; otherwise CS.D decides (SDM
	 * vol. 1, 3.6; APM vol. 2, 4.8).
	 */
	if (!(s->cr0 & X86_CR0_PE) || ctx->regs.rflags & X86_EFLAGS_VM)
		ctx->mode = 16;
	else if (s->efer & EFER_LMA && s->cs.l)
		ctx->mode = 64;
	else
		ctx->mode = s->cs.db ? 32 : 16;
}

/* Outside 64-bit mode linear addresses, and EIP, are 32 bits. */
static u64 mvm_addr_mask(const struct mvm_ctx *ctx)
{
	return ctx->mode == 64 ? ~0ULL : 0xffffffffULL;
}

static u64 mvm_next_rip(const struct mvm_ctx *ctx, unsigned int len)
{
	return (ctx->regs.rip + len) & mvm_addr_mask(ctx);
}

static bool mvm_user_mode(const struct mvm_ctx *ctx)
{
	return ctx->sregs.ss.dpl == 3;
}

/* 64-bit mode ignores the ES, CS, SS and DS bases (SDM vol. 1, 3.4.2.1). */
static u64 mvm_seg_base(const struct mvm_ctx *ctx, int seg)
{
	const struct mvm_sregs *s = &ctx->sregs;

	switch (seg) {
	case MVM_SEG_FS:
		return s->fs.base;
	case MVM_SEG_GS:
		return s->gs.base;
	}
	if (ctx->mode == 64)
		return 0;
	switch (seg) {
	case MVM_SEG_ES:
		return s->es.base;
	case MVM_SEG_CS:
		return s->cs.base;
	case MVM_SEG_SS:
		return s->ss.base;
	default:
		return s->ds.base;
	}
}

static int mvm_read_phys(void *vm, u64 gpa, void *buf, unsigned int len)
{
	return mvm_read_guest_phys(vm, gpa, buf, len);
}

/*
 * Translates @gva for an access of @access (MVM_PFERR_*) with paging.c.
 * Returns 0 with *@gpa, -EACCES with the guest's #PF or #GP in *@fault, or
 * -EFAULT if a page table is not in guest RAM.
 */
static int mvm_gva_to_gpa(const struct mvm_ctx *ctx, u64 gva, u32 access,
			  u64 *gpa, struct mvm_fault *fault)
{
	const struct mvm_sregs *s = &ctx->sregs;
	const struct mvm_paging p = {
		.cr0 = s->cr0,
		.cr3 = s->cr3,
		.cr4 = s->cr4,
		.efer = s->efer,
		.rflags = ctx->regs.rflags,
		/* The hardware checks guest entries against the host's. */
		.maxphyaddr = boot_cpu_data.x86_phys_bits,
		.read_phys = mvm_read_phys,
		.opaque = ctx->vcpu->vm,
	};
	u32 error = 0;
	int r;

	r = mvm_paging_walk(&p, gva, access, gpa, &error);
	if (r == -EACCES)
		*fault = (struct mvm_fault){
			.vector = X86_TRAP_PF, .error = error, .cr2 = gva,
		};
	else if (r == -EINVAL)
		*fault = (struct mvm_fault){ .vector = X86_TRAP_GP };
	return r == -EINVAL ? -EACCES : r;
}

/*
 * Reads @len bytes at linear address @gva, a page at a time.  Returns 0,
 * or the mvm_gva_to_gpa() error for the first page that fails (-EFAULT
 * too for a page that is not RAM); *@done says how many bytes came first.
 */
static int mvm_read_virt(const struct mvm_ctx *ctx, u64 gva, void *buf,
			 unsigned int len, u32 access, unsigned int *done,
			 struct mvm_fault *fault)
{
	u8 *dst = buf;
	int r;

	*done = 0;
	while (*done < len) {
		unsigned int n = min_t(unsigned int, len - *done,
				       PAGE_SIZE - offset_in_page(gva));
		u64 gpa;

		r = mvm_gva_to_gpa(ctx, gva, access, &gpa, fault);
		if (r)
			return r;
		if (mvm_read_guest_phys(ctx->vcpu->vm, gpa, dst + *done, n))
			return -EFAULT;
		*done += n;
		gva = (gva + n) & mvm_addr_mask(ctx);
	}
	return 0;
}

/*
 * Fetches up to 15 bytes at CS:RIP into @bytes (zero beyond what was
 * fetched).  Stops at the first page it cannot read: the instruction may
 * well end before it.  Returns the bytes fetched; 0 with a fault in
 * *@fault if the first byte faulted, or 0 and no fault otherwise.
 */
static unsigned int mvm_fetch(const struct mvm_ctx *ctx,
			      u8 bytes[MVM_INSN_MAX], struct mvm_fault *fault,
			      bool *faulted)
{
	u64 rip = ctx->regs.rip & mvm_addr_mask(ctx);
	u64 gva = (mvm_seg_base(ctx, MVM_SEG_CS) + rip) & mvm_addr_mask(ctx);
	u32 access = MVM_PFERR_FETCH | (mvm_user_mode(ctx) ? MVM_PFERR_USER : 0);
	unsigned int done;
	int r;

	memset(bytes, 0, MVM_INSN_MAX);
	r = mvm_read_virt(ctx, gva, bytes, MVM_INSN_MAX, access, &done, fault);
	*faulted = r == -EACCES && !done;
	return done;
}

/* The first 8 bytes of an instruction, for mvm_run.internal.data[0]. */
static u64 mvm_insn_word(const u8 bytes[MVM_INSN_MAX])
{
	u64 word = 0;
	unsigned int i;

	for (i = 0; i < 8; i++)
		word |= (u64)bytes[i] << (8 * i);
	return word;
}

static void mvm_queue_fault(struct mvm_vcpu *vcpu,
			    const struct mvm_fault *fault)
{
	if (fault->vector == X86_TRAP_PF)
		mvm_ops->queue_exception(vcpu, X86_TRAP_PF, true, fault->error,
					 fault->cr2);
	else
		mvm_ops->queue_exception(vcpu, fault->vector, true, 0, 0);
}

/*
 * STOS to MMIO: one element per exit.  Steps rDI (and rCX for REP) by
 * the address size, and leaves RIP on the instruction while a REP has
 * elements left, so the guest runs it again and the next element exits
 * again (SDM vol. 2, REP: the instruction is restartable).
 */
static void mvm_stos_step(struct mvm_ctx *ctx, const struct mvm_insn *insn,
			  u64 next_rip)
{
	struct mvm_regs *regs = &ctx->regs;
	unsigned int asz = insn->addr_size;
	u64 di = mvm_gpr_read(regs, MVM_GPR_RDI, asz, false);
	u64 cx = mvm_gpr_read(regs, MVM_GPR_RCX, asz, false);

	if (regs->rflags & X86_EFLAGS_DF)
		di -= insn->size;
	else
		di += insn->size;
	mvm_gpr_write(regs, MVM_GPR_RDI, asz, false, di);
	if (insn->rep) {
		mvm_gpr_write(regs, MVM_GPR_RCX, asz, false, cx - 1);
		if (cx != 1)
			return;
	}
	regs->rip = next_rip;
}

/**
 * mvm_emulate_mmio - emulate the instruction that touched MMIO
 * @vcpu:	the vCPU, whose RIP is on the instruction
 * @gpa:	the guest-physical address it accessed, which is not RAM (or
 *		is a read-only slot it wrote)
 * @write:	the access was a write
 *
 * A store goes to mvm_handle_io(), and RIP moves past the instruction once
 * it is in the ring or in vcpu->run; on an error RIP stays on it.
 * A load records in vcpu->pending what the next MVM_RUN completes with
 * mvm_complete_read().  A REP STOS with rCX 0 never gets here (it touches
 * no memory), but if it did it would only advance RIP.
 *
 * Return: 0 to enter the guest again, 1 when vcpu->run holds an exit for
 * userspace (an MMIO access, or MVM_INTERNAL_EMULATION for an instruction
 * that is not emulated or does not match the access), or a negative errno.
 */
int mvm_emulate_mmio(struct mvm_vcpu *vcpu, u64 gpa, bool write)
{
	u8 bytes[MVM_INSN_MAX];
	struct mvm_fault fault;
	struct mvm_insn insn;
	struct mvm_ctx ctx;
	unsigned int n;
	bool faulted;
	u64 data;
	int r;

	mvm_ctx_init(&ctx, vcpu);
	n = mvm_fetch(&ctx, bytes, &fault, &faulted);
	if (faulted) {
		/* The guest's tables changed under it: what it would see. */
		mvm_queue_fault(vcpu, &fault);
		return 0;
	}
	if (!n || mvm_decode(bytes, n, ctx.mode, &insn) ||
	    insn.op != (write ? MVM_INSN_STORE : MVM_INSN_LOAD))
		return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_EMULATION,
					      mvm_insn_word(bytes), gpa);

	if (insn.op == MVM_INSN_LOAD) {
		vcpu->pending = (struct mvm_pending_read){
			.active = true,
			.size = insn.size,
			.reg = insn.reg,
			.high8 = insn.high8,
			.sign = insn.sign,
			.dst_size = insn.dst_size,
			.next_rip = mvm_next_rip(&ctx, insn.len),
		};
		return mvm_handle_io(vcpu, MVM_SPACE_MMIO, gpa, insn.size,
				     false, 0);
	}

	if (insn.has_imm)
		data = insn.imm;
	else
		data = mvm_gpr_read(&ctx.regs, insn.reg, insn.size, insn.high8);
	if (insn.size < 8)
		data &= BIT_ULL(insn.size * 8) - 1;

	if (insn.string && insn.rep &&
	    !mvm_gpr_read(&ctx.regs, MVM_GPR_RCX, insn.addr_size, false)) {
		ctx.regs.rip = mvm_next_rip(&ctx, insn.len);
		mvm_ops->set_regs(vcpu, &ctx.regs);
		return 0;
	}
	/*
	 * The store is done only once the ring or userspace has it: a ring
	 * whose tail userspace broke fails MVM_RUN with the guest still on
	 * the instruction, which it runs again, as for OUT.
	 */
	r = mvm_handle_io(vcpu, MVM_SPACE_MMIO, gpa, insn.size, true, data);
	if (r < 0)
		return r;
	if (insn.string)
		mvm_stos_step(&ctx, &insn, mvm_next_rip(&ctx, insn.len));
	else
		ctx.regs.rip = mvm_next_rip(&ctx, insn.len);
	mvm_ops->set_regs(vcpu, &ctx.regs);
	return r;
}

/**
 * mvm_emulate_string_io - emulate OUTS and REP OUTS
 * @vcpu:	the vCPU, whose RIP is on the instruction
 * @port:	the port
 * @size:	bytes per element: 1, 2 or 4
 * @in:		INS; not emulated (MVM_INTERNAL_STRING_IO)
 * @rep:	a REP prefix: rCX counts the elements
 * @addr_size:	2, 4 or 8: the width of rSI and rCX; 0 to decode it
 * @seg:	the source segment as MVM_SEG_*, or MVM_SEG_NONE to take it
 *		from the instruction's prefix (DS without one)
 *
 * Each element is read from seg:rSI, written to the port with
 * mvm_handle_io(), and then rSI steps by @size (down with RFLAGS.DF) and
 * rCX counts down.  Elements go on while they are posted and rCX is not 0,
 * up to MVM_STRING_BATCH at a time; RIP moves past the instruction only
 * when none are left, so an unfinished REP runs again from where it
 * stopped (SDM vol. 2, REP).  A page fault on the source is the guest's.
 *
 * Return: 0 to enter the guest again, 1 when vcpu->run holds an exit for
 * userspace, or a negative errno from mvm_handle_io().  The exit is
 * MVM_INTERNAL_STRING_IO with data[0] the port for INS (data[1] 0), for a
 * bad @size or @addr_size (data[1] 1) and for a source that is not RAM
 * (data[1] its linear address); MVM_INTERNAL_EMULATION when the bytes at
 * CS:RIP are not OUTS.
 */
int mvm_emulate_string_io(struct mvm_vcpu *vcpu, u16 port, u8 size,
			  bool in, bool rep, u8 addr_size, int seg)
{
	u32 access = 0;
	u8 bytes[MVM_INSN_MAX];
	struct mvm_fault fault;
	struct mvm_insn insn;
	struct mvm_ctx ctx;
	unsigned int n, i;
	u64 count, next_rip;
	bool faulted;
	int r = 0;

	if (in || (size != 1 && size != 2 && size != 4) ||
	    (addr_size && addr_size != 2 && addr_size != 4 && addr_size != 8))
		return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_STRING_IO,
					      port, in ? 0 : 1);

	mvm_ctx_init(&ctx, vcpu);
	/* The exit gives no length; the prefixes and the opcode do. */
	n = mvm_fetch(&ctx, bytes, &fault, &faulted);
	if (faulted) {
		mvm_queue_fault(vcpu, &fault);
		return 0;
	}
	if (!n || mvm_decode_prefixes(bytes, n, ctx.mode, &insn) ||
	    bytes[insn.prefix_len] != (size == 1 ? 0x6e : 0x6f))
		return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_EMULATION,
					      mvm_insn_word(bytes), port);
	next_rip = mvm_next_rip(&ctx, insn.prefix_len + 1);
	if (!addr_size)
		addr_size = insn.addr_size;
	if (seg < MVM_SEG_ES || seg > MVM_SEG_GS)
		seg = insn.seg == MVM_SEG_NONE ? MVM_SEG_DS : insn.seg;
	if (mvm_user_mode(&ctx))
		access |= MVM_PFERR_USER;

	count = rep ? mvm_gpr_read(&ctx.regs, MVM_GPR_RCX, addr_size, false) : 1;
	for (i = 0; count && i < MVM_STRING_BATCH; i++) {
		u64 si = mvm_gpr_read(&ctx.regs, MVM_GPR_RSI, addr_size, false);
		u64 gva = (mvm_seg_base(&ctx, seg) + si) & mvm_addr_mask(&ctx);
		u8 buf[4] = { 0 };
		unsigned int done;
		u64 data;

		r = mvm_read_virt(&ctx, gva, buf, size, access, &done, &fault);
		if (r == -EACCES) {
			mvm_queue_fault(vcpu, &fault);
			r = 0;
			break;
		}
		if (r) {
			/* The source is not RAM: OUTS from MMIO. */
			mvm_ops->set_regs(vcpu, &ctx.regs);
			return mvm_vcpu_exit_internal(vcpu,
						      MVM_INTERNAL_STRING_IO,
						      port, gva);
		}
		data = buf[0] | buf[1] << 8 | (u64)buf[2] << 16 |
		       (u64)buf[3] << 24;

		r = mvm_handle_io(vcpu, MVM_SPACE_PIO, port, size, true, data);
		if (r < 0)
			break;

		if (ctx.regs.rflags & X86_EFLAGS_DF)
			si -= size;
		else
			si += size;
		mvm_gpr_write(&ctx.regs, MVM_GPR_RSI, addr_size, false, si);
		count--;
		if (rep)
			mvm_gpr_write(&ctx.regs, MVM_GPR_RCX, addr_size, false,
				      count);
		if (r)
			break;
	}
	if (!count)
		ctx.regs.rip = next_rip;
	mvm_ops->set_regs(vcpu, &ctx.regs);
	return r;
}

/**
 * mvm_insn_skip - step over an intercepted instruction
 * @vcpu:	the vCPU, whose RIP is on the instruction
 * @op:		its opcode bytes (0F A2 for CPUID, F4 for HLT)
 * @oplen:	how many; the instruction has no operand bytes
 *
 * For SVM without NRIP save (QEMU's), where the exit does not say where
 * the next instruction starts: the bytes at CS:RIP must be prefixes and
 * then @op, and RIP moves past them.
 *
 * Return: 0, or 1 with MVM_INTERNAL_EMULATION in vcpu->run when the bytes
 * cannot be fetched or are not @op.
 */
int mvm_insn_skip(struct mvm_vcpu *vcpu, const u8 *op, unsigned int oplen)
{
	u8 bytes[MVM_INSN_MAX];
	struct mvm_fault fault;
	struct mvm_ctx ctx;
	unsigned int n;
	bool faulted;
	int len;

	mvm_ctx_init(&ctx, vcpu);
	n = mvm_fetch(&ctx, bytes, &fault, &faulted);
	len = n ? mvm_decode_skip(bytes, n, ctx.mode, op, oplen) : -EINVAL;
	if (len < 0)
		return mvm_vcpu_exit_internal(vcpu, MVM_INTERNAL_EMULATION,
					      mvm_insn_word(bytes),
					      ctx.regs.rip);
	ctx.regs.rip = mvm_next_rip(&ctx, len);
	mvm_ops->set_regs(vcpu, &ctx.regs);
	return 0;
}
