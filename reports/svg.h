/*
 * Inline SVG charts for the HTML report: a plot area mapping data coordinates to
 * pixels, axes with rounded ticks, and the marks drawn from data (bars, bands, lines,
 * points), each with a tooltip title. Every mark drawn from data carries a class
 * starting "d-" - what the report's tests count, so a chart with no data marks is
 * visible as such. Writes to a FILE (the report's); no state outside the svg value.
 */
#ifndef REPORTS_SVG_H
#define REPORTS_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct svg {
    FILE *out;
    int width, height;
    int left, right, top, bottom;                         /* margins in pixels */
    double x0, x1, y0, y1;                                /* the data range shown */
    const char *(*xfmt)(double v, char *buf, size_t len); /* tick labels on x */
    bool no_yticks; /* rows, not a quantity: no y ticks or grid */
} svg;

/* Starts an <svg> of width x height pixels with an accessible label. */
void svg_begin(svg *g, FILE *out, int width, int height, const char *label);
/* The data range and the axes (labels may be NULL); y ticks are plain numbers. */
void svg_axes(svg *g, double x0, double x1, double y0, double y1, const char *xlabel,
              const char *ylabel);
void svg_end(svg *g);

double svg_px(const svg *g, double x);
double svg_py(const svg *g, double y);

/* A data mark: the rectangle [x0, x1] x [y0, y1] in data coordinates. */
void svg_rect(svg *g, double x0, double y0, double x1, double y1, const char *cls,
              const char *title);
/* A full-height band over [x0, x1] behind the data (a fault or eviction period). */
void svg_band(svg *g, double x0, double x1, const char *cls, const char *title);
/* A polyline through n points (a series), NaN y values skipped. */
void svg_line(svg *g, const double *xs, const double *ys, size_t n, const char *cls,
              const char *title);
/* A point mark (an eviction on a timeline). */
void svg_point(svg *g, double x, double y, double r_px, const char *cls, const char *title);
/* Text at data coordinates, anchored "start", "middle" or "end". */
void svg_text(svg *g, double x, double y, const char *anchor, const char *cls, const char *text);

/* Text for XML: & < > " ' escaped, control bytes as '?' (results.h's res_xml). */
void svg_escape(FILE *out, const char *s);

/* A "nice" step for about n ticks over [lo, hi]: 1, 2 or 5 times a power of ten. */
double svg_nice_step(double lo, double hi, int n);

/* The same for nanoseconds of virtual time: 1, 2, 5, 10, 15, 30 s, 1, 2, 5... min, 1, 2,
 * 3, 6, 12 h, days. svg_axes uses it when xfmt is svg_fmt_time_ns. */
double svg_nice_time_step(double lo, double hi, int n);

/* Virtual time as a tick label: "90 s", "12 min", "3.5 h". */
const char *svg_fmt_time_ns(double ns, char *buf, size_t len);

#endif
