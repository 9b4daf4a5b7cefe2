/**
 * PacketBatch's wire constants (proto/gateway.proto), shared by the gateway's own encoder (packet-codec.ts) and
 * decoder (packet-decode.ts).
 */
export const EMPTY = Buffer.alloc(0);

// Tags (field number << 3 | wire type), all one byte.
export const TAG_PACKETS = 0x0a; // PacketBatch.packets = 1, length-delimited
export const TAG_SESSION_ID = 0x09; // 1, fixed64
export const TAG_MSG_ID = 0x10; // 2, varint
export const TAG_SERVER_ID = 0x18; // 3, varint
export const TAG_PAYLOAD = 0x22; // 4, length-delimited
export const TAG_KIND = 0x28; // 5, varint
export const TAG_TRACEPARENT = 0x32; // 6
export const TAG_CODE = 0x38; // 7, varint
export const TAG_REASON = 0x42; // 8
export const TAG_TOPIC = 0x4a; // 9
export const TAG_USER_ID = 0x52; // 10
export const TAG_PATH = 0x5a; // 11
export const TAG_REMOTE_ADDRESS = 0x62; // 12
export const TAG_ATTRIBUTES = 0x6a; // 13, map<string, string>: one length-delimited entry per pair

/** Nested groups a skipped unknown field may hold (protobuf's own recursion limit is 100). */
export const MAX_GROUP_DEPTH = 32;
