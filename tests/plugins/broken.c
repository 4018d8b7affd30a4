/*
 * Test plugins that a host must refuse, one per build (BROKEN_KIND): a descriptor of another
 * ABI version, no entry symbol at all, a NULL method, a NULL descriptor.
 */
#include <edgeloss/exporter.h>

static void create(void *self, el_host *h, const void *config)
{
    (void)self, (void)h, (void)config;
}
static void export_items(void *self, el_signal sig, el_item *const *items, size_t n, el_call *call)
{
    (void)self, (void)sig, (void)items, (void)n, (void)call;
}
static void flush(void *self, el_call *call)
{
    (void)self, (void)call;
}
static void destroy(void *self, el_cause cause)
{
    (void)self, (void)cause;
}

static const el_exporter desc = {
#if BROKEN_KIND == 1
    .abi = EL_EXPORTER_ABI + 98,
#else
    .abi = EL_EXPORTER_ABI,
#endif
    .size = sizeof(el_exporter),
    .name = "broken",
    .state_size = 8,
    .create = create,
    .export_items = export_items,
#if BROKEN_KIND != 3
    .flush = flush,
#endif
    .shutdown = flush,
    .destroy = destroy};

#if BROKEN_KIND == 2
/* Exports something, but not the entry point. */
EL_EXPORT const el_exporter *edgeloss_exporter_v0(void);
EL_EXPORT const el_exporter *edgeloss_exporter_v0(void)
{
    return &desc;
}
#elif BROKEN_KIND == 4
EL_EXPORT const el_exporter *edgeloss_exporter(void)
{
    return (void)desc, NULL;
}
#else
EL_EXPORT const el_exporter *edgeloss_exporter(void)
{
    return &desc;
}
#endif
