/* SPDX-License-Identifier: MIT */
/*
 * Names a scenario may use: registers (offsets and widths of
 * <vtd/regs.h>), their fields, and the diagnostic codes of <vtd/defs.h>.
 */
#include <stdio.h>
#include <string.h>

#include <vtd/defs.h>

#include "scenario_int.h"

static const struct sc_regdef regs[] = {
    {"VER", REG_FIXED, VTD_REG_VER, 4},        {"CAP", REG_FIXED, VTD_REG_CAP, 8},
    {"ECAP", REG_FIXED, VTD_REG_ECAP, 8},      {"GCMD", REG_FIXED, VTD_REG_GCMD, 4},
    {"GSTS", REG_FIXED, VTD_REG_GSTS, 4},      {"RTADDR", REG_FIXED, VTD_REG_RTADDR, 8},
    {"CCMD", REG_FIXED, VTD_REG_CCMD, 8},      {"FSTS", REG_FIXED, VTD_REG_FSTS, 4},
    {"FECTL", REG_FIXED, VTD_REG_FECTL, 4},    {"FEDATA", REG_FIXED, VTD_REG_FEDATA, 4},
    {"FEADDR", REG_FIXED, VTD_REG_FEADDR, 4},  {"FEUADDR", REG_FIXED, VTD_REG_FEUADDR, 4},
    {"AFLOG", REG_FIXED, VTD_REG_AFLOG, 8},    {"PMEN", REG_FIXED, VTD_REG_PMEN, 4},
    {"PLMBASE", REG_FIXED, VTD_REG_PLMBASE, 4}, {"PLMLIMIT", REG_FIXED, VTD_REG_PLMLIMIT, 4},
    {"PHMBASE", REG_FIXED, VTD_REG_PHMBASE, 8}, {"PHMLIMIT", REG_FIXED, VTD_REG_PHMLIMIT, 8},
    {"IQH", REG_FIXED, VTD_REG_IQH, 8},        {"IQT", REG_FIXED, VTD_REG_IQT, 8},
    {"IQA", REG_FIXED, VTD_REG_IQA, 8},        {"ICS", REG_FIXED, VTD_REG_ICS, 4},
    {"IECTL", REG_FIXED, VTD_REG_IECTL, 4},    {"IEDATA", REG_FIXED, VTD_REG_IEDATA, 4},
    {"IEADDR", REG_FIXED, VTD_REG_IEADDR, 4},  {"IEUADDR", REG_FIXED, VTD_REG_IEUADDR, 4},
    {"IQERCD", REG_FIXED, VTD_REG_IQERCD, 8},  {"IRTA", REG_FIXED, VTD_REG_IRTA, 8},
    {"PQH", REG_FIXED, VTD_REG_PQH, 8},        {"PQT", REG_FIXED, VTD_REG_PQT, 8},
    {"PQA", REG_FIXED, VTD_REG_PQA, 8},        {"PRS", REG_FIXED, VTD_REG_PRS, 4},
    {"PECTL", REG_FIXED, VTD_REG_PECTL, 4},    {"PEDATA", REG_FIXED, VTD_REG_PEDATA, 4},
    {"PEADDR", REG_FIXED, VTD_REG_PEADDR, 4},  {"PEUADDR", REG_FIXED, VTD_REG_PEUADDR, 4},
    {"MTRRCAP", REG_FIXED, VTD_REG_MTRRCAP, 8}, {"MTRRDEF", REG_FIXED, VTD_REG_MTRRDEF, 8},
    {"VCCAP", REG_FIXED, VTD_REG_VCCAP, 8},    {"VCMD", REG_FIXED, VTD_REG_VCMD, 8},
    {"VCRSP", REG_FIXED, VTD_REG_VCRSP, 8},
    {"IVA", REG_IVA, VTD_REG_IVA_OFF, 8},      {"IOTLB", REG_IOTLB, VTD_REG_IOTLB_OFF, 8},
};

#define FLD(r, f) {#r, #f, VTD_##r##_##f}
#define FLDM(r, f) {#r, #f, VTD_##r##_##f##_MASK}
static const struct sc_fielddef fields[] = {
    {"VER", "MAX", VTD_GENMASK(7, 4)}, {"VER", "MIN", VTD_GENMASK(3, 0)},
    FLDM(CAP, ND), FLD(CAP, AFL), FLD(CAP, RWBF), FLD(CAP, PLMR), FLD(CAP, PHMR), FLD(CAP, CM),
    FLDM(CAP, SAGAW), FLD(CAP, SAGAW_39), FLD(CAP, SAGAW_48), FLD(CAP, SAGAW_57), FLDM(CAP, MGAW),
    FLD(CAP, ZLR), FLDM(CAP, FRO), FLDM(CAP, SLLPS), FLD(CAP, SLLPS_2M), FLD(CAP, SLLPS_1G),
    FLD(CAP, PSI), FLDM(CAP, NFR), FLDM(CAP, MAMV), FLD(CAP, DWD), FLD(CAP, DRD), FLD(CAP, FL1GP),
    FLD(CAP, PI), FLD(CAP, FL5LP), FLD(CAP, ECMDS), FLD(CAP, ESIRTPS), FLD(CAP, ESRTPS),
    FLD(ECAP, C), FLD(ECAP, QI), FLD(ECAP, DT), FLD(ECAP, IR), FLD(ECAP, EIM), FLD(ECAP, PT),
    FLD(ECAP, SC), FLDM(ECAP, IRO), FLDM(ECAP, MHMV), FLD(ECAP, MTS), FLD(ECAP, NEST),
    FLD(ECAP, PRS), FLD(ECAP, ERS), FLD(ECAP, SRS), FLD(ECAP, NWFS), FLD(ECAP, EAFS),
    FLDM(ECAP, PSS), FLD(ECAP, PASID), FLD(ECAP, DIT), FLD(ECAP, PDS), FLD(ECAP, SMTS),
    FLD(ECAP, VCS), FLD(ECAP, SLADS), FLD(ECAP, SLTS), FLD(ECAP, FLTS), FLD(ECAP, SMPWCS),
    FLD(ECAP, RPS), FLD(ECAP, PMS), FLD(ECAP, ADMS), FLD(ECAP, RPRIVS),
    FLD(GCMD, TE), FLD(GCMD, SRTP), FLD(GCMD, SFL), FLD(GCMD, EAFL), FLD(GCMD, WBF),
    FLD(GCMD, QIE), FLD(GCMD, IRE), FLD(GCMD, SIRTP), FLD(GCMD, CFI),
    FLD(GSTS, TES), FLD(GSTS, RTPS), FLD(GSTS, FLS), FLD(GSTS, AFLS), FLD(GSTS, WBFS),
    FLD(GSTS, QIES), FLD(GSTS, IRES), FLD(GSTS, IRTPS), FLD(GSTS, CFIS),
    {"RTADDR", "RTA", VTD_RTADDR_RTA_MASK}, FLDM(RTADDR, TTM),
    {"CCMD", "DID", VTD_CCMD_DID_MASK}, FLDM(CCMD, SID), FLDM(CCMD, FM), FLDM(CCMD, CAIG),
    FLDM(CCMD, CIRG), FLD(CCMD, ICC),
    FLD(FSTS, PFO), FLD(FSTS, PPF), FLD(FSTS, AFO), FLD(FSTS, APF), FLD(FSTS, IQE),
    FLD(FSTS, ICE), FLD(FSTS, ITE), FLDM(FSTS, FRI),
    {"FECTL", "IM", VTD_ECTL_IM}, {"FECTL", "IP", VTD_ECTL_IP},
    {"IECTL", "IM", VTD_ECTL_IM}, {"IECTL", "IP", VTD_ECTL_IP},
    {"PECTL", "IM", VTD_ECTL_IM}, {"PECTL", "IP", VTD_ECTL_IP},
    FLD(PRS, PPR), FLD(PRS, PRO), {"PQH", "PQH", VTD_PQH_MASK}, {"PQT", "PQT", VTD_PQT_MASK},
    {"PQA", "PQS", VTD_PQA_PQS_MASK}, {"PQA", "PQA", VTD_GENMASK(63, 12)},
    FLD(PMEN, EPM), FLD(PMEN, PRS),
    {"IQH", "QH", VTD_IQH_QH_MASK}, {"IQT", "QT", VTD_IQT_QT_MASK},
    {"IQA", "QS", VTD_IQA_QS_MASK}, FLD(IQA, DW), {"IQA", "IQA", VTD_IQA_IQA_MASK},
    FLD(ICS, IWC), {"IQERCD", "IQEI", VTD_IQERCD_IQEI_MASK},
    {"IQERCD", "ITESID", VTD_GENMASK(47, 32)}, {"IQERCD", "ICESID", VTD_GENMASK(63, 48)},
    {"IRTA", "S", VTD_IRTA_S_MASK}, FLD(IRTA, EIME), {"IRTA", "IRTA", VTD_IRTA_IRTA_MASK},
    {"IVA", "AM", VTD_IVA_AM_MASK}, FLD(IVA, IH), {"IVA", "ADDR", VTD_IVA_ADDR_MASK},
    FLDM(IOTLB, DID), FLD(IOTLB, DW), FLD(IOTLB, DR), FLDM(IOTLB, IAIG), FLDM(IOTLB, IIRG),
    FLD(IOTLB, IVT),
    {"FRCD_LO", "FI", VTD_FRCD_LO_FI_MASK},
    {"FRCD_HI", "SID", VTD_FRCD_HI_SID_MASK}, {"FRCD_HI", "T2", VTD_FRCD_HI_T2},
    {"FRCD_HI", "PRIV", VTD_FRCD_HI_PRIV}, {"FRCD_HI", "EXE", VTD_FRCD_HI_EXE},
    {"FRCD_HI", "PP", VTD_FRCD_HI_PP}, {"FRCD_HI", "FR", VTD_FRCD_HI_FR_MASK},
    {"FRCD_HI", "PV", VTD_FRCD_HI_PV_MASK}, {"FRCD_HI", "AT", VTD_FRCD_HI_AT_MASK},
    {"FRCD_HI", "T1", VTD_FRCD_HI_T1}, {"FRCD_HI", "F", VTD_FRCD_HI_F},
};

#define DG(n) {#n, VTD_DIAG_##n}
static const struct {
    const char *name;
    int code;
} diags[] = {
    DG(MMIO_SIZE), DG(MMIO_UNALIGNED), DG(MMIO_UNKNOWN), DG(REG_RESERVED), DG(REG_READONLY),
    DG(GCMD_MULTI), DG(GCMD_UNSUPPORTED), DG(TE_NO_ROOT), DG(RTADDR_TTM), DG(WBF_UNNEEDED),
    DG(PMR_CHANGE_ENABLED), DG(PMR_UNSUPPORTED), DG(GCMD_PERSIST_DROPPED),
    DG(CCMD_GRANULARITY), DG(IOTLB_GRANULARITY), DG(IOTLB_PSI_UNSUPPORTED), DG(IOTLB_AM),
    DG(IOTLB_ADDR_ALIGN), DG(INVAL_WHILE_QI), DG(INVAL_VERSION),
    DG(ROOT_RSVD), DG(CTX_RSVD), DG(CTX_AW), DG(CTX_TT), DG(SL_RSVD), DG(READ_ERROR),
    DG(STALE_CONTEXT), DG(STALE_IOTLB), DG(STALE_NEGATIVE), DG(STALE_IEC),
    DG(REQ_PASID_LEGACY), DG(REQ_INTR_RANGE),
    DG(QI_DISABLE_PENDING), DG(QI_IQA_WHILE_ENABLED), DG(QI_BAD_TAIL), DG(QI_FETCH_ERROR),
    DG(QI_DESC_TYPE), DG(QI_DESC_RSVD), DG(QI_WIDTH), DG(QI_TAIL_ALIGN), DG(QI_IOTLB_AM),
    DG(QI_WAIT_WRITE), DG(QI_DEVTLB_TIMEOUT), DG(QI_UNEXPECTED_COMPLETION), DG(QI_DEVTLB_OVERFLOW),
    DG(IR_IRE_NO_IRTP), DG(IR_IRTE_RSVD), DG(IR_PID), DG(STALE_PASID),
    DG(PRQ_WRITE), DG(PRQ_BAD_TAIL), DG(PRQ_TE_OFF),
};

static bool same(const char *a, const char *b, size_t len)
{
    return strlen(a) == len && memcmp(a, b, len) == 0;
}

const struct sc_regdef *sc_reg_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
        if (same(regs[i].name, name, len))
            return &regs[i];
    return NULL;
}

const struct sc_fielddef *sc_field_find(const char *reg, const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if ((!reg || strcmp(fields[i].reg, reg) == 0) && same(fields[i].name, name, len))
            return &fields[i];
    return NULL;
}

const char *sc_field_list(const char *reg, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && reg; i++) {
        if (strcmp(fields[i].reg, reg) != 0)
            continue;
        size_t l = strlen(fields[i].name);
        if (n + l + 3 >= len)
            break;
        if (n) {
            memcpy(buf + n, ", ", 2);
            n += 2;
        }
        memcpy(buf + n, fields[i].name, l + 1);
        n += l;
    }
    return buf;
}

const char *sc_reg_fieldset(const struct sc_reg *r)
{
    switch (r->kind) {
    case REG_FRCD_LO: return "FRCD_LO";
    case REG_FRCD_HI: return "FRCD_HI";
    case REG_OFFSET: {
        /* a numeric offset naming a fixed register gets its fields */
        for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
            if (regs[i].kind == REG_FIXED && regs[i].off == r->off)
                return regs[i].name;
        return NULL;
    }
    default: {
        const struct sc_regdef *d = sc_reg_find(r->name, strlen(r->name));
        return d ? d->name : NULL;
    }
    }
}

int sc_diag_find(const char *name, size_t len)
{
    if (len > 9 && memcmp(name, "VTD_DIAG_", 9) == 0) {
        name += 9;
        len -= 9;
    }
    for (size_t i = 0; i < sizeof diags / sizeof diags[0]; i++)
        if (same(diags[i].name, name, len))
            return diags[i].code;
    return -1;
}

const char *sc_diag_name(int code)
{
    for (size_t i = 0; i < sizeof diags / sizeof diags[0]; i++)
        if (diags[i].code == code)
            return diags[i].name;
    return NULL;
}

const char *sc_reg_name_at(uint64_t off, uint64_t iro_off, uint64_t fro_off, unsigned nfr, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
        if (regs[i].kind == REG_FIXED && regs[i].off == off)
            return regs[i].name;
    if (off == iro_off)
        return "IVA";
    if (off == iro_off + 8)
        return "IOTLB";
    if (off >= fro_off && off < fro_off + 16ULL * nfr) {
        snprintf(buf, len, "FRCD%u_%s", (unsigned)((off - fro_off) / 16), (off & 8) ? "HI" : "LO");
        return buf;
    }
    snprintf(buf, len, "0x%x", (unsigned)off);
    return buf;
}
