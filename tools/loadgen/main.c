/* chorus-loadgen: simulates WebRTC voice participants against Chorus (voice or echo
 * plugin) or Janus (VideoRoom) and reports delivery, loss, duplicates and one-way
 * latency. See tools/loadgen/README.md. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "lg_run.h"
#include "util/log.h"

static const LgAdapter *find_adapter(const char *name)
{
    static const LgAdapter *const all[] = {&lg_adapter_chorus, &lg_adapter_janus, &lg_adapter_echo};
    for (guint i = 0; i < G_N_ELEMENTS(all); i++) {
        if (g_strcmp0(all[i]->name, name) == 0)
            return all[i];
    }
    return NULL;
}

/* Every PeerConnection holds a socket or more: lift the descriptor limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    LgRun run;
    GError *error = NULL;
    memset(&run, 0, sizeof run);
    if (!lg_options_parse(&run.opt, &argc, &argv, &error)) {
        fprintf(stderr, "chorus-loadgen: %s\n", error->message);
        return 2;
    }
    run.adapter = find_adapter(run.opt.adapter);
    if (!run.adapter) {
        fprintf(stderr, "chorus-loadgen: unknown adapter '%s' (chorus, janus, echo)\n",
                run.opt.adapter);
        return 2;
    }
    chorus_log_set_level(run.opt.verbose ? CHORUS_LOG_INFO : CHORUS_LOG_ERROR);
    raise_fd_limit();
    gboolean ok = lg_run_execute(&run, &error);
    if (ok) {
        lg_report_print(&run);
        if (run.opt.json && !lg_report_write_json(&run, run.opt.json, &error))
            ok = FALSE;
    }
    if (error)
        fprintf(stderr, "chorus-loadgen: %s\n", error->message);
    g_clear_error(&error);
    lg_run_clear(&run);
    lg_options_clear(&run.opt);
    return ok ? 0 : 1;
}
