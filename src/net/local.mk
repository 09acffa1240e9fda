# net/: ICE (libnice), DTLS (OpenSSL), SRTP (libsrtp2), SCTP (usrsctp) + DCEP. Each layer
# knows only the layer below it (a send function and a receive callback), never plugins.
# Sources are appended by the fragments ice.mk, dtls.mk and sctp.mk.
noinst_LIBRARIES += src/net/libchorus-net.a
src_net_libchorus_net_a_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -fPIC $(NICE_CFLAGS) \
	$(SSL_CFLAGS) $(SRTP_CFLAGS)
src_net_libchorus_net_a_SOURCES = src/net/net_types.h
