#include "tests/soak/room_view.hpp"

#include <algorithm>

namespace parley::soak {
using namespace parley::protocol;

namespace {

view_message from_record(const message_record& r) {
    view_message m{r.author_id, r.client_msg_id, r.edited_at, r.text, r.deleted, {}};
    for (const auto& c : r.reactions) m.reactions[static_cast<std::size_t>(c.reaction)] = c.count;
    return m;
}

}  // namespace

std::string room_view::on_joined(const room_joined& j) {
    epoch_ = j.epoch;
    joined_last_ = j.last_seq;
    joining_ = true;
    if (floating_) {  // it rejoined with since() == page_max_: the replay continues from there
        floating_ = false;
        pos_ = page_max_;
    }
    return {};
}

// Drop what the server no longer vouches for; the latest page that follows
// refills the view.
std::string room_view::on_reset(const room_reset& r) {
    ++resets_;
    epoch_ = r.epoch;
    messages_.erase(messages_.upper_bound(r.base_seq), messages_.end());
    pos_ = std::min(pos_, r.base_seq);
    page_max_ = std::min(page_max_, r.base_seq);
    return {};
}

std::string room_view::on_page(const history_page& p) {
    if (p.mode != history_mode::latest) return {};  // the soak never scrolls back
    if (p.has_more && p.messages.empty()) return "a latest page with has_more but no messages";
    messages_.clear();
    for (const auto& r : p.messages) messages_[r.seq] = from_record(r);
    complete_from_ = p.has_more ? p.messages.front().seq : 1;
    if (!joining_) return {};  // the page after a live reset: the position stays
    joining_ = false;
    floating_ = true;
    page_max_ = p.messages.empty() ? 0 : p.messages.back().seq;
    return {};
}

// Checks that `seq` is the next event; `apply` says whether to apply it
// (a duplicate is not applied, a gap is, so one gap is reported once).
std::string room_view::advance(std::uint64_t seq, bool& apply) {
    apply = true;
    joining_ = false;
    if (floating_) {
        floating_ = false;
        if (seq <= page_max_ || seq > joined_last_ + 1) {
            pos_ = seq;
            return "first event after the latest page has seq " + std::to_string(seq) + " (page ends at " +
                   std::to_string(page_max_) + ", room_joined.last_seq " + std::to_string(joined_last_) + ")";
        }
        pos_ = seq - 1;
    }
    if (seq <= pos_) {
        apply = false;
        return "duplicate event seq " + std::to_string(seq) + " (view at " + std::to_string(pos_) + ")";
    }
    const std::uint64_t expected = pos_ + 1;
    pos_ = seq;
    if (seq != expected) return "gap: event seq " + std::to_string(seq) + " after " + std::to_string(expected - 1);
    return {};
}

view_message* room_view::target(std::uint64_t message_seq, std::string& violation) {
    auto it = messages_.find(message_seq);
    if (it != messages_.end()) return &it->second;
    if (message_seq >= complete_from_ && violation.empty())
        violation = "change of message " + std::to_string(message_seq) + " the view should hold but does not";
    return nullptr;  // older than what the view holds: nothing to update
}

std::string room_view::on_message(const chat_message& m) {
    bool apply = false;
    std::string v = advance(m.message.seq, apply);
    if (apply) messages_[m.message.seq] = from_record(m.message);
    return v;
}

std::string room_view::on_edited(const message_edited& e) {
    bool apply = false;
    std::string v = advance(e.seq, apply);
    if (!apply) return v;
    if (view_message* t = target(e.message_seq, v)) {
        t->text = e.text;
        t->edited_at = e.edited_at;
    }
    return v;
}

std::string room_view::on_deleted(const message_deleted& d) {
    bool apply = false;
    std::string v = advance(d.seq, apply);
    if (!apply) return v;
    if (view_message* t = target(d.message_seq, v)) {
        t->deleted = true;
        t->text.clear();
        t->reactions = {};
    }
    return v;
}

std::string room_view::on_room_event(const room_event& e) {
    bool apply = false;
    return advance(e.seq, apply);
}

std::string room_view::on_reaction(const reaction_update& r) {
    bool apply = false;
    std::string v = advance(r.seq, apply);
    if (!apply) return v;
    if (view_message* t = target(r.message_seq, v)) t->reactions[static_cast<std::size_t>(r.reaction)] = r.count;
    return v;
}

}  // namespace parley::soak
