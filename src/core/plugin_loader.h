/* The plugin registry: loads every .so in the plugins folder, checks its ABI, calls
 * init, and keeps it until shutdown. Registry calls run on the main thread; lookups
 * (chorus_plugins_find) are safe from any thread once loading is done. */
#ifndef CHORUS_CORE_PLUGIN_LOADER_H
#define CHORUS_CORE_PLUGIN_LOADER_H

#include <glib.h>

#include "chorus/plugin.h"

struct ChorusPluginEntry {
    const chorus_plugin *desc; /* owned by the shared object */
    void *dl;                  /* dlopen handle */
    char *path;
};
typedef struct ChorusPluginEntry ChorusPluginEntry;

#define CHORUS_PLUGIN_ERROR (chorus_plugin_error_quark())
GQuark chorus_plugin_error_quark(void);
#define CHORUS_PLUGIN_DISABLED 7 /* error code: the config disables this package */

/* Loads one plugin: dlopen, entry symbol, ABI version and struct size checks, a
 * unique package name, then init(host, config_dir). Refusals return NULL with an error
 * saying why; packages listed in disable (may be NULL) are refused too. The entry is
 * registered on success (borrowed pointer). */
ChorusPluginEntry *chorus_plugin_load(const char *path, const chorus_host *host,
                                      const char *config_dir, char **disable, GError **error);
/* Loads every *.so in folder (sorted by name), skipping file names or packages listed
 * in disable. Each refusal is logged. Returns the number loaded. */
guint chorus_plugins_load_folder(const char *folder, const chorus_host *host,
                                 const char *config_dir, char **disable);
/* Borrowed, or NULL. */
ChorusPluginEntry *chorus_plugins_find(const char *package);
/* Borrowed entries in load order. */
const GPtrArray *chorus_plugins_all(void);
/* Calls shutdown on every plugin (reverse order) and unloads them. */
void chorus_plugins_unload_all(void);

#endif
