#include "waf_expr.h"

#include <assert.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Layout: the parser appends nodes to one array and refers to them by index
 * (the array moves while it grows). A logical node's operands are a list,
 * first child then next siblings, so that `a or b or c ...` is one node with
 * many children: the evaluator loops over them instead of recursing down a
 * chain as long as the expression, and its depth stays the nesting's.
 */
enum {
    FIELD_METHOD,
    FIELD_HOST,
    FIELD_PATH,
    FIELD_QUERY,
    FIELD_IP,
    FIELD_ZONE,
    FIELD_COLO,
    FIELD_HEADER
};

enum { NODE_OR, NODE_XOR, NODE_AND, NODE_NOT, NODE_CMP };

enum {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_CONTAINS,
    OP_MATCHES,
    OP_IN,
    OP_STARTS,
    OP_ENDS
};

typedef struct waf_node {
    uint8_t kind;  /* NODE_* */
    uint8_t field; /* NODE_CMP: FIELD_* */
    uint8_t op;    /* NODE_CMP: OP_* */
    int32_t child; /* logical nodes: the first operand; -1 none */
    int32_t next;  /* the next operand of the parent; -1 last */
    uint32_t name; /* FIELD_HEADER: the lowercased name, an offset into chars */
    uint32_t str;  /* string operand: an offset into chars */
    uint32_t len;  /* its length (starts_with/ends_with compare by length) */
    int64_t num;   /* integer operand */
    uint32_t set;  /* OP_IN: the first member in strs or nums */
    uint32_t nset; /* and how many */
    uint32_t re;   /* OP_MATCHES: index into res */
} waf_node;

struct waf_expr {
    waf_node *nodes;
    size_t nnodes, capnodes;
    int32_t root;
    /* Every string of the expression, each NUL-terminated. Unescaping never
     * lengthens a string and its two quotes make room for its NUL, so the
     * text's length + 1 is enough: allocated once, offsets stay valid. */
    char *chars;
    size_t nchars;
    uint32_t *strs; /* string set members: offsets into chars */
    size_t nstrs, capstrs;
    int64_t *nums; /* integer set members */
    size_t nnums, capnums;
    regex_t **res; /* one allocation each: a regex_t is not documented to be movable */
    size_t nres, capres;
    uint64_t regex_size; /* elements counted so far, against WAF_EXPR_MAX_REGEX_SIZE */
};

/* ---- lexer ---------------------------------------------------------------------------- */

typedef enum {
    TOK_END,
    TOK_WORD, /* a field or function name (or an unknown word) */
    TOK_STRING,
    TOK_INT,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_EQ,
    TOK_NE,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_CONTAINS,
    TOK_MATCHES,
    TOK_IN,
    TOK_NOT,
    TOK_AND,
    TOK_OR,
    TOK_XOR,
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t start, end; /* byte offsets of the token's source text */
    int64_t num;       /* TOK_INT */
    uint32_t str, len; /* TOK_STRING: the unescaped text in chars */
} token;

typedef struct parser {
    const char *text;
    size_t len;
    size_t pos; /* where the lexer goes on */
    token tok;  /* the current token, not consumed yet */
    int depth;
    waf_expr *e;
    int rc; /* the first error; once set, the parse unwinds */
    char *err;
    size_t errlen;
    size_t err_pos;
} parser;

/* Keywords are words the lexer turns into operators; anything else stays a word. */
static const struct {
    const char *word;
    tok_kind kind;
} keywords[] = {
    {"eq", TOK_EQ},
    {"ne", TOK_NE},
    {"lt", TOK_LT},
    {"le", TOK_LE},
    {"gt", TOK_GT},
    {"ge", TOK_GE},
    {"contains", TOK_CONTAINS},
    {"matches", TOK_MATCHES},
    {"in", TOK_IN},
    {"not", TOK_NOT},
    {"and", TOK_AND},
    {"or", TOK_OR},
    {"xor", TOK_XOR},
};

static const struct {
    const char *name;
    uint8_t field;
} fields[] = {
    {"http.request.method", FIELD_METHOD},
    {"http.host", FIELD_HOST},
    {"http.request.uri.path", FIELD_PATH},
    {"http.request.uri.query", FIELD_QUERY},
    {"ip.src", FIELD_IP},
    {"cf.worker.upstream_zone", FIELD_ZONE},
    {"cf.colo.id", FIELD_COLO},
    {"http.request.headers", FIELD_HEADER},
};

/* Source text for a message: printable, bounded (it is echoed back to whoever wrote it). */
static void excerpt(char *dst, size_t dstlen, const char *s, size_t n, bool quoted)
{
    size_t o = 0, i = 0;
    if (quoted)
        dst[o++] = '"';
    for (; i < n && i < 40 && o + 2 < dstlen; i++)
        dst[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (i < n && o + 5 < dstlen) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    if (quoted)
        dst[o++] = '"';
    dst[o] = '\0';
}

static void quote(char *dst, size_t dstlen, const char *s, size_t n)
{
    excerpt(dst, dstlen, s, n, true);
}

/* The first error wins: later ones are consequences of the parse unwinding. */
static void fail(parser *p, int rc, size_t pos, const char *expected, const char *got)
{
    if (p->rc)
        return;
    p->rc = rc;
    p->err_pos = pos;
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "position %zu: expected %s, got %s", pos, expected, got);
}

/* How the message names the current token. */
static const char *describe(const parser *p, const token *t, char *buf, size_t buflen)
{
    if (t->kind == TOK_END)
        return "end of input";
    char q[64];
    /* A string token's text has its quotes already. */
    excerpt(q, sizeof q, p->text + t->start, t->end - t->start, t->kind != TOK_STRING);
    if (t->kind == TOK_STRING)
        snprintf(buf, buflen, "string %s", q);
    else if (t->kind == TOK_INT)
        snprintf(buf, buflen, "integer %s", q);
    else
        snprintf(buf, buflen, "%s", q);
    return buf;
}

static void fail_tok(parser *p, const char *expected)
{
    char buf[96];
    fail(p, ING_CONFIG, p->tok.start, expected, describe(p, &p->tok, buf, sizeof buf));
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

static void lex_string(parser *p, token *t)
{
    waf_expr *e = p->e;
    size_t i = t->start + 1;
    t->str = (uint32_t)e->nchars;
    for (;;) {
        char c = p->text[i];
        if (c == '\0') {
            /* Where the string began: the end of the text says nothing about which one. */
            fail(p, ING_CONFIG, t->start, "a closing '\"' for the string opened here",
                 "end of input");
            return;
        }
        if (c == '"')
            break;
        if (c == '\\') {
            char n = p->text[i + 1];
            if (n != '"' && n != '\\') {
                char q[64];
                quote(q, sizeof q, p->text + i, n ? 2 : 1);
                fail(p, ING_CONFIG, i, "\\\" or \\\\ (the only escapes)", q);
                return;
            }
            c = n;
            i++;
        }
        e->chars[e->nchars++] = c;
        i++;
    }
    t->len = (uint32_t)(e->nchars - t->str);
    e->chars[e->nchars++] = '\0';
    t->end = i + 1;
}

static void lex_int(parser *p, token *t)
{
    size_t i = t->start;
    int64_t v = 0;
    bool overflow = false;
    for (; p->text[i] >= '0' && p->text[i] <= '9'; i++) {
        int d = p->text[i] - '0';
        /* Checked before it is added: the accumulation never overflows. */
        if (v > (INT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    t->end = i;
    t->num = v;
    if (overflow) {
        char q[64];
        quote(q, sizeof q, p->text + t->start, i - t->start);
        fail(p, ING_CONFIG, t->start, "an integer from 0 to 9223372036854775807", q);
    }
}

/* Reads the next token into p->tok. A lexical error sets p->rc (and a TOK_END token). */
static void advance(parser *p)
{
    const char *s = p->text;
    size_t i = p->pos;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    token t = {.kind = TOK_END, .start = i, .end = i};
    char c = s[i], n = c ? s[i + 1] : '\0';
    if (c == '\0') {
        /* TOK_END */
    } else if (c == '"') {
        t.kind = TOK_STRING;
        lex_string(p, &t);
    } else if (c >= '0' && c <= '9') {
        t.kind = TOK_INT;
        lex_int(p, &t);
    } else if (is_word_char(c)) {
        size_t j = i;
        while (is_word_char(s[j]))
            j++;
        t.kind = TOK_WORD;
        t.end = j;
        for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
            if (strlen(keywords[k].word) == j - i && memcmp(keywords[k].word, s + i, j - i) == 0)
                t.kind = keywords[k].kind;
    } else {
        /* Punctuation: two-character forms first. */
        static const struct {
            const char *text;
            tok_kind kind;
        } puncts[] = {
            {"==", TOK_EQ},      {"!=", TOK_NE},     {"<=", TOK_LE},    {">=", TOK_GE},
            {"&&", TOK_AND},     {"||", TOK_OR},     {"^^", TOK_XOR},   {"<", TOK_LT},
            {">", TOK_GT},       {"~", TOK_MATCHES}, {"!", TOK_NOT},    {"(", TOK_LPAREN},
            {")", TOK_RPAREN},   {"{", TOK_LBRACE},  {"}", TOK_RBRACE}, {"[", TOK_LBRACKET},
            {"]", TOK_RBRACKET}, {",", TOK_COMMA},
        };
        bool found = false;
        for (size_t k = 0; k < sizeof puncts / sizeof puncts[0] && !found; k++) {
            size_t l = strlen(puncts[k].text);
            if (c == puncts[k].text[0] && (l == 1 || n == puncts[k].text[1])) {
                t.kind = puncts[k].kind;
                t.end = i + l;
                found = true;
            }
        }
        if (!found) {
            char q[64];
            quote(q, sizeof q, s + i, 1);
            fail(p, ING_CONFIG, i, "a field, a value, an operator or a parenthesis", q);
        }
    }
    if (p->rc)
        t = (token){.kind = TOK_END, .start = i, .end = i};
    p->tok = t;
    p->pos = t.end;
}

/* ---- nodes ---------------------------------------------------------------------------- */

/* Grows an array to hold one more element; false (and ING_NOMEM) when it cannot. */
static bool grow(parser *p, void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *a = realloc(*arr, ncap * size);
    if (!a) {
        fail(p, ING_NOMEM, p->tok.start, "memory for the expression", "out of memory");
        return false;
    }
    *arr = a;
    *cap = ncap;
    return true;
}

static int32_t new_node(parser *p, uint8_t kind)
{
    waf_expr *e = p->e;
    if (!grow(p, (void **)&e->nodes, e->nnodes, &e->capnodes, sizeof *e->nodes))
        return -1;
    e->nodes[e->nnodes] = (waf_node){.kind = kind, .child = -1, .next = -1};
    return (int32_t)e->nnodes++;
}

/* ---- regex vetting -------------------------------------------------------------------- */

/*
 * Counts a regex's elements as glibc compiles them (WAF_EXPR_MAX_REGEX_SIZE)
 * and refuses backreferences, before regcomp sees it: both are about what
 * the regex costs, which regcomp does not limit. Only the structure matters
 * here; whether the regex is valid is regcomp's to say, so anything this
 * scan does not understand counts as a one-element atom. Returns the count
 * (saturated above the limit), or UINT64_MAX with *bad_at set for a
 * backreference or a too deep nesting of groups.
 */
static uint64_t regex_size(const char *re, size_t *bad_at, const char **why)
{
    const uint64_t cap = (uint64_t)WAF_EXPR_MAX_REGEX_SIZE + 1;
    uint64_t total[WAF_EXPR_MAX_DEPTH + 1], last[WAF_EXPR_MAX_DEPTH + 1];
    int d = 0;
    total[0] = last[0] = 0;
    bool quantified = false; /* the element just read was a quantifier */
    for (size_t i = 0; re[i];) {
        char c = re[i];
        uint64_t mult = 1;
        bool quant =
            c == '*' || c == '+' || c == '?' || (c == '{' && re[i + 1] >= '0' && re[i + 1] <= '9');
        if (quant && quantified) {
            /* "a**", "a*+", "a{2}{3}": undefined in POSIX extended regular expressions, and
             * glibc takes exponential time on them (the fuzzer's find) */
            *bad_at = i;
            *why = "a quantifier right after another";
            return UINT64_MAX;
        }
        quantified = quant;
        if (c == '(') {
            if (d == WAF_EXPR_MAX_DEPTH) {
                *bad_at = i;
                *why = "groups nested too deep";
                return UINT64_MAX;
            }
            d++;
            total[d] = last[d] = 0;
            i++;
            continue;
        }
        if (c == ')' && d > 0) {
            uint64_t g = total[d--];
            last[d] = g ? g : 1;
            total[d] += last[d];
            i++;
        } else if (c == '|') {
            last[d] = 0;
            i++;
        } else if (c == '*' || c == '+' || c == '?') {
            mult = 2;
            i++;
        } else if (c == '{') {
            /* {m}, {m,}, {m,n}: the largest count the copies are made for. */
            size_t j = i + 1;
            uint64_t m = 0, n = 0;
            bool digits = false, comma = false, ndigits = false;
            for (; re[j] >= '0' && re[j] <= '9'; j++, digits = true)
                m = m < cap ? m * 10 + (uint64_t)(re[j] - '0') : cap;
            if (re[j] == ',') {
                comma = true;
                for (j++; re[j] >= '0' && re[j] <= '9'; j++, ndigits = true)
                    n = n < cap ? n * 10 + (uint64_t)(re[j] - '0') : cap;
            }
            if (re[j] == '}' && (digits || ndigits)) {
                mult = !comma ? m : ndigits ? (n > m ? n : m) : m + 1;
                if (mult == 0)
                    mult = 1;
                i = j + 1;
            } else {
                last[d] = 1;
                total[d] += 1;
                i++;
            }
        } else if (c == '[') {
            /* A bracket expression is one element; ']' first is a member, as are [:x:]. */
            size_t j = i + 1;
            if (re[j] == '^')
                j++;
            if (re[j] == ']')
                j++;
            while (re[j] && re[j] != ']') {
                if (re[j] == '[' && (re[j + 1] == ':' || re[j + 1] == '=' || re[j + 1] == '.')) {
                    char kind = re[j + 1];
                    const char *close = NULL;
                    for (size_t k = j + 2; re[k] && re[k + 1]; k++)
                        if (re[k] == kind && re[k + 1] == ']') {
                            close = re + k;
                            break;
                        }
                    j = close ? (size_t)(close - re) + 2 : j + 1;
                } else {
                    j++;
                }
            }
            i = re[j] ? j + 1 : j;
            last[d] = 1;
            total[d] += 1;
        } else if (c == '\\') {
            if (re[i + 1] >= '1' && re[i + 1] <= '9') {
                *bad_at = i;
                *why = "a backreference (not supported)";
                return UINT64_MAX;
            }
            i += re[i + 1] ? 2 : 1;
            last[d] = 1;
            total[d] += 1;
        } else {
            last[d] = 1;
            total[d] += 1;
            i++;
        }
        if (mult > 1) {
            /* The repeated element now stands `mult` times where it stood once. */
            uint64_t l = last[d] ? last[d] : 1;
            uint64_t grown = l * (mult < cap ? mult : cap);
            if (grown > cap)
                grown = cap;
            total[d] = total[d] - last[d] + grown;
            if (total[d] > cap)
                total[d] = cap;
            last[d] = grown;
        }
        if (total[d] > cap)
            total[d] = cap;
    }
    /* Unclosed groups are regcomp's error; count what they hold. */
    uint64_t sum = 0;
    for (int k = 0; k <= d; k++)
        sum += total[k];
    return sum > cap ? cap : sum;
}

/* Compiles the current token's string as the regex of node n. */
static void compile_regex(parser *p, int32_t n)
{
    waf_expr *e = p->e;
    const char *re = e->chars + p->tok.str;
    char q[64];
    quote(q, sizeof q, re, p->tok.len);
    size_t bad_at = 0;
    const char *why = NULL;
    uint64_t size = regex_size(re, &bad_at, &why);
    if (size == UINT64_MAX) {
        char expected[160];
        snprintf(expected, sizeof expected,
                 "a regular expression without %s (at byte %zu of the regex)", why, bad_at);
        fail(p, ING_CONFIG, p->tok.start, expected, q);
        return;
    }
    if (e->regex_size + size > WAF_EXPR_MAX_REGEX_SIZE) {
        char expected[200];
        snprintf(expected, sizeof expected,
                 "regular expressions of at most %d elements in all (counted repetitions "
                 "multiply; %llu before this one)",
                 WAF_EXPR_MAX_REGEX_SIZE, (unsigned long long)e->regex_size);
        fail(p, ING_CONFIG, p->tok.start, expected, q);
        return;
    }
    if (!grow(p, (void **)&e->res, e->nres, &e->capres, sizeof *e->res))
        return;
    regex_t *r = malloc(sizeof *r);
    if (!r) {
        fail(p, ING_NOMEM, p->tok.start, "memory for the expression", "out of memory");
        return;
    }
    int rc = regcomp(r, re, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why_re[128], got[200];
        regerror(rc, r, why_re, sizeof why_re);
        free(r);
        snprintf(got, sizeof got, "%s (%s)", q, why_re);
        fail(p, rc == REG_ESPACE ? ING_NOMEM : ING_CONFIG, p->tok.start,
             "a valid POSIX extended regular expression", got);
        return;
    }
    e->regex_size += size;
    e->nodes[n].re = (uint32_t)e->nres;
    e->res[e->nres++] = r;
}

/* ---- parser --------------------------------------------------------------------------- */

static int32_t parse_or(parser *p);

static bool is_int_field(uint8_t f)
{
    return f == FIELD_COLO;
}

/*
 * A field name at the current token; FIELD_HEADER with its name copied
 * (lowercased) into node n. Returns the field, or -1 after an error.
 */
static int parse_field(parser *p, int32_t n)
{
    const token t = p->tok;
    int f = -1;
    if (t.kind == TOK_WORD)
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
            if (strlen(fields[k].name) == t.end - t.start &&
                memcmp(fields[k].name, p->text + t.start, t.end - t.start) == 0)
                f = fields[k].field;
    if (f < 0) {
        if (t.kind == TOK_WORD) {
            char q[64], got[96];
            quote(q, sizeof q, p->text + t.start, t.end - t.start);
            snprintf(got, sizeof got, "unknown field %s", q);
            fail(p, ING_CONFIG, t.start, "a field", got);
        } else {
            fail_tok(p, "a field");
        }
        return -1;
    }
    advance(p);
    if (f == FIELD_HEADER) {
        if (p->tok.kind != TOK_LBRACKET) {
            fail_tok(p, "[\"name\"] after http.request.headers");
            return -1;
        }
        advance(p);
        if (p->tok.kind != TOK_STRING || p->tok.len == 0) {
            fail_tok(p, "a header name (a non-empty string)");
            return -1;
        }
        /* Lowercased once here; the request's names are compared case-insensitively. */
        char *name = p->e->chars + p->tok.str;
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        p->e->nodes[n].name = p->tok.str;
        advance(p);
        if (p->tok.kind != TOK_RBRACKET) {
            fail_tok(p, "\"]\"");
            return -1;
        }
        advance(p);
    }
    p->e->nodes[n].field = (uint8_t)f;
    return f;
}

/* A string value at the current token into node n. */
static bool parse_string_value(parser *p, int32_t n, const char *expected)
{
    if (p->tok.kind != TOK_STRING) {
        fail_tok(p, expected);
        return false;
    }
    p->e->nodes[n].str = p->tok.str;
    p->e->nodes[n].len = p->tok.len;
    return true;
}

/* starts_with(field, "x") / ends_with(field, "x"), the name being the current token. */
static int32_t parse_function(parser *p, uint8_t op)
{
    int32_t n = new_node(p, NODE_CMP);
    if (n < 0)
        return -1;
    p->e->nodes[n].op = op;
    advance(p);
    if (p->tok.kind != TOK_LPAREN) {
        fail_tok(p, "\"(\"");
        return -1;
    }
    advance(p);
    const token ft = p->tok;
    int f = parse_field(p, n);
    if (f < 0)
        return -1;
    if (is_int_field((uint8_t)f)) {
        char q[64], got[96];
        quote(q, sizeof q, p->text + ft.start, ft.end - ft.start);
        snprintf(got, sizeof got, "integer field %s", q);
        fail(p, ING_CONFIG, ft.start, "a string field", got);
        return -1;
    }
    if (p->tok.kind != TOK_COMMA) {
        fail_tok(p, "\",\"");
        return -1;
    }
    advance(p);
    if (!parse_string_value(p, n, "a string"))
        return -1;
    advance(p);
    if (p->tok.kind != TOK_RPAREN) {
        fail_tok(p, "\")\"");
        return -1;
    }
    advance(p);
    return n;
}

/* `in {v ...}`: the members go to strs or nums, contiguous (nothing else is added meanwhile). */
static bool parse_set(parser *p, int32_t n, bool ints)
{
    waf_expr *e = p->e;
    if (p->tok.kind != TOK_LBRACE) {
        fail_tok(p, "\"{\"");
        return false;
    }
    advance(p);
    e->nodes[n].set = (uint32_t)(ints ? e->nnums : e->nstrs);
    for (;;) {
        if (p->tok.kind == TOK_RBRACE && e->nodes[n].nset > 0)
            break;
        if (ints && p->tok.kind == TOK_INT) {
            if (!grow(p, (void **)&e->nums, e->nnums, &e->capnums, sizeof *e->nums))
                return false;
            e->nums[e->nnums++] = p->tok.num;
        } else if (!ints && p->tok.kind == TOK_STRING) {
            if (!grow(p, (void **)&e->strs, e->nstrs, &e->capstrs, sizeof *e->strs))
                return false;
            e->strs[e->nstrs++] = p->tok.str;
        } else {
            const char *what = ints ? (e->nodes[n].nset ? "an integer or \"}\"" : "an integer")
                                    : (e->nodes[n].nset ? "a string or \"}\"" : "a string");
            fail_tok(p, what);
            return false;
        }
        e->nodes[n].nset++;
        advance(p);
    }
    advance(p);
    return true;
}

/* field OP value, the field being the current token. */
static int32_t parse_comparison(parser *p)
{
    int32_t n = new_node(p, NODE_CMP);
    if (n < 0)
        return -1;
    int f = parse_field(p, n);
    if (f < 0)
        return -1;
    bool ints = is_int_field((uint8_t)f);
    tok_kind k = p->tok.kind;
    uint8_t op;
    switch (k) {
    case TOK_EQ:
        op = OP_EQ;
        break;
    case TOK_NE:
        op = OP_NE;
        break;
    case TOK_LT:
        op = OP_LT;
        break;
    case TOK_LE:
        op = OP_LE;
        break;
    case TOK_GT:
        op = OP_GT;
        break;
    case TOK_GE:
        op = OP_GE;
        break;
    case TOK_CONTAINS:
        op = OP_CONTAINS;
        break;
    case TOK_MATCHES:
        op = OP_MATCHES;
        break;
    case TOK_IN:
        op = OP_IN;
        break;
    default:
        fail_tok(p, ints ? "an operator for an integer field (eq, ne, lt, le, gt, ge, in)"
                         : "an operator for a string field (eq, ne, contains, matches, in)");
        return -1;
    }
    bool ok =
        ints ? op != OP_CONTAINS && op != OP_MATCHES
             : op == OP_EQ || op == OP_NE || op == OP_CONTAINS || op == OP_MATCHES || op == OP_IN;
    if (!ok) {
        /* Cloudflare orders strings with lt..ge too; this subset does not, and says so. */
        fail_tok(p, ints ? "an operator for an integer field (eq, ne, lt, le, gt, ge, in)"
                         : "an operator for a string field (eq, ne, contains, matches, in)");
        return -1;
    }
    p->e->nodes[n].op = op;
    advance(p);
    if (op == OP_IN)
        return parse_set(p, n, ints) ? n : -1;
    if (ints) {
        if (p->tok.kind != TOK_INT) {
            fail_tok(p, "an integer");
            return -1;
        }
        p->e->nodes[n].num = p->tok.num;
    } else {
        if (!parse_string_value(p, n, op == OP_MATCHES ? "a string (the regex)" : "a string"))
            return -1;
        if (op == OP_MATCHES) {
            compile_regex(p, n);
            if (p->rc)
                return -1;
        }
    }
    advance(p);
    return n;
}

/* Nesting is counted where the parser recurses: at "(" and at not. */
static bool enter(parser *p)
{
    if (p->depth == WAF_EXPR_MAX_DEPTH) {
        char expected[96];
        snprintf(expected, sizeof expected, "at most %d nested parentheses and nots",
                 WAF_EXPR_MAX_DEPTH);
        fail(p, ING_CONFIG, p->tok.start, expected, "one more");
        return false;
    }
    p->depth++;
    return true;
}

static int32_t parse_unary(parser *p)
{
    token t = p->tok;
    if (t.kind == TOK_NOT) {
        if (!enter(p))
            return -1;
        advance(p);
        int32_t inner = parse_unary(p);
        p->depth--;
        if (inner < 0)
            return -1;
        int32_t n = new_node(p, NODE_NOT);
        if (n < 0)
            return -1;
        p->e->nodes[n].child = inner;
        return n;
    }
    if (t.kind == TOK_LPAREN) {
        if (!enter(p))
            return -1;
        advance(p);
        int32_t inner = parse_or(p);
        p->depth--;
        if (inner < 0)
            return -1;
        if (p->tok.kind != TOK_RPAREN) {
            fail_tok(p, "\")\" or a logical operator (and, or, xor)");
            return -1;
        }
        advance(p);
        return inner;
    }
    if (t.kind == TOK_WORD) {
        size_t l = t.end - t.start;
        const char *w = p->text + t.start;
        if (l == 11 && memcmp(w, "starts_with", 11) == 0)
            return parse_function(p, OP_STARTS);
        if (l == 9 && memcmp(w, "ends_with", 9) == 0)
            return parse_function(p, OP_ENDS);
        return parse_comparison(p);
    }
    fail_tok(p, "a field, a function, not or \"(\"");
    return -1;
}

/*
 * One precedence level of a logical operator: operands of the next tighter
 * level joined by `op`, gathered into one node (or the single operand as is).
 */
static int32_t parse_level(parser *p, tok_kind op, uint8_t kind, int32_t (*operand)(parser *))
{
    int32_t first = operand(p);
    if (first < 0 || p->tok.kind != op)
        return first;
    int32_t n = new_node(p, kind);
    if (n < 0)
        return -1;
    p->e->nodes[n].child = first;
    int32_t last = first;
    while (p->tok.kind == op) {
        advance(p);
        int32_t next = operand(p);
        if (next < 0)
            return -1;
        p->e->nodes[last].next = next;
        last = next;
    }
    return n;
}

static int32_t parse_and(parser *p)
{
    return parse_level(p, TOK_AND, NODE_AND, parse_unary);
}

static int32_t parse_xor(parser *p)
{
    return parse_level(p, TOK_XOR, NODE_XOR, parse_and);
}

static int32_t parse_or(parser *p)
{
    return parse_level(p, TOK_OR, NODE_OR, parse_xor);
}

void waf_expr_free(waf_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nres; i++) {
        regfree(e->res[i]);
        free(e->res[i]);
    }
    free(e->res);
    free(e->nodes);
    free(e->chars);
    free(e->strs);
    free(e->nums);
    free(e);
}

int waf_expr_parse(const char *text, waf_expr **out, char *err, size_t errlen, size_t *err_pos)
{
    if (err && errlen)
        err[0] = '\0';
    if (err_pos)
        *err_pos = 0;
    if (!out || !text) {
        if (err && errlen)
            snprintf(err, errlen, "waf_expr_parse: NULL %s", text ? "out" : "text");
        if (out)
            *out = NULL;
        return ING_USAGE;
    }
    *out = NULL;
    parser p = {.text = text, .err = err, .errlen = errlen};
    /* strnlen: a hostile text longer than the limit is not read to its end. */
    p.len = strnlen(text, WAF_EXPR_MAX_LEN + 1);
    if (p.len > WAF_EXPR_MAX_LEN) {
        char expected[96];
        snprintf(expected, sizeof expected, "at most %d bytes (Cloudflare's limit)",
                 WAF_EXPR_MAX_LEN);
        fail(&p, ING_CONFIG, WAF_EXPR_MAX_LEN, expected, "more");
        if (err_pos)
            *err_pos = p.err_pos;
        return p.rc;
    }
    waf_expr *e = calloc(1, sizeof *e);
    if (e)
        e->chars = malloc(p.len + 1);
    if (!e || !e->chars) {
        waf_expr_free(e);
        fail(&p, ING_NOMEM, 0, "memory for the expression", "out of memory");
        if (err_pos)
            *err_pos = 0;
        return ING_NOMEM;
    }
    p.e = e;
    advance(&p);
    int32_t root = p.rc ? -1 : parse_or(&p);
    if (root >= 0 && p.tok.kind != TOK_END)
        fail_tok(&p, "a logical operator (and, or, xor) or the end of the expression");
    if (p.rc) {
        waf_expr_free(e);
        if (err_pos)
            *err_pos = p.err_pos;
        return p.rc;
    }
    assert(root >= 0);
    e->root = root;
    *out = e;
    return ING_OK;
}

/* ---- evaluation: no allocation -------------------------------------------------------- */

static bool ascii_case_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b)
            return false;
        if (!x)
            return true;
    }
}

static bool str_holds(const waf_expr *e, const waf_node *n, const char *v)
{
    const char *s = e->chars + n->str;
    switch (n->op) {
    case OP_EQ:
        return strcmp(v, s) == 0;
    case OP_NE:
        return strcmp(v, s) != 0;
    case OP_CONTAINS:
        return strstr(v, s) != NULL;
    case OP_MATCHES:
        return regexec(e->res[n->re], v, 0, NULL, 0) == 0;
    case OP_STARTS:
        return strncmp(v, s, n->len) == 0;
    case OP_ENDS: {
        size_t l = strlen(v);
        return l >= n->len && memcmp(v + l - n->len, s, n->len) == 0;
    }
    case OP_IN:
        for (uint32_t i = 0; i < n->nset; i++)
            if (strcmp(v, e->chars + e->strs[n->set + i]) == 0)
                return true;
        return false;
    }
    return false;
}

static bool int_holds(const waf_expr *e, const waf_node *n, int64_t v)
{
    switch (n->op) {
    case OP_EQ:
        return v == n->num;
    case OP_NE:
        return v != n->num;
    case OP_LT:
        return v < n->num;
    case OP_LE:
        return v <= n->num;
    case OP_GT:
        return v > n->num;
    case OP_GE:
        return v >= n->num;
    case OP_IN:
        for (uint32_t i = 0; i < n->nset; i++)
            if (v == e->nums[n->set + i])
                return true;
        return false;
    }
    return false;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static bool compare(const waf_expr *e, const waf_node *n, const waf_request *r)
{
    switch (n->field) {
    case FIELD_METHOD:
        return str_holds(e, n, or_empty(r->method));
    case FIELD_HOST:
        return str_holds(e, n, or_empty(r->host));
    case FIELD_PATH:
        return str_holds(e, n, or_empty(r->path));
    case FIELD_QUERY:
        return str_holds(e, n, or_empty(r->query));
    case FIELD_IP:
        return str_holds(e, n, or_empty(r->ip));
    case FIELD_ZONE:
        return str_holds(e, n, or_empty(r->upstream_zone));
    case FIELD_COLO:
        return int_holds(e, n, r->colo_id);
    case FIELD_HEADER:
        /* Any value of the header: Cloudflare's any(http.request.headers["x"][*] op v). */
        for (size_t i = 0; i < r->nheaders; i++)
            if (r->header_names[i] && ascii_case_eq(r->header_names[i], e->chars + n->name) &&
                str_holds(e, n, or_empty(r->header_values[i])))
                return true;
        return false;
    }
    return false;
}

static bool eval_node(const waf_expr *e, int32_t i, const waf_request *r)
{
    const waf_node *n = &e->nodes[i];
    switch (n->kind) {
    case NODE_OR:
        for (int32_t c = n->child; c >= 0; c = e->nodes[c].next)
            if (eval_node(e, c, r))
                return true;
        return false;
    case NODE_AND:
        for (int32_t c = n->child; c >= 0; c = e->nodes[c].next)
            if (!eval_node(e, c, r))
                return false;
        return true;
    case NODE_XOR: {
        /* A chain of xors is true when an odd number of its operands are. */
        bool v = false;
        for (int32_t c = n->child; c >= 0; c = e->nodes[c].next)
            v ^= eval_node(e, c, r);
        return v;
    }
    case NODE_NOT:
        return !eval_node(e, n->child, r);
    case NODE_CMP:
        return compare(e, n, r);
    }
    return false;
}

bool waf_expr_eval(const waf_expr *e, const waf_request *r)
{
    assert(e && r);
    return eval_node(e, e->root, r);
}
