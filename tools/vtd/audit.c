/* SPDX-License-Identifier: MIT */
/*
 * `vtd audit`: what can each device reach?  Reads a raw physical memory
 * image (mmap, so a sparse multi-GiB file costs only the pages the tables
 * occupy) and a unit's registers, walks the translation structures
 * (audit_walk.c) and prints per device its domain / PASIDs, translation type
 * and merged IOVA -> physical ranges, the interrupt remapping table and the
 * anomalies, as text, JSON or Linux intel-iommu debugfs listings.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vtd/defs.h>
#include <vtd/vtd.h>

#include "audit.h"
#include "walkfmt.h"
#include "tool.h"
#include "toolopt.h"

static void audit_usage(FILE *f)
{
    fprintf(f,
            "usage: vtd audit --regs FILE [options] IMAGE\n\n"
            "What can each device reach?  Walks a VT-d unit's translation structures in a raw\n"
            "physical memory image and prints, per device (source-id) and PASID, its domain,\n"
            "translation type and merged IOVA -> physical ranges with permissions, the\n"
            "pass-through devices, devices sharing a domain, the interrupt remapping table,\n"
            "and anomalies: devices able to write translation structures (root, context,\n"
            "PASID, page tables, IRT, invalidation queue, posted-interrupt descriptors),\n"
            "mappings into 0xFEE00000-0xFEEFFFFF, identity maps, reserved bits, entries\n"
            "outside the image, table loops, one domain id naming two tables.\n\n"
            "  IMAGE                 raw physical memory (offset 0 = physical --base)\n"
            "  --regs FILE           the unit's registers: 'NAME VALUE' lines (hex; VER CAP ECAP\n"
            "                        GSTS RTADDR IRTA IQA, or sysfs names version cap ecap\n"
            "                        address; HAW in decimal), a Linux iommu_regset dump, or a\n"
            "                        JSON object.  CAP ECAP GSTS RTADDR are required.\n"
            "  --unit NAME           with an iommu_regset dump of several units: this one\n"
            "  --base ADDR           physical address of the image's first byte (default 0)\n"
            "  --format=text|json|debugfs[:FILE]\n"
            "                        output (default text).  debugfs: Linux's\n"
            "                        dmar_translation_struct, domain_translation_struct and\n"
            "                        ir_translation_struct listings (FILE: only that one)\n"
            "  --name NAME           unit name in the output (default: from the regs, or dmar0)\n"
            "  --max-entries N       stop after reading N table entries (default 268435456)\n"
            "  --progress            percentage on stderr (default: when stderr is a terminal)\n"
            "  --fail-on-anomaly     exit 1 when there is any anomaly other than identity maps\n\n"
            "Exit status: 0 done, 1 anomalies with --fail-on-anomaly, 2 bad usage or input.\n"
            "See docs/audit.md for collecting the inputs on a live Linux system.\n");
}

static int bad(const char *what, const char *val)
{
    fprintf(stderr, "vtd audit: %s%s%s (see vtd audit --help)\n", what, val ? ": " : "",
            val ? val : "");
    return 2;
}

static void progress(void *arg, unsigned done, unsigned total)
{
    (void)arg;
    fprintf(stderr, "\rvtd audit: walking root table %3u%%", done * 100 / total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- text ---- */

static void sid_s(uint16_t sid, char *b)
{
    snprintf(b, 8, "%02x:%02x.%x", sid >> 8, (sid >> 3) & 0x1f, sid & 7);
}

static const char *size_s(uint64_t n, char *b, size_t len)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int i = 0;
    while (i < 6 && n >= 1024 && n % 1024 == 0) {
        n /= 1024;
        i++;
    }
    snprintf(b, len, "%" PRIu64 " %s", n, u[i]);
    return b;
}

static bool space_fl(const struct audit_space *sp)
{
    return sp->tt == AUDIT_TT_FL || sp->tt == AUDIT_TT_NESTED;
}

static void text_dev(FILE *f, const struct audit_report *rep, size_t di)
{
    const struct audit_dev *d = &rep->dev[di];
    char s[8];
    sid_s(d->sid, s);
    fprintf(f, "  %s", s);
    if (d->pasid != AUDIT_NO_PASID)
        fprintf(f, " pasid %u%s", d->pasid, d->rid_pasid ? " (RID_PASID)" : "");
    switch (d->tt) {
    case AUDIT_TT_PT:
        fprintf(f, "  domain %u  pass-through: all physical memory, RW\n", d->did);
        return;
    case AUDIT_TT_BLOCKED:
        fprintf(f, "  blocked: %s\n", d->why ? d->why : "entry unusable");
        return;
    default:
        break;
    }
    if (d->space < 0) {
        fprintf(f, "  %s: no tables walked\n", audit_tt_name(d->tt));
        return;
    }
    const struct audit_space *sp = &rep->space[d->space];
    fprintf(f, "  domain %u  %s", d->did, audit_tt_name(d->tt));
    if (sp->tt == AUDIT_TT_NESTED)
        fprintf(f, " FL %d-level at GPA 0x%" PRIx64 " over SL %d-level at 0x%" PRIx64,
                sp->fl_levels, sp->fl_root, sp->levels, sp->root);
    else
        fprintf(f, " %d-level at 0x%" PRIx64, sp->levels, sp->root);
    if (d->devtlb)
        fprintf(f, "  device-TLB");
    if (d->fpd)
        fprintf(f, "  FPD");
    for (size_t k = 0; k < di; k++)
        if (rep->dev[k].space == d->space) {
            char o[8];
            sid_s(rep->dev[k].sid, o);
            if (rep->dev[k].pasid == AUDIT_NO_PASID)
                fprintf(f, ": same tables as %s\n", o);
            else
                fprintf(f, ": same tables as %s pasid %u\n", o, rep->dev[k].pasid);
            return;
        }
    fprintf(f, "%s\n", sp->nr ? "" : ": nothing mapped");
    for (size_t i = 0; i < sp->nr; i++) {
        const struct audit_range *r = &sp->r[i];
        char p[5], z[24];
        fprintf(f, "    0x%016" PRIx64 "-0x%016" PRIx64 " -> 0x%016" PRIx64 "-0x%016" PRIx64
                   "  %s  %s\n",
                r->iova, r->iova + r->size - 1, r->pa, r->pa + r->size - 1,
                audit_perm_str(r->perm, space_fl(sp), p), size_s(r->size, z, sizeof z));
    }
    if (sp->truncated)
        fprintf(f, "    (incomplete: entry budget exhausted)\n");
}

static void irte_text(FILE *f, const struct audit_report *rep, const struct audit_irte *e)
{
    char s[8];
    sid_s((uint16_t)(e->hi & VTD_IRTE_HI_SID_MASK), s);
    unsigned sq = (unsigned)(e->hi >> VTD_IRTE_HI_SQ_SHIFT) & 3,
             svt = (unsigned)(e->hi >> VTD_IRTE_HI_SVT_SHIFT) & 3;
    unsigned vec = (unsigned)(e->lo >> VTD_IRTE_V_SHIFT) & 0xFF;
    if (e->posted) {
        uint64_t pda = (uint64_t)((e->hi & VTD_GENMASK(63, 32)) | ((e->lo >> VTD_IRTE_PDAL_SHIFT) << 6));
        fprintf(f, "  IRTE %-5u posted    vector 0x%02x  PDA 0x%" PRIx64 "%s  SID %s SQ %u SVT %u%s\n",
                e->index, vec, pda, (e->lo & VTD_IRTE_URG) ? "  urgent" : "", s, sq, svt,
                e->rsvd ? "  RESERVED BITS SET" : "");
        return;
    }
    static const char *const dlm[] = {"fixed", "lowest", "smi", "dlm3", "nmi", "init", "dlm6", "extint"};
    uint32_t dst = (uint32_t)(e->lo >> VTD_IRTE_DST_SHIFT);
    if (!rep->eime)
        dst = (dst >> 8) & 0xFF; /* xAPIC: DST[15:8] */
    fprintf(f, "  IRTE %-5u remapped  vector 0x%02x  dest 0x%x %s %s %s%s  SID %s SQ %u SVT %u%s\n",
            e->index, vec, dst, (e->lo & VTD_IRTE_DM) ? "logical" : "physical",
            dlm[(e->lo >> VTD_IRTE_DLM_SHIFT) & 7], (e->lo & VTD_IRTE_TM) ? "level" : "edge",
            (e->lo & VTD_IRTE_RH) ? " RH" : "", s, sq, svt, e->rsvd ? "  RESERVED BITS SET" : "");
}

static void print_text(FILE *f, const struct audit_image *img, const struct audit_regs *regs,
                       const struct audit_report *rep)
{
    char z[24];
    fprintf(f, "unit %s: VER %u.%u, %s mode, DMA remapping %s", regs->name[0] ? regs->name : "dmar0",
            VTD_VER_MAX(regs->ver), VTD_VER_MIN(regs->ver),
            rep->abort_dma ? "abort-DMA" : rep->sm ? "scalable" : "legacy", rep->te ? "on" : "off");
    if (rep->te && !rep->abort_dma)
        fprintf(f, ", root table 0x%" PRIx64, rep->root);
    fprintf(f, "\n  image 0x%" PRIx64 "-0x%" PRIx64 " (%s), HAW %u\n", img->base,
            img->base + img->size - 1, size_s(img->size, z, sizeof z), regs->haw ? regs->haw : 52);
    size_t npt = 0;
    fprintf(f, "\ndevices (%zu entries):\n", rep->ndev);
    if (!rep->te)
        fprintf(f, "  (none walked: with translation off every device reaches all memory)\n");
    for (size_t i = 0; i < rep->ndev; i++) {
        text_dev(f, rep, i);
        npt += rep->dev[i].tt == AUDIT_TT_PT;
    }
    if (npt) {
        fprintf(f, "\npass-through devices:");
        for (size_t i = 0; i < rep->ndev; i++)
            if (rep->dev[i].tt == AUDIT_TT_PT) {
                char s[8];
                sid_s(rep->dev[i].sid, s);
                if (rep->dev[i].pasid == AUDIT_NO_PASID)
                    fprintf(f, " %s", s);
                else
                    fprintf(f, " %s/pasid %u", s, rep->dev[i].pasid);
            }
        fputc('\n', f);
    }
    /* domains with more than one distinct source-id */
    bool hdr = false;
    for (size_t i = 0; i < rep->ndev; i++) {
        const struct audit_dev *d = &rep->dev[i];
        if (d->tt == AUDIT_TT_BLOCKED)
            continue;
        bool first = true, shared = false;
        for (size_t k = 0; k < rep->ndev; k++) {
            const struct audit_dev *o = &rep->dev[k];
            if (o->tt == AUDIT_TT_BLOCKED || o->did != d->did)
                continue;
            if (k < i) {
                first = false;
                break;
            }
            if (o->sid != d->sid)
                shared = true;
        }
        if (!first || !shared)
            continue;
        if (!hdr)
            fprintf(f, "\ndomains shared by several devices:\n");
        hdr = true;
        fprintf(f, "  domain %u:", d->did);
        uint16_t last = 0;
        bool any = false;
        for (size_t k = i; k < rep->ndev; k++) {
            const struct audit_dev *o = &rep->dev[k];
            if (o->tt == AUDIT_TT_BLOCKED || o->did != d->did || (any && o->sid == last))
                continue;
            char s[8];
            sid_s(o->sid, s);
            fprintf(f, " %s", s);
            last = o->sid;
            any = true;
        }
        fputc('\n', f);
    }
    if (regs->irta || rep->ir) {
        fprintf(f, "\ninterrupt remapping %s: table 0x%" PRIx64 ", %u entries, EIME %d (%s), "
                   "%zu present\n",
                rep->ir ? "on" : "off", rep->irt, rep->irt_entries, rep->eime,
                rep->eime ? "x2APIC" : "xAPIC", rep->nirte);
        for (size_t i = 0; i < rep->nirte; i++)
            irte_text(f, rep, &rep->irte[i]);
    }
    if (regs->iqa)
        fprintf(f, "\ninvalidation queue: 0x%" PRIx64 ", %s, %u-bit descriptors\n",
                (uint64_t)(regs->iqa & VTD_GENMASK(63, 12)), size_s(4096ULL << (regs->iqa & 7), z, sizeof z),
                (regs->iqa & VTD_BIT(11)) ? 256 : 128);
    fprintf(f, "\nanomalies (%zu):\n", rep->nan + rep->an_dropped);
    for (size_t i = 0; i < rep->nan; i++)
        fprintf(f, "  %-18s %s\n", audit_akind_name(rep->an[i].kind), rep->an[i].msg);
    if (rep->an_dropped)
        fprintf(f, "  ... and %zu more not listed\n", rep->an_dropped);
    fprintf(f, "\nsummary: %zu device entries, %zu address spaces, %zu pass-through, %zu anomalies, "
               "%" PRIu64 " entries read%s\n",
            rep->ndev, rep->nspace, npt, rep->nan + rep->an_dropped, rep->entries_read,
            rep->truncated ? " (incomplete)" : "");
}

/* ---- JSON ---- */


static void print_json(FILE *f, const struct audit_image *img, const struct audit_regs *regs,
                       const struct audit_report *rep)
{
    fprintf(f, "{\n  \"unit\": {\"name\": ");
    wf_json_str(f, regs->name[0] ? regs->name : "dmar0");
    fprintf(f, ", \"ver\": \"0x%x\", \"cap\": \"0x%" PRIx64 "\", \"ecap\": \"0x%" PRIx64
               "\", \"gsts\": \"0x%x\", \"rtaddr\": \"0x%" PRIx64 "\", \"irta\": \"0x%" PRIx64
               "\", \"iqa\": \"0x%" PRIx64 "\", \"haw\": %u},\n",
            regs->ver, regs->cap, regs->ecap, regs->gsts, regs->rtaddr, regs->irta, regs->iqa,
            regs->haw ? regs->haw : 52);
    fprintf(f, "  \"image\": {\"base\": \"0x%" PRIx64 "\", \"size\": \"0x%" PRIx64 "\"},\n",
            img->base, img->size);
    fprintf(f, "  \"mode\": \"%s\", \"translation\": %s, \"root_table\": \"0x%" PRIx64 "\",\n",
            rep->abort_dma ? "abort-dma" : rep->sm ? "scalable" : "legacy",
            rep->te ? "true" : "false", rep->root);
    fprintf(f, "  \"spaces\": [");
    for (size_t i = 0; i < rep->nspace; i++) {
        const struct audit_space *sp = &rep->space[i];
        fprintf(f, "%s\n    {\"index\": %zu, \"type\": \"%s\", \"levels\": %u, \"root\": \"0x%" PRIx64
                   "\"",
                i ? "," : "", i, audit_tt_name(sp->tt), sp->levels, sp->root);
        if (sp->tt == AUDIT_TT_NESTED)
            fprintf(f, ", \"fl_levels\": %u, \"fl_root_gpa\": \"0x%" PRIx64 "\"", sp->fl_levels,
                    sp->fl_root);
        fprintf(f, ", \"truncated\": %s, \"ranges\": [", sp->truncated ? "true" : "false");
        for (size_t k = 0; k < sp->nr; k++) {
            char p[5];
            const struct audit_range *r = &sp->r[k];
            fprintf(f, "%s\n      {\"iova\": \"0x%" PRIx64 "\", \"pa\": \"0x%" PRIx64
                       "\", \"size\": \"0x%" PRIx64 "\", \"perm\": \"%s\"}",
                    k ? "," : "", r->iova, r->pa, r->size, audit_perm_str(r->perm, space_fl(sp), p));
        }
        fprintf(f, "%s]}", sp->nr ? "\n    " : "");
    }
    fprintf(f, "%s],\n  \"devices\": [", rep->nspace ? "\n  " : "");
    for (size_t i = 0; i < rep->ndev; i++) {
        const struct audit_dev *d = &rep->dev[i];
        char s[8];
        sid_s(d->sid, s);
        fprintf(f, "%s\n    {\"sid\": \"%s\", \"pasid\": ", i ? "," : "", s);
        if (d->pasid == AUDIT_NO_PASID)
            fprintf(f, "null");
        else
            fprintf(f, "%u", d->pasid);
        fprintf(f, ", \"rid_pasid\": %s, \"type\": \"%s\", \"domain\": %u, \"fpd\": %s, "
                   "\"device_tlb\": %s, \"space\": ",
                d->rid_pasid ? "true" : "false", audit_tt_name(d->tt), d->did,
                d->fpd ? "true" : "false", d->devtlb ? "true" : "false");
        if (d->space < 0)
            fprintf(f, "null");
        else
            fprintf(f, "%d", d->space);
        if (d->why) {
            fprintf(f, ", \"blocked\": ");
            wf_json_str(f, d->why);
        }
        fputc('}', f);
    }
    fprintf(f, "%s],\n  \"interrupt_remapping\": {\"enabled\": %s, \"table\": \"0x%" PRIx64
               "\", \"entries\": %u, \"eime\": %s, \"present\": [",
            rep->ndev ? "\n  " : "", rep->ir ? "true" : "false", rep->irt, rep->irt_entries,
            rep->eime ? "true" : "false");
    for (size_t i = 0; i < rep->nirte; i++) {
        const struct audit_irte *e = &rep->irte[i];
        char s[8];
        sid_s((uint16_t)(e->hi & VTD_IRTE_HI_SID_MASK), s);
        fprintf(f, "%s\n    {\"index\": %u, \"mode\": \"%s\", \"vector\": %u, \"sid\": \"%s\", "
                   "\"sq\": %u, \"svt\": %u, \"reserved_bits\": %s, ",
                i ? "," : "", e->index, e->posted ? "posted" : "remapped",
                (unsigned)(e->lo >> VTD_IRTE_V_SHIFT) & 0xFF, s,
                (unsigned)(e->hi >> VTD_IRTE_HI_SQ_SHIFT) & 3,
                (unsigned)(e->hi >> VTD_IRTE_HI_SVT_SHIFT) & 3, e->rsvd ? "true" : "false");
        if (e->posted)
            fprintf(f, "\"pda\": \"0x%" PRIx64 "\", \"urgent\": %s, ",
                    (uint64_t)((e->hi & VTD_GENMASK(63, 32)) | ((e->lo >> VTD_IRTE_PDAL_SHIFT) << 6)),
                    (e->lo & VTD_IRTE_URG) ? "true" : "false");
        else
            fprintf(f, "\"dest\": \"0x%x\", \"dest_mode\": \"%s\", \"delivery_mode\": %u, "
                       "\"trigger\": \"%s\", \"rh\": %s, ",
                    rep->eime ? (uint32_t)(e->lo >> 32) : (uint32_t)(e->lo >> 40) & 0xFF,
                    (e->lo & VTD_IRTE_DM) ? "logical" : "physical",
                    (unsigned)(e->lo >> VTD_IRTE_DLM_SHIFT) & 7,
                    (e->lo & VTD_IRTE_TM) ? "level" : "edge", (e->lo & VTD_IRTE_RH) ? "true" : "false");
        fprintf(f, "\"raw\": \"0x%016" PRIx64 "%016" PRIx64 "\"}", e->hi, e->lo);
    }
    fprintf(f, "%s]},\n  \"anomalies\": [", rep->nirte ? "\n  " : "");
    for (size_t i = 0; i < rep->nan; i++) {
        const struct audit_anomaly *a = &rep->an[i];
        fprintf(f, "%s\n    {\"kind\": \"%s\", ", i ? "," : "", audit_akind_name(a->kind));
        if (a->has_dev) {
            char s[8];
            sid_s(a->sid, s);
            fprintf(f, "\"sid\": \"%s\", \"pasid\": ", s);
            if (a->pasid == AUDIT_NO_PASID)
                fprintf(f, "null, ");
            else
                fprintf(f, "%u, ", a->pasid);
        }
        fprintf(f, "\"addr\": \"0x%" PRIx64 "\", \"pa\": \"0x%" PRIx64 "\", \"message\": ", a->addr,
                a->pa);
        wf_json_str(f, a->msg);
        fputc('}', f);
    }
    fprintf(f, "%s],\n  \"anomalies_not_listed\": %zu,\n  \"entries_read\": %" PRIu64
               ",\n  \"complete\": %s\n}\n",
            rep->nan ? "\n  " : "", rep->an_dropped, rep->entries_read,
            rep->truncated ? "false" : "true");
}

/* ---- Linux debugfs listings (drivers/iommu/intel/debugfs.c formats) ---- */

static void dbg_dmar(FILE *f, const char *name, const struct audit_report *rep)
{
    if (!rep->te) {
        fprintf(f, "DMA Remapping is not enabled on %s\n", name);
        return;
    }
    fprintf(f, "IOMMU %s: Root Table Address: 0x%" PRIx64 "\n", name, rep->root);
    fprintf(f, "B.D.F\tRoot_entry\t\t\t\tContext_entry\t\t\t\tPASID\tPASID_table_entry\n");
    for (size_t i = 0; i < rep->ndev; i++) {
        const struct audit_dev *d = &rep->dev[i];
        if (rep->sm && d->pasid == AUDIT_NO_PASID)
            continue; /* Linux lists scalable-mode contexts through their PASID entries */
        fprintf(f, "%02x:%02x.%x\t0x%016" PRIx64 ":0x%016" PRIx64 "\t0x%016" PRIx64 ":0x%016" PRIx64
                   "\t",
                d->sid >> 8, (d->sid >> 3) & 0x1f, d->sid & 7, d->entry[1], d->entry[0],
                d->entry[3], d->entry[2]);
        if (d->pasid == AUDIT_NO_PASID)
            fprintf(f, "%-6d\t0x%016" PRIx64 ":0x%016" PRIx64 ":0x%016" PRIx64 "\n", -1,
                    (uint64_t)0, (uint64_t)0, (uint64_t)0);
        else
            fprintf(f, "%-6d\t0x%016" PRIx64 ":0x%016" PRIx64 ":0x%016" PRIx64 "\n", (int)d->pasid,
                    d->pasid_entry[2], d->pasid_entry[1], d->pasid_entry[0]);
    }
    fputc('\n', f);
}

static void dbg_domain(FILE *f, const struct audit_image *img, const struct audit_regs *regs,
                       const struct audit_report *rep)
{
    for (size_t i = 0; i < rep->ndev; i++) {
        const struct audit_dev *d = &rep->dev[i];
        if (d->space < 0 || (d->pasid != AUDIT_NO_PASID && !d->rid_pasid))
            continue;
        const struct audit_space *sp = &rep->space[d->space];
        fprintf(f, "Device 0000:%02x:%02x.%x @0x%" PRIx64 "\n", d->sid >> 8, (d->sid >> 3) & 0x1f,
                d->sid & 7, sp->root);
        fprintf(f, "IOVA_PFN\t\tPML5E\t\t\tPML4E\t\t\tPDPE\t\t\tPDE\t\t\tPTE\n");
        audit_print_domain_leaves(f, img, regs, sp);
        fputc('\n', f);
    }
}

static void dbg_ir(FILE *f, const char *name, const struct audit_regs *regs,
                   const struct audit_report *rep)
{
    if (regs->ecap & VTD_ECAP_IR) {
        fprintf(f, "Remapped Interrupt supported on IOMMU: %s\n", name);
        if (rep->ir && regs->irta) {
            fprintf(f, " IR table address:%" PRIx64 "\n", rep->irt);
            fprintf(f, " Entry SrcID   DstID    Vct IRTE_high\t\tIRTE_low\n");
            for (size_t i = 0; i < rep->nirte; i++) {
                const struct audit_irte *e = &rep->irte[i];
                if (e->posted)
                    continue;
                uint16_t sid = (uint16_t)(e->hi & 0xFFFF);
                fprintf(f, " %-5u %02x:%02x.%01x %08x %02x  %016" PRIx64 "\t%016" PRIx64 "\n",
                        e->index, sid >> 8, (sid >> 3) & 0x1f, sid & 7, (uint32_t)(e->lo >> 32),
                        (unsigned)(e->lo >> 16) & 0xFF, e->hi, e->lo);
            }
        } else {
            fprintf(f, "Interrupt Remapping is not enabled\n");
        }
        fputc('\n', f);
    }
    fprintf(f, "****\n\n");
    if (regs->cap & VTD_CAP_PI) {
        fprintf(f, "Posted Interrupt supported on IOMMU: %s\n", name);
        if (regs->irta) {
            fprintf(f, " IR table address:%" PRIx64 "\n", rep->irt);
            fprintf(f, " Entry SrcID   PDA_high PDA_low  Vct IRTE_high\t\tIRTE_low\n");
            for (size_t i = 0; i < rep->nirte; i++) {
                const struct audit_irte *e = &rep->irte[i];
                if (!e->posted)
                    continue;
                uint16_t sid = (uint16_t)(e->hi & 0xFFFF);
                fprintf(f, " %-5u %02x:%02x.%01x %08x %08x %02x  %016" PRIx64 "\t%016" PRIx64 "\n",
                        e->index, sid >> 8, (sid >> 3) & 0x1f, sid & 7, (uint32_t)(e->hi >> 32),
                        (uint32_t)((e->lo >> VTD_IRTE_PDAL_SHIFT) << 6),
                        (unsigned)(e->lo >> 16) & 0xFF, e->hi, e->lo);
            }
        } else {
            fprintf(f, "Interrupt Remapping is not enabled\n");
        }
        fputc('\n', f);
    }
}

void audit_print(FILE *f, int fmt, const struct audit_image *img, const struct audit_regs *regs,
                 const struct audit_report *rep)
{
    if (fmt == AUDIT_FMT_JSON)
        print_json(f, img, regs, rep);
    else
        print_text(f, img, regs, rep);
}

enum { DBG_ALL, DBG_DMAR, DBG_DOMAIN, DBG_IR };

static void print_debugfs(FILE *f, int which, const struct audit_image *img,
                          const struct audit_regs *regs, const struct audit_report *rep)
{
    const char *name = regs->name[0] ? regs->name : "dmar0";
    if (which == DBG_ALL)
        fprintf(f, "==> dmar_translation_struct <==\n");
    if (which == DBG_ALL || which == DBG_DMAR)
        dbg_dmar(f, name, rep);
    if (which == DBG_ALL)
        fprintf(f, "==> domain_translation_struct <==\n");
    if (which == DBG_ALL || which == DBG_DOMAIN)
        dbg_domain(f, img, regs, rep);
    if (which == DBG_ALL)
        fprintf(f, "==> ir_translation_struct <==\n");
    if (which == DBG_ALL || which == DBG_IR)
        dbg_ir(f, name, regs, rep);
}

/* ---- the command ---- */

int cmd_audit(int argc, char **argv)
{
    const char *regs_path = NULL, *image = NULL, *unit = NULL, *name = NULL;
    uint64_t base = 0, max_entries = 0;
    int fmt = AUDIT_FMT_TEXT, dbg = DBG_ALL;
    bool want_progress = false, fail_on = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        int m = 0;
        if (tool_is_help(a)) {
            audit_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--progress") == 0) {
            want_progress = true;
        } else if (strcmp(a, "--fail-on-anomaly") == 0) {
            fail_on = true;
        } else if ((m = tool_opt_val(argc, argv, &i, "--regs", &v)) != 0) {
            regs_path = v;
        } else if ((m = tool_opt_val(argc, argv, &i, "--unit", &v)) != 0) {
            unit = v;
        } else if ((m = tool_opt_val(argc, argv, &i, "--name", &v)) != 0) {
            name = v;
        } else if ((m = tool_opt_val(argc, argv, &i, "--base", &v)) != 0) {
            if (m > 0 && (!tool_parse_u64(v, &base) || (base & 0xFFF)))
                return bad("--base: want a 4 KiB aligned address", v);
        } else if ((m = tool_opt_val(argc, argv, &i, "--max-entries", &v)) != 0) {
            if (m > 0 && (!tool_parse_u64(v, &max_entries) || max_entries == 0))
                return bad("--max-entries: want a positive number", v);
        } else if ((m = tool_opt_val(argc, argv, &i, "--format", &v)) != 0) {
            if (m < 0)
                return bad("missing value for option", a);
            if (strcmp(v, "text") == 0) {
                fmt = AUDIT_FMT_TEXT;
            } else if (strcmp(v, "json") == 0) {
                fmt = AUDIT_FMT_JSON;
            } else if (strcmp(v, "debugfs") == 0) {
                fmt = AUDIT_FMT_DEBUGFS;
            } else if (strcmp(v, "debugfs:dmar_translation_struct") == 0) {
                fmt = AUDIT_FMT_DEBUGFS;
                dbg = DBG_DMAR;
            } else if (strcmp(v, "debugfs:domain_translation_struct") == 0) {
                fmt = AUDIT_FMT_DEBUGFS;
                dbg = DBG_DOMAIN;
            } else if (strcmp(v, "debugfs:ir_translation_struct") == 0) {
                fmt = AUDIT_FMT_DEBUGFS;
                dbg = DBG_IR;
            } else {
                return bad("--format: want text, json, debugfs or debugfs:FILE", v);
            }
        } else if (a[0] == '-' && a[1]) {
            return bad("unknown option", a);
        } else if (!image) {
            image = a;
        } else {
            return bad("more than one IMAGE", a);
        }
        if (m < 0)
            return bad("missing value for option", a);
    }
    if (!regs_path)
        return bad("--regs FILE is required", NULL);
    if (!image)
        return bad("IMAGE is required", NULL);

    struct audit_regs regs;
    if (tool_load_regs("audit", regs_path, unit, &regs))
        return 2;
    if (name)
        snprintf(regs.name, sizeof regs.name, "%s", name);
    struct tool_image map;
    if (tool_map_image("audit", NULL, image, base, false, &map))
        return 2;
    struct audit_image img = {.data = map.data, .size = map.size, .base = map.base};
    struct audit_opts opts = {.max_entries = max_entries};
    if (want_progress || isatty(STDERR_FILENO))
        opts.progress = progress;
    struct audit_report rep;
    char err[256];
    if (audit_run(&img, &regs, &opts, &rep, err, sizeof err) != 0) {
        fprintf(stderr, "vtd audit: %s: %s\n", image, err);
        audit_report_free(&rep);
        tool_unmap_image(&map);
        return 2;
    }
    if (fmt == AUDIT_FMT_DEBUGFS)
        print_debugfs(stdout, dbg, &img, &regs, &rep);
    else
        audit_print(stdout, fmt, &img, &regs, &rep);
    int status = 0;
    if (fail_on)
        for (size_t i = 0; i < rep.nan; i++)
            if (rep.an[i].kind != AUDIT_A_IDENTITY)
                status = 1;
    if (fail_on && rep.an_dropped)
        status = 1;
    audit_report_free(&rep);
    tool_unmap_image(&map);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "vtd audit: write error: %s\n", strerror(errno));
        return 2;
    }
    return status;
}
