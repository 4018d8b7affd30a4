#include "error.h"

static const struct {
    const char *name, *msg;
    int exit;
} table[] = {
#define SIM_ERR_ROW(name, exit, msg) {#name, msg, exit},
    SIM_ERR_MAP(SIM_ERR_ROW)
#undef SIM_ERR_ROW
};

const char *sim_strerror(int err)
{
    return err >= 0 && err < SIM_ERR_COUNT ? table[err].msg : "unknown error";
}

const char *sim_err_name(int err)
{
    return err >= 0 && err < SIM_ERR_COUNT ? table[err].name : "EUNKNOWN";
}

int sim_exit_code(int err)
{
    /* An unknown code is the harness's fault, never a pass. */
    return err >= 0 && err < SIM_ERR_COUNT ? table[err].exit : 3;
}
