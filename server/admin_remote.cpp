#include "server/admin_remote.hpp"

#include "server/net/control_socket.hpp"
#include "server/store/database.hpp"

#include <nlohmann/json.hpp>

#include <ctime>
#include <ostream>

namespace parley::server {

std::string format_utc_ms(std::int64_t ms) {
    if (ms == 0) return "-";
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

admin_route route_admin_command(const config& cfg, const std::string& request, std::ostream& out, std::ostream& err) {
    admin_route route;
    std::string holder;
    route.lock = data_dir_lock::try_acquire(cfg.data_dir, holder);
    if (route.lock) return route;
    const auto socket = control_socket_path(cfg.data_dir);
    std::string why;
    const auto answer = call_control_socket(socket, request, why);
    const auto reply = answer ? nlohmann::json::parse(*answer, nullptr, false) : nlohmann::json();
    if (!reply.is_object() || !reply.contains("ok") || !reply.contains("message") || !reply["message"].is_string()) {
        err << "parley admin: " << cfg.data_dir << " is in use by " << holder
            << ", and that server cannot be reached (" << (answer ? "a garbled answer" : why)
            << "); nothing was changed\n";
        route.status = 1;
        return route;
    }
    const bool ok = reply["ok"] == true;
    (ok ? out : err) << (ok ? "" : "parley admin: ") << reply["message"].get<std::string>() << "\n";
    route.status = ok ? 0 : 1;
    return route;
}

// Read from what the catalog keeps up to date (rooms.last_seq and
// last_message_at are the writer's), so it costs one pass over rooms and
// the membership index, whatever the number of messages.
void print_rooms(const store_url& store, std::ostream& out) {
    const auto db = store.open(store_url::access::read_only);
    statement list = db->prepare(
        "SELECT r.id, r.kind, CASE WHEN r.kind = 0 THEN r.name ELSE r.title END, "
        "(SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.id AND m.state = 0), r.last_seq, r.last_message_at "
        "FROM rooms r WHERE r.deleted_at = 0 ORDER BY r.id");
    static constexpr const char* kinds[] = {"public", "private", "direct"};
    out << "id\tkind\tname\tmembers\tlast_seq\tlast_message\n";
    while (list.step()) {
        const auto kind = list.column_int(1);
        out << list.column_int(0) << "\t" << (kind >= 0 && kind < 3 ? kinds[kind] : "?") << "\t" << list.column_text(2)
            << "\t" << list.column_int(3) << "\t" << list.column_int(4) << "\t" << format_utc_ms(list.column_int(5)) << "\n";
    }
}

}  // namespace parley::server
