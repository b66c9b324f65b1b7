// The cluster's event bodies (event_codec.hpp): every kind of storage_event
// round-trips with its extreme values, and every way a body can be wrong is
// a typed error, never a throw or an allocation the input does not justify.
#include "server/cluster/event_codec.hpp"

#include "protocol/limits.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace parley::server;
using namespace parley::server::cluster;
namespace limits = parley::protocol::limits;

constexpr std::uint64_t big = limits::max_safe_integer;

std::vector<storage_event> samples() {
    events::room_changed deleted{7, 12, 3, 99, parley::protocol::room_action::deleted, 0,
                                 parley::protocol::room_role::owner, parley::protocol::room_kind::private_room,
                                 "Ünïcode title", 1700000000000, {}, std::nullopt};
    deleted.members = {{1, "ana", member_status::gone, parley::protocol::room_role::owner, false, 0, 12},
                       {2, "bo", member_status::banned, parley::protocol::room_role::member, true, 1, 11},
                       {big, std::string(limits::max_username_bytes, 'z'), member_status::invited,
                        parley::protocol::room_role::moderator, false, big, big}};
    events::room_changed renamed = deleted;
    renamed.members.clear();
    renamed.settings = room_settings{"~abcdefghijklmnopqrstuv", "Title", std::string(limits::max_topic_bytes, 't'),
                                     parley::protocol::room_kind::direct};
    return {
        events::room_created{4294967295u, public_room_named("lobby"), "1,2,3", 1, 5},
        events::epoch_started{1, big, 0, 0},
        events::message_posted{1, 1, 2, 0, "", 0, 0},
        events::message_posted{1, big, big, big, std::string(limits::max_text_bytes, 'x'), big, big},
        events::message_posted{9, 3, 2, 77, std::string("a\nb\0c" "😀", 9), 1000, 2},
        events::message_edited{1, 5, 2, 8, 3, "new text", 1234},
        events::message_deleted{1, 6, 2, 9, 3, 1235},
        events::reaction_set{1, 7, 2, 10, 3, parley::protocol::reaction_kind::party, true, 4294967295u, 1236},
        deleted,
        renamed,
    };
}

storage_event decoded(const std::string& body) {
    auto r = decode_storage_event(body);
    if (auto* e = std::get_if<event_decode_error>(&r)) ADD_FAILURE() << *e;
    return std::get_if<storage_event>(&r) ? std::get<storage_event>(r) : storage_event{};
}

event_decode_errc error_of(std::string_view body) {
    auto r = decode_storage_event(body);
    if (auto* e = std::get_if<event_decode_error>(&r)) return e->code;
    ADD_FAILURE() << "decoded a bad body";
    return {};
}

bool same(const storage_event& a, const storage_event& b) {
    // The event structs have no operator==; their encodings are unique
    // (shortest varints, no padding), so equal bodies mean equal events.
    return a.index() == b.index() && encode_storage_event(a) == encode_storage_event(b);
}

TEST(event_codec, every_kind_round_trips) {
    for (const auto& e : samples()) {
        const std::string body = encode_storage_event(e);
        EXPECT_EQ(static_cast<std::uint8_t>(body[0]), event_codec_version);
        EXPECT_EQ(static_cast<std::size_t>(body[1]), e.index());
        const storage_event back = decoded(body);
        ASSERT_EQ(back.index(), e.index());
        EXPECT_TRUE(same(back, e));
    }
}

TEST(event_codec, fields_come_back_as_they_were) {
    const auto all = samples();
    const auto m = std::get<events::message_posted>(decoded(encode_storage_event(all[4])));
    EXPECT_EQ(m.room_id, 9u);
    EXPECT_EQ(m.seq, 3u);
    EXPECT_EQ(m.client_msg_id, 77u);
    EXPECT_EQ(m.text, std::string("a\nb\0c" "😀", 9));
    EXPECT_EQ(m.reply_to, 2u);
    const auto r = std::get<events::room_changed>(decoded(encode_storage_event(all[8])));
    ASSERT_EQ(r.members.size(), 3u);
    EXPECT_EQ(r.members[1].status, member_status::banned);
    EXPECT_TRUE(r.members[1].muted);
    EXPECT_EQ(r.members[2].username, std::string(limits::max_username_bytes, 'z'));
    EXPECT_FALSE(r.settings.has_value());
    const auto s = std::get<events::room_changed>(decoded(encode_storage_event(all[9])));
    ASSERT_TRUE(s.settings.has_value());
    EXPECT_EQ(s.settings->address, "~abcdefghijklmnopqrstuv");
    EXPECT_EQ(s.settings->kind, parley::protocol::room_kind::direct);
}

TEST(event_codec, every_truncation_is_an_error) {
    for (const auto& e : samples()) {
        const std::string body = encode_storage_event(e);
        for (std::size_t n = 0; n < body.size(); ++n) {
            auto r = decode_storage_event(std::string_view(body).substr(0, n));
            EXPECT_TRUE(std::holds_alternative<event_decode_error>(r)) << "prefix " << n << " of kind " << e.index();
        }
    }
}

TEST(event_codec, malformed_bodies_are_typed_errors) {
    const std::string good = encode_storage_event(samples()[2]);
    EXPECT_EQ(error_of(""), event_decode_errc::empty);
    EXPECT_EQ(error_of(std::string(1, char(event_codec_version))), event_decode_errc::version);
    std::string other = good;
    other[0] = char(event_codec_version + 1);
    EXPECT_EQ(error_of(other), event_decode_errc::version);
    std::string kind = good;
    kind[1] = char(std::variant_size_v<storage_event>);
    EXPECT_EQ(error_of(kind), event_decode_errc::unknown_kind);
    EXPECT_EQ(error_of(good + "x"), event_decode_errc::trailing_bytes);
    EXPECT_EQ(error_of(std::string(max_event_body_bytes + 1, '\x01')), event_decode_errc::too_large);

    // A room event claiming a million rows in a few bytes: refused before
    // anything is allocated for them.
    // room, seq, actor, client, action, target, role, kind, text (empty), at; then the row count
    std::string rows{char(event_codec_version), char(6), 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    rows += "\xc0\x84\x3d";  // 1,000,000
    EXPECT_EQ(error_of(rows), event_decode_errc::malformed);
    std::string no_rows = rows.substr(0, 12);
    no_rows += std::string(1, '\0') + std::string(1, '\0');  // no rows, no settings: well formed
    EXPECT_EQ(std::get<events::room_changed>(decoded(no_rows)).members.size(), 0u);
    rows.back() = '\x01';    // 8,256 (< max_event_rows) rows, but no bytes for them
    EXPECT_EQ(error_of(rows), event_decode_errc::malformed);

    // A member status past `gone`, and text that is not UTF-8.
    std::string status = encode_storage_event(samples()[8]);
    const auto at = status.find("ana") + 3;  // user 1's status follows the name
    ASSERT_EQ(status[at], char(member_status::gone));
    status[at] = 4;
    EXPECT_EQ(error_of(status), event_decode_errc::malformed);
    std::string utf8 = encode_storage_event(events::message_posted{1, 1, 2, 0, "ok", 0, 0});
    utf8[utf8.find("ok")] = '\xff';
    EXPECT_EQ(error_of(utf8), event_decode_errc::malformed);
}

TEST(event_codec, encoding_refuses_what_cannot_decode) {
    EXPECT_THROW(encode_storage_event(events::message_posted{1, 1, 2, 0, std::string(limits::max_text_bytes + 1, 'x'), 0, 0}),
                 std::invalid_argument);
    EXPECT_THROW(encode_storage_event(events::message_posted{1, 1, 2, 0, "\xff", 0, 0}), std::invalid_argument);
    EXPECT_THROW(encode_storage_event(events::message_posted{1, big + 1, 2, 0, "x", 0, 0}), std::invalid_argument);
}

}  // namespace
