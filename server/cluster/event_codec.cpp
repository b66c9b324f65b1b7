#include "server/cluster/event_codec.hpp"

#include "protocol/limits.hpp"
#include "protocol/errors.hpp"
#include "protocol/wire_archive.hpp"

#include <ostream>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace parley::server::cluster {

namespace {

namespace limits = protocol::limits;
using protocol::decode_error;

// Bounds of the strings a room event carries (settings and direct keys):
// an address or a title is a room name at most, a topic is the longest.
constexpr std::size_t max_setting_bytes = limits::max_topic_bytes;
// "id,id,..." of at most max_direct_people ids of up to 16 digits.
constexpr std::size_t max_direct_key_bytes = limits::max_direct_people * 17;
constexpr std::uint64_t member_status_count = 4;

// One visit per event type lists its fields once; the two sides below run it
// with the output or the input archive.
class writer {
public:
    explicit writer(std::vector<std::uint8_t>& out) : ar_(out) {}

    template <class T>
    void operator()(const T& v) {
        ar_.write(v, nullptr);
    }
    void text(const std::string& s, std::size_t max) { ar_.write(s, max); }
    void status(const member_status& s) { ar_.put_varint(static_cast<std::uint64_t>(s)); }
    std::size_t count(std::size_t n, std::size_t max) {
        if (n > max) failed_ = decode_error::too_many_items;
        ar_.put_varint(n);
        return n;
    }
    void fail(decode_error e) { failed_ = e; }
    std::optional<decode_error> error() const { return failed_ ? failed_ : ar_.error(); }

private:
    protocol::wire::output_archive ar_;
    std::optional<decode_error> failed_;
};

class reader {
public:
    explicit reader(std::string_view in) : ar_(reinterpret_cast<const std::uint8_t*>(in.data()), in.size()) {}

    template <class T>
    void operator()(T& v) {
        if (!ar_.error()) ar_.read(v, nullptr);
    }
    void text(std::string& s, std::size_t max) {
        if (!ar_.error()) ar_.read(s, max);
    }
    void status(member_status& s) {
        const std::uint64_t raw = ar_.get_varint();
        if (raw >= member_status_count) return ar_.fail(decode_error::bad_value);
        s = static_cast<member_status>(raw);
    }
    /// A list's length: checked against its bound and the bytes left (each
    /// item takes at least one byte) before anything is allocated.
    std::size_t count(std::size_t, std::size_t max) {
        const std::uint64_t n = ar_.get_varint();
        if (ar_.error()) return 0;
        if (n > max) return ar_.fail(decode_error::too_many_items), 0;
        if (n > ar_.remaining()) return ar_.fail(decode_error::truncated), 0;
        return static_cast<std::size_t>(n);
    }
    void fail(decode_error e) { ar_.fail(e); }
    std::optional<decode_error> error() const { return ar_.error(); }
    std::size_t remaining() const { return ar_.remaining(); }

private:
    protocol::wire::input_archive ar_;
};

// Writer visits see const objects; reader visits mutable ones. One template
// for both: M is `const X` or `X`.
template <class IO, class M>
void visit_settings(IO& io, M& s) {
    io.text(s.address, max_setting_bytes);
    io.text(s.title, max_setting_bytes);
    io.text(s.topic, max_setting_bytes);
    io(s.kind);
}

template <class IO, class M>
void visit_member(IO& io, M& m) {
    io(m.user_id);
    io.text(m.username, limits::max_username_bytes);
    io.status(m.status);
    io(m.role);
    io(m.muted);
    io(m.invited_by);
    io(m.seq);
}

template <class IO, class Rows>
void visit_rows(IO& io, Rows& rows) {
    if constexpr (std::is_const_v<Rows>) {
        io.count(rows.size(), max_event_rows);
        for (const auto& r : rows) visit_member(io, r);
    } else {
        rows.resize(io.count(0, max_event_rows));
        for (auto& r : rows) {
            visit_member(io, r);
            if (io.error()) return;
        }
    }
}

template <class IO, class Settings>
void visit_optional_settings(IO& io, Settings& s) {
    if constexpr (std::is_const_v<Settings>) {
        io(s.has_value());
        if (s) visit_settings(io, *s);
    } else {
        bool present = false;
        io(present);
        if (!present || io.error()) return;
        visit_settings(io, s.emplace());
    }
}

template <class IO, class E>
void visit(IO& io, E& e) {
    using T = std::remove_const_t<E>;
    if constexpr (std::is_same_v<T, events::room_created>) {
        io(e.room_id);
        visit_settings(io, e.settings);
        io.text(e.direct_key, max_direct_key_bytes);
        io(e.created_by);
        io(e.at);
    } else if constexpr (std::is_same_v<T, events::epoch_started>) {
        io(e.room_id);
        io(e.epoch);
        io(e.base_seq);
        io(e.at);
    } else if constexpr (std::is_same_v<T, events::message_posted>) {
        io(e.room_id);
        io(e.seq);
        io(e.author_id);
        io(e.client_msg_id);
        io.text(e.text, limits::max_text_bytes);
        io(e.sent_at);
        io(e.reply_to);
    } else if constexpr (std::is_same_v<T, events::message_edited>) {
        io(e.room_id);
        io(e.seq);
        io(e.user_id);
        io(e.client_id);
        io(e.message_seq);
        io.text(e.text, limits::max_text_bytes);
        io(e.at);
    } else if constexpr (std::is_same_v<T, events::message_deleted>) {
        io(e.room_id);
        io(e.seq);
        io(e.user_id);
        io(e.client_id);
        io(e.message_seq);
        io(e.at);
    } else if constexpr (std::is_same_v<T, events::reaction_set>) {
        io(e.room_id);
        io(e.seq);
        io(e.user_id);
        io(e.client_id);
        io(e.message_seq);
        io(e.reaction);
        io(e.added);
        io(e.count);
        io(e.at);
    } else {
        static_assert(std::is_same_v<T, events::room_changed>);
        io(e.room_id);
        io(e.seq);
        io(e.actor_id);
        io(e.client_id);
        io(e.action);
        io(e.target_id);
        io(e.role);
        io(e.kind);
        io.text(e.text, limits::max_text_bytes);
        io(e.at);
        visit_rows(io, e.members);
        visit_optional_settings(io, e.settings);
    }
}

// Fills `out` with alternative `index` of storage_event, read from `in`.
template <std::size_t I = 0>
bool read_alternative(std::size_t index, reader& in, storage_event& out) {
    if constexpr (I < std::variant_size_v<storage_event>) {
        if (index != I) return read_alternative<I + 1>(index, in, out);
        visit(in, out.emplace<I>());
        return true;
    } else {
        return false;
    }
}

}  // namespace

std::string_view to_string(event_decode_errc e) noexcept {
    switch (e) {
    case event_decode_errc::empty: return "empty";
    case event_decode_errc::too_large: return "too_large";
    case event_decode_errc::version: return "version";
    case event_decode_errc::unknown_kind: return "unknown_kind";
    case event_decode_errc::malformed: return "malformed";
    case event_decode_errc::trailing_bytes: return "trailing_bytes";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& out, const event_decode_error& e) {
    out << to_string(e.code);
    if (!e.detail.empty()) out << ": " << e.detail;
    return out;
}

std::string encode_storage_event(const storage_event& e) {
    std::vector<std::uint8_t> bytes{event_codec_version, static_cast<std::uint8_t>(e.index())};
    writer out(bytes);
    std::visit([&out](const auto& ev) { visit(out, ev); }, e);
    if (const auto error = out.error())
        throw std::invalid_argument("encode_storage_event: " + std::string(protocol::error_name(*error)));
    if (bytes.size() > max_event_body_bytes) throw std::invalid_argument("encode_storage_event: body too large");
    return {bytes.begin(), bytes.end()};
}

std::variant<storage_event, event_decode_error> decode_storage_event(std::string_view body) {
    if (body.empty()) return event_decode_error{event_decode_errc::empty, {}};
    if (body.size() > max_event_body_bytes)
        return event_decode_error{event_decode_errc::too_large, std::to_string(body.size()) + " bytes"};
    if (body.size() < 2 || static_cast<std::uint8_t>(body[0]) != event_codec_version)
        return event_decode_error{event_decode_errc::version,
                                  "version " + std::to_string(static_cast<unsigned>(static_cast<std::uint8_t>(body[0])))};
    const auto kind = static_cast<std::uint8_t>(body[1]);
    reader in(body.substr(2));
    storage_event out;
    if (!read_alternative(kind, in, out))
        return event_decode_error{event_decode_errc::unknown_kind, "kind " + std::to_string(kind)};
    if (const auto error = in.error())
        return event_decode_error{event_decode_errc::malformed, std::string(protocol::error_name(*error))};
    if (in.remaining() != 0)
        return event_decode_error{event_decode_errc::trailing_bytes, std::to_string(in.remaining()) + " bytes"};
    return out;
}

}  // namespace parley::server::cluster
