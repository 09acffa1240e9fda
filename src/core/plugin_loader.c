#include "core/plugin_loader.h"

#include <dlfcn.h>
#include <string.h>

#include "util/log.h"

#define TAG "plugins"

G_DEFINE_QUARK(chorus - plugin - error, chorus_plugin_error)

static GPtrArray *loaded; /* ChorusPluginEntry*, owned */

ChorusPluginEntry *chorus_plugins_find(const char *package)
{
    if (loaded == NULL || package == NULL)
        return NULL;
    for (guint i = 0; i < loaded->len; i++) {
        ChorusPluginEntry *e = g_ptr_array_index(loaded, i);
        if (strcmp(e->desc->package, package) == 0)
            return e;
    }
    return NULL;
}

const GPtrArray *chorus_plugins_all(void)
{
    if (loaded == NULL)
        loaded = g_ptr_array_new();
    return loaded;
}

/* Checks the descriptor before anything in it is called. */
static gboolean check_descriptor(const chorus_plugin *d, const char *path, GError **error)
{
    if (d == NULL) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 2, "%s: entry returned no descriptor", path);
        return FALSE;
    }
    if (d->abi_version != CHORUS_PLUGIN_ABI_VERSION) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 3, "%s: ABI version %u, this server speaks %u",
                    path, d->abi_version, CHORUS_PLUGIN_ABI_VERSION);
        return FALSE;
    }
    if (d->struct_size != sizeof(chorus_plugin)) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 3, "%s: descriptor size %u, expected %zu", path,
                    d->struct_size, sizeof(chorus_plugin));
        return FALSE;
    }
    if (d->package == NULL || d->init == NULL || d->create_session == NULL ||
        d->destroy_session == NULL || d->handle_message == NULL) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 4,
                    "%s: descriptor lacks package, init, create_session, destroy_session "
                    "or handle_message",
                    path);
        return FALSE;
    }
    if (chorus_plugins_find(d->package) != NULL) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 5, "%s: package %s is already loaded", path,
                    d->package);
        return FALSE;
    }
    return TRUE;
}

ChorusPluginEntry *chorus_plugin_load(const char *path, const chorus_host *host,
                                      const char *config_dir, char **disable, GError **error)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 1, "%s: %s", path, dlerror());
        return NULL;
    }
    chorus_plugin_entry_fn entry = (chorus_plugin_entry_fn)dlsym(dl, CHORUS_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 1, "%s: no %s symbol", path,
                    CHORUS_PLUGIN_ENTRY_SYMBOL);
        dlclose(dl);
        return NULL;
    }
    const chorus_plugin *desc = entry();
    if (!check_descriptor(desc, path, error)) {
        dlclose(dl);
        return NULL;
    }
    if (disable != NULL && g_strv_contains((const char *const *)disable, desc->package)) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, CHORUS_PLUGIN_DISABLED,
                    "%s: %s is disabled by the config", path, desc->package);
        dlclose(dl);
        return NULL;
    }
    int rc = desc->init(host, config_dir);
    if (rc < 0) {
        g_set_error(error, CHORUS_PLUGIN_ERROR, 6, "%s: %s refused to start (init returned %d)",
                    path, desc->package, rc);
        dlclose(dl);
        return NULL;
    }
    ChorusPluginEntry *e = g_new0(ChorusPluginEntry, 1);
    e->desc = desc;
    e->dl = dl;
    e->path = g_strdup(path);
    g_ptr_array_add((GPtrArray *)chorus_plugins_all(), e);
    LOG_I(TAG, "loaded %s %s (%s)", desc->package, desc->version_string ? desc->version_string : "",
          path);
    return e;
}

guint chorus_plugins_load_folder(const char *folder, const chorus_host *host,
                                 const char *config_dir, char **disable)
{
    GError *error = NULL;
    GDir *dir = g_dir_open(folder, 0, &error);
    if (dir == NULL) {
        LOG_E(TAG, "plugins folder %s: %s", folder, error->message);
        g_error_free(error);
        return 0;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(name, ".so"))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_dir_close(dir);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    guint count = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *file = *(char **)&g_ptr_array_index(names, i);
        if (disable != NULL && g_strv_contains((const char *const *)disable, file)) {
            LOG_I(TAG, "%s is disabled by the config", file);
            continue;
        }
        g_autofree char *path = g_build_filename(folder, file, NULL);
        if (chorus_plugin_load(path, host, config_dir, disable, &error) != NULL) {
            count++;
        } else if (error->code == CHORUS_PLUGIN_DISABLED) {
            LOG_I(TAG, "%s", error->message);
            g_clear_error(&error);
        } else {
            LOG_E(TAG, "refused: %s", error->message);
            g_clear_error(&error);
        }
    }
    g_ptr_array_free(names, TRUE);
    return count;
}

void chorus_plugins_unload_all(void)
{
    if (loaded == NULL)
        return;
    for (guint i = loaded->len; i-- > 0;) {
        ChorusPluginEntry *e = g_ptr_array_index(loaded, i);
        if (e->desc->shutdown)
            e->desc->shutdown();
            /* Under ASan keep the object mapped so leak reports can name its frames. */
#ifndef __SANITIZE_ADDRESS__
        dlclose(e->dl);
#endif
        g_free(e->path);
        g_free(e);
    }
    g_ptr_array_free(loaded, TRUE);
    loaded = NULL;
}
