# media/sdp: SDP parser and generator (owned by the SDP work)
