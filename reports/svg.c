#include "svg.h"

#include "results.h"

#include <math.h>
#include <string.h>

void svg_escape(FILE *out, const char *s)
{
    res_xml(out, s ? s : "");
}

void svg_begin(svg *g, FILE *out, int width, int height, const char *label)
{
    memset(g, 0, sizeof *g);
    g->out = out;
    g->width = width;
    g->height = height;
    g->left = 64;
    g->right = 16;
    g->top = 12;
    g->bottom = 36;
    g->x1 = g->y1 = 1;
    fprintf(out,
            "<svg class=\"chart\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
            width, height, width, height);
    svg_escape(out, label);
    fputs("\">", out);
}

void svg_end(svg *g)
{
    fputs("</svg>\n", g->out);
}

double svg_px(const svg *g, double x)
{
    double span = g->x1 - g->x0;
    double w = g->width - g->left - g->right;
    return g->left + (span > 0 ? (x - g->x0) / span : 0) * w;
}

double svg_py(const svg *g, double y)
{
    double span = g->y1 - g->y0;
    double h = g->height - g->top - g->bottom;
    return g->top + h - (span > 0 ? (y - g->y0) / span : 0) * h;
}

double svg_nice_step(double lo, double hi, int n)
{
    double raw = (hi - lo) / (n > 0 ? n : 1);
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

double svg_nice_time_step(double lo, double hi, int n)
{
    /* Steps a clock reader expects: seconds, minutes, hours, days. */
    static const double s[] = {1e-3, 2e-3, 5e-3, 0.01,  0.02,  0.05,  0.1,   0.2,    0.5,   1,
                               2,    5,    10,   15,    30,    60,    120,   300,    600,   900,
                               1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800};
    double raw = (hi - lo) / (n > 0 ? n : 1) / 1e9;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (s[i] >= raw)
            return s[i] * 1e9;
    return svg_nice_step(lo, hi, n);
}

const char *svg_fmt_time_ns(double ns, char *buf, size_t len)
{
    double s = ns / 1e9;
    if (s < 120)
        snprintf(buf, len, "%g s", round(s * 100) / 100);
    else if (s < 7200)
        snprintf(buf, len, "%g min", round(s / 60 * 10) / 10);
    else
        snprintf(buf, len, "%g h", round(s / 3600 * 10) / 10);
    return buf;
}

static const char *fmt_plain(double v, char *buf, size_t len)
{
    if (fabs(v) >= 1e6)
        snprintf(buf, len, "%gM", v / 1e6);
    else if (fabs(v) >= 1e4)
        snprintf(buf, len, "%gk", v / 1e3);
    else
        snprintf(buf, len, "%g", v);
    return buf;
}

void svg_axes(svg *g, double x0, double x1, double y0, double y1, const char *xlabel,
              const char *ylabel)
{
    g->x0 = x0;
    g->x1 = x1 > x0 ? x1 : x0 + 1;
    g->y0 = y0;
    g->y1 = y1 > y0 ? y1 : y0 + 1;
    FILE *o = g->out;
    double bx = g->left, by = g->height - g->bottom, tx = g->width - g->right;
    fprintf(o, "<g class=\"axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", bx, by,
            tx, by);
    fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", bx, (double)g->top, bx,
            by);
    char lab[48];
    double step = g->xfmt == svg_fmt_time_ns ? svg_nice_time_step(g->x0, g->x1, 6)
                                             : svg_nice_step(g->x0, g->x1, 6);
    for (double v = ceil(g->x0 / step) * step; v <= g->x1 + step * 1e-9; v += step) {
        double px = svg_px(g, v);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px, by, px, by + 4);
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px, by + 16);
        svg_escape(o, (g->xfmt ? g->xfmt : fmt_plain)(v, lab, sizeof lab));
        fputs("</text>", o);
    }
    step = svg_nice_step(g->y0, g->y1, 4);
    for (double v = ceil(g->y0 / step) * step; !g->no_yticks && v <= g->y1 + step * 1e-9;
         v += step) {
        double py = svg_py(g, v);
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", bx, py,
                tx, py);
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", bx - 6, py + 4);
        svg_escape(o, fmt_plain(v, lab, sizeof lab));
        fputs("</text>", o);
    }
    if (xlabel) {
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">", tx, g->height - 2);
        svg_escape(o, xlabel);
        fputs("</text>", o);
    }
    if (ylabel) {
        fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\" class=\"ylabel\">", 4,
                g->top + 2);
        svg_escape(o, ylabel);
        fputs("</text>", o);
    }
    fputs("</g>", o);
}

static void title(FILE *o, const char *t)
{
    if (t && *t) {
        fputs("<title>", o);
        svg_escape(o, t);
        fputs("</title>", o);
    }
}

void svg_rect(svg *g, double x0, double y0, double x1, double y1, const char *cls, const char *t)
{
    double a = svg_px(g, x0), b = svg_px(g, x1), c = svg_py(g, y1), d = svg_py(g, y0);
    double w = b - a, h = d - c;
    /* A non-zero datum stays visible at any scale. */
    if (w < 0.5)
        w = 0.5;
    if (h < 0.5 && y1 != y0)
        h = 0.5;
    fprintf(g->out, "<rect class=\"d-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">",
            cls, a, c, w, h);
    title(g->out, t);
    fputs("</rect>", g->out);
}

void svg_band(svg *g, double x0, double x1, const char *cls, const char *t)
{
    double a = svg_px(g, x0), b = svg_px(g, x1);
    fprintf(g->out, "<rect class=\"d-%s band\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">",
            cls, a, g->top, b - a < 1 ? 1 : b - a, g->height - g->top - g->bottom);
    title(g->out, t);
    fputs("</rect>", g->out);
}

void svg_line(svg *g, const double *xs, const double *ys, size_t n, const char *cls, const char *t)
{
    fprintf(g->out, "<path class=\"d-%s line\" d=\"", cls);
    bool pen = false;
    for (size_t i = 0; i < n; i++) {
        if (isnan(ys[i])) {
            pen = false;
            continue;
        }
        fprintf(g->out, "%c%.1f %.1f", pen ? 'L' : 'M', svg_px(g, xs[i]), svg_py(g, ys[i]));
        pen = true;
    }
    fputs("\">", g->out);
    title(g->out, t);
    fputs("</path>", g->out);
}

void svg_point(svg *g, double x, double y, double r, const char *cls, const char *t)
{
    fprintf(g->out, "<circle class=\"d-%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\">", cls, svg_px(g, x),
            svg_py(g, y), r);
    title(g->out, t);
    fputs("</circle>", g->out);
}

void svg_text(svg *g, double x, double y, const char *anchor, const char *cls, const char *text)
{
    fprintf(g->out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s%s>", svg_px(g, x),
            svg_py(g, y), anchor, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    svg_escape(g->out, text);
    fputs("</text>", g->out);
}
