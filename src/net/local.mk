# src/net: build fragment (included by the top Makefile.am)
