// parley-conformance: checks a live Parley server over the wire.
//
//   parley-conformance ws://127.0.0.1:8080
//
// Registers two throw-away users through the HTTP API, then runs one case per
// behaviour — good packets answered correctly, every kind of bad input
// answered with its error code and the connection kept — printing a PASS or
// FAIL line per case. Exit status: 0 if every case passed, 1 otherwise, 2 for
// bad arguments. The server should run with a rate limit high enough for a
// burst of a few hundred packets (e.g. --message-rate 1000/1000).
#include "protocol/compression.hpp"
#include "tests/support/frame_builder.hpp"
#include "tests/support/ws_client.hpp"

#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
#include <string>

namespace {

using namespace parley::protocol;
using namespace parley::testing;
using namespace std::chrono_literals;

struct target {
    std::string host;
    std::uint16_t port = 0;
};

struct context {
    target where;
    std::string ana_token, bob_token;
    std::uint64_t next_id = 1;
    std::string room;  // a fresh room per run
};

std::unique_ptr<ws_client> open(const context& ctx, const std::string& token) {
    ws_options o{.host = ctx.where.host, .port = ctx.where.port};
    if (!token.empty()) o.headers["Cookie"] = "parley_session=" + token;
    auto c = std::make_unique<ws_client>(o);
    if (!token.empty()) {
        c->wait_for<welcome>();
        c->wait_for<room_list>();  // the user's rooms follow the welcome
    }
    return c;
}

std::uint32_t join(ws_client& c, const std::string& room) {
    c.send(join_room{room, 0});
    const auto id = c.wait_for<room_joined>().room_id;
    c.wait_for<history_page>();
    return id;
}

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

void expect_error(ws_client& c, std::uint16_t code) {
    const auto e = c.wait_for<error_report>();
    check(e.code == code, "expected error " + std::string(error_name(code)) + ", got " + std::string(error_name(e.code)));
    c.send(ping{42});  // and the connection survives
    check(c.wait_for<pong>().nonce == 42, "no pong after the error");
}

using case_fn = std::function<void(context&)>;

std::vector<std::pair<std::string, case_fn>> good_cases() {
    return {
        {"cookie authenticates at upgrade", [](context& ctx) { open(ctx, ctx.ana_token); }},
        {"authenticate packet", [](context& ctx) {
             auto c = open(ctx, "");
             c->send(authenticate{ctx.ana_token});
             check(c->wait_for<welcome>().username.starts_with("conf-ana"), "welcome names the user");
         }},
        {"unknown token is refused", [](context& ctx) {
             auto c = open(ctx, "");
             c->send(authenticate{"no-such-token"});
             expect_error(*c, 101);
         }},
        {"chat packets need authentication", [](context& ctx) {
             auto c = open(ctx, "");
             c->send(join_room{ctx.room, 0});
             expect_error(*c, 100);
         }},
        {"ping is answered", [](context& ctx) {
             auto c = open(ctx, ctx.ana_token);
             c->send(ping{7});
             check(c->wait_for<pong>().nonce == 7, "pong echoes the nonce");
         }},
        {"join: room, presence snapshot, latest page", [](context& ctx) {
             auto c = open(ctx, ctx.ana_token);
             c->send(join_room{ctx.room, 0});
             auto first = c->next();
             // room_list is about the user, not the room: it may come at any time.
             while (first && std::holds_alternative<room_list>(*first)) first = c->next();
             check(first && std::holds_alternative<room_joined>(*first),
                   "room_joined comes first, not " + std::string(first ? kind_name(kind_of(*first)) : "nothing"));
             check(c->wait_for<presence_update>().change == presence_change::snapshot, "then a presence snapshot");
             check(c->wait_for<history_page>().mode == history_mode::latest, "then the latest page");
         }},
        {"a client of an earlier version is closed with 1002", [](context& ctx) {
             // It could not read an error packet; the close reason names the version.
             auto c = open(ctx, ctx.ana_token);
             auto old = *encode(ping{5});
             old[1] = limits::version - 1;
             c->send_raw(old);
             check(c->wait_closed() == 1002, "closed with 1002");
         }},
        {"a private room: a non-member is refused on every path", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token), b = open(ctx, ctx.bob_token);
             a->send(create_room{ctx.next_id++, "conformance private", room_kind::private_room});
             const auto joined = a->wait_for<room_joined>();
             check(joined.room.starts_with("~") && joined.type == room_kind::private_room, "a private address");
             const std::uint32_t room = joined.room_id;
             a->send(send_message{room, ctx.next_id++, 0, "members only", false});
             const std::uint64_t msg = a->wait_for<ack>().seq;
             // The address: the same answer as for an address of no room.
             b->send(join_room{joined.room, 0, 0});
             const auto refused = b->wait_for<error_report>();
             b->send(join_room{"~aaaaaaaaaaaaaaaaaaaaaa", 0, 0});
             check(refused.code == 116 && refused == b->wait_for<error_report>(), "join: no_such_room, as for no room");
             // The id, guessed: every request is refused and nothing reaches the room.
             const std::vector<std::pair<std::string, packet>> paths{
                 {"send", send_message{room, ctx.next_id++, 0, "let me in", false}},
                 {"edit", edit_message{room, ctx.next_id++, msg, "mine", false}},
                 {"delete", delete_message{room, ctx.next_id++, msg, false}},
                 {"reaction", set_reaction{room, ctx.next_id++, msg, reaction_kind::heart, true, false}},
                 {"typing", set_typing{room, true}},
                 {"history", request_history{room, 0, 50}},
                 {"manage", manage_room{room, ctx.next_id++, room_action::invited, 1}},
             };
             for (const auto& [name, p] : paths) {
                 b->send(p);
                 check(b->wait_for<error_report>().code == 103, name + ": not_in_room");
             }
             b->send(decline_invite{room});
             check(b->wait_for<error_report>().code == 116, "decline: no_such_room");
             check(a->none_of_type<chat_message>(300ms), "nothing of it reached the room");
         }},
        {"bad room name", [](context& ctx) {
             auto c = open(ctx, ctx.ana_token);
             c->send(join_room{"no spaces allowed", 0});
             expect_error(*c, 102);
         }},
        {"send: broadcast to all, then ack", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token), b = open(ctx, ctx.bob_token);
             const auto room = join(*a, ctx.room);
             join(*b, ctx.room);
             const auto id = ctx.next_id++;
             a->send(send_message{room, id, 0, "hello conformance", false});
             const auto m = b->wait_for<chat_message>();
             check(m.message.text == "hello conformance" && m.message.client_msg_id == id, "broadcast carries the message");
             const auto echo = a->wait_for<chat_message>();
             const auto acked = a->wait_for<ack>();
             check(acked.client_id == id && acked.seq == m.message.seq && echo.message.seq == acked.seq, "ack after echo");
         }},
        {"duplicate client message id acked again, not rebroadcast", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token), b = open(ctx, ctx.bob_token);
             const auto room = join(*a, ctx.room);
             join(*b, ctx.room);
             const auto id = ctx.next_id++;
             a->send(send_message{room, id, 0, "once", false});
             const auto first = a->wait_for<ack>();
             a->send(send_message{room, id, 0, "once", false});
             check(a->wait_for<ack>().seq == first.seq, "same seq");
             b->wait_for<chat_message>();
             check(b->none_of_type<chat_message>(300ms), "no second broadcast");
         }},
        {"empty text refused", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token);
             const auto room = join(*a, ctx.room);
             a->send(send_message{room, ctx.next_id++, 0, "   ", false});
             expect_error(*a, 108);
         }},
        {"room not joined", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token);
             a->send(send_message{999999, ctx.next_id++, 0, "where", false});
             expect_error(*a, 103);
         }},
        {"edit and delete: own messages only", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token), b = open(ctx, ctx.bob_token);
             const auto room = join(*a, ctx.room);
             join(*b, ctx.room);
             a->send(send_message{room, ctx.next_id++, 0, "mine", false});
             const auto seq = a->wait_for<ack>().seq;
             b->send(edit_message{room, ctx.next_id++, seq, "yours?", false});
             expect_error(*b, 105);
             a->send(edit_message{room, ctx.next_id++, seq, "mine, edited", false});
             const auto edited = b->wait_for<message_edited>();
             check(edited.text == "mine, edited" && edited.message_seq == seq && edited.seq > seq, "edit broadcast as an event");
             a->send(delete_message{room, ctx.next_id++, seq, false});
             check(b->wait_for<message_deleted>().message_seq == seq, "delete broadcast");
             a->send(set_reaction{room, ctx.next_id++, seq, reaction_kind::like, true, false});
             expect_error(*a, 109);
         }},
        {"reactions are set and unset", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token), b = open(ctx, ctx.bob_token);
             const auto room = join(*a, ctx.room);
             join(*b, ctx.room);
             a->send(send_message{room, ctx.next_id++, 0, "react", false});
             const auto seq = a->wait_for<ack>().seq;
             b->send(set_reaction{room, ctx.next_id++, seq, reaction_kind::heart, true, false});
             auto u = a->wait_for<reaction_update>();
             check(u.added && u.count == 1 && u.message_seq == seq, "added, count 1");
             b->send(set_reaction{room, ctx.next_id++, seq, reaction_kind::heart, false, false});
             u = a->wait_for<reaction_update>();
             check(!u.added && u.count == 0, "removed, count 0");
         }},
        {"typing relayed to others", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token), b = open(ctx, ctx.bob_token);
             const auto room = join(*a, ctx.room);
             join(*b, ctx.room);
             a->send(set_typing{room, true});
             check(b->wait_for<typing_update>().active, "typing on");
             a->send(set_typing{room, false});
             check(!b->wait_for<typing_update>().active, "typing off");
         }},
        {"history request", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token);
             const auto room = join(*a, ctx.room);
             a->send(request_history{room, 0, 5});
             const auto page = a->wait_for<history_page>();
             check(page.mode == history_mode::older && page.messages.size() <= 5, "an older page of at most 5");
         }},
        {"leave room", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token);
             const auto room = join(*a, ctx.room);
             a->send(leave_room{room});
             check(a->wait_for<room_left>().room_id == room, "room_left");
         }},
        {"client batch: packets handled in order", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token);
             a->send_raw(*encode_batch(std::vector<packet>{ping{1}, ping{2}, ping{3}}));
             for (std::uint64_t n = 1; n <= 3; ++n) check(a->wait_for<pong>().nonce == n, "pongs in order");
         }},
        {"server packet from a client", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token);
             a->send(pong{1});
             expect_error(*a, 107);
         }},
        {"oversize frame closes with 1009", [](context& ctx) {
             auto a = open(ctx, ctx.ana_token);
             a->send_raw(std::vector<std::uint8_t>(limits::max_client_packet_bytes + 1, magic));
             check(a->wait_closed() == 1009, "close code 1009");
         }},
    };
}

// One crafted input per decode error; the server must answer each with that code.
std::vector<std::pair<decode_error, bytes>> malformed_inputs() {
    const bytes good = *encode(ping{77});
    const bytes ping_payload{77};
    std::vector<std::pair<decode_error, bytes>> v;
    v.emplace_back(decode_error::truncated, bytes(good.begin(), good.end() - 1));
    v.emplace_back(decode_error::bad_magic, [&] { auto b = good; b[0] = 'X'; return b; }());
    v.emplace_back(decode_error::bad_version, build_frame({.version = 9, .kind = 0x0A}, ping_payload));
    v.emplace_back(decode_error::bad_checksum, [&] { auto b = good; b.back() ^= 1; return b; }());
    v.emplace_back(decode_error::unknown_kind, build_frame({.kind = 0x3E}, ping_payload));
    v.emplace_back(decode_error::bad_flags, build_frame({.kind = 0x0A, .flags = 0x04}, ping_payload));
    {
        bytes p{1, 9, 1};  // room_id, client_id, message_seq
        append_text(p, std::string(limits::max_text_bytes + 1, 'a'));
        v.emplace_back(decode_error::field_too_long, build_frame(packet_kind::edit_message, p));
    }
    {
        bytes p{1, 9, 1};
        append_text(p, "\xF8\x88\x80\x80\x80");
        v.emplace_back(decode_error::bad_utf8, build_frame(packet_kind::edit_message, p));
    }
    v.emplace_back(decode_error::too_large, [] {
        bytes b{magic, limits::version, 0x0A, 0};
        append_varint(b, limits::max_packet_bytes + 1);
        b.resize(b.size() + 4);
        return b;
    }());
    {
        bytes zeros(limits::max_payload_bytes + 1, 0), z;
        z.resize(compress_frame(zeros, z));
        v.emplace_back(decode_error::decompressed_too_large, build_frame(packet_kind::send_message, z, flag_compressed));
    }
    v.emplace_back(decode_error::decompression_failed, build_frame(packet_kind::send_message, bytes{9, 9, 9, 9}, flag_compressed));
    v.emplace_back(decode_error::trailing_bytes, build_frame(packet_kind::ping, bytes{77, 1}));
    v.emplace_back(decode_error::bad_varint, build_frame(packet_kind::ping, bytes{0xFF, 0x00}));
    v.emplace_back(decode_error::bad_value, build_frame(packet_kind::set_reaction, bytes{1, 1, 1, 200, 1, 0}));
    {
        bytes p{1, 0};
        append_varint(p, limits::max_presence_users + 1);
        v.emplace_back(decode_error::too_many_items, build_frame(packet_kind::presence_update, p));
    }
    v.emplace_back(decode_error::unexpected_batch, build_frame(packet_kind::batch, *encode_batch(std::vector<packet>{ping{1}})));
    v.emplace_back(decode_error::empty_batch, build_frame(packet_kind::batch, bytes{}));
    return v;
}

// ws://HOST:PORT or wss://HOST:PORT (then `tls` is set).
std::optional<target> parse_url(std::string_view url, bool& tls) {
    tls = url.starts_with("wss://");
    if (!tls && !url.starts_with("ws://")) return std::nullopt;
    url.remove_prefix(tls ? 6 : 5);
    url = url.substr(0, url.find('/'));
    const auto colon = url.rfind(':');
    if (colon == std::string_view::npos) return target{std::string(url), static_cast<std::uint16_t>(tls ? 443 : 80)};
    try {
        const int port = std::stoi(std::string(url.substr(colon + 1)));
        if (port <= 0 || port > 65535) return std::nullopt;
        return target{std::string(url.substr(0, colon)), static_cast<std::uint16_t>(port)};
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool tls = false;
    const bool with_ca = argc == 4 && std::string_view(argv[2]) == "--ca";
    const auto where = argc == 2 || with_ca ? parse_url(argv[1], tls) : std::nullopt;
    if (!where || (with_ca && !tls)) {
        std::cerr << "usage: parley-conformance ws://HOST:PORT\n"
                     "       parley-conformance wss://HOST:PORT [--ca FILE]   (FILE: the certificates to trust, PEM)\n"
                     "example: parley-conformance ws://127.0.0.1:8080\n";
        return 2;
    }
    if (tls) {
        try {
            use_tls(with_ca ? argv[3] : "/etc/ssl/certs/ca-certificates.crt");
        } catch (const std::exception& e) {
            std::cerr << "cannot read the certificates to trust: " << e.what() << "\n";
            return 2;
        }
    }
    context ctx;
    ctx.where = *where;
    std::random_device rd;
    const std::string suffix = std::to_string(rd() % 100000000);
    ctx.room = "conformance-" + suffix;
    ctx.next_id = (static_cast<std::uint64_t>(rd()) << 20) + 1;
    try {
        if (where->host != "127.0.0.1" && where->host != "localhost")
            throw std::runtime_error("the runner registers users over HTTP on 127.0.0.1; run it on the server's host");
        ctx.ana_token = sign_up(where->port, "conf-ana-" + suffix);
        ctx.bob_token = sign_up(where->port, "conf-bob-" + suffix);
    } catch (const std::exception& e) {
        std::cerr << "cannot register test users: " << e.what() << "\n";
        return 1;
    }

    auto cases = good_cases();
    for (auto& [error, input] : malformed_inputs()) {
        cases.emplace_back("malformed: " + std::string(error_name(error)), [error, input](context& c) {
            auto a = open(c, c.ana_token);
            a->send_raw(input);
            expect_error(*a, static_cast<std::uint16_t>(error));
        });
    }
    int failed = 0;
    for (auto& [name, run] : cases) {
        try {
            run(ctx);
            std::cout << "PASS " << name << "\n";
        } catch (const std::exception& e) {
            ++failed;
            std::cout << "FAIL " << name << ": " << e.what() << "\n";
        }
    }
    std::cout << (cases.size() - static_cast<std::size_t>(failed)) << "/" << cases.size() << " cases passed\n";
    return failed == 0 ? 0 : 1;
}
