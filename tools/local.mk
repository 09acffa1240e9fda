# tools/: chorus-loadgen, the WebRTC voice load generator (benchmarks: bench/run.sh).
# It reuses the server's net and media layers (ICE, DTLS, SRTP, SDP, RTP).
bin_PROGRAMS += tools/chorus-loadgen
tools_chorus_loadgen_SOURCES = \
	tools/loadgen/main.c \
	tools/loadgen/lg_options.c \
	tools/loadgen/lg_run.c tools/loadgen/lg_run.h \
	tools/loadgen/lg_shard.c tools/loadgen/lg_shard.h \
	tools/loadgen/lg_report.c \
	tools/loadgen/lg_adapter.c tools/loadgen/lg_adapter.h \
	tools/loadgen/lg_adapter_chorus.c tools/loadgen/lg_adapter_janus.c \
	tools/loadgen/lg_pc.c tools/loadgen/lg_pc.h \
	tools/loadgen/lg_janus.c tools/loadgen/lg_janus.h \
	tools/loadgen/lg_ws.c tools/loadgen/lg_ws.h \
	tools/loadgen/lg_audio.c tools/loadgen/lg_audio.h \
	tools/loadgen/lg_stats.c tools/loadgen/lg_stats.h
tools_chorus_loadgen_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(NICE_CFLAGS) $(SSL_CFLAGS) \
	$(SRTP_CFLAGS) $(OPUS_CFLAGS)
# OPUS_LIBS: PKG_CHECK_MODULES([OPUS], [opus]) in configure.ac; the can go then.
tools_chorus_loadgen_LDADD = $(CHORUS_CORE_LIBS) $(OPUS_LIBS)
EXTRA_DIST += tools/loadgen/README.md
