/*
 * nodusd configuration. One table (config_keys) drives parsing, validation and printing, so
 * --print-config always shows every key and its output loads back to the same configuration.
 *
 * Values are checked one by one as they are set; the rules that tie keys together
 * (default_weight <= max_weight) are checked once a whole file or override list is applied, so
 * the order of keys in a file does not matter. A file or list that fails leaves *c untouched,
 * so reloading a broken file keeps the configuration in force.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpulist.h"
#include "log.h"
#include "nodus.h"
#include "nodus_limits.h"

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned config fields are 32-bit");

#define CONFIG_IDLE_EXIT_MAX         31536000u /* one year, in seconds */
#define CONFIG_RESERVE_AFTER_MAX     3600000u  /* one hour, in ms */
#define CONFIG_LOOKAHEAD_MAX         64u       /* the scheduler's own cap */
#define CONFIG_LOOKAHEAD_MAX_US_MAX  1000000u  /* one second */
#define CONFIG_SESSIONS_PER_USER_MAX 1000000u
#define CONFIG_OUTSTANDING_MAX       1000000000ull /* per user */
#define CONFIG_MESSAGE_MIN           (64u * 1024u) /* one task with every access it may have */
#define CONFIG_IN_FLIGHT_MAX         65536u        /* tasks in flight on one device */
#define CONFIG_DRAIN_TIMEOUT_MAX     86400u        /* one day, in seconds */

typedef enum config_type {
    CONFIG_SOCKET,    /* absolute path, or "" for the default */
    CONFIG_CORES,     /* CPU list or count, or "" for the affinity set */
    CONFIG_LOG_LEVEL, /* name or digit */
    CONFIG_UINT,      /* decimal integer in [min, max] */
    CONFIG_BOOL,      /* yes|no (true|false, on|off, 1|0), an unsigned 0 or 1 */
    CONFIG_LIST,      /* comma-separated items of text, or "" */
    CONFIG_NAME,      /* a user or group name (no blanks, ':' or ','), or "" */
} config_type_t;

typedef struct config_key {
    const char *section;
    const char *name;
    config_type_t type;
    size_t offset; /* of the field in nodus_config_t */
    size_t size;   /* of the field: 4 or 8 for CONFIG_UINT */
    uint64_t min, max;
    int live; /* applied on reload (SIGHUP); otherwise it takes effect after a restart */
} config_key_t;

#define FIELD(f) offsetof(nodus_config_t, f), sizeof(((nodus_config_t *)0)->f)

static const config_key_t config_keys[] = {
    {"daemon", "socket", CONFIG_SOCKET, FIELD(socket_path), 0, 0, 0},
    {"daemon", "cores", CONFIG_CORES, FIELD(cores), 0, 0, 0},
    {"daemon", "log_level", CONFIG_LOG_LEVEL, FIELD(log_level), 0, 0, 1},
    {"daemon", "idle_exit", CONFIG_UINT, FIELD(idle_exit_s), 0, CONFIG_IDLE_EXIT_MAX, 1},
    {"daemon", "drain_timeout_s", CONFIG_UINT, FIELD(drain_timeout_s), 0, CONFIG_DRAIN_TIMEOUT_MAX,
     1},
    {"daemon", "admin_group", CONFIG_NAME, FIELD(admin_group), 0, 0, 1},
    {"sched", "default_weight", CONFIG_UINT, FIELD(default_weight), 1, NODUS_MAX_WEIGHT, 1},
    {"sched", "max_weight", CONFIG_UINT, FIELD(max_weight), 1, NODUS_MAX_WEIGHT, 1},
    {"sched", "reserve_after_ms", CONFIG_UINT, FIELD(reserve_after_ms), 0, CONFIG_RESERVE_AFTER_MAX,
     1},
    {"sched", "lookahead", CONFIG_UINT, FIELD(lookahead), 0, CONFIG_LOOKAHEAD_MAX, 1},
    {"sched", "lookahead_max_us", CONFIG_UINT, FIELD(lookahead_max_us), 0,
     CONFIG_LOOKAHEAD_MAX_US_MAX, 1},
    /* limits: 0 = no limit */
    {"limits", "max_sessions_per_user", CONFIG_UINT, FIELD(max_sessions_per_user), 0,
     CONFIG_SESSIONS_PER_USER_MAX, 1},
    {"limits", "max_outstanding_tasks", CONFIG_UINT, FIELD(max_outstanding_tasks), 0,
     CONFIG_OUTSTANDING_MAX, 1},
    {"limits", "max_message_bytes", CONFIG_UINT, FIELD(max_message_bytes), CONFIG_MESSAGE_MIN,
     NODUS_MAX_FRAME, 1},
    {"devices", "cuda", CONFIG_BOOL, FIELD(devices_cuda), 0, 1, 0},
    {"devices", "opencl", CONFIG_BOOL, FIELD(devices_opencl), 0, 1, 0},
    {"devices", "allow", CONFIG_LIST, FIELD(devices_allow), 0, 0, 0},
    {"devices", "slots", CONFIG_UINT, FIELD(devices_slots), 1, NODUS_MAX_DEVICE_SLOTS, 0},
    {"devices", "max_in_flight", CONFIG_UINT, FIELD(devices_max_in_flight), 1, CONFIG_IN_FLIGHT_MAX,
     0},
    {"devices", "max_in_flight_per_session", CONFIG_UINT, FIELD(devices_max_per_session), 1,
     CONFIG_IN_FLIGHT_MAX, 0},
    {"devices", "opencl_cpu_cores", CONFIG_UINT, FIELD(devices_opencl_cpu_cores), 0,
     NODUS_MAX_CORES, 0},
    {"trace", "enabled", CONFIG_BOOL, FIELD(trace_enabled), 0, 1, 1},
    {"trace", "capacity", CONFIG_UINT, FIELD(trace_capacity), NODUS_MIN_TRACE_EVENTS,
     NODUS_MAX_TRACE_EVENTS, 1},
};

#define NKEYS (sizeof config_keys / sizeof config_keys[0])

static const char *const level_names[] = {"emerg",   "alert",  "crit", "err",
                                          "warning", "notice", "info", "debug"};

void config_defaults(nodus_config_t *c)
{
    memset(c, 0, sizeof *c); /* whole arrays zeroed: configs compare with memcmp */
    c->log_level = LOG_INFO;
    c->idle_exit_s = 0;
    c->drain_timeout_s = 60;
    snprintf(c->admin_group, sizeof c->admin_group, "nodus");
    c->default_weight = 1;
    c->max_weight = 16;
    c->reserve_after_ms = 20;
    c->lookahead = 4;
    c->lookahead_max_us = 200;
    c->max_sessions_per_user = 64;
    c->max_outstanding_tasks = 1000000;
    c->max_message_bytes = NODUS_MAX_FRAME;
    c->devices_cuda = 1;
    c->devices_opencl = 1;
    c->devices_slots = 4;
    c->devices_max_in_flight = 64;
    c->devices_max_per_session = 32;
    c->devices_opencl_cpu_cores = 0;
    c->trace_enabled = 0;
    c->trace_capacity = 1u << 20;
}

static const config_key_t *config_find(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

/* Copies a string value into a fixed field, zero-filling the rest (see config_defaults). */
static int set_string(nodus_config_t *c, const config_key_t *k, const char *value, char *why,
                      size_t whylen)
{
    size_t n = strlen(value);
    if (n >= k->size) {
        snprintf(why, whylen, "too long (%zu bytes, at most %zu)", n, k->size - 1);
        return NODUS_EINVAL;
    }
    char *field = (char *)c + k->offset;
    memset(field, 0, k->size);
    memcpy(field, value, n);
    return 0;
}

static int check_socket(const char *value, char *why, size_t whylen)
{
    if (value[0] != '\0' && value[0] != '/') {
        snprintf(why, whylen, "not an absolute path");
        return NODUS_EINVAL;
    }
    for (const char *p = value; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(why, whylen, "control character in path");
            return NODUS_EINVAL;
        }
    }
    return 0;
}

static int check_cores(const char *value, char *why, size_t whylen)
{
    if (value[0] == '\0') return 0; /* the process's affinity set */
    uint32_t *ids = malloc(NODUS_MAX_CORES * sizeof *ids);
    if (!ids) {
        snprintf(why, whylen, "out of memory");
        return NODUS_ENOMEM;
    }
    size_t n;
    unsigned count;
    int rc = cpulist_parse(value, 1, ids, NODUS_MAX_CORES, &n, &count);
    free(ids);
    if (rc == NODUS_ELIMIT) {
        snprintf(why, whylen, "more than %u CPUs", NODUS_MAX_CORES);
        return NODUS_EINVAL;
    }
    if (rc < 0) {
        snprintf(why, whylen, "not a CPU list (\"0-3,6\") or a core count (1-%u)", NODUS_MAX_CORES);
        return NODUS_EINVAL;
    }
    return 0;
}

static int parse_bool(const char *value, unsigned *out, char *why, size_t whylen)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(value, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(value, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    snprintf(why, whylen, "not yes or no");
    return NODUS_EINVAL;
}

/* A comma list: text items (no control characters), none empty; "" is the empty list. */
static int check_list(const char *value, char *why, size_t whylen)
{
    if (value[0] == '\0') return 0;
    const char *item = value;
    for (const char *p = value;; p++) {
        if (*p == ',' || *p == '\0') {
            const char *a = item, *b = p;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if (a == b) {
                snprintf(why, whylen, "empty item in the list");
                return NODUS_EINVAL;
            }
            if (*p == '\0') return 0;
            item = p + 1;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(why, whylen, "control character in the list");
            return NODUS_EINVAL;
        }
    }
}

/* A user or group name as NSS knows them: no blanks, no control characters, no ':' or ','. */
static int check_name(const char *value, char *why, size_t whylen)
{
    for (const char *p = value; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == ':' || *p == ',') {
            snprintf(why, whylen, "not a group name (blank, control character, ':' or ',')");
            return NODUS_EINVAL;
        }
    }
    return 0;
}

static int parse_uint(const config_key_t *k, const char *value, uint64_t *out, char *why,
                      size_t whylen)
{
    if (!isdigit((unsigned char)value[0])) {
        snprintf(why, whylen, "not a non-negative decimal integer");
        return NODUS_EINVAL;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(value, &end, 10);
    if (*end != '\0') {
        snprintf(why, whylen, "trailing characters after the number");
        return NODUS_EINVAL;
    }
    if (errno == ERANGE || v < k->min || v > k->max) {
        snprintf(why, whylen, "out of range (%llu-%llu)", (unsigned long long)k->min,
                 (unsigned long long)k->max);
        return NODUS_EINVAL;
    }
    *out = v;
    return 0;
}

/* Sets one key on *c after checking its value alone; `why` gets the reason on failure. */
static int config_set_key(nodus_config_t *c, const char *section, const char *name,
                          const char *value, char *why, size_t whylen)
{
    const config_key_t *k = config_find(section, name);
    if (!k) {
        snprintf(why, whylen, "unknown key");
        return NODUS_EINVAL;
    }
    if (!value) value = "";
    int rc;
    switch (k->type) {
    case CONFIG_SOCKET:
        if ((rc = check_socket(value, why, whylen)) < 0) return rc;
        return set_string(c, k, value, why, whylen);
    case CONFIG_CORES:
        if ((rc = check_cores(value, why, whylen)) < 0) return rc;
        return set_string(c, k, value, why, whylen);
    case CONFIG_LIST:
        if ((rc = check_list(value, why, whylen)) < 0) return rc;
        return set_string(c, k, value, why, whylen);
    case CONFIG_NAME:
        if ((rc = check_name(value, why, whylen)) < 0) return rc;
        return set_string(c, k, value, why, whylen);
    case CONFIG_BOOL: {
        unsigned v;
        if ((rc = parse_bool(value, &v, why, whylen)) < 0) return rc;
        memcpy((char *)c + k->offset, &v, sizeof v);
        return 0;
    }
    case CONFIG_LOG_LEVEL: {
        int level = log_level_parse(value);
        if (level < 0) {
            snprintf(why, whylen,
                     "unknown log level (emerg, alert, crit, err, warning, notice, "
                     "info, debug or 0-7)");
            return NODUS_EINVAL;
        }
        c->log_level = level;
        return 0;
    }
    case CONFIG_UINT: {
        uint64_t v;
        if ((rc = parse_uint(k, value, &v, why, whylen)) < 0) return rc;
        void *field = (char *)c + k->offset;
        if (k->size == sizeof(uint64_t)) {
            memcpy(field, &v, sizeof v);
        } else {
            uint32_t v32 = (uint32_t)v; /* max <= UINT32_MAX for every 4-byte key */
            memcpy(field, &v32, sizeof v32);
        }
        return 0;
    }
    }
    snprintf(why, whylen, "unknown key type");
    return NODUS_EINVAL;
}

/* Rules between keys; `why` gets the reason when *c breaks one. */
static int config_check(const nodus_config_t *c, char *why, size_t whylen)
{
    if (c->default_weight > c->max_weight) {
        snprintf(why, whylen, "sched.default_weight (%u) is larger than sched.max_weight (%u)",
                 c->default_weight, c->max_weight);
        return NODUS_EINVAL;
    }
    return 0;
}

/*
 * One key at a time (command-line flags): nothing checks the cross-key rules later, so the
 * result must pass them too.
 */
int config_set(nodus_config_t *c, const char *section, const char *key, const char *value)
{
    char why[160];
    nodus_config_t next = *c;
    if (!section || !key || config_set_key(&next, section, key, value, why, sizeof why) < 0 ||
        config_check(&next, why, sizeof why) < 0)
        return NODUS_EINVAL;
    *c = next;
    return 0;
}

/* ---- INI files ---- */

typedef struct config_load {
    nodus_config_t cfg; /* built here, copied out only on success */
    FILE *file;
    const char *path;
    char *raw; /* the current line as read (getline buffer, owned) */
    size_t raw_cap;
    int line;      /* number of the current line */
    int err_line;  /* first failing line; 0: none */
    char err[320]; /* its message, without the "path:line: " prefix */
    char prev_section[64], prev_name[64];
} config_load_t;

/* Records the failure of the current line, unless an earlier line failed already. */
static void load_fail(config_load_t *ld, const char *key, const char *reason)
{
    if (ld->err_line) return;
    ld->err_line = ld->line;
    snprintf(ld->err, sizeof ld->err, "%s%s%s", key, key[0] ? ": " : "", reason);
}

/*
 * inih's line reader, wrapped so that line numbers are known to the handler (the packaged inih
 * does not pass them) and a line longer than inih's buffer is an error instead of being silently
 * split in two.
 */
static char *load_read_line(char *str, int num, void *stream)
{
    config_load_t *ld = stream;
    ssize_t n = getline(&ld->raw, &ld->raw_cap, ld->file);
    if (n < 0) return NULL;
    ld->line++;
    if (num < 1 || (size_t)n >= (size_t)num) {
        char reason[64];
        snprintf(reason, sizeof reason, "line longer than %d bytes", num - 1);
        load_fail(ld, "", reason);
        str[0] = '\0';
        return str;
    }
    memcpy(str, ld->raw, (size_t)n + 1);
    return str;
}

static int load_handler(void *user, const char *section, const char *name, const char *value)
{
    config_load_t *ld = user;
    char key[140], why[160];
    snprintf(key, sizeof key, "%s%s%s", section, section[0] ? "." : "", name);

    /* inih treats an indented line after a key as the continuation of that key's value. */
    if ((ld->raw[0] == ' ' || ld->raw[0] == '\t') && strcmp(section, ld->prev_section) == 0 &&
        strcmp(name, ld->prev_name) == 0) {
        load_fail(ld, key,
                  "indented line continues the previous value (multi-line values are not "
                  "supported; remove the indentation)");
        return 0;
    }
    snprintf(ld->prev_section, sizeof ld->prev_section, "%s", section);
    snprintf(ld->prev_name, sizeof ld->prev_name, "%s", name);

    if (config_set_key(&ld->cfg, section, name, value, why, sizeof why) < 0) {
        load_fail(ld, key, why);
        return 0;
    }
    return 1;
}

int config_load_file(nodus_config_t *c, const char *path, int optional, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (optional && errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NODUS_EINVAL;
    }
    config_load_t *ld = calloc(1, sizeof *ld);
    if (!ld) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return NODUS_ENOMEM;
    }
    ld->cfg = *c;
    ld->file = f;
    ld->path = path;

    int rc = ini_parse_stream(load_read_line, ld, load_handler, ld);
    int read_error = ferror(f);
    fclose(f);
    free(ld->raw);

    int ret = 0;
    if (rc == -2) {
        snprintf(err, errlen, "%s: out of memory", path);
        ret = NODUS_ENOMEM;
    } else if (read_error) {
        snprintf(err, errlen, "%s: read error", path);
        ret = NODUS_EINVAL;
    } else if (rc > 0 && (!ld->err_line || rc < ld->err_line)) {
        snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path, rc);
        ret = NODUS_EINVAL;
    } else if (ld->err_line) {
        snprintf(err, errlen, "%s:%d: %s", path, ld->err_line, ld->err);
        ret = NODUS_EINVAL;
    } else if (rc != 0) {
        snprintf(err, errlen, "%s: cannot parse (error %d)", path, rc);
        ret = NODUS_EINVAL;
    } else {
        char why[160];
        if (config_check(&ld->cfg, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s: %s", path, why);
            ret = NODUS_EINVAL;
        } else {
            *c = ld->cfg;
        }
    }
    free(ld);
    return ret;
}

/* ---- Overrides: "section.key=value,section.key=value" ---- */

/* Does p start an entry ("identifier.identifier=")? Decides which commas separate entries. */
static int starts_entry(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    for (int part = 0; part < 2; part++) {
        if (!isalpha((unsigned char)*p) && *p != '_') return 0;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        if (part == 0 && *p++ != '.') return 0;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '=';
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Applies one "section.key=value" entry (modified in place) to *c. */
static int apply_entry(nodus_config_t *c, char *entry, char *err, size_t errlen)
{
    char why[160];
    char *eq = strchr(entry, '=');
    char *dot = eq ? memchr(entry, '.', (size_t)(eq - entry)) : NULL;
    if (!eq || !dot) {
        snprintf(err, errlen, "\"%s\": expected section.key=value", trim(entry));
        return NODUS_EINVAL;
    }
    *eq = '\0';
    *dot = '\0';
    char *section = trim(entry), *name = trim(dot + 1), *value = trim(eq + 1);
    if (config_set_key(c, section, name, value, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s.%s: %s", section, name, why);
        return NODUS_EINVAL;
    }
    return 0;
}

int config_apply_overrides(nodus_config_t *c, const char *list, char *err, size_t errlen)
{
    if (!list) return 0;
    char *copy = strdup(list);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return NODUS_ENOMEM;
    }
    nodus_config_t next = *c;
    int rc = 0;
    char *entry = copy;
    if (*trim(entry) == '\0') goto out; /* an empty list changes nothing */
    /* Cut at each comma that is followed by a new entry; other commas belong to the value. */
    for (char *p = copy;; p++) {
        if (*p == '\0' || (*p == ',' && starts_entry(p + 1))) {
            int last = *p == '\0';
            *p = '\0';
            if ((rc = apply_entry(&next, entry, err, errlen)) < 0) goto out;
            if (last) break;
            entry = p + 1;
        }
    }
    char why[160];
    if (config_check(&next, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        rc = NODUS_EINVAL;
        goto out;
    }
    *c = next;
out:
    free(copy);
    return rc;
}

/* ---- Reload ---- */

/* Appends "section.key" to a comma-separated list in buf (truncated quietly when full). */
static void list_add(char *buf, size_t len, const config_key_t *k)
{
    size_t n = strlen(buf);
    if (n + 1 >= len) return;
    snprintf(buf + n, len - n, "%s%s.%s", n ? ", " : "", k->section, k->name);
}

int config_apply_live(nodus_config_t *cur, const nodus_config_t *next, char *applied,
                      size_t applied_len, char *restart, size_t restart_len)
{
    int nrestart = 0;
    if (applied_len) applied[0] = '\0';
    if (restart_len) restart[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        const config_key_t *k = &config_keys[i];
        void *to = (char *)cur + k->offset;
        const void *from = (const char *)next + k->offset;
        /* strings are zero-filled to their whole field (config_defaults, set_string) */
        if (memcmp(to, from, k->size) == 0) continue;
        if (k->live) {
            memcpy(to, from, k->size);
            list_add(applied, applied_len, k);
        } else {
            list_add(restart, restart_len, k);
            nrestart++;
        }
    }
    return nrestart;
}

/* ---- Printing ---- */

void config_print(const nodus_config_t *c, FILE *out)
{
    const char *section = NULL;
    fprintf(out, "# nodusd effective configuration (nodusd --print-config)\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const config_key_t *k = &config_keys[i];
        const void *field = (const char *)c + k->offset;
        if (!section || strcmp(section, k->section) != 0) {
            section = k->section;
            fprintf(out, "\n[%s]\n", section);
        }
        switch (k->type) {
        case CONFIG_BOOL: {
            unsigned v;
            memcpy(&v, field, sizeof v);
            fprintf(out, "%s = %s\n", k->name, v ? "yes" : "no");
            break;
        }
        case CONFIG_SOCKET:
        case CONFIG_LIST:
        case CONFIG_NAME:
        case CONFIG_CORES: {
            const char *s = field;
            fprintf(out, "%s =%s%.*s\n", k->name, s[0] ? " " : "", (int)k->size - 1, s);
            break;
        }
        case CONFIG_LOG_LEVEL:
            if (c->log_level >= LOG_EMERG && c->log_level <= LOG_DEBUG)
                fprintf(out, "%s = %s\n", k->name, level_names[c->log_level]);
            else
                fprintf(out, "%s = %d\n", k->name, c->log_level);
            break;
        case CONFIG_UINT: {
            uint64_t v;
            if (k->size == sizeof(uint64_t)) {
                memcpy(&v, field, sizeof v);
            } else {
                uint32_t v32;
                memcpy(&v32, field, sizeof v32);
                v = v32;
            }
            fprintf(out, "%s = %llu\n", k->name, (unsigned long long)v);
            break;
        }
        }
    }
}
