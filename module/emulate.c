// SPDX-License-Identifier: GPL-2.0
/*
 * Emulation of the guest instructions the hardware leaves to us: loads and
 * stores that reach MMIO, string port output, and stepping over intercepted
 * instructions when the hardware does not say where the next one starts.
 *
 * The emulator reads the guest by virtual address through a software walk
 * of the guest's page tables (SDM vol. 3, chapter 4; APM vol. 2, chapter 5),
 * and decodes with decode.c.  The address of an MMIO access is the one the
 * hardware reported, never one computed from the instruction.
 *
 * What is not emulated: segment limit and type checks (the hardware made
 * them when it ran the instruction), protection keys, and the accessed and
 * dirty bits, which the walk neither sets nor needs: the hardware set them
 * when it ran the instruction, and the string operands of OUTS are only
 * read.  Debug traps (RFLAGS.TF, DR7 breakpoints) after an emulated
 * instruction are not delivered.
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
#include <asm/trap_pf.h>
#include <asm/trapnr.h>

#include <linux/mvm.h>
#include "decode.h"
#include "mvm.h"

/* Guest page-table entry bits (SDM vol. 3, 4.3 to 4.5). */
#define PTE_PRESENT	BIT_ULL(0)
#define PTE_WRITE	BIT_ULL(1)
#define PTE_USER	BIT_ULL(2)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)

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

/* The reserved physical-address bits of a 64-bit entry: M and up to @top. */
static u64 mvm_rsvd_phys(unsigned int top)
{
	unsigned int m = boot_cpu_data.x86_phys_bits;

	return m <= top ? GENMASK_ULL(top, m) : 0;
}

/* Guest-physical address of the entry for @gva in the table at @table. */
static u64 mvm_pte_gpa(u64 table, u64 gva, unsigned int level,
		       unsigned int bits, unsigned int esize)
{
	unsigned int shift = 12 + bits * (level - 1);

	return table + ((gva >> shift) & (BIT_ULL(bits) - 1)) * esize;
}

/*
 * A 4 MiB page of 32-bit paging (SDM vol. 3, 4.3, table 4-4): PDE bits
 * 20:13 are physical-address bits 39:32, those of them at or above
 * MAXPHYADDR are reserved, and so is bit 21.
 */
static int mvm_large_page_32(u64 pde, u64 gva, u64 *gpa)
{
	unsigned int m = boot_cpu_data.x86_phys_bits;
	u64 hi = (pde >> 13) & 0xff;

	if (pde & BIT_ULL(21) || (m >= 32 && m < 40 && hi >> (m - 32)))
		return -EINVAL;
	*gpa = hi << 32 | (pde & GENMASK_ULL(31, 22)) |
	       (gva & GENMASK_ULL(21, 0));
	return 0;
}

/*
 * A 2 MiB or 1 GiB page of PAE or 4-/5-level paging (tables 4-9, 4-17,
 * 4-18): the address bits below the page size, above the PAT bit (12), are
 * reserved.
 */
static int mvm_large_page_64(u64 pte, u64 gva, unsigned int level, u64 *gpa)
{
	unsigned int shift = 12 + 9 * (level - 1);

	if (pte & GENMASK_ULL(shift - 1, 13))
		return -EINVAL;
	*gpa = (pte & GENMASK_ULL(51, shift)) | (gva & GENMASK_ULL(shift - 1, 0));
	return 0;
}

/*
 * Translates @gva for an access described by @access, a set of X86_PF_WRITE,
 * X86_PF_USER and X86_PF_INSTR, and checks the rights as the hardware would
 * (SDM vol. 3, 4.6; APM vol. 2, 5.6).  Returns 0 with *@gpa, -EACCES with a
 * #PF or #GP in *@fault, or -EFAULT if a table is not in guest RAM (a
 * guest that puts its page tables in MMIO is not emulated).
 */
static int mvm_gva_to_gpa(const struct mvm_ctx *ctx, u64 gva, u32 access,
			  u64 *gpa, struct mvm_fault *fault)
{
	const struct mvm_sregs *s = &ctx->sregs;
	bool nxe = s->efer & EFER_NX, la57 = s->cr4 & X86_CR4_LA57;
	bool lma = s->efer & EFER_LMA, pae = s->cr4 & X86_CR4_PAE;
	unsigned int level, levels, bits, esize, large_top;
	bool writable = true, user = true, nx = false;
	u64 table, rsvd;
	u32 err = access;

	if (!(s->cr0 & X86_CR0_PG)) {
		*gpa = gva;
		return 0;
	}

	if (lma) {
		/* A non-canonical address is #GP, not #PF (SDM vol. 1, 3.3.7.1). */
		unsigned int vbits = la57 ? 57 : 48;

		if ((u64)((s64)(gva << (64 - vbits)) >> (64 - vbits)) != gva) {
			*fault = (struct mvm_fault){ .vector = X86_TRAP_GP };
			return -EACCES;
		}
		levels = la57 ? 5 : 4;
		bits = 9;
		esize = 8;
		large_top = 3;		/* 1 GiB and 2 MiB pages */
		rsvd = mvm_rsvd_phys(51) | (nxe ? 0 : PTE_NX);
		table = s->cr3 & GENMASK_ULL(51, 12);
	} else if (pae) {
		u64 pdpte;

		/*
		 * PAE: four PDPTEs at CR3[31:5], then two 9-bit levels (SDM
		 * vol. 3, 4.4).  Intel processors load the PDPTEs with CR3;
		 * AMD ones under nested paging read them during the walk, as
		 * this does.
		 */
		if (mvm_read_guest_phys(ctx->vcpu->vm,
					(s->cr3 & GENMASK_ULL(31, 5)) +
					((gva >> 30) & 3) * 8, &pdpte, 8))
			return -EFAULT;
		if (!(pdpte & PTE_PRESENT))
			goto not_present;
		if (pdpte & (mvm_rsvd_phys(63) | GENMASK_ULL(8, 5) |
			     GENMASK_ULL(2, 1)))
			goto reserved;
		levels = 2;
		bits = 9;
		esize = 8;
		large_top = 2;		/* 2 MiB pages */
		rsvd = mvm_rsvd_phys(62) | (nxe ? 0 : PTE_NX);
		table = pdpte & GENMASK_ULL(51, 12);
	} else {
		/* 32-bit paging: two 10-bit levels of 4-byte entries. */
		levels = 2;
		bits = 10;
		esize = 4;
		large_top = s->cr4 & X86_CR4_PSE ? 2 : 0;
		rsvd = 0;
		table = s->cr3 & GENMASK_ULL(31, 12);
	}

	/* Each pass goes down a level; level 1 always ends the walk. */
	for (level = levels; level >= 1; level--) {
		u64 pte = 0;

		/* 4-byte entries land in the low half: x86 is little-endian. */
		if (mvm_read_guest_phys(ctx->vcpu->vm,
					mvm_pte_gpa(table, gva, level, bits,
						    esize), &pte, esize))
			return -EFAULT;
		if (!(pte & PTE_PRESENT))
			goto not_present;
		if (pte & rsvd)
			goto reserved;
		writable &= !!(pte & PTE_WRITE);
		user &= !!(pte & PTE_USER);
		nx |= !!(pte & PTE_NX);

		if (level == 1) {
			*gpa = (pte & GENMASK_ULL(51, 12)) |
			       (gva & GENMASK_ULL(11, 0));
			break;
		}
		/* Bit 7 maps a page, is reserved, or (no CR4.PSE) ignored. */
		if (pte & PTE_PS && level <= large_top) {
			if (esize == 4 ? mvm_large_page_32(pte, gva, gpa) :
			    mvm_large_page_64(pte, gva, level, gpa))
				goto reserved;
			break;
		}
		if (pte & PTE_PS && esize == 8)
			goto reserved;
		table = pte & GENMASK_ULL(esize == 4 ? 31 : 51, 12);
	}

	/*
	 * The rights (SDM vol. 3, 4.6.1): a user access needs U/S in every
	 * level, and R/W for a write; a supervisor write needs R/W only with
	 * CR0.WP; a fetch faults on XD, and a supervisor one on a user page
	 * with CR4.SMEP; a supervisor data access faults on a user page with
	 * CR4.SMAP unless RFLAGS.AC.
	 */
	if (access & X86_PF_USER) {
		if (!user || (access & X86_PF_WRITE && !writable))
			goto protection;
	} else {
		if (access & X86_PF_WRITE && !writable && s->cr0 & X86_CR0_WP)
			goto protection;
		if (user && access & X86_PF_INSTR && s->cr4 & X86_CR4_SMEP)
			goto protection;
		if (user && !(access & X86_PF_INSTR) && s->cr4 & X86_CR4_SMAP &&
		    !(ctx->regs.rflags & X86_EFLAGS_AC))
			goto protection;
	}
	if (access & X86_PF_INSTR && nx)
		goto protection;
	return 0;

reserved:
	err |= X86_PF_RSVD;
protection:
	err |= X86_PF_PROT;
not_present:
	/* I/D is reported only where fetches can fault on their own (4.7). */
	if (!(s->cr4 & X86_CR4_SMEP) && !(pae && nxe))
		err &= ~X86_PF_INSTR;
	*fault = (struct mvm_fault){
		.vector = X86_TRAP_PF, .error = err, .cr2 = gva,
	};
	return -EACCES;
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
	u32 access = X86_PF_INSTR | (mvm_user_mode(ctx) ? X86_PF_USER : 0);
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
 * A store goes to mvm_handle_io() with RIP already past the instruction.
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
	if (insn.string)
		mvm_stos_step(&ctx, &insn, mvm_next_rip(&ctx, insn.len));
	else
		ctx.regs.rip = mvm_next_rip(&ctx, insn.len);
	mvm_ops->set_regs(vcpu, &ctx.regs);
	return mvm_handle_io(vcpu, MVM_SPACE_MMIO, gpa, insn.size, true, data);
}

/**
 * mvm_emulate_string_io - emulate OUTS and REP OUTS
 * @vcpu:	the vCPU, whose RIP is on the instruction
 * @port:	the port
 * @size:	bytes per element: 1, 2 or 4
 * @in:		INS; not emulated (MVM_INTERNAL_STRING_IO)
 * @rep:	a REP prefix: rCX counts the elements
 * @addr_size:	2, 4 or 8: the width of rSI and rCX
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
 * userspace, or a negative errno from mvm_handle_io().
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
	    (addr_size != 2 && addr_size != 4 && addr_size != 8))
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
	if (seg < MVM_SEG_ES || seg > MVM_SEG_GS)
		seg = insn.seg == MVM_SEG_NONE ? MVM_SEG_DS : insn.seg;
	if (mvm_user_mode(&ctx))
		access |= X86_PF_USER;

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
