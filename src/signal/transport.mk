# signal/transport: libwebsockets server and static HTTP (owned by the transport work)
