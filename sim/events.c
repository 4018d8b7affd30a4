#include "events.h"

const char *ev_name(uint32_t type)
{
    static const char *const names[EV_TYPE_COUNT] = {
#define EV_NAME(name, num, str, owner, what) [num] = str,
        EV_MAP(EV_NAME)
#undef EV_NAME
    };
    return type < EV_TYPE_COUNT && names[type] ? names[type] : "?";
}
