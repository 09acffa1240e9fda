# media/rtp: RTP, header extensions, RTCP (owned by the RTP work)
