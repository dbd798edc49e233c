/* SPDX-License-Identifier: MIT */
/*
 * VT-d remapping-unit registers: every offset and field, named once.
 * Field macros follow the spec's names: VTD_<REG>_<FIELD> is a bit or a mask,
 * _SHIFT/_MASK pairs give multi-bit fields.  Offsets of the fault recording
 * registers and the IOTLB registers depend on CAP.FRO and ECAP.IRO.
 */
#ifndef VTD_REGS_H
#define VTD_REGS_H

#include <stdint.h>

#define VTD_BIT(n) (1ULL << (n))
/* mask of bits hi..lo inclusive */
#define VTD_GENMASK(hi, lo) ((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1))
#define VTD_FIELD_GET(v, hi, lo) (((uint64_t)(v) & VTD_GENMASK(hi, lo)) >> (lo))
#define VTD_FIELD_PREP(x, hi, lo) ((((uint64_t)(x)) << (lo)) & VTD_GENMASK(hi, lo))

/* ---- Register offsets ---- */
#define VTD_REG_VER 0x000      /* 32 */
#define VTD_REG_CAP 0x008      /* 64 */
#define VTD_REG_ECAP 0x010     /* 64 */
#define VTD_REG_GCMD 0x018     /* 32, write-only */
#define VTD_REG_GSTS 0x01C     /* 32, read-only */
#define VTD_REG_RTADDR 0x020   /* 64 */
#define VTD_REG_CCMD 0x028     /* 64 */
#define VTD_REG_FSTS 0x034     /* 32 */
#define VTD_REG_FECTL 0x038    /* 32 */
#define VTD_REG_FEDATA 0x03C   /* 32 */
#define VTD_REG_FEADDR 0x040   /* 32 */
#define VTD_REG_FEUADDR 0x044  /* 32 */
#define VTD_REG_AFLOG 0x058    /* 64 */
#define VTD_REG_PMEN 0x064     /* 32 */
#define VTD_REG_PLMBASE 0x068  /* 32 */
#define VTD_REG_PLMLIMIT 0x06C /* 32 */
#define VTD_REG_PHMBASE 0x070  /* 64 */
#define VTD_REG_PHMLIMIT 0x078 /* 64 */
#define VTD_REG_IQH 0x080      /* 64 */
#define VTD_REG_IQT 0x088      /* 64 */
#define VTD_REG_IQA 0x090      /* 64 */
#define VTD_REG_ICS 0x09C      /* 32 */
#define VTD_REG_IECTL 0x0A0    /* 32 */
#define VTD_REG_IEDATA 0x0A4   /* 32 */
#define VTD_REG_IEADDR 0x0A8   /* 32 */
#define VTD_REG_IEUADDR 0x0AC  /* 32 */
#define VTD_REG_IQERCD 0x0B0   /* 64 */
#define VTD_REG_IRTA 0x0B8     /* 64 */
#define VTD_REG_PQH 0x0C0      /* 64 */
#define VTD_REG_PQT 0x0C8      /* 64 */
#define VTD_REG_PQA 0x0D0      /* 64 */
#define VTD_REG_PRS 0x0DC      /* 32 */
#define VTD_REG_PECTL 0x0E0    /* 32 */
#define VTD_REG_PEDATA 0x0E4   /* 32 */
#define VTD_REG_PEADDR 0x0E8   /* 32 */
#define VTD_REG_PEUADDR 0x0EC  /* 32 */
#define VTD_REG_MTRRCAP 0x100  /* 64 */
#define VTD_REG_MTRRDEF 0x108  /* 64 */
#define VTD_REG_VCCAP 0xE00    /* 64 */
#define VTD_REG_VCMD 0xE10     /* 64 */
#define VTD_REG_VCRSP 0xE20    /* 64 */

/* Offsets relative to ECAP.IRO * 16 */
#define VTD_REG_IVA_OFF 0x0   /* 64 */
#define VTD_REG_IOTLB_OFF 0x8 /* 64 */
/* Fault recording register i lives at CAP.FRO * 16 + 16 * i (128 bits). */
#define VTD_FRCD_SIZE 16

/* ---- VER ---- */
#define VTD_VER_MAX(v) (((v) >> 4) & 0xF)
#define VTD_VER_MIN(v) ((v) & 0xF)

/* ---- CAP ---- */
#define VTD_CAP_ND_SHIFT 0
#define VTD_CAP_ND_MASK VTD_GENMASK(2, 0)
#define VTD_CAP_AFL VTD_BIT(3)
#define VTD_CAP_RWBF VTD_BIT(4)
#define VTD_CAP_PLMR VTD_BIT(5)
#define VTD_CAP_PHMR VTD_BIT(6)
#define VTD_CAP_CM VTD_BIT(7)
#define VTD_CAP_SAGAW_SHIFT 8
#define VTD_CAP_SAGAW_MASK VTD_GENMASK(12, 8)
#define VTD_CAP_SAGAW_39 VTD_BIT(9)  /* 3-level, AW=1 */
#define VTD_CAP_SAGAW_48 VTD_BIT(10) /* 4-level, AW=2 */
#define VTD_CAP_SAGAW_57 VTD_BIT(11) /* 5-level, AW=3 */
#define VTD_CAP_MGAW_SHIFT 16
#define VTD_CAP_MGAW_MASK VTD_GENMASK(21, 16)
#define VTD_CAP_ZLR VTD_BIT(22)
#define VTD_CAP_FRO_SHIFT 24
#define VTD_CAP_FRO_MASK VTD_GENMASK(33, 24)
#define VTD_CAP_SLLPS_SHIFT 34
#define VTD_CAP_SLLPS_MASK VTD_GENMASK(37, 34)
#define VTD_CAP_SLLPS_2M VTD_BIT(34)
#define VTD_CAP_SLLPS_1G VTD_BIT(35)
#define VTD_CAP_PSI VTD_BIT(39)
#define VTD_CAP_NFR_SHIFT 40
#define VTD_CAP_NFR_MASK VTD_GENMASK(47, 40)
#define VTD_CAP_MAMV_SHIFT 48
#define VTD_CAP_MAMV_MASK VTD_GENMASK(53, 48)
#define VTD_CAP_DWD VTD_BIT(54)
#define VTD_CAP_DRD VTD_BIT(55)
#define VTD_CAP_FL1GP VTD_BIT(56)
#define VTD_CAP_PI VTD_BIT(59)
#define VTD_CAP_FL5LP VTD_BIT(60)
#define VTD_CAP_ECMDS VTD_BIT(61)
#define VTD_CAP_ESIRTPS VTD_BIT(62)
#define VTD_CAP_ESRTPS VTD_BIT(63)

/* ---- ECAP ---- */
#define VTD_ECAP_C VTD_BIT(0)
#define VTD_ECAP_QI VTD_BIT(1)
#define VTD_ECAP_DT VTD_BIT(2)
#define VTD_ECAP_IR VTD_BIT(3)
#define VTD_ECAP_EIM VTD_BIT(4)
#define VTD_ECAP_PT VTD_BIT(6)
#define VTD_ECAP_SC VTD_BIT(7)
#define VTD_ECAP_IRO_SHIFT 8
#define VTD_ECAP_IRO_MASK VTD_GENMASK(17, 8)
#define VTD_ECAP_MHMV_SHIFT 20
#define VTD_ECAP_MHMV_MASK VTD_GENMASK(23, 20)
#define VTD_ECAP_MTS VTD_BIT(25)
#define VTD_ECAP_NEST VTD_BIT(26)
#define VTD_ECAP_PRS VTD_BIT(29)
#define VTD_ECAP_ERS VTD_BIT(30)
#define VTD_ECAP_SRS VTD_BIT(31)
#define VTD_ECAP_NWFS VTD_BIT(33)
#define VTD_ECAP_EAFS VTD_BIT(34)
#define VTD_ECAP_PSS_SHIFT 35
#define VTD_ECAP_PSS_MASK VTD_GENMASK(39, 35)
#define VTD_ECAP_PASID VTD_BIT(40)
#define VTD_ECAP_DIT VTD_BIT(41)
#define VTD_ECAP_PDS VTD_BIT(42)
#define VTD_ECAP_SMTS VTD_BIT(43)
#define VTD_ECAP_VCS VTD_BIT(44)
#define VTD_ECAP_SLADS VTD_BIT(45)
#define VTD_ECAP_SLTS VTD_BIT(46)
#define VTD_ECAP_FLTS VTD_BIT(47)
#define VTD_ECAP_SMPWCS VTD_BIT(48)
#define VTD_ECAP_RPS VTD_BIT(49)
#define VTD_ECAP_PMS VTD_BIT(51)
#define VTD_ECAP_ADMS VTD_BIT(52)
#define VTD_ECAP_RPRIVS VTD_BIT(53)

/* ---- GCMD / GSTS (same bit positions) ---- */
#define VTD_GCMD_TE VTD_BIT(31)
#define VTD_GCMD_SRTP VTD_BIT(30)
#define VTD_GCMD_SFL VTD_BIT(29)
#define VTD_GCMD_EAFL VTD_BIT(28)
#define VTD_GCMD_WBF VTD_BIT(27)
#define VTD_GCMD_QIE VTD_BIT(26)
#define VTD_GCMD_IRE VTD_BIT(25)
#define VTD_GCMD_SIRTP VTD_BIT(24)
#define VTD_GCMD_CFI VTD_BIT(23)
#define VTD_GSTS_TES VTD_BIT(31)
#define VTD_GSTS_RTPS VTD_BIT(30)
#define VTD_GSTS_FLS VTD_BIT(29)
#define VTD_GSTS_AFLS VTD_BIT(28)
#define VTD_GSTS_WBFS VTD_BIT(27)
#define VTD_GSTS_QIES VTD_BIT(26)
#define VTD_GSTS_IRES VTD_BIT(25)
#define VTD_GSTS_IRTPS VTD_BIT(24)
#define VTD_GSTS_CFIS VTD_BIT(23)
/* Persistent GCMD bits software must write back (shadow) with each command. */
#define VTD_GCMD_PERSISTENT (VTD_GCMD_TE | VTD_GCMD_EAFL | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI)
#define VTD_GCMD_ONESHOT (VTD_GCMD_SRTP | VTD_GCMD_SFL | VTD_GCMD_WBF | VTD_GCMD_SIRTP)

/* ---- RTADDR ---- */
#define VTD_RTADDR_RTA_MASK VTD_GENMASK(63, 12)
#define VTD_RTADDR_TTM_SHIFT 10
#define VTD_RTADDR_TTM_MASK VTD_GENMASK(11, 10)
#define VTD_TTM_LEGACY 0
#define VTD_TTM_SCALABLE 1
#define VTD_TTM_RESERVED 2
#define VTD_TTM_ABORT_DMA 3

/* ---- CCMD ---- */
#define VTD_CCMD_DID_MASK VTD_GENMASK(15, 0)
#define VTD_CCMD_SID_SHIFT 16
#define VTD_CCMD_SID_MASK VTD_GENMASK(31, 16)
#define VTD_CCMD_FM_SHIFT 32
#define VTD_CCMD_FM_MASK VTD_GENMASK(33, 32)
#define VTD_CCMD_CAIG_SHIFT 59
#define VTD_CCMD_CAIG_MASK VTD_GENMASK(60, 59)
#define VTD_CCMD_CIRG_SHIFT 61
#define VTD_CCMD_CIRG_MASK VTD_GENMASK(62, 61)
#define VTD_CCMD_ICC VTD_BIT(63)
#define VTD_CC_GLOBAL 1
#define VTD_CC_DOMAIN 2
#define VTD_CC_DEVICE 3

/* ---- FSTS ---- */
#define VTD_FSTS_PFO VTD_BIT(0)
#define VTD_FSTS_PPF VTD_BIT(1)
#define VTD_FSTS_AFO VTD_BIT(2)
#define VTD_FSTS_APF VTD_BIT(3)
#define VTD_FSTS_IQE VTD_BIT(4)
#define VTD_FSTS_ICE VTD_BIT(5)
#define VTD_FSTS_ITE VTD_BIT(6)
#define VTD_FSTS_FRI_SHIFT 8
#define VTD_FSTS_FRI_MASK VTD_GENMASK(15, 8)

/* ---- FECTL / IECTL / PECTL ---- */
#define VTD_ECTL_IM VTD_BIT(31)
#define VTD_ECTL_IP VTD_BIT(30)
#define VTD_FEADDR_MASK VTD_GENMASK(31, 2)
#define VTD_FEDATA_MASK VTD_GENMASK(15, 0)

/* ---- page request queue (ECAP.PRS) ---- */
#define VTD_PQH_MASK VTD_GENMASK(18, 5) /* offset of the next descriptor software reads */
#define VTD_PQT_MASK VTD_GENMASK(18, 5) /* offset of the next descriptor hardware writes */
#define VTD_PQA_PQS_MASK VTD_GENMASK(2, 0) /* 2^PQS 4 KiB pages, 2^(PQS+7) 32-byte entries */
#define VTD_PRS_PPR VTD_BIT(0)
#define VTD_PRS_PRO VTD_BIT(1)

/* ---- AFLOG ---- */
#define VTD_AFLOG_FLS_SHIFT 9
#define VTD_AFLOG_FLS_MASK VTD_GENMASK(11, 9)
#define VTD_AFLOG_FLA_MASK VTD_GENMASK(63, 12)

/* ---- PMEN / PMR ---- */
#define VTD_PMEN_EPM VTD_BIT(31)
#define VTD_PMEN_PRS VTD_BIT(0)

/* ---- Invalidation queue (IQH/IQT/IQA/ICS/IQERCD) ---- */
#define VTD_IQH_QH_MASK VTD_GENMASK(18, 4)
#define VTD_IQT_QT_MASK VTD_GENMASK(18, 4)
#define VTD_IQA_QS_MASK VTD_GENMASK(2, 0)
#define VTD_IQA_DW VTD_BIT(11)
#define VTD_IQA_IQA_MASK VTD_GENMASK(63, 12)
#define VTD_ICS_IWC VTD_BIT(0)
#define VTD_IQERCD_IQEI_MASK VTD_GENMASK(3, 0)
#define VTD_IQERCD_ITESID_SHIFT 32
#define VTD_IQERCD_ICESID_SHIFT 48
/* IQERCD.IQEI: why FSTS.IQE was set */
#define VTD_IQEI_NONE 0        /* no detail (older hardware) */
#define VTD_IQEI_TAIL 1        /* IQT beyond the queue */
#define VTD_IQEI_FETCH 2       /* descriptor fetch failed */
#define VTD_IQEI_TYPE 3        /* invalid or unsupported descriptor type */
#define VTD_IQEI_RSVD 4        /* reserved field set in a valid descriptor type */
#define VTD_IQEI_WIDTH 5       /* IQA.DW names a width the unit does not support */
#define VTD_IQEI_TAIL_ALIGN 6  /* IQT bit 4 set with 256-bit descriptors */

/* ---- IRTA ---- */
#define VTD_IRTA_S_MASK VTD_GENMASK(3, 0)
#define VTD_IRTA_EIME VTD_BIT(11)
#define VTD_IRTA_IRTA_MASK VTD_GENMASK(63, 12)

/* ---- IVA / IOTLB ---- */
#define VTD_IVA_AM_MASK VTD_GENMASK(5, 0)
#define VTD_IVA_IH VTD_BIT(6)
#define VTD_IVA_ADDR_MASK VTD_GENMASK(63, 12)
#define VTD_IOTLB_DID_SHIFT 32
#define VTD_IOTLB_DID_MASK VTD_GENMASK(47, 32)
#define VTD_IOTLB_DW VTD_BIT(48)
#define VTD_IOTLB_DR VTD_BIT(49)
#define VTD_IOTLB_IAIG_SHIFT 57
#define VTD_IOTLB_IAIG_MASK VTD_GENMASK(58, 57)
#define VTD_IOTLB_IIRG_SHIFT 60
#define VTD_IOTLB_IIRG_MASK VTD_GENMASK(61, 60)
#define VTD_IOTLB_IVT VTD_BIT(63)
#define VTD_IOTLB_GLOBAL 1
#define VTD_IOTLB_DOMAIN 2
#define VTD_IOTLB_PAGE 3

/* ---- Fault recording register (two qwords: lo = bits 63:0, hi = 127:64) ---- */
#define VTD_FRCD_LO_FI_MASK VTD_GENMASK(63, 12)
#define VTD_FRCD_HI_SID_MASK VTD_GENMASK(15, 0)  /* bits 79:64 */
#define VTD_FRCD_HI_T2 VTD_BIT(28)               /* bit 92 */
#define VTD_FRCD_HI_PRIV VTD_BIT(29)             /* bit 93 */
#define VTD_FRCD_HI_EXE VTD_BIT(30)              /* bit 94 */
#define VTD_FRCD_HI_PP VTD_BIT(31)               /* bit 95 */
#define VTD_FRCD_HI_FR_SHIFT 32                  /* bits 103:96 */
#define VTD_FRCD_HI_FR_MASK VTD_GENMASK(39, 32)
#define VTD_FRCD_HI_PV_SHIFT 40                  /* bits 123:104 */
#define VTD_FRCD_HI_PV_MASK VTD_GENMASK(59, 40)
#define VTD_FRCD_HI_AT_SHIFT 60                  /* bits 125:124 */
#define VTD_FRCD_HI_AT_MASK VTD_GENMASK(61, 60)
#define VTD_FRCD_HI_T1 VTD_BIT(62)               /* bit 126 */
#define VTD_FRCD_HI_F VTD_BIT(63)                /* bit 127, RW1C */

/* The interrupt address range: DMA output in it faults (Eh). */
#define VTD_INTR_RANGE_BASE 0xFEE00000ULL
#define VTD_INTR_RANGE_LIMIT 0xFEEFFFFFULL

#endif
