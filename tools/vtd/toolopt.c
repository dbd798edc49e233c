/* SPDX-License-Identifier: MIT */
/* Options and inputs shared by `vtd audit` and `vtd walk --image` (toolopt.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_NORESERVE */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"
#include "toolopt.h"

bool tool_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool tool_parse_bdf(const char *s, uint16_t *sid)
{
    unsigned b, d, fn;
    char tail;
    if (!s || sscanf(s, "%2x:%2x.%1x%c", &b, &d, &fn, &tail) != 3)
        return false;
    if (b > 0xff || d > 0x1f || fn > 7)
        return false;
    *sid = (uint16_t)(b << 8 | d << 3 | fn);
    return true;
}

int tool_opt_val(int argc, char **argv, int *i, const char *name, const char **v)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *v = a + n + 1;
        return 1;
    }
    if (a[n])
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *v = argv[++*i];
    return 1;
}

char *tool_read_file_max(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    int err = buf ? 0 : ENOMEM;
    errno = 0;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n > max) {
            err = EFBIG;
            break;
        }
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                err = ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (!err && ferror(f))
        err = errno ? errno : EIO; /* EISDIR for a directory */
    if (f != stdin)
        fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    *len = n;
    return buf;
}

char *tool_read_file(const char *path, size_t *len)
{
    return tool_read_file_max(path, (size_t)1 << 30, len);
}

/* "vtd CMD: [OPT ]PATH: " then the reason */
static void say(const char *cmd, const char *opt, const char *path, const char *why)
{
    fprintf(stderr, "vtd %s: %s%s%s: %s\n", cmd, opt ? opt : "", opt ? " " : "", path, why);
}

int tool_load_regs(const char *cmd, const char *path, const char *unit, struct audit_regs *r)
{
    char err[256];
    size_t len;
    /* a register file is small: more is a device node or an image given by mistake */
    char *text = tool_read_file_max(path, (size_t)1 << 24, &len);
    if (!text) {
        say(cmd, "--regs", path, errno == EFBIG ? "larger than 16 MiB: not a register file" : strerror(errno));
        return 2;
    }
    int rc = audit_regs_parse(text, len, unit, r, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "vtd %s: --regs %s:%s\n", cmd, path, err);
        return 2;
    }
    return 0;
}

int tool_map_image(const char *cmd, const char *opt, const char *path, uint64_t base, bool writable,
                   struct tool_image *img)
{
    memset(img, 0, sizeof *img);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        say(cmd, opt, path, strerror(errno));
        return 2;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        say(cmd, opt, path, "empty or not a regular file");
        close(fd);
        return 2;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > UINT64_MAX - base || (sizeof(size_t) < 8 && size > SIZE_MAX)) {
        char why[80];
        snprintf(why, sizeof why, "image too large for --base 0x%" PRIx64, base);
        say(cmd, opt, path, why);
        close(fd);
        return 2;
    }
    /* MAP_PRIVATE: with PROT_WRITE, writes are copied on write and never reach the file */
    int flags = MAP_PRIVATE;
#ifdef MAP_NORESERVE
    if (writable)
        flags |= MAP_NORESERVE; /* no swap reserved for a multi-GiB sparse image */
#endif
    void *map = mmap(NULL, (size_t)size, PROT_READ | (writable ? PROT_WRITE : 0), flags, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) {
        char why[80];
        snprintf(why, sizeof why, "mmap: %s", strerror(e));
        say(cmd, opt, path, why);
        return 2;
    }
    img->data = map;
    img->size = size;
    img->base = base;
    return 0;
}

void tool_unmap_image(struct tool_image *img)
{
    if (img->data)
        munmap(img->data, (size_t)img->size);
    img->data = NULL;
}

uint8_t *tool_image_at(const struct tool_image *img, uint64_t pa, uint64_t len)
{
    if (pa < img->base)
        return NULL;
    uint64_t off = pa - img->base;
    if (off > img->size || len > img->size - off)
        return NULL;
    return img->data + off;
}
