// parley-make-vectors: writes the golden test vectors of the wire protocol.
//
//   build/tests/vectors/parley-make-vectors > tests/vectors/packets.json
//
// Each vector is the hex of one WebSocket message and the packets it holds,
// as JSON; each error vector is crafted bytes and the decode error they must
// produce. The native suite (tests/protocol/vectors_test.cpp) and the wasm
// suite (tests/wasm/) decode every vector, compare fields, and re-encode to
// the same bytes. The output is deterministic: regenerate after a deliberate
// wire change and review the diff; never edit the file by hand.
#include "protocol/codec.hpp"
#include "protocol/compression.hpp"
#include "tests/support/frame_builder.hpp"
#include "tests/support/lz4_frames.hpp"
#include "tests/support/packet_json.hpp"
#include "tests/support/sample_packets.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace {

using namespace parley::protocol;
using parley::testing::append_text;
using parley::testing::append_varint;
using parley::testing::build_frame;
using parley::testing::sample_history;
using parley::testing::sample_record;
using json = nlohmann::ordered_json;

std::string to_hex(std::span<const std::uint8_t> b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (auto c : b) {
        s.push_back(digits[c >> 4]);
        s.push_back(digits[c & 15]);
    }
    return s;
}

const std::string& fifty_bytes = parley::testing::fifty_byte_text;

std::vector<std::pair<std::string, std::vector<packet>>> good_vectors() {
    const std::string long_text = parley::testing::sample_long_text(2000);
    auto with_reactions = sample_record(42, "reacted \xF0\x9F\x8E\x89 message");
    with_reactions.reactions = {{reaction_kind::like, 2}, {reaction_kind::star, 1}};
    with_reactions.my_reactions = 0b1001;
    with_reactions.reply_to = 40;

    return {
        {"authenticate", {authenticate{"q3Zb8mJr2cYw0Xk9LdPfUeTnHgVs1AiOaB4oE7uRlCy"}}},
        {"join_room_fresh", {join_room{"lobby", 0, 0}}},
        {"join_room_resume", {join_room{"dev.team-2", 0x1A2B3C4D5E6FULL, 123456}}},
        {"leave_room", {leave_room{3}}},
        {"send_message_50_bytes", {send_message{3, 0x1F2E3D4C5B6A7ULL, 0, fifty_bytes}}},
        {"send_message_reply_unicode", {send_message{3, 99, 41, "Grüße aus Köln — ça va? 你好 \xF0\x9F\x91\x8B", false}}},
        {"send_message_resend", {send_message{3, 0x1F2E3D4C5B6A7ULL, 0, "sent while offline", true}}},
        {"send_message_empty_text", {send_message{1, 1, 0, ""}}},
        {"send_message_2kb_compressed", {send_message{3, 123, 0, long_text}}},
        {"edit_message", {edit_message{3, 0x2A3B4C5D6E7FULL, 42, "fixed the typo", false}}},
        {"edit_message_resend", {edit_message{3, 0x2A3B4C5D6E7FULL, 42, "fixed the typo", true}}},
        {"delete_message", {delete_message{3, 0x2A3B4C5D6E80ULL, 42, false}}},
        {"set_reaction_heart_on", {set_reaction{3, 0x2A3B4C5D6E81ULL, 42, reaction_kind::heart, true, false}}},
        {"set_reaction_like_off", {set_reaction{3, 0x2A3B4C5D6E82ULL, 42, reaction_kind::like, false, true}}},
        {"set_typing_on", {set_typing{3, true}}},
        {"set_typing_off", {set_typing{3, false}}},
        {"request_history", {request_history{3, 1000, 50}}},
        {"ping", {ping{77}}},
        {"create_room_public", {create_room{0x2A3B4C5D6E83ULL, "release", room_kind::public_room}}},
        {"create_room_private", {create_room{0x2A3B4C5D6E84ULL, "Release planning \xF0\x9F\x9A\x80", room_kind::private_room}}},
        {"open_direct_two", {open_direct{0x2A3B4C5D6E85ULL, {8, 9}}}},
        {"manage_room_kick", {manage_room{3, 0x2A3B4C5D6E86ULL, room_action::kicked, 9, room_role::member,
                                          room_kind::public_room, "", false}}},
        {"manage_room_role_set", {manage_room{3, 0x2A3B4C5D6E87ULL, room_action::role_set, 8, room_role::moderator,
                                              room_kind::public_room, "", false}}},
        {"manage_room_topic_set", {manage_room{3, 0x2A3B4C5D6E88ULL, room_action::topic_set, 0, room_role::member,
                                               room_kind::public_room, "Everything about the 0.3 release", true}}},
        {"manage_room_kind_set", {manage_room{4, 0x2A3B4C5D6E89ULL, room_action::kind_set, 0, room_role::member,
                                              room_kind::private_room, "", false}}},
        {"decline_invite", {decline_invite{6}}},
        {"welcome", {parley::testing::sample_welcome()}},
        {"room_joined", {room_joined{3, "lobby", "lobby", "", room_kind::public_room, room_role::member, false,
                                     0x1A2B3C4D5E6FULL, 1200, 1195}}},
        {"room_joined_private_moderator", {room_joined{4, "~k3v7q2mx5tb4ncw6rj2hpa", "release planning",
                                                       "Dates, blockers, owners", room_kind::private_room,
                                                       room_role::moderator, true, 0x1A2B3C4D5E70ULL, 87, 87}}},
        {"room_left", {room_left{3, leave_reason::requested}}},
        {"room_left_kicked", {room_left{3, leave_reason::kicked}}},
        {"ack", {ack{3, 0x1F2E3D4C5B6A7ULL, 1201, 1'790'000'000'123ULL}}},
        {"ack_no_change", {ack{3, 0x2A3B4C5D6E81ULL, 0, 1'790'000'000'200ULL}}},
        {"chat_message_50_bytes", {chat_message{3, sample_record(1201, fifty_bytes)}}},
        {"chat_message_reactions_reply", {chat_message{3, with_reactions}}},
        {"chat_message_max_values", {chat_message{std::uint32_t(-1), [] {
             auto m = sample_record(limits::max_safe_integer, "max");
             m.author_id = m.client_msg_id = m.sent_at = m.edited_at = m.reply_to = limits::max_safe_integer;
             return m;
         }()}}},
        {"message_edited", {message_edited{3, 1202, 42, "fixed the typo", 1'790'000'005'000ULL}}},
        {"message_deleted", {message_deleted{3, 1203, 42, 1'790'000'006'000ULL, 7}}},
        {"message_deleted_by_moderator", {message_deleted{3, 1206, 41, 1'790'000'008'000ULL, 8}}},
        {"reaction_update", {reaction_update{3, 1204, 42, reaction_kind::star, 5, 8, true}}},
        {"typing_update", {typing_update{3, {8, "bo"}, true}}},
        {"presence_snapshot", {presence_update{3, presence_change::snapshot, {{7, "ana"}, {8, "bo"}, {9, "cy"}}, 3}}},
        {"presence_left", {presence_update{3, presence_change::left, {{8, "bo"}}, 2}}},
        {"history_page_empty", {history_page{3, history_mode::latest, false, {}}}},
        {"history_page_50_compressed", {sample_history(50)}},
        {"history_page_tombstone", {history_page{3, history_mode::older, true, {[] {
             auto m = sample_record(41, "");
             m.deleted = true;
             m.deleted_by = 8;
             return m;
         }()}}}},
        {"persisted_watermark", {persisted_watermark{3, 1195}}},
        {"error_report_rate_limited", {error_report{106, 0x04, 99, 1500, "slow down: 10 messages per 5 s"}}},
        {"pong", {pong{77}}},
        {"room_reset", {room_reset{3, 0x3C4D5E6F7A8BULL, 1195}}},
        {"room_event_kicked", {room_event{3, 1207, 1'790'000'009'000ULL, {8, "bo"}, room_action::kicked, {9, "cy"},
                                          room_role::member, room_kind::public_room, ""}}},
        {"room_event_topic_set", {room_event{3, 1208, 1'790'000'010'000ULL, {7, "ana"}, room_action::topic_set, {},
                                             room_role::member, room_kind::public_room,
                                             "Everything about the 0.3 release"}}},
        {"room_event_role_set", {room_event{3, 1209, 1'790'000'011'000ULL, {7, "ana"}, room_action::role_set,
                                            {8, "bo"}, room_role::moderator, room_kind::public_room, ""}}},
        {"room_event_kind_set_private", {room_event{4, 88, 1'790'000'012'000ULL, {7, "ana"}, room_action::kind_set, {},
                                                    room_role::member, room_kind::private_room,
                                                    "~k3v7q2mx5tb4ncw6rj2hpa"}}},
        {"room_list_snapshot", {parley::testing::sample_room_list()}},
        {"room_list_invited", {room_list{presence_change::joined,
                                         {{7, "~x2mq5ahv3zkw7tn4pj6dre", "design review", room_kind::private_room,
                                           room_role::member, false, true, {9, "cy"}, {}, 0}}}}},
        {"room_list_left", {room_list{presence_change::left,
                                      {{6, "", "", room_kind::public_room, room_role::member, false, false, {}, {}, 0}}}}},
        {"room_members_snapshot", {parley::testing::sample_room_members()}},
    };
}

bytes payload_of(const packet& p) {
    // Encode uncompressed and strip header and CRC: the payload bytes alone.
    auto b = encode(p, {.compress_threshold = SIZE_MAX});
    auto h = peek_header(*b);
    return bytes(b->begin() + static_cast<std::ptrdiff_t>(h->header_size),
                 b->begin() + static_cast<std::ptrdiff_t>(h->header_size + h->payload_size));
}

std::vector<std::pair<std::string, bytes>> error_vectors() {
    std::vector<std::pair<std::string, bytes>> v;
    const bytes good = *encode(ping{77});
    auto add = [&](std::string name, bytes b) { v.emplace_back(std::move(name), std::move(b)); };

    add("truncated", bytes(good.begin(), good.end() - 1));
    add("bad_magic", [&] { auto b = good; b[0] = 'X'; return b; }());
    add("bad_version", build_frame({.version = limits::version - 1, .kind = 0x0A}, payload_of(ping{77})));
    add("bad_checksum", [&] { auto b = good; b[5] ^= 0x01; return b; }());
    add("unknown_kind", build_frame({.kind = 0x30}, payload_of(ping{77})));
    add("bad_flags", build_frame({.kind = 0x0A, .flags = 0x02}, payload_of(ping{77})));
    {
        bytes p{3, 1, 0};  // room_id, client_msg_id, reply_to
        append_text(p, std::string(limits::max_text_bytes + 1, 'a'));
        add("field_too_long", build_frame(packet_kind::send_message, p));
    }
    {
        bytes p{3, 1, 0};
        append_text(p, "\xC0\xAF");  // overlong '/'
        add("bad_utf8", build_frame(packet_kind::send_message, p));
    }
    add("too_large", [] {
        bytes b{magic, limits::version, 0x0A, 0};
        append_varint(b, limits::max_packet_bytes + 1);
        return b;
    }());
    {
        bytes zeros(limits::max_payload_bytes + 1, 0), z;
        z.resize(compress_frame(zeros, z));
        add("decompressed_too_large", build_frame(packet_kind::send_message, z, flag_compressed));
    }
    {
        const std::string junk = "this is not an lz4 frame";
        add("decompression_failed", build_frame(packet_kind::send_message, bytes(junk.begin(), junk.end()), flag_compressed));
    }
    add("trailing_bytes", [&] { auto b = good; b.push_back(0); return b; }());
    add("bad_varint", build_frame(packet_kind::leave_room, bytes{0x83, 0x00}));
    add("bad_value", build_frame(packet_kind::set_reaction, bytes{3, 1, 42, 9, 1, 0}));
    {
        bytes p{3, 0, 1};
        append_varint(p, limits::max_history_page + 1);
        add("too_many_items", build_frame(packet_kind::history_page, p));
    }
    {
        auto inner = *encode_batch(std::vector<packet>{ping{1}});
        add("unexpected_batch", build_frame(packet_kind::batch, inner));
    }
    add("empty_batch", build_frame(packet_kind::batch, bytes{}));
    return v;
}


bytes from_hex(const std::string& hex) {
    bytes b;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        b.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return b;
}

bool write_file(const std::filesystem::path& path, std::span<const std::uint8_t> b) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) std::cerr << "cannot write " << path << "\n";
    return static_cast<bool>(out);
}

// Messages no Parley encoder writes but every decoder must handle: LZ4 frames
// that declare their content size, truly and falsely.
std::vector<std::pair<std::string, bytes>> foreign_messages() {
    const send_message long_message{3, 5, 0, parley::testing::sample_long_text(1500)};
    return {{"lz4-content-size", parley::testing::compressed_declaring_size(long_message)},
            {"lz4-lying-content-size", parley::testing::compressed_declaring_size(long_message, -1)}};
}

// Writes each vector (good and bad) as one binary file: the seed corpus of
// fuzz_decode in DIR/decode, and of fuzz_payload and fuzz_stateful (kind,
// flags, payload) in DIR/payload and DIR/stateful.
int write_corpus(const json& doc, const std::filesystem::path& dir) {
    for (const char* target : {"decode", "payload", "stateful"}) std::filesystem::create_directories(dir / target);
    std::vector<std::pair<std::string, bytes>> seeds = foreign_messages();
    for (const char* section : {"vectors", "errors"})
        for (const auto& v : doc[section]) seeds.emplace_back(std::string(section) + "-" + v["name"].get<std::string>(), from_hex(v["hex"]));
    for (const auto& [name, b] : seeds) {
        if (!write_file(dir / "decode" / name, b)) return 1;
        auto h = peek_header(b);
        if (!h) continue;
        bytes seed{b[2], b[3]};
        seed.insert(seed.end(), b.begin() + static_cast<std::ptrdiff_t>(h->header_size),
                    b.begin() + static_cast<std::ptrdiff_t>(h->header_size + h->payload_size));
        if (!write_file(dir / "payload" / name, seed) || !write_file(dir / "stateful" / name, seed)) return 1;
    }
    return 0;
}

json make_document();

}  // namespace

int main(int argc, char** argv) {
    const std::string usage = "usage: parley-make-vectors [--corpus DIR]\n"
                              "example: parley-make-vectors > tests/vectors/packets.json\n";
    if (argc == 3 && std::string(argv[1]) == "--corpus") return write_corpus(make_document(), argv[2]);
    if (argc != 1) {
        std::cerr << usage;
        return 2;
    }
    const json doc = make_document();
    if (doc.is_null()) return 1;
    std::cout << doc.dump(1) << "\n";
    return 0;
}

namespace {

json make_document() {
    json doc = json::object();
    doc["format"] = "parley-vectors/1";
    doc["generator"] = "tests/vectors/make_vectors.cpp (build/tests/vectors/parley-make-vectors)";
    doc["protocol_version"] = limits::version;
    json vectors = json::array();
    for (auto& [name, packets] : good_vectors()) {
        json packets_json = json::array();
        for (const auto& p : packets) packets_json.push_back(parley::testing::packet_to_json(p));
        auto encoded = encode(packets.front());
        if (!encoded) {
            std::cerr << "vector " << name << " does not encode: " << error_name(encoded.error()) << "\n";
            return nullptr;
        }
        vectors.push_back({{"name", name}, {"batch", false}, {"hex", to_hex(*encoded)}, {"packets", packets_json}});
    }
    {
        std::vector<packet> batch{chat_message{3, sample_record(1202, "first")}, typing_update{3, {8, "bo"}, false},
                                  persisted_watermark{3, 1202}, sample_history(50)};
        json packets_json = json::array();
        for (const auto& p : batch) packets_json.push_back(parley::testing::packet_to_json(p));
        vectors.push_back({{"name", "batch_of_four"}, {"batch", true}, {"hex", to_hex(*encode_batch(batch))},
                           {"packets", packets_json}});
    }
    doc["vectors"] = vectors;
    json errors = json::array();
    for (auto& [name, b] : error_vectors())
        errors.push_back({{"name", name}, {"error", name}, {"hex", to_hex(b)}});
    doc["errors"] = errors;
    return doc;
}

}  // namespace
