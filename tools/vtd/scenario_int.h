/* SPDX-License-Identifier: MIT */
/*
 * Scenario internals shared by the parser (scenario_parse.c), the name
 * tables (scenario_names.c) and the runner (scenario_exec.c).
 *
 * A parsed script is an array of commands.  Every value in a command is
 * already a number (expressions, variables and names are resolved while
 * parsing); v[slot] holds the value of the key with that slot and bit slot
 * of `have` says it was given.
 */
#ifndef VTD_TOOL_SCENARIO_INT_H
#define VTD_TOOL_SCENARIO_INT_H

#include "scenario.h"

#define SC_NSLOT 20
#define SC_NAME_MAX 32

enum sc_op {
    OP_UNIT = 1, OP_USE, OP_RESET, OP_HOLE, OP_WRITE, OP_FILL,
    OP_ROOT, OP_CONTEXT, OP_SLPTE, OP_SLMAP, OP_SLUNMAP, OP_IRTE, OP_PID,
    OP_MMIO_WRITE, OP_MMIO_READ, OP_GCMD, OP_QI, OP_QI_RUN,
    OP_DMA, OP_MSI, OP_PRINT,
    OP_EX_TRANSLATED, OP_EX_FAULT, OP_EX_BLOCKED, OP_EX_IRQ, OP_EX_FRCD,
    OP_EX_REG, OP_EX_MEM, OP_EX_MSI, OP_EX_NO_MSI, OP_EX_DIAG, OP_EX_NO_DIAG,
    OP_DRV_INIT, OP_DRV_DISABLE, OP_DRV_DOMAIN, OP_DRV_ATTACH, OP_DRV_DETACH, OP_DRV_MAP, OP_DRV_UNMAP,
    OP_DRV_FLUSH, OP_DRV_FAULTS, OP_EX_DRV_FAULT,
    OP_DRV_NESTED, OP_DRV_IRTE_ALLOC, OP_DRV_IRTE_FREE, OP_DRV_IRTE_REMAP, OP_DRV_IRTE_POST, OP_DRV_IRTE_CLEAR,
    OP_DRV_PID, OP_DRV_MSI,
};

/* Slots of each command's keys (the key tables in scenario_parse.c use them). */
enum { U_PRESET, U_VER, U_CAP, U_ECAP, U_CAP_SET, U_CAP_CLR, U_ECAP_SET, U_ECAP_CLR, U_HAW,
       U_IOTLB, U_IOTLB_WAYS, U_CTXC, U_PASIDC, U_PWC, U_IEC, U_STALE, U_QI_ASYNC };
enum { H_BASE, H_LEN };
enum { F_ADDR, F_LEN, F_BYTE };
enum { R_TABLE, R_BUS, R_CTP, R_NP, R_HI };
enum { C_TABLE, C_DEVFN, C_SLPTPTR, C_AW, C_DID, C_TT, C_FPD, C_NP };
enum { S_TABLE, S_INDEX, S_ADDR, S_PERM, S_PS, S_SNP, S_TM };
enum { M_ROOT, M_LEVELS, M_IOVA, M_PA, M_SIZE, M_PERM, M_SNP, M_TM };
enum { I_TABLE, I_INDEX, I_VECTOR, I_DEST, I_DM, I_RH, I_TM, I_DLM, I_SID, I_SQ, I_SVT,
       I_FPD, I_NP, I_POSTED, I_PDA, I_URG, I_X2APIC };
enum { P_ADDR, P_NV, P_NDST, P_ON, P_SN, P_X2APIC };
enum { Q_G, Q_DID, Q_ADDR, Q_AM, Q_IH, Q_DR, Q_DW, Q_SID, Q_FM, Q_INDEX, Q_IM, Q_PFSID,
       Q_S, Q_MIP, Q_SW, Q_IF, Q_FN, Q_DATA, Q_LO, Q_HI };
enum { D_SID, D_ADDR, D_PASID, D_PRIV, D_AT };
enum { MS_SID, MS_ADDR, MS_DATA, MS_HANDLE, MS_SUBHANDLE };
enum { ET_PA, ET_SIZE, ET_PERM };
enum { EF_REASON, EF_RECORDED, EF_SUPPRESSED };
enum { EI_KIND, EI_VECTOR, EI_DEST, EI_DLM, EI_LOGICAL, EI_LEVEL, EI_RH, EI_NOTIFIED, EI_NO_NOTIFY };
enum { ER_INDEX, ER_REASON, ER_SID, ER_ADDR, ER_TYPE };
enum { EM_ADDR, EM_DATA };
enum { ED_CODE };
/* driver commands (include/vtd/drv.h); every one takes expect=ERR (slot DV_EXPECT)
 * and most a domain name (slot SC_NAME_SLOT, in cmd->name) */
enum { DI_SCALABLE, DI_NOQI, DI_NOIR, DI_X2APIC, DI_COMPAT, DI_QIORDER, DI_IRORDER, DI_FMSI, DI_FDATA };
enum { DD_TYPE, DD_LEVELS, DD_DEFERRED };
enum { DA_SID, DA_ATS, DA_FPD, DA_PASID, DA_FLPTR, DA_LEVELS };
enum { DM_IOVA, DM_PA, DM_SIZE, DM_PERM, DM_SNOOP };
enum { EDF_REASON, EDF_SID, EDF_ADDR };
/* drv irte-*, drv pid, drv msi */
enum { DQ_INDEX, DQ_COUNT, DQ_SID, DQ_SVT, DQ_VECTOR, DQ_DEST, DQ_DLM, DQ_LOGICAL, DQ_RH, DQ_LEVEL, DQ_PID,
       DQ_URG, DQ_MULTI, DQ_N, DQ_NV, DQ_NDST, DQ_ADDR };
#define DV_EXPECT (SC_NSLOT - 2)
#define SC_NAME_SLOT (SC_NSLOT - 1)

/* command sub-kinds */
enum { QI_WAIT = 1, QI_IOTLB, QI_CC, QI_IEC, QI_DEVTLB, QI_RAW };
enum { DMA_READ = 1, DMA_WRITE, DMA_ATOMIC, DMA_EXEC, DMA_ZLR };
enum { PRESET_DEFAULT = 0, PRESET_SCALABLE = 1 };
enum { CMP_EQ = 0, CMP_NE = 1 };
enum { GCMD_SET = 0, GCMD_CLEAR = 1 };

/* A register named in a script. */
enum { REG_FIXED, REG_IVA, REG_IOTLB, REG_FRCD_LO, REG_FRCD_HI, REG_OFFSET };
struct sc_reg {
    int kind;
    uint64_t off;     /* REG_FIXED / REG_OFFSET: the offset; REG_FRCD_*: record index */
    unsigned width;   /* 4 or 8 */
    char name[SC_NAME_MAX]; /* as the script names it (or the hex offset) */
    uint64_t field;   /* expect reg R.F: mask of F (0: the whole register) */
    char fname[SC_NAME_MAX]; /* ... and F's name */
};

struct sc_cmd {
    int op, sub;
    int line, col;
    uint32_t have;
    uint64_t v[SC_NSLOT];
    uint64_t *vals; /* write8/32/64: the values; size in `sub` (1, 4, 8) */
    unsigned nvals;
    struct sc_reg reg;       /* mmio, expect reg */
    uint64_t mask;           /* expect reg: & MASK (~0 when none); gcmd: bits */
    uint64_t value;          /* mmio write / expect reg / expect mem: the value */
    uint64_t addr;           /* expect mem, write* */
    int cmp;                 /* CMP_* */
    char name[SC_NAME_MAX];  /* unit name / use */
    char *text;              /* print */
};

struct sc_script {
    char file[256];
    struct sc_cmd *cmds;
    unsigned n, cap;
    struct sc_limits lim;
    uint64_t pool_next; /* first free page after every `alloc`: slmap tables start here */
};

#define SC_HAS(c, slot) (((c)->have >> (slot)) & 1u)

/* ---- names (scenario_names.c) ---- */
struct sc_regdef {
    const char *name;
    int kind;        /* REG_FIXED, REG_IVA, REG_IOTLB */
    uint32_t off;
    unsigned width;
};
struct sc_fielddef {
    const char *reg; /* register the field belongs to ("FRCD_HI" for FRCDn_HI) */
    const char *name;
    uint64_t mask;
};
const struct sc_regdef *sc_reg_find(const char *name, size_t len);
/* field `name` of register `reg` (reg NULL: any register; first match) */
const struct sc_fielddef *sc_field_find(const char *reg, const char *name, size_t len);
/* comma-separated field names of reg, for messages (buf) */
const char *sc_field_list(const char *reg, char *buf, size_t len);
/* name of the register a sc_reg belongs to for field lookup ("GCMD", "FRCD_HI", ...) */
const char *sc_reg_fieldset(const struct sc_reg *r);
/* diag code by name (with or without VTD_DIAG_), -1 if unknown */
int sc_diag_find(const char *name, size_t len);
const char *sc_diag_name(int code); /* "STALE_IOTLB", or NULL */
/* name of the register at off, given where IVA (ECAP.IRO) and the fault
 * records (CAP.FRO, nfr of them) are; else its offset in hex, in buf */
const char *sc_reg_name_at(uint64_t off, uint64_t iro_off, uint64_t fro_off, unsigned nfr, char *buf, size_t len);

#endif
