/* SPDX-License-Identifier: MIT */
/*
 * `vtd walk --svg`: the walk as a picture (layout described in svg.h and
 * docs/walk.md).  Everything is drawn with presentation attributes and
 * generic font families so that the file stands alone.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "svg.h"

#define FONT "font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\""
#define MARGIN 30
/* chain layout */
#define COL_W 200
#define COL_GAP 70
#define TAB_H 300
#define TOP 170
/* grid layout */
#define CELL_W 210
#define CELL_H 66
#define CELL_GX 60
#define CELL_GY 34
#define ROWHDR_W 80

void svg_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* control characters are not allowed in XML 1.0 text */
            fputc((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' ? '?' : *s, f);
        }
    }
}

/* <text> at x,y: size in px, anchor start/middle/end, bold or not */
static void __attribute__((format(printf, 7, 8)))
text(FILE *f, int x, int y, int size, const char *anchor, const char *style, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"%d\" text-anchor=\"%s\" %s %s>", x, y, size, anchor,
            FONT, style ? style : "fill=\"#222\"");
    svg_escape(f, buf);
    fputs("</text>\n", f);
}

static const char *colour(int kind)
{
    switch (kind) {
    case WF_ROOT: case WF_SM_ROOT: return "#3b6ea8";
    case WF_CONTEXT: case WF_SM_CONTEXT: return "#2f8f6a";
    case WF_PASID_DIR: return "#8a5fb0";
    case WF_PASID_ENTRY: return "#b05f8f";
    case WF_SL_PTE: return "#c77d1a";
    case WF_FL_PTE: return "#1a8ec7";
    }
    return "#777";
}
static const char *tint(int kind)
{
    switch (kind) {
    case WF_ROOT: case WF_SM_ROOT: return "#e6eef8";
    case WF_CONTEXT: case WF_SM_CONTEXT: return "#e3f3ec";
    case WF_PASID_DIR: return "#efe7f6";
    case WF_PASID_ENTRY: return "#f6e7f0";
    case WF_SL_PTE: return "#fbf0e0";
    case WF_FL_PTE: return "#e0f1fb";
    }
    return "#eee";
}

/* Key fields of an entry, as up to `max` lines of about `width` characters. */
static int key_lines(const struct wf_step *s, char lines[][64], int max, int width)
{
    static const char *const keys[][9] = {
        [WF_ROOT] = {"P", "CTP"},
        [WF_CONTEXT] = {"P", "FPD", "TT", "AW", "DID", "SLPTPTR"},
        [WF_SM_ROOT] = {"LP", "UP", "LCTP", "UCTP"},
        [WF_SM_CONTEXT] = {"P", "PASIDE", "PDTS", "RID_PASID", "PASIDDIRPTR"},
        [WF_PASID_DIR] = {"P", "FPD", "SMPTBLPTR"},
        [WF_PASID_ENTRY] = {"P", "PGTT", "DID", "AW", "FLPM", "SRE", "SLPTPTR", "FLPTPTR"},
        [WF_SL_PTE] = {"R", "W", "X", "PS", "SNP", "ADDR"},
        [WF_FL_PTE] = {"P", "R/W", "U/S", "PS", "XD", "ADDR"},
    };
    int n = 0;
    if (s->kind < 1 || s->kind > WF_KIND_MAX || max <= 0)
        return 0;
    lines[0][0] = 0;
    for (int k = 0; k < 9 && keys[s->kind][k]; k++) {
        uint64_t v;
        char t[48];
        if (!wf_field(s, keys[s->kind][k], &v))
            continue;
        bool addr = strstr(keys[s->kind][k], "PTR") || strcmp(keys[s->kind][k], "ADDR") == 0 ||
                    strcmp(keys[s->kind][k], "CTP") == 0 || strstr(keys[s->kind][k], "CTP");
        if (addr)
            snprintf(t, sizeof t, "%s 0x%" PRIx64, keys[s->kind][k], v);
        else
            snprintf(t, sizeof t, "%s=%" PRIu64, keys[s->kind][k], v);
        size_t cur = strlen(lines[n]);
        if (cur && cur + 1 + strlen(t) > (size_t)width) {
            if (n + 1 >= max)
                break;
            lines[++n][0] = 0;
            cur = 0;
        }
        snprintf(lines[n] + cur, 64 - cur, "%s%s", cur ? " " : "", t);
    }
    return lines[0][0] ? n + 1 : 0;
}

static void arrow(FILE *f, int x1, int y1, int x2, int y2, const char *col)
{
    int dx = (x2 - x1) / 2;
    if (dx < 20 && dx > -20)
        fprintf(f, "<path d=\"M%d,%d L%d,%d\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" marker-end=\"url(#arrow)\"/>\n",
                x1, y1, x2, y2, col);
    else
        fprintf(f, "<path d=\"M%d,%d C%d,%d %d,%d %d,%d\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" marker-end=\"url(#arrow)\"/>\n",
                x1, y1, x1 + dx, y1, x2 - dx, y2, x2, y2, col);
}

/* The request-address field a step's index came from, for the label above its column. */
static void index_label(const struct wf_step *s, char *buf, size_t len)
{
    char im[32];
    wf_index_meaning(s, im, sizeof im);
    snprintf(buf, len, "%s = 0x%x", im, s->index);
}

static bool reads_table(int kind)
{
    return kind != WF_PASSTHROUGH && kind != WF_TE_OFF;
}

/* One table as a column: header, box, the entry used at its place. Returns
 * the y of the entry's centre. */
static int table_column(FILE *f, int x, int top, int h, const struct wf_step *s, bool label_above)
{
    char lab[64];
    const char *c = colour(s->kind);
    if (label_above) {
        index_label(s, lab, sizeof lab);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"22\" rx=\"4\" fill=\"%s\"/>\n", x, top - 84,
                COL_W, c);
        text(f, x + COL_W / 2, top - 68, 12, "middle", "fill=\"#fff\"", "%s", lab);
    }
    text(f, x, top - 26, 14, "start", "fill=\"#222\" font-weight=\"bold\"", "%s", wf_table_name(s->kind, s->level));
    text(f, x, top - 10, 11, "start", "fill=\"#444\"", "base 0x%" PRIx64, s->table);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
            x, top, COL_W, h, tint(s->kind), s->read_error ? "#c0392b" : c,
            s->read_error ? " stroke-dasharray=\"6,4\"" : "");
    for (int i = 1; i < 12; i++) /* rows of the table */
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-opacity=\"0.25\"/>\n", x,
                top + i * h / 12, x + COL_W, top + i * h / 12, c);
    unsigned ents = wf_table_entries(s->kind);
    int band = 24;
    unsigned idx = s->index < ents ? s->index : ents ? ents - 1 : 0;
    int ey = top + 3 + (ents > 1 ? (int)((int64_t)(h - band - 6) * idx / (ents - 1)) : 0);
    if (s->read_error) {
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fdecea\" stroke=\"#c0392b\"/>\n",
                x + 2, ey, COL_W - 4, band);
        text(f, x + COL_W / 2, ey + 16, 12, "middle", "fill=\"#c0392b\" font-weight=\"bold\"", "[%u] READ ERROR", s->index);
    } else {
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#222\"/>\n", x + 2, ey,
                COL_W - 4, band, c);
        text(f, x + 6, ey + 16, 11, "start", "fill=\"#fff\" font-weight=\"bold\"", "[%u]", s->index);
        text(f, x + COL_W - 6, ey + 16, 11, "end", "fill=\"#fff\"", "0x%016" PRIx64, s->val[0]);
    }
    text(f, x, top + h + 18, 11, "start", "fill=\"#444\"", "entry 0x%" PRIx64, s->addr);
    char lines[5][64];
    int nl = key_lines(s, lines, 5, 27);
    for (int i = 0; i < nl; i++)
        text(f, x, top + h + 34 + 14 * i, 11, "start", "fill=\"#222\"", "%s", lines[i]);
    return ey + band / 2;
}

/* Split words into lines of at most width characters. */
static int wrap(const char *s, char lines[][64], int max, int width)
{
    int n = 0;
    lines[0][0] = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t wl = strcspn(s, " ");
        if (!wl)
            break;
        if (wl > 60)
            wl = 60;
        size_t cur = strlen(lines[n]);
        if (cur && cur + 1 + wl > (size_t)width) {
            if (n + 1 >= max)
                break;
            lines[++n][0] = 0;
            cur = 0;
        }
        snprintf(lines[n] + cur, 64 - cur, "%s%.*s", cur ? " " : "", (int)wl, s);
        s += wl;
    }
    return n + 1;
}

/* The outcome box (page, fault or block) at x,y (top), w x h. */
static void outcome(FILE *f, int x, int y, int w, int h, const struct vtd_result *res, uint64_t iova)
{
    char sz[24];
    if (res->status == VTD_OK) {
        uint64_t size = res->page_size ? res->page_size : 4096;
        uint64_t off = iova & (size - 1);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#eaf7e4\" stroke=\"#3c8d2f\" stroke-width=\"2\"/>\n",
                x, y, w, h);
        text(f, x, y - 26, 14, "start", "fill=\"#222\" font-weight=\"bold\"", "%s page",
             wf_size_name(size, sz, sizeof sz));
        text(f, x, y - 10, 11, "start", "fill=\"#444\"", "base 0x%" PRIx64, res->pa - off);
        int oy = y + 3 + (int)((double)(h - 30) * (double)off / (double)size);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"24\" fill=\"#3c8d2f\" stroke=\"#222\"/>\n", x + 2,
                oy, w - 4);
        text(f, x + w / 2, oy + 16, 11, "middle", "fill=\"#fff\" font-weight=\"bold\"", "+0x%" PRIx64, off);
        text(f, x, y + h + 18, 12, "start", "fill=\"#1d5e16\" font-weight=\"bold\"", "HPA 0x%" PRIx64, res->pa);
        text(f, x, y + h + 34, 11, "start", "fill=\"#222\"", "perm %s%s%s", res->perm & VTD_R ? "R" : "",
             res->perm & VTD_W ? "W" : "", res->perm & VTD_X ? "X" : res->perm ? "" : "none");
        return;
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fdecea\" stroke=\"#c0392b\" stroke-width=\"2\"/>\n",
            x, y, w, h);
    if (res->status == VTD_FAULT) {
        const char *words = wf_fault_words(res->fault_reason);
        text(f, x + 10, y + 26, 16, "start", "fill=\"#c0392b\" font-weight=\"bold\"", "FAULT %02Xh", res->fault_reason);
        char lines[8][64];
        int nl = wrap(words ? words : "reason code not defined by the spec", lines, 8, (w - 20) / 7);
        for (int i = 0; i < nl; i++)
            text(f, x + 10, y + 48 + 15 * i, 11, "start", "fill=\"#222\"", "%s", lines[i]);
    } else {
        text(f, x + 10, y + 26, 16, "start", "fill=\"#c0392b\" font-weight=\"bold\"", "BLOCKED");
        text(f, x + 10, y + 48, 11, "start", "fill=\"#222\"", "dropped without a fault");
    }
}

static void header(FILE *f, int width, int height, const struct vtd_request *req, const struct vtd_result *res)
{
    char b[16];
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\">\n",
            width, height, width, height);
    fprintf(f, "<title>VT-d translation walk</title>\n"
               "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" "
               "markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n");
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
    text(f, MARGIN, 28, 18, "start", "fill=\"#111\" font-weight=\"bold\"", "VT-d translation: sid %s, %s 0x%" PRIx64,
         wf_bdf(req->sid, b, sizeof b), wf_access_name(req->access), req->addr);
    char pas[48] = "";
    if (req->pasid_valid)
        snprintf(pas, sizeof pas, ", PASID 0x%x (%s)", req->pasid, req->priv ? "supervisor" : "user");
    text(f, MARGIN, 48, 12, "start", "fill=\"#444\"", "bus 0x%02x devfn 0x%02x%s, %s", req->sid >> 8,
         req->sid & 0xff, pas,
         req->at == VTD_AT_TRANSLATION_REQ ? "translation request" : req->at == VTD_AT_TRANSLATED ? "translated request" : "untranslated request");
    if (res->status == VTD_OK)
        text(f, MARGIN, 66, 12, "start", "fill=\"#1d5e16\" font-weight=\"bold\"", "result: HPA 0x%" PRIx64 " (%s page)",
             res->pa, wf_size_name(res->page_size, b, sizeof b));
    else if (res->status == VTD_FAULT)
        text(f, MARGIN, 66, 12, "start", "fill=\"#c0392b\" font-weight=\"bold\"", "result: fault %02Xh", res->fault_reason);
    else
        text(f, MARGIN, 66, 12, "start", "fill=\"#c0392b\" font-weight=\"bold\"", "result: blocked");
}

/* ---- chain layout ---- */

static int svg_chain(FILE *f, const struct vtd_request *req, const struct wf_step *steps, int n,
                     const struct vtd_result *res)
{
    int ncol = n + 1;
    int width = 2 * MARGIN + ncol * COL_W + (ncol - 1) * COL_GAP;
    if (width < 640)
        width = 640;
    int height = TOP + TAB_H + 120;
    header(f, width, height, req, res);
    int prev_x = -1, prev_y = 0;
    for (int i = 0; i < n; i++) {
        int x = MARGIN + i * (COL_W + COL_GAP);
        const struct wf_step *s = &steps[i];
        if (!reads_table(s->kind)) {
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"80\" rx=\"8\" fill=\"#f4f4f4\" stroke=\"#777\" stroke-width=\"2\"/>\n",
                    x, TOP, COL_W);
            text(f, x + COL_W / 2, TOP + 34, 14, "middle", "fill=\"#222\" font-weight=\"bold\"", "%s", wf_kind_name(s->kind));
            text(f, x + COL_W / 2, TOP + 56, 11, "middle", "fill=\"#444\"", "output = input");
            if (prev_x >= 0)
                arrow(f, prev_x, prev_y, x, TOP + 2, "#333");
            prev_x = x + COL_W;
            prev_y = TOP + 40;
            continue;
        }
        int ey = table_column(f, x, TOP, TAB_H, s, true);
        if (prev_x >= 0)
            arrow(f, prev_x, prev_y, x, TOP + 2, "#333");
        prev_x = x + COL_W;
        prev_y = ey;
    }
    int x = MARGIN + n * (COL_W + COL_GAP);
    outcome(f, x, TOP, COL_W, res->status == VTD_OK ? TAB_H : 150, res, req->addr);
    if (prev_x >= 0)
        arrow(f, prev_x, prev_y, x, TOP + 2, res->status == VTD_OK ? "#333" : "#c0392b");
    fputs("</svg>\n", f);
    return 0;
}

/* ---- nested grid ---- */

static int cell(FILE *f, int x, int y, const struct wf_step *s)
{
    const char *c = colour(s->kind);
    fprintf(f, "<g class=\"cell\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"%s\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
            x, y, CELL_W, CELL_H, tint(s->kind), s->read_error ? "#c0392b" : c,
            s->read_error ? " stroke-dasharray=\"6,4\"" : "");
    char im[32];
    text(f, x + 6, y + 16, 12, "start", "fill=\"#222\" font-weight=\"bold\"", "%s [%u]", wf_table_name(s->kind, s->level), s->index);
    text(f, x + CELL_W - 6, y + 16, 10, "end", "fill=\"#444\"", "%s", wf_index_meaning(s, im, sizeof im));
    text(f, x + 6, y + 32, 10, "start", "fill=\"#444\"", "entry 0x%" PRIx64, s->addr);
    if (s->read_error) {
        text(f, x + 6, y + 48, 11, "start", "fill=\"#c0392b\" font-weight=\"bold\"", "READ ERROR");
    } else {
        char lines[2][64];
        int nl = key_lines(s, lines, 2, 29);
        for (int i = 0; i < nl; i++)
            text(f, x + 6, y + 47 + 13 * i, 10, "start", "fill=\"#222\"", "%s", lines[i]);
    }
    fputs("</g>\n", f);
    return 0;
}

static int svg_nested(FILE *f, const struct vtd_request *req, const struct wf_step *steps, int n,
                      const struct vtd_result *res)
{
    int npre = 0, fl_top = 0, sl_top = 0;
    for (int i = 0; i < n; i++) {
        const struct wf_step *s = &steps[i];
        if (s->kind == WF_FL_PTE && s->level > fl_top)
            fl_top = s->level;
        else if (s->kind == WF_SL_PTE && s->nested) {
            if (s->level > sl_top)
                sl_top = s->level;
            if (s->for_level > fl_top)
                fl_top = s->for_level;
        } else if (s->kind != WF_FL_PTE && s->kind != WF_SL_PTE)
            npre++;
    }
    int ncols = fl_top + 1; /* FL levels fl_top..1, then the output */
    int pre_h = 160;
    int grid_y = TOP + pre_h + 130;
    int grid_x = MARGIN + ROWHDR_W;
    int pre_w = 2 * MARGIN + npre * COL_W + (npre > 0 ? npre - 1 : 0) * COL_GAP;
    int grid_w = grid_x + ncols * (CELL_W + CELL_GX) + COL_W + MARGIN;
    int width = pre_w > grid_w ? pre_w : grid_w;
    int height = grid_y + (sl_top + 1) * (CELL_H + CELL_GY) + 110;
    header(f, width, height, req, res);
    text(f, MARGIN, 84, 11, "start", "fill=\"#444\"",
         "nested: every first-level table address is a guest-physical address, translated by a second-level walk (one column each)");

    /* the structures before the page tables, as a chain */
    int px = -1, py = 0, k = 0;
    for (int i = 0; i < n; i++) {
        const struct wf_step *s = &steps[i];
        if (s->kind == WF_FL_PTE || s->kind == WF_SL_PTE || !reads_table(s->kind))
            continue;
        int x = MARGIN + k++ * (COL_W + COL_GAP);
        int ey = table_column(f, x, TOP, pre_h, s, true);
        if (px >= 0)
            arrow(f, px, py, x, TOP + 2, "#333");
        px = x + COL_W;
        py = ey;
    }

    /* column and row headings */
    for (int c = 0; c < ncols; c++) {
        int x = grid_x + c * (CELL_W + CELL_GX);
        int lvl = fl_top - c; /* 0 = output */
        uint64_t gpa = 0;
        bool have = false;
        for (int i = 0; i < n && !have; i++)
            if (steps[i].kind == WF_SL_PTE && steps[i].nested && steps[i].for_level == lvl) {
                gpa = steps[i].input;
                have = true;
            }
        if (lvl)
            text(f, x, grid_y - 26, 13, "start", "fill=\"#222\" font-weight=\"bold\"", "%s table", wf_table_name(WF_FL_PTE, lvl));
        else
            text(f, x, grid_y - 26, 13, "start", "fill=\"#222\" font-weight=\"bold\"", "output address");
        if (have)
            text(f, x, grid_y - 10, 11, "start", "fill=\"#444\"", "GPA 0x%" PRIx64, gpa);
    }
    for (int r = 0; r <= sl_top; r++) {
        int y = grid_y + r * (CELL_H + CELL_GY) + CELL_H / 2 + 4;
        if (r < sl_top)
            text(f, MARGIN, y, 12, "start", "fill=\"#c77d1a\" font-weight=\"bold\"", "%s", wf_table_name(WF_SL_PTE, sl_top - r));
        else
            text(f, MARGIN, y, 12, "start", "fill=\"#1a8ec7\" font-weight=\"bold\"", "FL entry");
    }

    /* the cells, in the order read, with arrows: down a column, across from
     * a first-level entry to the walk of the next table's address */
    int lc = -1, lx = px, ly = py; /* previous cell's column, exit point */
    int last_x = px, last_y = py;
    for (int i = 0; i < n; i++) {
        const struct wf_step *s = &steps[i];
        int c, r;
        if (s->kind == WF_SL_PTE && s->nested) {
            c = fl_top - s->for_level;
            r = sl_top - s->level;
        } else if (s->kind == WF_FL_PTE) {
            c = fl_top - s->level;
            r = sl_top;
        } else {
            continue;
        }
        if (c < 0 || r < 0)
            continue;
        int x = grid_x + c * (CELL_W + CELL_GX), y = grid_y + r * (CELL_H + CELL_GY);
        cell(f, x, y, s);
        if (c == lc)
            arrow(f, x + CELL_W / 2, ly, x + CELL_W / 2, y, "#333");
        else if (lx >= 0)
            arrow(f, lx, ly, x, y + CELL_H / 2, "#333");
        lc = c;
        if (s->kind == WF_SL_PTE) {
            lx = x + CELL_W / 2;
            ly = y + CELL_H;
        } else {
            lx = x + CELL_W;
            ly = y + CELL_H / 2;
        }
        last_x = x + CELL_W;
        last_y = y + CELL_H / 2;
    }
    /* the outcome to the right of the grid */
    int ox = grid_x + ncols * (CELL_W + CELL_GX);
    int oy = grid_y + (sl_top > 0 ? (sl_top - 1) : 0) * (CELL_H + CELL_GY);
    outcome(f, ox, oy, COL_W, 150, res, req->addr);
    if (last_x >= 0)
        arrow(f, last_x, last_y, ox, oy + 10, res->status == VTD_OK ? "#333" : "#c0392b");
    fputs("</svg>\n", f);
    return 0;
}

int svg_walk(FILE *f, const struct vtd_request *req, const struct wf_step *steps, int n,
             const struct vtd_result *res)
{
    bool nested = false;
    for (int i = 0; i < n; i++)
        nested |= steps[i].kind == WF_SL_PTE && steps[i].nested;
    if (nested)
        svg_nested(f, req, steps, n, res);
    else
        svg_chain(f, req, steps, n, res);
    return ferror(f) ? -1 : 0;
}
