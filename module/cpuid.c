// SPDX-License-Identifier: GPL-2.0
/*
 * The CPUID table guests see: an allow-list.
 *
 * Every feature bit a guest can see is named below, with the reason mvm
 * can offer it; a bit not listed is 0, so a feature new hardware brings
 * reaches no guest until someone has checked that mvm virtualizes it (its
 * MSRs, control-register bits, XSAVE state, or exits).  Each listed
 * feature is also taken only where the host kernel has it (boot_cpu_has(),
 * which follows clearcpuid= and the kernel's own clearing of broken
 * features), or, for the few bits Linux does not name, where the host's
 * raw CPUID has it.  Fields that are not feature flags (family, model and
 * stepping, the vendor and brand strings, address sizes, cache
 * descriptors where passed) come from the host as they are.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/types.h>
#include <asm/processor.h>

#include "mvm.h"

static_assert(sizeof(struct mvm_cpuid_entry) == 32);

#define CPUID_MAX_BASIC		0xd
#define CPUID_MAX_EXT		0x80000008

/*
 * F(word, name): X86_FEATURE_name, checked at build time to be in the
 * capability word (enum cpuid_leafs) of the register it is listed for, so
 * that its low five bits are its bit in that register.
 */
#define F(word, name)							\
	(X86_FEATURE_##name +						\
	 BUILD_BUG_ON_ZERO(X86_FEATURE_##name / 32 != (word)))

/* Ends each list below (no X86_FEATURE_* is this large). */
#define CPUID_END	U16_MAX

/* Leaf 1 EDX. */
#define F1D(name)	F(CPUID_1_EDX, name)
static const u16 mvm_cpuid_1_edx[] = {
	F1D(FPU), F1D(VME), F1D(DE), F1D(PSE), F1D(TSC), F1D(MSR), F1D(PAE),
	F1D(CX8),
	F1D(SEP),		/* the SYSENTER MSRs are the guest's */
	F1D(PGE), F1D(CMOV),
	F1D(PAT),		/* IA32_PAT is emulated */
	F1D(PSE36), F1D(CLFLUSH), F1D(MMX), F1D(FXSR), F1D(XMM), F1D(XMM2),
	F1D(SELFSNOOP),
	CPUID_END,
	/*
	 * Not APIC (mvm has none), MTRR, MCE, MCA (none of their MSRs), PSN,
	 * DS, ACPI, TM, PBE (no such MSRs either), HTT (one logical CPU).
	 */
};

/* Leaf 1 ECX. */
#define F1C(name)	F(CPUID_1_ECX, name)
static const u16 mvm_cpuid_1_ecx[] = {
	F1C(XMM3), F1C(PCLMULQDQ), F1C(SSSE3), F1C(FMA), F1C(CX16),
	F1C(PCID),		/* CR4.PCIDE is allowed */
	F1C(XMM4_1), F1C(XMM4_2), F1C(MOVBE), F1C(POPCNT), F1C(AES),
	F1C(XSAVE),
	F1C(OSXSAVE),		/* replaced at each CPUID by the guest's CR4 */
	F1C(AVX), F1C(F16C), F1C(RDRAND),
	CPUID_END,
	/*
	 * Not DTES64, MONITOR, DS_CPL, VMX, SMX, EST, TM2, CID, SDBG, xTPR,
	 * PDCM, DCA: MSRs or instructions mvm does not give the guest.  Not
	 * x2APIC or TSC deadline: no APIC.  HYPERVISOR is set, below.
	 */
};

/* Leaf 7 subleaf 0 EBX. */
#define F7B(name)	F(CPUID_7_0_EBX, name)
static const u16 mvm_cpuid_7_ebx[] = {
	F7B(FSGSBASE),		/* CR4.FSGSBASE is allowed */
	F7B(BMI1), F7B(AVX2), F7B(FDP_EXCPTN_ONLY),
	F7B(SMEP), F7B(SMAP),	/* CR4.SMEP and CR4.SMAP are allowed */
	F7B(BMI2), F7B(ERMS),
	F7B(INVPCID),		/* runs in the guest under SVM and VMX */
	F7B(RDSEED), F7B(ADX), F7B(CLFLUSHOPT), F7B(CLWB), F7B(SHA_NI),
	CPUID_END,
	/*
	 * Not TSC_ADJUST: mvm has no IA32_TSC_ADJUST, and Linux reads it
	 * with a plain RDMSR.  Not SGX, HLE, RTM, MPX, RDT (PQM/PQE) or PT:
	 * their MSRs, XSAVE state or leaves are not the guest's.
	 */
};

/* Only with the guest's AVX-512 XSAVE state (mvm_cpuid_build()). */
static const u16 mvm_cpuid_7_ebx_avx512[] = {
	F7B(AVX512F), F7B(AVX512DQ), F7B(AVX512IFMA), F7B(AVX512PF),
	F7B(AVX512ER), F7B(AVX512CD), F7B(AVX512BW), F7B(AVX512VL),
	CPUID_END,
};

/* Leaf 7 subleaf 0 ECX. */
#define F7C(name)	F(CPUID_7_ECX, name)
static const u16 mvm_cpuid_7_ecx[] = {
	F7C(UMIP),		/* CR4.UMIP is allowed */
	F7C(GFNI), F7C(VAES), F7C(VPCLMULQDQ),
	F7C(LA57),		/* as mvm_cr4_allowed() allows CR4.LA57 */
	F7C(CLDEMOTE), F7C(MOVDIRI), F7C(MOVDIR64B),
	CPUID_END,
	/*
	 * Not PKU/OSPKE (no PKRU, see mvm_xcr0_supported), WAITPKG (no
	 * IA32_UMWAIT_CONTROL), CET shadow stacks (no XSS), TME (no
	 * IA32_TME_ACTIVATE), RDPID (hidden as before: not reviewed under
	 * VMX), KL, bus-lock detection (no DEBUGCTL), ENQCMD (no
	 * IA32_PASID), SGX_LC, PKS (no IA32_PKRS).
	 */
};

static const u16 mvm_cpuid_7_ecx_avx512[] = {
	F7C(AVX512VBMI), F7C(AVX512_VBMI2), F7C(AVX512_VNNI),
	F7C(AVX512_BITALG), F7C(AVX512_VPOPCNTDQ),
	CPUID_END,
};

/* Leaf 7 subleaf 0 EDX. */
#define F7D(name)	F(CPUID_7_EDX, name)
static const u16 mvm_cpuid_7_edx[] = {
	F7D(FSRM),
	F7D(MD_CLEAR),		/* VERW runs in the guest as on the host */
	F7D(SERIALIZE),
	CPUID_END,
	/*
	 * Not SPEC_CTRL and friends (IBRS/IBPB, STIBP, L1D_FLUSH,
	 * ARCH_CAPABILITIES, CORE_CAPABILITIES, SSBD): the guest runs with
	 * the host's IA32_SPEC_CTRL and has none of these MSRs.  Not
	 * SRBDS_CTRL, TSX_FORCE_ABORT, RTM_ALWAYS_ABORT, PCONFIG, arch LBR,
	 * UINTR, IBT, TSXLDTRK, AMX: their MSRs or XSAVE state are not the
	 * guest's.  Not HYBRID_CPU: one CPU, no leaf 0x1a.
	 */
};

static const u16 mvm_cpuid_7_edx_avx512[] = {
	F7D(AVX512_4VNNIW), F7D(AVX512_4FMAPS), F7D(AVX512_VP2INTERSECT),
	F7D(AVX512_FP16),
	CPUID_END,
};

/*
 * Leaf 0xd subleaf 1 EAX: XSAVEOPT and XGETBV 1.  Not XSAVES (no XSS), and
 * not XSAVEC: the compacted area's size, EBX there, follows the guest's
 * XCR0 and this table is fixed.  A guest that sees XSAVEC with EBX 0 sizes
 * its buffers at 0 (Linux: "XSAVE consistency problem").
 */
#define FDA(name)	F(CPUID_D_1_EAX, name)
static const u16 mvm_cpuid_d1_eax[] = {
	FDA(XSAVEOPT), FDA(XGETBV1),
	CPUID_END,
};

/* Leaf 0x80000001 EDX, the bits Linux names; AMD's copies of leaf 1: below. */
#define F8D(name)	F(CPUID_8000_0001_EDX, name)
static const u16 mvm_cpuid_81_edx[] = {
	F8D(SYSCALL),		/* STAR, LSTAR, CSTAR, SFMASK are the guest's */
	F8D(NX), F8D(MMXEXT), F8D(GBPAGES),
	F8D(RDTSCP),		/* TSC_AUX is emulated */
	F8D(LM), F8D(3DNOWEXT), F8D(3DNOW),
	CPUID_END,
	/*
	 * Not MP (one CPU), not FXSR_OPT: EFER.FFXSR is not a bit a guest
	 * may set (EFER_ALLOWED).
	 */
};

/*
 * AMD repeats leaf 1 EDX bits 0-9, 12-17, 23 and 24 in leaf 0x80000001
 * EDX (APM vol. 3, E.4.2); they are shown there exactly as in leaf 1.
 */
#define CPUID_81_EDX_LEAF1	(GENMASK(9, 0) | GENMASK(17, 12) | \
				 GENMASK(24, 23))

/* Leaf 0x80000001 ECX. */
#define F8C(name)	F(CPUID_8000_0001_ECX, name)
static const u16 mvm_cpuid_81_ecx[] = {
	F8C(LAHF_LM), F8C(ABM), F8C(SSE4A), F8C(MISALIGNSSE),
	F8C(3DNOWPREFETCH), F8C(XOP), F8C(FMA4), F8C(TBM),
	CPUID_END,
	/*
	 * Not CMP_LEGACY or TOPOEXT (one CPU: no topology), SVM, EXTAPIC or
	 * CR8_LEGACY (no APIC or TPR), OSVW, IBS, SKINIT, WDT, LWP, TCE,
	 * NODEID_MSR, BPEXT, the perf counters, PTSC, MWAITX: MSRs,
	 * instructions or EFER bits mvm does not give the guest.
	 */
};

/* Leaf 0x80000007 EDX bit 8, invariant TSC: the raw host bit (no word). */
#define CPUID_87_EDX_INVARIANT_TSC	BIT(8)

#define CPUID_1_ECX_HYPERVISOR	BIT(X86_FEATURE_HYPERVISOR & 31)
#define CPUID_1_ECX_OSXSAVE	BIT(X86_FEATURE_OSXSAVE & 31)

/*
 * A vCPU's table is looked up directly for leaves 0 to MVM_CPUID_DIRECT - 1
 * of the basic and the extended (0x80000000) ranges, and subleaves 0 to
 * MVM_CPUID_DIRECT - 1: @pos holds the number of the entry that answers,
 * plus one, or 0 for none.  Other leaves and subleaves, which a guest
 * rarely asks for, are searched.  Built when the table is stored, in the
 * same allocation, right after its entries; the supported table's once,
 * at load, which each new vCPU copies with the entries (a VM made and
 * closed cost 5 % more with a build per vCPU).
 */
#define MVM_CPUID_DIRECT	32
#define MVM_CPUID_EXT		0x80000000U

struct mvm_cpuid_index {
	u16 pos[2][MVM_CPUID_DIRECT][MVM_CPUID_DIRECT];
};

static_assert(MVM_MAX_CPUID_ENTRIES < U16_MAX);

/* The subleaf row of leaf @f, or NULL if @f is not in the index. */
static u16 *mvm_cpuid_row(struct mvm_cpuid_index *x, u32 f)
{
	u32 leaf = f & ~MVM_CPUID_EXT;

	if (leaf >= MVM_CPUID_DIRECT)
		return NULL;
	/* @f is the guest's: no speculative read past the index either. */
	leaf = array_index_nospec(leaf, MVM_CPUID_DIRECT);
	return x->pos[f >> 31][leaf];
}

/*
 * The first entry that matches, in the table's order, is the answer (as
 * mvm_cpuid_find() finds it): walking the table backwards, an earlier
 * entry overwrites a later one.
 */
static void mvm_cpuid_index_build(struct mvm_cpuid_index *x,
				  const struct mvm_cpuid_entry *t, u32 n)
{
	u32 k, i;

	memset(x, 0, sizeof(*x));
	for (k = n; k-- > 0;) {
		const struct mvm_cpuid_entry *e = &t[k];
		u16 *row = mvm_cpuid_row(x, e->function);

		if (!row)
			continue;
		if (!(e->flags & MVM_CPUID_FLAG_INDEX)) {
			for (i = 0; i < MVM_CPUID_DIRECT; i++)
				row[i] = k + 1;
		} else if (e->index < MVM_CPUID_DIRECT) {
			row[e->index] = k + 1;
		}
	}
}

/*
 * What MVM_GET_SUPPORTED_CPUID returns and a new vCPU starts with: its
 * entries and, right after them, their index, which a new vCPU copies.
 */
static struct mvm_cpuid_entry *mvm_cpuid_supported;
static u32 mvm_cpuid_supported_nent;

/* The bits of @f, one capability word up to CPUID_END, the host has. */
static u32 mvm_cpuid_mask(const u16 *f)
{
	u32 mask = 0;

	for (; *f != CPUID_END; f++)
		if (boot_cpu_has(*f))
			mask |= BIT(*f & 31);
	return mask;
}

static void mvm_cpuid_zero(struct mvm_cpuid_entry *e)
{
	e->eax = 0;
	e->ebx = 0;
	e->ecx = 0;
	e->edx = 0;
}

/*
 * @e holds the host's raw CPUID for its leaf: keep what the guest may see.
 * @xcr0 is the XCR0 a guest may set and @xsave_size the standard-format
 * area for it.
 */
static void mvm_cpuid_filter(struct mvm_cpuid_entry *e, u64 xcr0,
			     unsigned int xsave_size)
{
	bool avx512 = (xcr0 & XFEATURE_MASK_AVX512) == XFEATURE_MASK_AVX512;

	switch (e->function) {
	case 0:
		/* EBX, ECX, EDX: the vendor string. */
		e->eax = min_t(u32, e->eax, CPUID_MAX_BASIC);
		break;
	case 1:
		/* EAX: family, model, stepping. */
		e->ebx &= 0xffff;	/* no APIC: id and counts 0 */
		e->ecx &= mvm_cpuid_mask(mvm_cpuid_1_ecx);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		e->edx &= mvm_cpuid_mask(mvm_cpuid_1_edx);
		break;
	case 7:
		if (e->index) {
			mvm_cpuid_zero(e);
			break;
		}
		e->eax = 0;		/* no subleaf 1 */
		e->ebx &= mvm_cpuid_mask(mvm_cpuid_7_ebx) |
			  (avx512 ? mvm_cpuid_mask(mvm_cpuid_7_ebx_avx512) : 0);
		e->ecx &= mvm_cpuid_mask(mvm_cpuid_7_ecx) |
			  (avx512 ? mvm_cpuid_mask(mvm_cpuid_7_ecx_avx512) : 0);
		e->edx &= mvm_cpuid_mask(mvm_cpuid_7_edx) |
			  (avx512 ? mvm_cpuid_mask(mvm_cpuid_7_edx_avx512) : 0);
		break;
	case 0xd:
		if (e->index == 0) {
			/* EBX: the host's size for its XCR0, as it is. */
			e->eax = (u32)xcr0;
			e->edx = (u32)(xcr0 >> 32);
			e->ecx = xsave_size;
		} else if (e->index == 1) {
			e->eax &= mvm_cpuid_mask(mvm_cpuid_d1_eax);
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
		} else if (!(xcr0 & BIT_ULL(e->index))) {
			mvm_cpuid_zero(e);
		}
		/* A state component's size and offset: the host's. */
		break;
	case 0x80000000:
		e->eax = min_t(u32, e->eax, CPUID_MAX_EXT);
		break;
	case 0x80000001:
		/* EAX, EBX: signature and brand id. */
		e->ecx &= mvm_cpuid_mask(mvm_cpuid_81_ecx);
		e->edx &= mvm_cpuid_mask(mvm_cpuid_81_edx) |
			  (mvm_cpuid_mask(mvm_cpuid_1_edx) & CPUID_81_EDX_LEAF1);
		break;
	case 0x80000007:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = 0;
		e->edx &= CPUID_87_EDX_INVARIANT_TSC;
		break;
	case 0x80000008:
		/* EAX: the address sizes. */
		e->ebx = 0;		/* IBPB and friends */
		e->ecx = 0;		/* core counts */
		e->edx = 0;
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
		/* The brand string. */
	case 0x80000005: case 0x80000006:
		/* Cache and TLB descriptors. */
		break;
	default:
		/*
		 * 2-6, 8-0xc: cache descriptors, topology, MONITOR, power,
		 * DCA, perfmon, x2APIC topology: zero.
		 */
		mvm_cpuid_zero(e);
		break;
	}
}

static int mvm_cpuid_build(u64 xcr0, unsigned int xsave_size)
{
	u32 max_basic = min_t(u32, cpuid_eax(0), CPUID_MAX_BASIC);
	u32 max_ext = min_t(u32, cpuid_eax(0x80000000), CPUID_MAX_EXT);
	struct mvm_cpuid_entry *t;
	u32 f, n = 0;

	t = kzalloc(MVM_MAX_CPUID_ENTRIES * sizeof(*t) +
		    sizeof(struct mvm_cpuid_index), GFP_KERNEL);
	if (!t)
		return -ENOMEM;

	for (f = 0; f <= max_basic; f++) {
		u32 i, nsub = 1;

		if (f == 7 || f == 0xd)
			nsub = f == 7 ? 2 : 64;
		for (i = 0; i < nsub && n < MVM_MAX_CPUID_ENTRIES; i++) {
			struct mvm_cpuid_entry *e = &t[n];

			if (f == 0xd && i >= 2 && !(xcr0 & BIT_ULL(i)))
				continue;
			e->function = f;
			e->index = i;
			if (nsub > 1)
				e->flags = MVM_CPUID_FLAG_INDEX;
			cpuid_count(f, i, &e->eax, &e->ebx, &e->ecx, &e->edx);
			mvm_cpuid_filter(e, xcr0, xsave_size);
			n++;
		}
	}
	for (f = 0x80000000; f <= max_ext && n < MVM_MAX_CPUID_ENTRIES; f++) {
		struct mvm_cpuid_entry *e = &t[n++];

		e->function = f;
		cpuid_count(f, 0, &e->eax, &e->ebx, &e->ecx, &e->edx);
		mvm_cpuid_filter(e, xcr0, xsave_size);
	}
	mvm_cpuid_index_build((struct mvm_cpuid_index *)(t + n), t, n);
	mvm_cpuid_supported = t;
	mvm_cpuid_supported_nent = n;
	return 0;
}

int mvm_cpuid_init(u64 xcr0, unsigned int xsave_size)
{
	return mvm_cpuid_build(xcr0, xsave_size);
}

void mvm_cpuid_exit(void)
{
	kfree(mvm_cpuid_supported);
}

/* Room for @n entries and their index, which the caller builds. */
static struct mvm_cpuid_entry *mvm_cpuid_alloc(u32 n)
{
	return kmalloc(n * sizeof(struct mvm_cpuid_entry) +
		       sizeof(struct mvm_cpuid_index), GFP_KERNEL_ACCOUNT);
}

/*
 * @t, of @n entries from mvm_cpuid_alloc() and their index (built unless
 * @indexed), becomes the vCPU's table.
 */
static void mvm_cpuid_store(struct mvm_vcpu *vcpu, struct mvm_cpuid_entry *t,
			    u32 n, bool indexed)
{
	struct mvm_cpuid_index *x = (struct mvm_cpuid_index *)(t + n);

	if (!indexed)
		mvm_cpuid_index_build(x, t, n);
	kfree(vcpu->cpuid);
	vcpu->cpuid = t;
	vcpu->cpuid_nent = n;
	vcpu->cpuid_index = x;
}

/* A new vCPU's table: the supported one, with its index as built once. */
int mvm_vcpu_init_cpuid(struct mvm_vcpu *vcpu)
{
	u32 n = mvm_cpuid_supported_nent;
	struct mvm_cpuid_entry *t = mvm_cpuid_alloc(n);

	if (!t)
		return -ENOMEM;
	memcpy(t, mvm_cpuid_supported,
	       n * sizeof(*t) + sizeof(struct mvm_cpuid_index));
	mvm_cpuid_store(vcpu, t, n, true);
	return 0;
}

static const struct mvm_cpuid_entry *
mvm_cpuid_find(const struct mvm_cpuid_entry *t, u32 n, u32 f, u32 i)
{
	u32 k;

	for (k = 0; k < n; k++)
		if (t[k].function == f &&
		    (!(t[k].flags & MVM_CPUID_FLAG_INDEX) || t[k].index == i))
			return &t[k];
	return NULL;
}

static const struct mvm_cpuid_entry *
mvm_cpuid_lookup(const struct mvm_vcpu *vcpu, u32 f, u32 i)
{
	const u16 *row = mvm_cpuid_row(vcpu->cpuid_index, f);
	u16 pos;

	if (!row || i >= MVM_CPUID_DIRECT)
		return mvm_cpuid_find(vcpu->cpuid, vcpu->cpuid_nent, f, i);
	pos = row[array_index_nospec(i, MVM_CPUID_DIRECT)];
	return pos ? &vcpu->cpuid[pos - 1] : NULL;
}

void mvm_handle_cpuid(struct mvm_vcpu *vcpu, u64 cr4, u32 *eax, u32 *ebx,
		      u32 *ecx, u32 *edx)
{
	const struct mvm_cpuid_entry *e;
	u32 f = *eax, i = *ecx;

	e = mvm_cpuid_lookup(vcpu, f, i);
	if (!e) {
		*eax = 0;
		*ebx = 0;
		*ecx = 0;
		*edx = 0;
		return;
	}
	*eax = e->eax;
	*ebx = e->ebx;
	*ecx = e->ecx;
	*edx = e->edx;
	/*
	 * OSXSAVE is CR4.OSXSAVE as the guest set it (SDM vol. 2A, CPUID
	 * leaf 1), whatever the table says: a guest kernel that left XSAVE
	 * off, and a program believing the table, would fault in XGETBV.
	 */
	if (f == 1) {
		*ecx &= ~CPUID_1_ECX_OSXSAVE;
		if (cr4 & X86_CR4_OSXSAVE)
			*ecx |= CPUID_1_ECX_OSXSAVE;
	}
}

static int mvm_cpuid_copy_out(void __user *argp,
			      const struct mvm_cpuid_entry *t, u32 n)
{
	struct mvm_cpuid hdr;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < n) {
		hdr.nent = n;
		if (copy_to_user(argp, &hdr, sizeof(hdr)))
			return -EFAULT;
		return -E2BIG;
	}
	hdr.nent = n;
	hdr.pad = 0;
	if (copy_to_user(argp, &hdr, sizeof(hdr)) ||
	    copy_to_user(argp + sizeof(hdr), t, n * sizeof(*t)))
		return -EFAULT;
	return 0;
}

int mvm_vcpu_get_cpuid(struct mvm_vcpu *vcpu, void __user *argp)
{
	return mvm_cpuid_copy_out(argp, vcpu->cpuid, vcpu->cpuid_nent);
}

long mvm_get_supported_cpuid(void __user *argp)
{
	return mvm_cpuid_copy_out(argp, mvm_cpuid_supported,
				  mvm_cpuid_supported_nent);
}

int mvm_vcpu_set_cpuid(struct mvm_vcpu *vcpu, void __user *argp)
{
	struct mvm_cpuid_entry *t;
	struct mvm_cpuid hdr;
	u32 i;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	if (hdr.nent > MVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	t = mvm_cpuid_alloc(hdr.nent);
	if (!t)
		return -ENOMEM;
	if (copy_from_user(t, argp + sizeof(hdr), hdr.nent * sizeof(*t))) {
		kfree(t);
		return -EFAULT;
	}
	for (i = 0; i < hdr.nent; i++) {
		if (t[i].pad || (t[i].flags & ~MVM_CPUID_FLAG_INDEX)) {
			kfree(t);
			return -EINVAL;
		}
	}
	mvm_cpuid_store(vcpu, t, hdr.nent, false);
	return 0;
}
