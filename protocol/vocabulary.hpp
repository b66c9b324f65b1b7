// The vocabulary of the Parley protocol, each word listed once.
//
// Packet kinds and error codes have a number on the wire, a stable
// snake_case name (the `type` of the JSON test vectors, the names in the
// WebAssembly API, the labels of the server's metrics) and, for errors, a
// one-sentence description. Every table in C++ is generated from these
// lists (lz4's LZ4F_LIST_ERRORS style); the browser reads them from the wasm
// module, which exports them; the spec's tables are checked against them by
// a test. Numbers are part of the wire format: never renumber, only append.
#pragma once

/// X(name, byte): the packet kinds. 0x01-0x3F travel from clients to the
/// server, 0x40-0x7E from the server to clients; 0x7F (batch) is not a packet.
#define PARLEY_PACKET_KINDS(X) \
    X(authenticate, 0x01)       \
    X(join_room, 0x02)          \
    X(leave_room, 0x03)         \
    X(send_message, 0x04)       \
    X(edit_message, 0x05)       \
    X(delete_message, 0x06)     \
    X(set_reaction, 0x07)       \
    X(set_typing, 0x08)         \
    X(request_history, 0x09)    \
    X(ping, 0x0A)               \
    X(create_room, 0x0B)        \
    X(open_direct, 0x0C)        \
    X(manage_room, 0x0D)        \
    X(decline_invite, 0x0E)     \
    X(welcome, 0x40)            \
    X(room_joined, 0x41)        \
    X(room_left, 0x42)          \
    X(ack, 0x43)                \
    X(chat_message, 0x44)       \
    X(message_edited, 0x45)     \
    X(message_deleted, 0x46)    \
    X(reaction_update, 0x47)    \
    X(typing_update, 0x48)      \
    X(presence_update, 0x49)    \
    X(history_page, 0x4A)       \
    X(persisted_watermark, 0x4B) \
    X(error_report, 0x4C)       \
    X(pong, 0x4D)               \
    X(room_reset, 0x4E)         \
    X(room_event, 0x4F)         \
    X(room_list, 0x50)          \
    X(room_members, 0x51)

/// X(name, number, description): what a decoder refuses (1-63). The same
/// numbers travel in error_report packets.
#define PARLEY_DECODE_ERRORS(X)                                                                       \
    X(truncated, 1, "the packet ends before its header, payload or checksum does")                    \
    X(bad_magic, 2, "the packet does not start with the magic byte 0x50")                             \
    X(bad_version, 3, "the packet uses a protocol version this peer does not speak")                  \
    X(bad_checksum, 4, "the CRC32 of the packet does not match its trailer")                          \
    X(unknown_kind, 5, "the packet kind is not defined")                                              \
    X(bad_flags, 6, "reserved flag bits are set, or a flag is not allowed for this kind")             \
    X(field_too_long, 7, "a text field is longer than its limit")                                     \
    X(bad_utf8, 8, "a text field is not valid UTF-8")                                                 \
    X(too_large, 9, "the packet is larger than the protocol allows")                                  \
    X(decompressed_too_large, 10, "the compressed payload inflates past the payload limit")           \
    X(decompression_failed, 11, "the compressed payload is not a valid LZ4 frame")                    \
    X(trailing_bytes, 12, "bytes follow the end of the payload or packet")                            \
    X(bad_varint, 13, "an integer is not in shortest LEB128 form or overflows")                       \
    X(bad_value, 14, "an integer is out of range or an enum value is unknown")                        \
    X(too_many_items, 15, "a list has more items than its limit")                                     \
    X(unexpected_batch, 16, "a batch appears where it is not allowed")                                \
    X(empty_batch, 17, "a batch contains no packets")

/// X(name, number, description): what the server refuses (100 and up).
#define PARLEY_SERVER_ERRORS(X)                                                                             \
    X(not_authenticated, 100, "authenticate before sending chat packets")                                   \
    X(auth_failed, 101, "the session token is unknown, expired or signed out")                              \
    X(bad_room_name, 102, "room names are 1-64 characters: letters, digits, '-', '_' or '.'")               \
    X(not_in_room, 103, "the room is not joined on this connection")                                        \
    X(no_such_message, 104, "the room has no message with that sequence number")                            \
    X(forbidden, 105, "only the author may do that")                                                         \
    X(rate_limited, 106, "too many requests; retry after the given delay")                                  \
    X(unexpected_kind, 107, "that packet kind is not accepted from clients")                                \
    X(empty_text, 108, "the message text is empty or only white space")                                     \
    X(message_deleted, 109, "the message was deleted")                                                       \
    X(server_busy, 110, "the server cannot store more right now; retry later")                               \
    X(too_many_rooms, 111, "this connection has joined too many rooms")                                     \
    X(internal_error, 112, "the server failed to handle the request")                                       \
    X(shutting_down, 113, "the server is shutting down; reconnect later")                                   \
    X(room_quota, 114, "this user has created as many rooms this hour as the server allows")                \
    X(room_unavailable, 115, "the room cannot be read right now; retry later")                             \
    X(no_such_room, 116, "no such room, or you do not have access to it")                                  \
    X(muted, 117, "you are muted in this room: you can read but not send, react or type")                  \
    X(not_allowed, 118, "your role in this room does not allow that")                                       \
    X(no_such_user, 119, "no such user")                                                                    \
    X(bad_request, 120, "that request does not apply here")                                                 \
    X(room_name_taken, 121, "a public room with that name exists; join it or choose another name")
