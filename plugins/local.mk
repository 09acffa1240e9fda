# plugins/: one folder per plugin, each a shared object loaded by the core.
PLUGIN_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
PLUGIN_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined

if PLUGIN_ECHO
plugin_LTLIBRARIES += plugins/echo/chorus_plugin_echo.la
plugins_echo_chorus_plugin_echo_la_SOURCES = plugins/echo/echo.c
plugins_echo_chorus_plugin_echo_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_echo_chorus_plugin_echo_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_echo_chorus_plugin_echo_la_LIBADD = $(JANSSON_LIBS) $(GLIB_LIBS)
endif

if PLUGIN_VOICE
plugin_LTLIBRARIES += plugins/voice/chorus_plugin_voice.la
plugins_voice_chorus_plugin_voice_la_SOURCES = plugins/voice/voice.c plugins/voice/voice.h \
	plugins/voice/channels.c plugins/voice/events.c plugins/voice/forward.c \
	plugins/voice/membership.c plugins/voice/requests.c
plugins_voice_chorus_plugin_voice_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_voice_chorus_plugin_voice_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_voice_chorus_plugin_voice_la_LIBADD = $(JANSSON_LIBS) $(GLIB_LIBS)
endif

# The server run from the build tree loads plugins from plugins/build/: link them there.
all-local: plugins-build-dir
plugins-build-dir: $(plugin_LTLIBRARIES)
	@$(MKDIR_P) plugins/build
	@rm -f plugins/build/*.so
	@for la in $(plugin_LTLIBRARIES); do \
	  so=$$(dirname $$la)/.libs/$$(basename $$la .la).so; \
	  ln -sf $(abs_top_builddir)/$$so plugins/build/; \
	done
clean-local: plugins-build-clean
plugins-build-clean:
	rm -rf plugins/build
.PHONY: plugins-build-dir plugins-build-clean
