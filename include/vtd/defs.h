/* SPDX-License-Identifier: MIT */
/*
 * VT-d architectural structures, fault reasons and invalidation descriptors,
 * plus the model's stable diagnostic codes.  Bit positions follow the spec;
 * 128-bit entries are two little-endian qwords (lo = bits 63:0, hi = 127:64).
 */
#ifndef VTD_DEFS_H
#define VTD_DEFS_H

#include <vtd/regs.h>

/* ---- Legacy root entry (128 bits), 256 per table, indexed by bus ---- */
#define VTD_ROOT_SIZE 16
#define VTD_ROOT_LO_P VTD_BIT(0)
#define VTD_ROOT_LO_CTP_MASK VTD_GENMASK(63, 12)
#define VTD_ROOT_LO_RSVD VTD_GENMASK(11, 1) /* hi qword: all reserved */

/* ---- Legacy context entry (128 bits), 256 per table, indexed by devfn ---- */
#define VTD_CTX_SIZE 16
#define VTD_CTX_LO_P VTD_BIT(0)
#define VTD_CTX_LO_FPD VTD_BIT(1)
#define VTD_CTX_LO_TT_SHIFT 2
#define VTD_CTX_LO_TT_MASK VTD_GENMASK(3, 2)
#define VTD_CTX_LO_RSVD VTD_GENMASK(11, 4)
#define VTD_CTX_LO_SLPTPTR_MASK VTD_GENMASK(63, 12)
#define VTD_CTX_HI_AW_MASK VTD_GENMASK(2, 0)  /* bits 66:64 */
#define VTD_CTX_HI_AVAIL_MASK VTD_GENMASK(6, 3) /* bits 70:67, software use */
#define VTD_CTX_HI_RSVD7 VTD_BIT(7)           /* bit 71 */
#define VTD_CTX_HI_DID_SHIFT 8                /* bits 87:72 */
#define VTD_CTX_HI_DID_MASK VTD_GENMASK(23, 8)
#define VTD_CTX_HI_RSVD VTD_GENMASK(63, 24) /* bits 127:88 */
#define VTD_TT_UNTRANSLATED 0 /* untranslated requests only */
#define VTD_TT_DEVTLB 1       /* also translation and translated requests (ECAP.DT) */
#define VTD_TT_PASSTHROUGH 2  /* ECAP.PT */
#define VTD_TT_RESERVED 3
#define VTD_AW_39 1 /* 3-level */
#define VTD_AW_48 2 /* 4-level */
#define VTD_AW_57 3 /* 5-level */

/* ---- Scalable-mode root entry (128 bits, RTADDR.TTM=01), 256 per table, indexed by bus ----
 * lo: LP 0, LCTP 63:12 (context table for devfn 0-127); hi: UP 64, UCTP 127:76
 * (devfn 128-255).  The same layout in each half. */
#define VTD_SMROOT_P VTD_BIT(0)            /* LP (lo) / UP (hi) */
#define VTD_SMROOT_RSVD VTD_GENMASK(11, 1) /* lo 11:1 / hi 75:65 */
#define VTD_SMROOT_CTP_MASK VTD_GENMASK(63, 12)

/* ---- Scalable-mode context entry (256 bits), 128 per table, indexed by devfn[6:0] ---- */
#define VTD_SMCTX_SIZE 32
#define VTD_SMCTX_P VTD_BIT(0)
#define VTD_SMCTX_FPD VTD_BIT(1)
#define VTD_SMCTX_DTE VTD_BIT(2)    /* device-TLB enable (ECAP.DT) */
#define VTD_SMCTX_PASIDE VTD_BIT(3) /* requests with PASID allowed (ECAP.PASID) */
#define VTD_SMCTX_PRE VTD_BIT(4)    /* page requests allowed (ECAP.PRS) */
#define VTD_SMCTX_HPTE VTD_BIT(5)   /* host permission table enable (ECAP.HPTS) */
#define VTD_SMCTX_EPTR VTD_BIT(6)   /* PASID in translated requests (ECAP.PTRS) */
#define VTD_SMCTX_RSVD_LO VTD_GENMASK(8, 7)
#define VTD_SMCTX_PDTS_SHIFT 9      /* 11:9: the directory has 2^(PDTS+7) entries */
#define VTD_SMCTX_PDTS_MASK VTD_GENMASK(11, 9)
#define VTD_SMCTX_PASIDDIRPTR_MASK VTD_GENMASK(63, 12)
#define VTD_SMCTX_Q1_RID_PASID_MASK VTD_GENMASK(19, 0) /* 83:64 (ECAP.RPS) */
#define VTD_SMCTX_Q1_RID_PRIV VTD_BIT(20)              /* 84 (ECAP.RPRIVS) */
#define VTD_SMCTX_Q1_RSVD VTD_GENMASK(63, 21)          /* 127:85; q2, q3 reserved */

/* ---- Scalable-mode PASID directory entry (64 bits), indexed by PASID[19:6] ---- */
#define VTD_PDE_SIZE 8
#define VTD_PDE_P VTD_BIT(0)
#define VTD_PDE_FPD VTD_BIT(1)
#define VTD_PDE_RSVD VTD_GENMASK(11, 2)
#define VTD_PDE_PTP_MASK VTD_GENMASK(63, 12) /* SMPTBLPTR */

/* ---- Scalable-mode PASID-table entry (512 bits = q0..q7), 64 per table,
 *      indexed by PASID[5:0] (Rev 5.10 §9.6; first/second stage = first/second level) ---- */
#define VTD_PE_SIZE 64
#define VTD_PE_Q0_P VTD_BIT(0)
#define VTD_PE_Q0_FPD VTD_BIT(1)
#define VTD_PE_Q0_AW_SHIFT 2              /* 4:2 */
#define VTD_PE_Q0_AW_MASK VTD_GENMASK(4, 2)
#define VTD_PE_Q0_RSVD5 VTD_BIT(5)        /* SLEE before Rev 5.0: reserved in 5.10 */
#define VTD_PE_Q0_PGTT_SHIFT 6            /* 8:6 */
#define VTD_PE_Q0_PGTT_MASK VTD_GENMASK(8, 6)
#define VTD_PE_Q0_SSADE VTD_BIT(9)        /* second-stage A/D enable (ECAP.SLADS) */
#define VTD_PE_Q0_RSVD VTD_GENMASK(11, 10)
#define VTD_PE_Q0_SSPTPTR_MASK VTD_GENMASK(63, 12)
#define VTD_PE_Q1_DID_MASK VTD_GENMASK(15, 0) /* 79:64 */
#define VTD_PE_Q1_RSVD VTD_GENMASK(22, 16)    /* 86:80 */
#define VTD_PE_Q1_PWSNP VTD_BIT(23)           /* 87 (ECAP.SMPWCS) */
#define VTD_PE_Q1_PGSNP VTD_BIT(24)           /* 88 (ECAP.SC) */
#define VTD_PE_Q1_CD VTD_BIT(25)              /* 89 (ECAP.MTS) */
#define VTD_PE_Q1_EMTE VTD_BIT(26)            /* 90 (ECAP.MTS) */
#define VTD_PE_Q1_RSVD2 VTD_GENMASK(31, 27)   /* 95:91 */
#define VTD_PE_Q1_PAT_MASK VTD_GENMASK(63, 32) /* 127:96 (ECAP.MTS) */
#define VTD_PE_Q2_SRE VTD_BIT(0)              /* 128 (ECAP.SRS) */
#define VTD_PE_Q2_RSVD1 VTD_BIT(1)            /* 129 (ERE before Rev 5.0) */
#define VTD_PE_Q2_FSPM_SHIFT 2                /* 131:130 (ECAP.FLTS) */
#define VTD_PE_Q2_FSPM_MASK VTD_GENMASK(3, 2)
#define VTD_PE_Q2_WPE VTD_BIT(4)              /* 132 (ECAP.FLTS) */
#define VTD_PE_Q2_IGN VTD_GENMASK(6, 5)       /* 134:133, ignored */
#define VTD_PE_Q2_EAFE VTD_BIT(7)             /* 135 (ECAP.EAFS) */
#define VTD_PE_Q2_RSVD VTD_GENMASK(11, 8)     /* 139:136 */
#define VTD_PE_Q2_FSPTPTR_MASK VTD_GENMASK(63, 12) /* 191:140 (ECAP.FLTS) */
/* q3 (255:192) reserved; q4, q5: host permission table (ECAP.HPTS): HPTSZ
 * 257:256, HPTPFD 258, HPTPTR 319:268, HPTDID 335:320; q6, q7 reserved */
#define VTD_PE_Q4_HPT_MASK (VTD_GENMASK(2, 0) | VTD_GENMASK(63, 12))
#define VTD_PE_Q5_HPTDID_MASK VTD_GENMASK(15, 0)

/* ---- Second-level paging entry (64 bits), 512 per table ---- */
#define VTD_SL_R VTD_BIT(0)
#define VTD_SL_W VTD_BIT(1)
#define VTD_SL_X VTD_BIT(2)
#define VTD_SL_EMT_MASK VTD_GENMASK(5, 3)
#define VTD_SL_IPAT VTD_BIT(6)
#define VTD_SL_PS VTD_BIT(7)
#define VTD_SL_A VTD_BIT(8)
#define VTD_SL_D VTD_BIT(9)
#define VTD_SL_SNP VTD_BIT(11)
#define VTD_SL_ADDR_MASK VTD_GENMASK(51, 12)
#define VTD_SL_TM VTD_BIT(62)
/* ---- First-level paging entry (64 bits), 512 per table (Rev 5.10 §9.7) ----
 * Bits 63:52 are ignored (Rev 5.10 has no XD bit), 51:HAW reserved. */
#define VTD_FL_P VTD_BIT(0)
#define VTD_FL_RW VTD_BIT(1)
#define VTD_FL_US VTD_BIT(2)
#define VTD_FL_PWT VTD_BIT(3)
#define VTD_FL_PCD VTD_BIT(4)
#define VTD_FL_A VTD_BIT(5)
#define VTD_FL_D VTD_BIT(6)          /* leaf only */
#define VTD_FL_PS VTD_BIT(7)         /* PDPE / PDE; reserved in PML5E / PML4E; PAT in a PTE */
#define VTD_FL_EA VTD_BIT(10)        /* extended accessed (PASID entry EAFE=1) */
#define VTD_FL_PAT_LARGE VTD_BIT(12) /* PAT of a 2 MiB / 1 GiB leaf */
#define VTD_FL_ADDR_MASK VTD_GENMASK(51, 12)
#define VTD_PAGE_SHIFT 12
#define VTD_PAGE_SIZE 4096ULL
#define VTD_LEVEL_STRIDE 9

/* ---- Fault reasons ---- */
/* Legacy-mode DMA remapping */
#define VTD_FR_ROOT_NOT_PRESENT 0x01     /* root entry P=0 */
#define VTD_FR_CTX_NOT_PRESENT 0x02      /* context entry P=0 */
#define VTD_FR_CTX_INVALID 0x03          /* invalid context programming (AW, TT, SLPTPTR) */
#define VTD_FR_ADDR_BEYOND_AW 0x04       /* input address above AGAW / MGAW */
#define VTD_FR_NO_WRITE 0x05             /* write to a page without W */
#define VTD_FR_NO_READ 0x06              /* read from a page without R */
#define VTD_FR_SL_READ_ERROR 0x07        /* error reading a second-level entry */
#define VTD_FR_ROOT_READ_ERROR 0x08      /* error reading the root table */
#define VTD_FR_CTX_READ_ERROR 0x09       /* error reading the context table */
#define VTD_FR_ROOT_RSVD 0x0A            /* reserved bits in a root entry */
#define VTD_FR_CTX_RSVD 0x0B             /* reserved bits in a context entry */
#define VTD_FR_SL_RSVD 0x0C              /* reserved bits in a second-level entry */
#define VTD_FR_TT_BLOCKED 0x0D           /* TT does not allow this request type */
#define VTD_FR_INTR_RANGE 0x0E           /* output address in the interrupt range */
/* Interrupt remapping */
#define VTD_FR_IR_REQ_RSVD 0x20
#define VTD_FR_IR_INDEX 0x21
#define VTD_FR_IR_NOT_PRESENT 0x22
#define VTD_FR_IR_READ_ERROR 0x23
#define VTD_FR_IR_RSVD 0x24
#define VTD_FR_IR_COMPAT_BLOCKED 0x25
#define VTD_FR_IR_SID 0x26
#define VTD_FR_IR_PID_READ_ERROR 0x27
#define VTD_FR_IR_PID_RSVD 0x28
#define VTD_FR_IR_UNTRANSLATED 0x29
/* Root-table-address faults (not qualified; Rev 5.10 Table 30 condition codes) */
#define VTD_FR_RTA_TTM_INVALID 0x30 /* RTA.1: latched TTM not supported (10; 01 w/o SMTS; 11 w/o ADMS) */
#define VTD_FR_RTA_PASID_LEGACY 0x31 /* RTA.2: request with PASID in legacy mode */
#define VTD_FR_RTA_PRQ_LEGACY 0x32  /* RTA.3: page request in legacy mode */
#define VTD_FR_RTA_ABORT_DMA 0x33   /* RTA.4: abort-DMA mode (TTM=11 with ECAP.ADMS) */
#define VTD_FR_RTA_EXEC 0x34        /* RTA.5: VER major >= 8, request with PASID and ER=1 */
/* Scalable mode (Table 30): "q" marks the qualified ones (FPD suppresses them) */
#define VTD_FR_SM_ROOT_READ_ERROR 0x38  /* SRT.1: error reading the root entry */
#define VTD_FR_SM_ROOT_NOT_PRESENT 0x39 /* SRT.2: LP/UP = 0 */
#define VTD_FR_SM_ROOT_RSVD 0x3A        /* SRT.3: reserved bits in the present half */
#define VTD_FR_SM_CTX_READ_ERROR 0x40   /* SCT.1: error reading the context entry */
#define VTD_FR_SM_CTX_NOT_PRESENT 0x41  /* SCT.2 q: P = 0 */
#define VTD_FR_SM_CTX_RSVD 0x42         /* SCT.3 q: reserved bits */
#define VTD_FR_SM_CTX_INVALID 0x43      /* SCT.4 q: DTE=0 with PRE=1; RID_PASID beyond PDTS; EPTR=1 with PASIDE=0 */
#define VTD_FR_SM_CTX_DTE 0x44          /* SCT.5 q: translation / translated request with DTE = 0 */
#define VTD_FR_SM_CTX_PASIDE 0x45       /* SCT.6 q: request with PASID with PASIDE = 0 */
#define VTD_FR_SM_CTX_PDTS 0x46         /* SCT.7 q: PASID beyond the directory (PDTS) */
#define VTD_FR_SM_CTX_PRE 0x47          /* SCT.8 q: page request with PRE = 0 */
#define VTD_FR_SM_CTX_RID_PASID 0x48    /* SCT.9 q: request's PASID equals the context's RID_PASID */
#define VTD_FR_SM_CTX_EPTR 0x49         /* SCT.10 q: translated request with PASID and EPTR = 0 */
#define VTD_FR_SM_PDE_READ_ERROR 0x50   /* SPD.1: error reading the PASID-directory entry */
#define VTD_FR_SM_PDE_NOT_PRESENT 0x51  /* SPD.2 q: P = 0 */
#define VTD_FR_SM_PDE_RSVD 0x52         /* SPD.3 q: reserved bits */
#define VTD_FR_SM_PTE_READ_ERROR 0x58   /* SPT.1: error reading the PASID-table entry */
#define VTD_FR_SM_PTE_NOT_PRESENT 0x59  /* SPT.2 q: P = 0 */
#define VTD_FR_SM_PTE_RSVD 0x5A         /* SPT.3 q: reserved bits */
#define VTD_FR_SM_PTE_INVALID 0x5B      /* SPT.4 q: AW, PGTT or FSPM not supported; nested FSPTPTR beyond AW */
#define VTD_FR_SM_PTE_PGTT VTD_FR_SM_PTE_INVALID
#define VTD_FR_SM_EXEC_UNSUPPORTED 0x5C /* SPT.5 q: VER major <= 7, request with PASID and ER=1, ECAP.ERS=0 */
#define VTD_FR_SM_PTE_SRE 0x5D          /* SPT.6 q: privileged request (PR, or RID_PRIV) with SRE = 0 */
#define VTD_FR_SM_HPT_SIZE 0x60         /* SPT.9 q: translated request beyond the HPT size (ECAP.HPTS) */
#define VTD_FR_SM_FL_READ_ERROR 0x70    /* SFS.1 q: error reading a first-level entry below the top */
#define VTD_FR_SM_FL_NOT_PRESENT 0x71   /* SFS.2 q: first-level P = 0 */
#define VTD_FR_SM_FL_RSVD 0x72          /* SFS.3 q: first-level reserved bits */
#define VTD_FR_SM_FL_PML4_READ_ERROR 0x73 /* SFS.4 q: error reading the table FSPTPTR names */
#define VTD_FR_SM_FL_NESTED_ADDR 0x74   /* SFS.5 q: nested: first-level ADDR beyond the second-level AW */
#define VTD_FR_SM_FL_NESTED_TOP_READ 0x75 /* SFS.6 q: nested: FSPTPTR table not readable through the SL */
#define VTD_FR_SM_FL_NESTED_READ 0x76   /* SFS.7 q: nested: a first-level table not readable through the SL */
#define VTD_FR_SM_FL_NESTED_AD_WRITE 0x77 /* SFS.8 q: nested: A/D/EA update blocked by SL write permission */
#define VTD_FR_SM_SL_READ_ERROR 0x78    /* SSS.1 q: error reading a second-level entry below the top */
#define VTD_FR_SM_SL_PERM 0x79          /* SSS.2 q: SL entry R=W=0, or neither R nor W granted cumulatively */
#define VTD_FR_SM_SL_RSVD 0x7A          /* SSS.3 q: SL reserved bits */
#define VTD_FR_SM_SL_PTR 0x7B           /* SSS.4 q: error reading the table SSPTPTR names */
#define VTD_FR_SM_SL_AD_NOSNOOP 0x7C    /* SSS.5 q: SL A/D update needed, page walks not snooped */
#define VTD_FR_SM_SL_AD_FAILED 0x7D     /* SSS.6 q: SL A/D update failed */
#define VTD_FR_SM_NON_CANONICAL 0x80    /* SGN.1 q: first-level input not canonical */
#define VTD_FR_SM_USER_SUPERVISOR 0x81  /* SGN.2 q: user request to a supervisor page */
#define VTD_FR_SM_NO_EXECUTE 0x82       /* before Rev 5.0 (execute requests): not in Rev 5.10, unused */
#define VTD_FR_SM_ADDR_BEYOND_HAW 0x83  /* SGN.4 q: translated or pass-through (PGTT=100) address above HAW */
#define VTD_FR_SM_ADDR_BEYOND_MAX VTD_FR_SM_ADDR_BEYOND_HAW
#define VTD_FR_SM_ADDR_BEYOND_AW 0x84   /* SGN.5 q: second-level-only input above min(MGAW, AW) */
#define VTD_FR_SM_NO_WRITE 0x85         /* SGN.6 q: write / atomic lacks write permission */
#define VTD_FR_SM_NO_READ 0x86          /* SGN.7 q: read / atomic lacks read permission */
#define VTD_FR_SM_INTR_RANGE 0x87       /* SGN.8 q: output address in the interrupt range */
#define VTD_FR_SM_PASID_SIZE 0x89       /* SGN.10 q: PASID beyond ECAP.PSS */
#define VTD_FR_SM_FL_AD_NOSNOOP 0x90    /* SFS.9 q: first-level A/D update needed, walks not snooped */
#define VTD_FR_SM_FL_AD_FAILED 0x91     /* SFS.10 q: first-level A/D update failed */

/* ---- Interrupt remapping table entry (128 bits: lo = bits 63:0, hi = 127:64) ---- */
#define VTD_IRTE_P VTD_BIT(0)
#define VTD_IRTE_FPD VTD_BIT(1)
#define VTD_IRTE_DM VTD_BIT(2)             /* remapped: destination mode (1 logical) */
#define VTD_IRTE_RH VTD_BIT(3)             /* remapped: redirection hint */
#define VTD_IRTE_TM VTD_BIT(4)             /* remapped: trigger mode (1 level) */
#define VTD_IRTE_DLM_SHIFT 5               /* remapped: delivery mode 7:5 */
#define VTD_IRTE_URG VTD_BIT(14)           /* posted: urgent */
#define VTD_IRTE_IM VTD_BIT(15)            /* IRTE mode: 1 posted (CAP.PI) */
#define VTD_IRTE_V_SHIFT 16                /* vector 23:16 */
#define VTD_IRTE_DST_SHIFT 32              /* remapped: destination 63:32 (xAPIC: 47:40) */
#define VTD_IRTE_PDAL_SHIFT 38             /* posted: descriptor address 31:6 in 63:38 */
#define VTD_IRTE_RSVD_LO (VTD_GENMASK(14, 12) | VTD_GENMASK(31, 24))
#define VTD_IRTE_RSVD_LO_XAPIC (VTD_GENMASK(39, 32) | VTD_GENMASK(63, 48))
#define VTD_IRTE_PI_RSVD_LO (VTD_GENMASK(7, 2) | VTD_GENMASK(13, 12) | VTD_GENMASK(37, 24))
#define VTD_IRTE_HI_SID_MASK VTD_GENMASK(15, 0)  /* hi: source-id 79:64 */
#define VTD_IRTE_HI_SQ_SHIFT 16                  /* hi: source-id qualifier 81:80 */
#define VTD_IRTE_HI_SVT_SHIFT 18                 /* hi: source validation type 83:82 */
#define VTD_IRTE_HI_RSVD VTD_GENMASK(63, 20)     /* remapped: 127:84 */
#define VTD_IRTE_PI_HI_RSVD VTD_GENMASK(31, 20)  /* posted: 95:84 (PDA_H in 127:96) */
enum { VTD_SVT_NONE = 0, VTD_SVT_SID = 1, VTD_SVT_BUS = 2 };
/* Remappable-format MSI */
#define VTD_MSI_ADDR_BASE 0xFEE00000ULL
#define VTD_MSI_ADDR_FORMAT VTD_BIT(4)     /* 1: remappable */
#define VTD_MSI_ADDR_SHV VTD_BIT(3)        /* remappable: subhandle valid; compatibility: RH */
#define VTD_MSI_ADDR_HANDLE15 VTD_BIT(2)   /* remappable: handle[15]; compatibility: DM */
#define VTD_MSI_DATA_RSVD VTD_GENMASK(31, 16)
/* Posted-interrupt descriptor (64 bytes): PIR 255:0, control qword at byte 32 */
#define VTD_PID_CTL_OFF 32
#define VTD_PID_ON VTD_BIT(0)
#define VTD_PID_SN VTD_BIT(1)
#define VTD_PID_NV_SHIFT 16                /* 23:16 of the control qword */
#define VTD_PID_NDST_SHIFT 32              /* 63:32 of the control qword */
#define VTD_PID_CTL_RSVD (VTD_GENMASK(15, 2) | VTD_GENMASK(31, 24))
#define VTD_PID_CTL_RSVD_XAPIC (VTD_GENMASK(39, 32) | VTD_GENMASK(63, 48)) /* NDST 7:0, 31:16 */
/* IEC invalidation descriptor */
#define VTD_DESC_IEC_G VTD_BIT(4)          /* 1: index-selective */
#define VTD_DESC_IEC_IM_SHIFT 27           /* IM 31:27 */
#define VTD_DESC_IEC_IIDX_SHIFT 32         /* IIDX 47:32 */
#define VTD_DESC_IEC_RSVD_LO (VTD_GENMASK(8, 5) | VTD_GENMASK(26, 12) | VTD_GENMASK(63, 48))

/* ---- Invalidation descriptor types: bits 3:0 | bits 11:9 << 4 ---- */
#define VTD_DESC_CC 1
#define VTD_DESC_IOTLB 2
#define VTD_DESC_DEVTLB 3
#define VTD_DESC_IEC 4
#define VTD_DESC_WAIT 5
#define VTD_DESC_PIOTLB 6
#define VTD_DESC_PC 7
#define VTD_DESC_PDEVTLB 8
#define VTD_DESC_PGRP_RESP 9

/* Page request descriptor (page_req_dsc, §7.4.1.1, 256 bits; written by the
 * unit into the page request queue).  q0: */
#define VTD_PRQ_DESC_TYPE 0x01                 /* 7:0 */
#define VTD_PRQ_DESC_PP VTD_BIT(8)             /* PASID present */
#define VTD_PRQ_DESC_RID_SHIFT 16              /* 31:16 */
#define VTD_PRQ_DESC_PASID_SHIFT 32            /* 51:32 */
#define VTD_PRQ_DESC_EXR VTD_BIT(52)           /* execute requested */
#define VTD_PRQ_DESC_PMR VTD_BIT(53)           /* privilege mode requested */
/* q1: */
#define VTD_PRQ_DESC_RDR VTD_BIT(0)            /* bit 64: read requested */
#define VTD_PRQ_DESC_WRR VTD_BIT(1)            /* bit 65: write requested */
#define VTD_PRQ_DESC_LPIG VTD_BIT(2)           /* bit 66: last page in group */
#define VTD_PRQ_DESC_PRGI_SHIFT 3              /* 75:67 */
#define VTD_PRQ_DESC_PRGI_MASK VTD_GENMASK(11, 3)
#define VTD_PRQ_DESC_ADDR_MASK VTD_GENMASK(63, 12) /* 127:76 */
#define VTD_PRQ_DESC_SIZE 32
/* Descriptor fields; lo = qword 0, hi = qword 1 */
#define VTD_DESC_TYPE_LO_MASK VTD_GENMASK(3, 0)   /* type bits 3:0 */
#define VTD_DESC_TYPE_HI_MASK VTD_GENMASK(11, 9)  /* type bits 6:4 */
#define VTD_DESC_G_SHIFT 4                        /* context-cache / IOTLB granularity 5:4 */
#define VTD_DESC_G_MASK VTD_GENMASK(5, 4)
#define VTD_DESC_DID_SHIFT 16                     /* context-cache / IOTLB DID 31:16 */
#define VTD_DESC_DID_MASK VTD_GENMASK(31, 16)
#define VTD_DESC_CC_SID_SHIFT 32                  /* SID 47:32 */
#define VTD_DESC_CC_FM_SHIFT 48                   /* FM 49:48 */
#define VTD_DESC_CC_RSVD_LO (VTD_GENMASK(8, 6) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 50))
#define VTD_DESC_IOTLB_DW VTD_BIT(6)              /* drain writes */
#define VTD_DESC_IOTLB_DR VTD_BIT(7)              /* drain reads */
#define VTD_DESC_IOTLB_RSVD_LO (VTD_BIT(8) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 32))
#define VTD_DESC_IOTLB_AM_MASK VTD_GENMASK(5, 0)  /* hi */
#define VTD_DESC_IOTLB_IH VTD_BIT(6)              /* hi */
#define VTD_DESC_IOTLB_RSVD_HI VTD_GENMASK(11, 7)
/* PASID-based IOTLB / PASID-cache descriptors: PASID 51:32 */
#define VTD_DESC_PASID_SHIFT 32
#define VTD_DESC_PASID_MASK VTD_GENMASK(51, 32)
#define VTD_DESC_PIOTLB_RSVD_LO (VTD_GENMASK(8, 6) | VTD_GENMASK(15, 12) | VTD_GENMASK(63, 52))
#define VTD_DESC_PIOTLB_G_PASID 2 /* G 10b: PASID-selective (within the domain) */
#define VTD_DESC_PIOTLB_G_PAGE 3  /* G 11b: page-selective within the PASID */
#define VTD_DESC_ADDR_MASK VTD_GENMASK(63, 12)    /* hi: IOTLB / device-TLB ADDR */
#define VTD_DESC_DEVTLB_PFSID_LO_SHIFT 12         /* PFSID 3:0 in 15:12 */
#define VTD_DESC_DEVTLB_PFSID_HI_SHIFT 52         /* PFSID 15:4 in 63:52 */
#define VTD_DESC_DEVTLB_MIP_SHIFT 16              /* max invalidations pending 20:16 */
#define VTD_DESC_DEVTLB_SID_SHIFT 32              /* SID 47:32 */
#define VTD_DESC_DEVTLB_RSVD_LO (VTD_GENMASK(8, 4) | VTD_GENMASK(31, 21) | VTD_GENMASK(51, 48))
#define VTD_DESC_DEVTLB_S VTD_BIT(0)              /* hi: size encoded in ADDR */
#define VTD_DESC_DEVTLB_RSVD_HI VTD_GENMASK(11, 1)
#define VTD_DESC_WAIT_IF VTD_BIT(4)               /* interrupt (ICS.IWC, IECTL event) */
#define VTD_DESC_WAIT_SW VTD_BIT(5)               /* status write */
#define VTD_DESC_WAIT_FN VTD_BIT(6)               /* fence */
#define VTD_DESC_WAIT_PD VTD_BIT(7)               /* page-request drain (ECAP.PDS) */
#define VTD_DESC_WAIT_STDATA_SHIFT 32             /* status data 63:32 */
#define VTD_DESC_WAIT_RSVD_LO (VTD_BIT(8) | VTD_GENMASK(31, 12)) /* and PD without PDS */
#define VTD_DESC_WAIT_ADDR_MASK VTD_GENMASK(63, 2) /* hi: status address */
#define VTD_DESC_WAIT_RSVD_HI VTD_GENMASK(1, 0)

/* ---- Diagnostic codes (struct vtd_diag.code): stable, never renumbered ---- */
enum vtd_diag_code {
    /* MMIO access */
    VTD_DIAG_MMIO_SIZE = 1,         /* access size not 4 or 8 */
    VTD_DIAG_MMIO_UNALIGNED = 2,    /* access not naturally aligned */
    VTD_DIAG_MMIO_UNKNOWN = 3,      /* offset is no register of this unit */
    VTD_DIAG_REG_RESERVED = 4,      /* a write set reserved bits of a register */
    VTD_DIAG_REG_READONLY = 5,      /* a write to a read-only register */
    /* GCMD */
    VTD_DIAG_GCMD_MULTI = 10,       /* more than one command in one GCMD write */
    VTD_DIAG_GCMD_UNSUPPORTED = 11, /* a command bit for a capability not advertised */
    VTD_DIAG_TE_NO_ROOT = 12,       /* TE set before a root table pointer was latched */
    VTD_DIAG_RTADDR_TTM = 13,       /* RTADDR.TTM holds a value this unit does not support */
    VTD_DIAG_WBF_UNNEEDED = 14,     /* WBF written while CAP.RWBF is 0 */
    VTD_DIAG_PMR_CHANGE_ENABLED = 15, /* PLM/PHM register written while PMRs are enabled */
    VTD_DIAG_PMR_UNSUPPORTED = 16,  /* PMEN/PLM/PHM used without CAP.PLMR/PHMR */
    VTD_DIAG_GCMD_PERSIST_DROPPED = 17, /* a one-shot command cleared persistent bits (no shadow) */
    /* Register-based invalidation */
    VTD_DIAG_CCMD_GRANULARITY = 20,  /* CCMD.CIRG 00 (reserved) */
    VTD_DIAG_IOTLB_GRANULARITY = 21, /* IOTLB.IIRG 00 (reserved) */
    VTD_DIAG_IOTLB_PSI_UNSUPPORTED = 22, /* page-selective requested without CAP.PSI */
    VTD_DIAG_IOTLB_AM = 23,          /* IVA.AM above CAP.MAMV */
    VTD_DIAG_IOTLB_ADDR_ALIGN = 24,  /* IVA.ADDR not aligned to 2^AM pages */
    VTD_DIAG_INVAL_WHILE_QI = 25,    /* register-based invalidation while QI is enabled */
    VTD_DIAG_INVAL_VERSION = 27,     /* register-based invalidation on a VER >= 6 unit (rejected) */
    /* Table contents */
    VTD_DIAG_ROOT_RSVD = 30,   /* root entry reserved bits set */
    VTD_DIAG_CTX_RSVD = 31,    /* context entry reserved bits set (incl. DID bits beyond CAP.ND) */
    VTD_DIAG_CTX_AW = 32,      /* context AW not supported by SAGAW */
    VTD_DIAG_CTX_TT = 33,      /* context TT reserved or not supported */
    VTD_DIAG_SL_RSVD = 34,     /* second-level entry reserved bits set */
    VTD_DIAG_PASID_RSVD = 35,  /* PASID directory or PASID-table entry reserved bits set (52h/5Ah) */
    VTD_DIAG_READ_ERROR = 36,  /* a table pointer names memory the platform does not back */
    VTD_DIAG_PASID_INVALID = 37, /* PASID-table entry PGTT/AW/FSPM not supported (5Bh) */
    VTD_DIAG_SM_CTX_INVALID = 38, /* scalable-mode context entry inconsistent, e.g. RID_PASID beyond PDTS (43h) */
    /* Stale caches: a cached translation no longer matching memory was used */
    VTD_DIAG_STALE_CONTEXT = 40, /* context-cache entry used after the entry changed */
    VTD_DIAG_STALE_IOTLB = 41,   /* IOTLB entry used after the tables changed */
    VTD_DIAG_STALE_NEGATIVE = 42, /* cached not-present entry used (CAP.CM) after it became present */
    VTD_DIAG_STALE_IEC = 43,     /* interrupt entry cache entry used after the IRTE changed */
    VTD_DIAG_STALE_PASID = 44,   /* PASID-cache entry used after the PASID directory/table entry changed */
    /* Requests (API use) */
    VTD_DIAG_REQ_PASID_LEGACY = 51, /* request with PASID to a legacy-mode unit (31h) */
    VTD_DIAG_REQ_INTR_RANGE = 52,   /* untranslated write to the interrupt range: an interrupt, not DMA */
    /* Queued invalidation (qi.c) */
    VTD_DIAG_QI_DISABLE_PENDING = 60, /* GCMD.QIE cleared while IQH != IQT: pending descriptors dropped */
    VTD_DIAG_QI_IQA_WHILE_ENABLED = 61, /* IQA written while queued invalidation is enabled */
    VTD_DIAG_QI_BAD_TAIL = 62,      /* IQT beyond the queue size (IQE, IQEI=1) */
    VTD_DIAG_QI_FETCH_ERROR = 63,   /* descriptor fetch from memory the platform does not back (IQEI=2) */
    VTD_DIAG_QI_DESC_TYPE = 64,     /* unknown or unsupported descriptor type (IQEI=3) */
    VTD_DIAG_QI_DESC_RSVD = 65,     /* descriptor reserved bits or reserved granularity (IQEI=4) */
    VTD_DIAG_QI_WIDTH = 66,         /* IQA.DW=1 on a unit without 256-bit descriptors (IQEI=5) */
    VTD_DIAG_QI_TAIL_ALIGN = 67,    /* IQT bit 4 set with 256-bit descriptors (IQEI=6) */
    VTD_DIAG_QI_IOTLB_AM = 68,      /* IOTLB descriptor AM above CAP.MAMV (IQEI=4) */
    VTD_DIAG_QI_WAIT_WRITE = 69,    /* wait descriptor status write to unbacked memory (dropped) */
    VTD_DIAG_QI_DEVTLB_TIMEOUT = 70, /* device-TLB invalidations not completed in time (ITE) */
    VTD_DIAG_QI_UNEXPECTED_COMPLETION = 71, /* device-TLB invalidation completion with none pending (ICE) */
    VTD_DIAG_QI_DEVTLB_OVERFLOW = 72, /* more device-TLB invalidations pending than the unit tracks */
    /* Interrupt remapping (ir.c, posted.c) */
    VTD_DIAG_IR_IRE_NO_IRTP = 80,   /* GCMD.IRE set before any SIRTP */
    VTD_DIAG_IR_IRTE_RSVD = 81,     /* IRTE reserved bits set (24h) */
    VTD_DIAG_IR_PID = 82,           /* posted-interrupt descriptor unreadable or reserved bits set (27h/28h) */
    /* Page requests (prq.c) */
    VTD_DIAG_PRQ_WRITE = 90,    /* page request descriptor write to memory the platform does not back */
    VTD_DIAG_PRQ_BAD_TAIL = 91, /* PQT at or beyond the page request queue size (PQA.PQS) */
    VTD_DIAG_PRQ_TE_OFF = 92,   /* page request while translation is disabled (GSTS.TES=0) */
};

#endif
