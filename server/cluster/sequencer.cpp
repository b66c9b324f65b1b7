#include "server/cluster/sequencer.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace parley::server::cluster {

namespace {

// ---- numbers and names ---------------------------------------------------------------------------

// A canonical decimal (no sign, no leading zero) of at most max_number.
// 19 digits always fit in 64 bits, so the loop cannot overflow.
std::optional<std::uint64_t> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > max_number) return std::nullopt;
    return n;
}

std::string decimal(std::uint64_t n) { return std::to_string(n); }

// "<digits>-<digits>": a stream id as XADD makes them (also the cursor "0-0").
bool valid_stream_id(std::string_view id) {
    const auto dash = id.find('-');
    auto digits = [](std::string_view s) {
        return !s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    return dash != std::string_view::npos && digits(id.substr(0, dash)) && digits(id.substr(dash + 1));
}

// Splits "<a> <b>" (one space) into two numbers.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_pair(std::string_view header) {
    const auto space = header.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const auto a = parse_number(header.substr(0, space));
    const auto b = parse_number(header.substr(space + 1));
    if (!a || !b) return std::nullopt;
    return std::make_pair(*a, *b);
}

// ---- replies -------------------------------------------------------------------------------------

// A reply's readable form, cut short for error messages.
std::string show(const resp::value& v) {
    std::ostringstream out;
    out << v;
    std::string text = out.str();
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    return text;
}

sequencer_error bad_reply(std::string_view what, const resp::value& v) {
    return {sequencer_errc::bad_reply, {}, std::string(what) + ": " + show(v)};
}

const std::string* text_of(const resp::value& v) {
    return v.is_string() && !v.is_null() ? &v.as_string() : nullptr;
}

// An integer reply or a decimal bulk string (parley.lua returns strings;
// Redis commands return integers).
std::optional<std::uint64_t> number_of(const resp::value& v) {
    if (v.is_integer()) {
        if (v.as_int() < 0) return std::nullopt;
        return static_cast<std::uint64_t>(v.as_int());
    }
    const std::string* s = text_of(v);
    return s ? parse_number(*s) : std::nullopt;
}

// Redis 7 says "ERR Function not found"; EVALSHA's "NOSCRIPT" is the same
// situation for scripts, and is accepted in case a proxy rewrites calls.
bool is_function_missing(std::string_view message) {
    return message.starts_with("ERR Function not found") || message.starts_with("NOSCRIPT");
}

sequencer_error error_of(const redis_result& r) {
    if (r.error() != redis_errc::redis_error) return {sequencer_errc::unavailable, r.error(), r.message()};
    if (is_function_missing(r.message())) return {sequencer_errc::function_missing, r.error(), r.message()};
    return {sequencer_errc::redis_error, r.error(), r.message()};
}

// The array a function returned, whose first element is its status word.
struct tagged {
    const std::vector<resp::value>* elements = nullptr;
    std::string_view status;
};

std::optional<tagged> tagged_of(const resp::value& v) {
    if (!v.is_array() || v.is_null() || v.elements().empty()) return std::nullopt;
    const std::string* status = text_of(v.elements()[0]);
    if (!status) return std::nullopt;
    return tagged{&v.elements(), *status};
}

// Numbers at positions [from, from + n) of a tagged reply; nullopt if any is not one.
template <std::size_t N>
std::optional<std::array<std::uint64_t, N>> numbers_at(const tagged& t, std::size_t from) {
    std::array<std::uint64_t, N> out{};
    if (t.elements->size() < from + N) return std::nullopt;
    for (std::size_t i = 0; i < N; ++i) {
        const auto n = number_of((*t.elements)[from + i]);
        if (!n) return std::nullopt;
        out[i] = *n;
    }
    return out;
}

outcome<publish_result> parse_publish(const resp::value& v) {
    const auto t = tagged_of(v);
    if (t && t->status == "NOSEED" && t->elements->size() == 1) return publish_result{publish_status::no_seed, 0, 0};
    const auto n = t && t->elements->size() == 3 ? numbers_at<2>(*t, 1) : std::nullopt;
    if (n && t->status == "OK") return publish_result{publish_status::ok, (*n)[0], (*n)[1]};
    if (n && t->status == "DUP") return publish_result{publish_status::duplicate, (*n)[0], (*n)[1]};
    if (n && t->status == "EPOCH") return publish_result{publish_status::stale_epoch, (*n)[0], (*n)[1]};
    if (n && t->status == "TOP") return publish_result{publish_status::stale_top, (*n)[0], (*n)[1]};
    return bad_reply("parley_publish", v);
}

outcome<seed_result> parse_seed(const resp::value& v, std::uint64_t gen) {
    const auto t = tagged_of(v);
    if (t && t->status == "SEEDED" && t->elements->size() == 3)
        if (const auto n = numbers_at<2>(*t, 1)) return seed_result{true, (*n)[0], (*n)[1], gen};
    if (t && t->status == "KEPT" && t->elements->size() == 4)
        if (const auto n = numbers_at<3>(*t, 1)) return seed_result{false, (*n)[0], (*n)[1], (*n)[2]};
    return bad_reply("parley_seed", v);
}

// The entries of a parley_read reply: (seq, epoch, body) triples from
// position 6, ascending seqs after `after`, at most `count`.
std::optional<std::vector<log_entry>> parse_log_entries(const std::vector<resp::value>& e, std::uint64_t after,
                                                        std::size_t count) {
    if ((e.size() - 6) % 3 != 0 || (e.size() - 6) / 3 > count) return std::nullopt;
    std::vector<log_entry> out;
    out.reserve((e.size() - 6) / 3);
    std::uint64_t last = after;
    for (std::size_t i = 6; i < e.size(); i += 3) {
        const auto seq = number_of(e[i]);
        const auto epoch = number_of(e[i + 1]);
        const std::string* body = text_of(e[i + 2]);
        if (!seq || !epoch || !body || *seq <= last) return std::nullopt;
        last = *seq;
        out.push_back({*seq, *epoch, *body});
    }
    return out;
}

outcome<read_result> parse_read(const resp::value& v, std::uint64_t after, std::size_t count) {
    const auto t = tagged_of(v);
    if (t && t->status == "NOSEED" && t->elements->size() == 1) return read_result{};
    if (!t || t->status != "OK") return bad_reply("parley_read", v);
    const auto head = numbers_at<5>(*t, 1);
    if (!head) return bad_reply("parley_read", v);
    auto entries = parse_log_entries(*t->elements, after, count);
    if (!entries) return bad_reply("parley_read entries", v);
    const auto& h = *head;
    return read_result{true, room_state{h[0], h[1], h[2], h[3]}, h[4], std::move(*entries)};
}

// HMGET meta epoch gen seq persisted: nullopt when the room has no epoch.
outcome<std::optional<room_state>> parse_state(const resp::value& v) {
    if (!v.is_array() || v.elements().size() != 4) return bad_reply("HMGET of a room", v);
    const auto& e = v.elements();
    if (e[0].is_null()) return std::optional<room_state>{};
    std::array<std::uint64_t, 4> n{};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto x = e[i].is_null() && i > 0 ? std::optional<std::uint64_t>(0) : number_of(e[i]);
        if (!x) return bad_reply("HMGET of a room", v);
        n[i] = *x;
    }
    return std::optional<room_state>{room_state{n[0], n[1], n[2], n[3]}};
}

outcome<bool> parse_flag(const resp::value& v, std::string_view what) {
    if (v.is_integer() && (v.as_int() == 0 || v.as_int() == 1)) return v.as_int() == 1;
    return bad_reply(what, v);
}

outcome<std::uint64_t> parse_count(const resp::value& v, std::string_view what) {
    if (v.is_integer() && v.as_int() >= 0) return static_cast<std::uint64_t>(v.as_int());
    return bad_reply(what, v);
}

outcome<acknowledged> parse_ok(const resp::value& v, std::string_view what) {
    if (v.type() == resp::value::kind::simple_string && v.as_string() == "OK") return acknowledged{};
    return bad_reply(what, v);
}

// ---- outbox entries ------------------------------------------------------------------------------

// The fields r, s, e, b of one entry, each exactly once; why not otherwise.
std::variant<outbox_entry, std::string> parse_outbox_fields(std::string id, unsigned partition,
                                                            const resp::value& fields) {
    if (!fields.is_array() || fields.is_null()) return std::string("the entry has no fields (deleted?)");
    const auto& f = fields.elements();
    if (f.size() != 8) return "expected the 4 fields r s e b, got " + std::to_string(f.size() / 2);
    std::optional<std::uint64_t> room, seq, epoch;
    const std::string* body = nullptr;
    for (std::size_t i = 0; i < f.size(); i += 2) {
        const std::string* name = text_of(f[i]);
        const std::string* name_value = text_of(f[i + 1]);
        if (!name || !name_value) return std::string("a field that is not a string");
        if (*name == "r" && !room) room = parse_number(*name_value);
        else if (*name == "s" && !seq) seq = parse_number(*name_value);
        else if (*name == "e" && !epoch) epoch = parse_number(*name_value);
        else if (*name == "b" && !body) body = name_value;
        else return "unexpected or repeated field " + name->substr(0, 16);
    }
    if (!room || *room > std::numeric_limits<std::uint32_t>::max()) return std::string("bad room (r)");
    if (!seq || *seq == 0) return std::string("bad seq (s)");
    if (!epoch || *epoch == 0) return std::string("bad epoch (e)");
    return outbox_entry{std::move(id), partition, static_cast<std::uint32_t>(*room), *seq, *epoch, *body};
}

// Appends [id, [field, value, ...]] entries to a batch. False when the
// list itself has the wrong shape (then no entry can be named).
bool add_outbox_entries(const resp::value& list, unsigned partition, outbox_batch& batch) {
    if (!list.is_array()) return false;
    for (const resp::value& entry : list.elements()) {
        if (!entry.is_array() || entry.elements().size() != 2) return false;
        const std::string* id = text_of(entry.elements()[0]);
        if (!id) return false;
        auto parsed = parse_outbox_fields(*id, partition, entry.elements()[1]);
        if (auto* e = std::get_if<outbox_entry>(&parsed)) batch.entries.push_back(std::move(*e));
        else batch.malformed.push_back({*id, partition, std::move(std::get<std::string>(parsed))});
    }
    return true;
}

// A fenced read's element for one partition: 0 (the lease is not the
// node's) or -1 (no group) go to the batch's lists; true if it was either.
bool fenced_refusal(const resp::value& v, unsigned partition, outbox_batch& batch) {
    if (!v.is_integer()) return false;
    if (v.as_int() == 0) batch.lost.push_back(partition);
    else if (v.as_int() == -1) batch.missing_group.push_back(partition);
    else return false;
    return true;
}

// parley_take: one element per partition, in the order of `partitions`:
// its entries, 0 or -1.
outcome<outbox_batch> parse_take(const resp::value& v, const std::vector<unsigned>& partitions) {
    outbox_batch batch;
    if (!v.is_array() || v.elements().size() != partitions.size()) return bad_reply("parley_take", v);
    for (std::size_t i = 0; i < partitions.size(); ++i) {
        const resp::value& e = v.elements()[i];
        if (e.is_integer() ? !fenced_refusal(e, partitions[i], batch) : !add_outbox_entries(e, partitions[i], batch))
            return bad_reply("parley_take", v);
    }
    return batch;
}

// XAUTOCLAIM: [next cursor, entries, ids deleted meanwhile]. Redis removes
// the deleted ones from the pending list by itself: nothing to do with them.
outcome<outbox_batch> parse_claim(const resp::value& v, unsigned partition) {
    outbox_batch batch;
    if (fenced_refusal(v, partition, batch)) return batch;
    if (!v.is_array() || v.elements().size() < 2) return bad_reply("XAUTOCLAIM", v);
    const std::string* cursor = text_of(v.elements()[0]);
    if (!cursor || !valid_stream_id(*cursor) || !add_outbox_entries(v.elements()[1], partition, batch))
        return bad_reply("XAUTOCLAIM", v);
    batch.next_cursor = *cursor;
    return batch;
}

// ---- channel payloads ----------------------------------------------------------------------------

channel::malformed malformed(std::string why) { return {std::move(why)}; }

channel_message parse_numbers_message(char tag, std::string_view header, std::string_view body) {
    const auto pair = parse_pair(header);
    if (!pair) return malformed("the header is not two decimals of at most 2^63-1 separated by a space");
    const auto [first, epoch] = *pair;
    if (epoch == 0) return malformed("epoch 0");
    if (tag == 'R') return channel::reset{first, epoch};
    if (first == 0) return malformed("seq 0");
    if (tag == 'W') return channel::watermark{first, epoch};
    return channel::event{first, epoch, std::string(body)};
}

}  // namespace

// ---- names ---------------------------------------------------------------------------------------

std::string_view to_string(sequencer_errc e) noexcept {
    switch (e) {
    case sequencer_errc::unavailable: return "unavailable";
    case sequencer_errc::function_missing: return "function_missing";
    case sequencer_errc::redis_error: return "redis_error";
    case sequencer_errc::bad_reply: return "bad_reply";
    case sequencer_errc::invalid_argument: return "invalid_argument";
    }
    return "unknown";
}

std::string_view to_string(publish_status s) noexcept {
    switch (s) {
    case publish_status::ok: return "ok";
    case publish_status::duplicate: return "duplicate";
    case publish_status::no_seed: return "no_seed";
    case publish_status::stale_epoch: return "stale_epoch";
    case publish_status::stale_top: return "stale_top";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& out, const sequencer_error& e) {
    out << to_string(e.code);
    if (e.transport != redis_errc{}) out << " (" << to_string(e.transport) << ")";
    return out << ": " << e.message;
}

bool valid_node_id(std::string_view node_id) noexcept {
    auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == ':';
    };
    return !node_id.empty() && node_id.size() <= max_node_id_bytes && std::all_of(node_id.begin(), node_id.end(), allowed);
}

// ---- key_space -----------------------------------------------------------------------------------

key_space::key_space(unsigned partitions) : partitions_(partitions) {
    if (partitions == 0 || partitions > max_partitions)
        throw std::invalid_argument("sequencer: partitions must be 1.." + std::to_string(max_partitions));
}

namespace {
std::string tag(unsigned partition) { return "parley:{" + std::to_string(partition) + "}:"; }
}  // namespace

room_keys key_space::keys_of(std::uint32_t room) const {
    const unsigned p = partition_of(room);
    room_keys k{room, p, tag(p) + "room:" + std::to_string(room), {}, outbox(p)};
    k.log = k.meta + ":log";
    return k;
}

std::string room_keys::dedup(std::uint64_t user_id, std::uint64_t client_id) const {
    return meta + ":dd:" + std::to_string(user_id) + ":" + std::to_string(client_id);
}

std::string key_space::outbox(unsigned partition) const { return tag(partition) + "persist"; }

std::string key_space::lease(unsigned partition) const { return tag(partition) + "lease"; }

std::string key_space::node(std::string_view node_id) { return "parley:node:" + std::string(node_id); }

std::optional<std::uint32_t> key_space::room_of_channel(std::string_view channel) const {
    constexpr std::string_view prefix = "parley:{", middle = "}:room:";
    if (!channel.starts_with(prefix)) return std::nullopt;
    channel.remove_prefix(prefix.size());
    const auto close = channel.find(middle);
    if (close == std::string_view::npos) return std::nullopt;
    const auto partition = parse_number(channel.substr(0, close));
    const auto room = parse_number(channel.substr(close + middle.size()));
    if (!partition || !room || *room > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    const auto id = static_cast<std::uint32_t>(*room);
    if (*partition != partition_of(id)) return std::nullopt;
    return id;
}

// ---- channel payloads ----------------------------------------------------------------------------

// Only the first max_channel_header_bytes + 1 bytes are searched for the
// newline, so a huge payload with no header costs nothing.
channel_message parse_channel_message(std::string_view payload) {
    if (payload.empty()) return malformed("empty payload");
    const char tag_byte = payload[0];
    const auto newline = payload.substr(0, max_channel_header_bytes + 1).find('\n');
    const bool has_body = tag_byte == 'M' || tag_byte == 'T';
    if (tag_byte != 'M' && tag_byte != 'W' && tag_byte != 'R' && tag_byte != 'T')
        return malformed("unknown tag byte " + std::to_string(static_cast<unsigned char>(tag_byte)));
    if (has_body && newline == std::string_view::npos)
        return malformed("no newline within " + std::to_string(max_channel_header_bytes) + " bytes");
    if (!has_body && (newline != std::string_view::npos || payload.size() > max_channel_header_bytes))
        return malformed(payload.size() > max_channel_header_bytes ? "header too long" : "a newline in a W or R payload");
    const std::string_view header = has_body ? payload.substr(1, newline - 1) : payload.substr(1);
    const std::string_view body = has_body ? payload.substr(newline + 1) : std::string_view();
    if (tag_byte != 'T') return parse_numbers_message(tag_byte, header, body);
    if (!valid_node_id(header)) return malformed("bad node id");
    return channel::ephemeral{std::string(header), std::string(body)};
}

std::string encode_event(std::uint64_t seq, std::uint64_t epoch, std::string_view body) {
    std::string out = "M" + decimal(seq) + " " + decimal(epoch) + "\n";
    out.append(body);
    return out;
}

std::string encode_watermark(std::uint64_t seq, std::uint64_t epoch) { return "W" + decimal(seq) + " " + decimal(epoch); }

std::string encode_reset(std::uint64_t base, std::uint64_t epoch) { return "R" + decimal(base) + " " + decimal(epoch); }

std::string encode_ephemeral(std::string_view node_id, std::string_view body) {
    std::string out = "T" + std::string(node_id) + "\n";
    out.append(body);
    return out;
}

// ---- sequencer -----------------------------------------------------------------------------------

namespace {

sequencer_options checked(sequencer_options o) {
    if (o.log_maxlen == 0) throw std::invalid_argument("sequencer: log_maxlen must be positive");
    if (o.dedup_ttl < std::chrono::seconds(1)) throw std::invalid_argument("sequencer: dedup_ttl must be at least 1 s");
    return o;
}

std::vector<std::string> fcall(std::string_view function, std::vector<std::string> keys, std::vector<std::string> args) {
    std::vector<std::string> out{"FCALL", std::string(function), std::to_string(keys.size())};
    out.reserve(3 + keys.size() + args.size());
    for (auto& k : keys) out.push_back(std::move(k));
    for (auto& a : args) out.push_back(std::move(a));
    return out;
}

}  // namespace

sequencer::sequencer(redis_client& client, sequencer_options options)
    : client_(client), options_(checked(options)), keys_(options_.partitions) {}

// A refusal still completes through the client: redis_client refuses an
// empty command by posting its completion to the strand, which keeps the
// promise that no completion runs inside the call that made it.
template <class T>
void sequencer::refuse(completion<T> done, std::string why) {
    client_.command({}, [done = std::move(done), why = std::move(why)](redis_result) mutable {
        if (done) done(sequencer_error{sequencer_errc::invalid_argument, {}, std::move(why)});
    });
}

template <class T, class Parse>
void sequencer::run(std::vector<std::string> args, completion<T> done, Parse parse) {
    client_.command(std::move(args), [done = std::move(done), parse = std::move(parse)](redis_result r) {
        if (!done) return;
        if (!r) return done(error_of(r));
        done(parse(r.value()));
    });
}

void sequencer::load(completion<acknowledged> done) {
    run(std::vector<std::string>{"FUNCTION", "LOAD", "REPLACE", std::string(function_library_source())}, std::move(done),
        [](const resp::value& v) -> outcome<acknowledged> {
            const std::string* name = text_of(v);
            if (name && *name == library_name) return acknowledged{};
            return bad_reply("FUNCTION LOAD", v);
        });
}

void sequencer::publish(std::uint32_t room, publish_fence fence, std::uint64_t user_id, std::uint64_t client_id,
                        std::string body, completion<publish_result> done) {
    if (fence.epoch && (*fence.epoch == 0 || *fence.epoch > max_number))
        return refuse(std::move(done), "publish: expected epoch outside 1..2^63-1");
    if (fence.top && *fence.top >= max_number) return refuse(std::move(done), "publish: expected top at 2^63-1 or above");
    const room_keys k = keys_.keys_of(room);
    std::vector<std::string> keys{k.meta, k.log, k.outbox};
    if (client_id != 0) keys.push_back(k.dedup(user_id, client_id));
    std::vector<std::string> args;  // not a braced list: that would copy the body
    args.reserve(7);
    args.push_back(decimal(room));
    args.push_back(fence.epoch ? decimal(*fence.epoch) : std::string());
    args.push_back(fence.top ? decimal(*fence.top) : std::string());
    args.push_back(std::move(body));
    args.push_back(decimal(static_cast<std::uint64_t>(options_.dedup_ttl.count())));
    args.push_back(decimal(options_.log_maxlen));
    args.push_back(k.channel());
    run(fcall("parley_publish", std::move(keys), std::move(args)), std::move(done), parse_publish);
}

void sequencer::seed(std::uint32_t room, std::uint64_t epoch, std::uint64_t gen, std::uint64_t base,
                     completion<seed_result> done) {
    if (epoch == 0 || epoch > max_number || gen > max_number || base > max_number)
        return refuse(std::move(done), "seed: epoch outside 1..2^63-1, or gen or base above 2^63-1");
    const room_keys k = keys_.keys_of(room);
    run(fcall("parley_seed", {k.meta, k.log}, {decimal(epoch), decimal(gen), decimal(base), k.channel()}), std::move(done),
        [gen](const resp::value& v) { return parse_seed(v, gen); });
}

void sequencer::read(std::uint32_t room, std::uint64_t after_seq, std::size_t count, completion<read_result> done) {
    if (count == 0 || count > max_read_entries || after_seq > max_number)
        return refuse(std::move(done), "read: count outside 1.." + std::to_string(max_read_entries) +
                                           ", or after_seq above 2^63-1");
    const room_keys k = keys_.keys_of(room);
    std::vector<std::string> args = fcall("parley_read", {k.meta, k.log}, {decimal(after_seq), decimal(count)});
    args[0] = "FCALL_RO";
    run(std::move(args), std::move(done), [after_seq, count](const resp::value& v) { return parse_read(v, after_seq, count); });
}

void sequencer::tops(std::vector<std::uint32_t> rooms, completion<std::vector<std::optional<room_state>>> done) {
    using states = std::vector<std::optional<room_state>>;
    if (rooms.empty()) {
        // Through the client, like a refusal: never inside this call.
        client_.command({}, [done = std::move(done)](redis_result) {
            if (done) done(states{});
        });
        return;
    }
    // Every completion runs on the client's strand, so the gather needs no lock.
    struct gather {
        states out;
        std::size_t missing;
        std::optional<sequencer_error> failed;
        completion<states> done;
    };
    auto g = std::make_shared<gather>(gather{states(rooms.size()), rooms.size(), std::nullopt, std::move(done)});
    for (std::size_t i = 0; i < rooms.size(); ++i) {
        client_.command({"HMGET", keys_.keys_of(rooms[i]).meta, "epoch", "gen", "seq", "persisted"}, [g, i](redis_result r) {
            if (!g->failed && !r) g->failed = error_of(r);
            if (!g->failed) {
                auto state = parse_state(r.value());
                if (state) g->out[i] = state.value();
                else g->failed = state.error();
            }
            if (--g->missing > 0 || !g->done) return;
            if (g->failed) return g->done(std::move(*g->failed));
            g->done(std::move(g->out));
        });
    }
}

void sequencer::mark_persisted(std::uint32_t room, std::uint64_t epoch, std::uint64_t seq, completion<bool> done) {
    if (epoch == 0 || epoch > max_number || seq == 0 || seq > max_number)
        return refuse(std::move(done), "mark_persisted: epoch or seq outside 1..2^63-1");
    const room_keys k = keys_.keys_of(room);
    run(fcall("parley_persisted", {k.meta}, {decimal(epoch), decimal(seq), k.channel()}), std::move(done),
        [](const resp::value& v) { return parse_flag(v, "parley_persisted"); });
}

void sequencer::publish_ephemeral(std::uint32_t room, std::string_view node_id, std::string_view body,
                                  completion<std::uint64_t> done) {
    if (!valid_node_id(node_id)) return refuse(std::move(done), "publish_ephemeral: bad node id");
    run(std::vector<std::string>{"PUBLISH", keys_.keys_of(room).meta, encode_ephemeral(node_id, body)}, std::move(done),
        [](const resp::value& v) { return parse_count(v, "PUBLISH"); });
}

void sequencer::acquire_lease(unsigned partition, std::string_view node_id, std::chrono::milliseconds ttl,
                              completion<bool> done) {
    if (partition >= keys_.partitions() || !valid_node_id(node_id) || ttl.count() < 1)
        return refuse(std::move(done), "acquire_lease: bad partition, node id or ttl");
    run(fcall("parley_lease", {keys_.lease(partition)}, {std::string(node_id), decimal(static_cast<std::uint64_t>(ttl.count()))}),
        std::move(done), [](const resp::value& v) { return parse_flag(v, "parley_lease"); });
}

void sequencer::release_lease(unsigned partition, std::string_view node_id, completion<bool> done) {
    if (partition >= keys_.partitions() || !valid_node_id(node_id))
        return refuse(std::move(done), "release_lease: bad partition or node id");
    run(fcall("parley_release", {keys_.lease(partition)}, {std::string(node_id)}), std::move(done),
        [](const resp::value& v) { return parse_flag(v, "parley_release"); });
}

void sequencer::reserve_room_ids(std::uint32_t count, std::uint32_t floor, completion<std::uint32_t> done) {
    if (count == 0 || count > 65536) return refuse(std::move(done), "reserve_room_ids: count outside 1..65536");
    run(fcall("parley_ids", {key_space::room_ids()}, {decimal(count), decimal(floor)}), std::move(done),
        [](const resp::value& v) -> outcome<std::uint32_t> {
            const auto n = parse_count(v, "parley_ids");
            if (!n) return n.error();
            if (n.value() == 0 || n.value() > std::numeric_limits<std::uint32_t>::max())
                return bad_reply("parley_ids", v);
            return static_cast<std::uint32_t>(n.value());
        });
}

void sequencer::heartbeat(std::string_view node_id, std::chrono::milliseconds ttl, completion<acknowledged> done) {
    if (!valid_node_id(node_id) || ttl.count() < 1) return refuse(std::move(done), "heartbeat: bad node id or ttl");
    run(std::vector<std::string>{"SET", key_space::node(node_id), "1", "PX", decimal(static_cast<std::uint64_t>(ttl.count()))},
        std::move(done), [](const resp::value& v) { return parse_ok(v, "SET of a heartbeat"); });
}

void sequencer::node_alive(std::string_view node_id, completion<bool> done) {
    if (!valid_node_id(node_id)) return refuse(std::move(done), "node_alive: bad node id");
    run(std::vector<std::string>{"EXISTS", key_space::node(node_id)}, std::move(done),
        [](const resp::value& v) { return parse_flag(v, "EXISTS"); });
}

// ---- the outbox ----------------------------------------------------------------------------------

void sequencer::ensure_group(unsigned partition, completion<acknowledged> done) {
    if (partition >= keys_.partitions()) return refuse(std::move(done), "ensure_group: bad partition");
    client_.command({"XGROUP", "CREATE", keys_.outbox(partition), std::string(outbox_group), "0", "MKSTREAM"},
                    [done = std::move(done)](redis_result r) {
                        if (!done) return;
                        if (!r && r.error() == redis_errc::redis_error && r.message().starts_with("BUSYGROUP"))
                            return done(acknowledged{});
                        if (!r) return done(error_of(r));
                        done(parse_ok(r.value(), "XGROUP CREATE"));
                    });
}

void sequencer::take_outbox(std::vector<unsigned> partitions, std::string_view node_id, std::size_t count,
                            completion<outbox_batch> done) {
    std::vector<unsigned> sorted = partitions;
    std::sort(sorted.begin(), sorted.end());
    const bool distinct = std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
    if (partitions.empty() || partitions.size() > max_read_partitions || !distinct ||
        sorted.back() >= keys_.partitions() || !valid_node_id(node_id) || count == 0 || count > max_outbox_batch)
        return refuse(std::move(done), "take_outbox: bad partitions, node id or count");
    std::vector<std::string> keys;
    keys.reserve(2 * partitions.size());
    for (unsigned p : partitions) {
        keys.push_back(keys_.lease(p));
        keys.push_back(keys_.outbox(p));
    }
    run(fcall("parley_take", std::move(keys), {std::string(node_id), std::string(outbox_group), decimal(count)}),
        std::move(done), [partitions = std::move(partitions)](const resp::value& v) { return parse_take(v, partitions); });
}

void sequencer::claim_outbox(unsigned partition, std::string_view node_id, std::chrono::milliseconds min_idle,
                             std::size_t count, completion<outbox_batch> done, std::string cursor) {
    if (partition >= keys_.partitions() || !valid_node_id(node_id) || count == 0 || count > max_outbox_batch ||
        min_idle.count() < 0 || !valid_stream_id(cursor))
        return refuse(std::move(done), "claim_outbox: bad partition, node id, count, min_idle or cursor");
    run(fcall("parley_claim", {keys_.lease(partition), keys_.outbox(partition)},
              {std::string(node_id), std::string(outbox_group), decimal(static_cast<std::uint64_t>(min_idle.count())),
               std::move(cursor), decimal(count)}),
        std::move(done), [partition](const resp::value& v) { return parse_claim(v, partition); });
}

void sequencer::ack_outbox(unsigned partition, std::vector<std::string> ids, completion<std::uint64_t> done) {
    if (partition >= keys_.partitions() || ids.empty() || ids.size() > max_outbox_batch ||
        !std::all_of(ids.begin(), ids.end(), [](const std::string& id) { return valid_stream_id(id); }))
        return refuse(std::move(done), "ack_outbox: bad partition, or ids not 1.." + std::to_string(max_outbox_batch) +
                                           " stream ids");
    ids.insert(ids.begin(), std::string(outbox_group));
    run(fcall("parley_ack", {keys_.outbox(partition)}, std::move(ids)), std::move(done),
        [](const resp::value& v) { return parse_count(v, "parley_ack"); });
}

}  // namespace parley::server::cluster
