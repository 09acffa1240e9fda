/* Deliberately broken plugins for the loader test, selected at build time:
 * BAD_ABI: a wrong ABI version; BAD_SIZE: a wrong descriptor size; otherwise a good
 * plugin whose package is chorus.plugin.testgood. */
#include "chorus/plugin.h"

static int t_init(const chorus_host *host, const char *config_dir)
{
    return 0;
}

static void *t_create(chorus_handle *h, int *error)
{
    return NULL;
}

static void t_destroy(chorus_handle *h, void *state) {}

static chorus_plugin_result t_message(chorus_handle *h, void *state, const char *transaction,
                                      json_t *body, json_t *jsep)
{
    return (chorus_plugin_result){CHORUS_PLUGIN_ERROR, NULL, "test plugin"};
}

static const chorus_plugin desc = {
#if defined(BAD_ABI)
    .abi_version = CHORUS_PLUGIN_ABI_VERSION + 1,
#else
    .abi_version = CHORUS_PLUGIN_ABI_VERSION,
#endif
#if defined(BAD_SIZE)
    .struct_size = sizeof(chorus_plugin) - 8,
#else
    .struct_size = sizeof(chorus_plugin),
#endif
    .package = "chorus.plugin.testgood",
    .name = "test",
    .init = t_init,
    .create_session = t_create,
    .destroy_session = t_destroy,
    .handle_message = t_message,
};

CHORUS_PLUGIN_EXPORT const chorus_plugin *chorus_plugin_entry(void);
const chorus_plugin *chorus_plugin_entry(void)
{
    return &desc;
}
