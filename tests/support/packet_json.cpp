#include "tests/support/packet_json.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>

namespace parley::testing {
namespace {

using json = nlohmann::ordered_json;
using namespace parley::protocol;

template <class T>
concept has_fields = requires(T& t) { T::fields(t, [](auto&&...) {}); };

template <class T> struct is_vector : std::false_type {};
template <class T> struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
json value_to_json(const T& v) {
    if constexpr (has_fields<T>) {
        json obj = json::object();
        T::fields(v, [&](const char* name, const auto& member, auto...) { obj[name] = value_to_json(member); });
        return obj;
    } else if constexpr (is_vector<T>::value) {
        json arr = json::array();
        for (const auto& item : v) arr.push_back(value_to_json(item));
        return arr;
    } else if constexpr (std::is_enum_v<T>) {
        return std::string(enum_name(v));
    } else {
        return v;  // integers, bools, strings
    }
}

[[noreturn]] void bad_field(const std::string& path, const char* what) {
    throw std::invalid_argument("field '" + path + "': " + what);
}

template <class T>
void value_from_json(const json& j, T& out, const std::string& path) {
    if constexpr (has_fields<T>) {
        if (!j.is_object()) bad_field(path, "expected an object");
        T::fields(out, [&](const char* name, auto& member, auto...) {
            if (!j.contains(name)) bad_field(path + "." + name, "missing");
            value_from_json(j.at(name), member, path + "." + name);
        });
    } else if constexpr (is_vector<T>::value) {
        if (!j.is_array()) bad_field(path, "expected an array");
        out.resize(j.size());
        for (std::size_t i = 0; i < j.size(); ++i) value_from_json(j[i], out[i], path + "[" + std::to_string(i) + "]");
    } else if constexpr (std::is_enum_v<T>) {
        if (!j.is_string()) bad_field(path, "expected a name");
        auto e = enum_from_name<T>(j.get<std::string>());
        if (!e) bad_field(path, "unknown name");
        out = *e;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!j.is_boolean()) bad_field(path, "expected a boolean");
        out = j.get<bool>();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!j.is_string()) bad_field(path, "expected a string");
        out = j.get<std::string>();
    } else {
        if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
            bad_field(path, "expected an unsigned integer");
        const auto v = j.get<std::uint64_t>();
        if (v > std::numeric_limits<T>::max()) bad_field(path, "out of range");
        out = static_cast<T>(v);
    }
}

template <std::size_t I = 0>
packet make_packet(packet_kind kind) {
    if constexpr (I == std::variant_size_v<packet>) {
        throw std::invalid_argument("unknown packet type");
    } else {
        using T = std::variant_alternative_t<I, packet>;
        if (T::kind == kind) return packet{std::in_place_index<I>};
        return make_packet<I + 1>(kind);
    }
}

}  // namespace

json packet_to_json(const packet& p) {
    return std::visit(
        [](const auto& alt) {
            json obj = json::object();
            obj["type"] = std::string(kind_name(alt.kind));
            using T = std::decay_t<decltype(alt)>;
            T::fields(alt, [&](const char* name, const auto& member, auto...) { obj[name] = value_to_json(member); });
            return obj;
        },
        p);
}

packet packet_from_json(const json& j) {
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
        throw std::invalid_argument("packet object needs a string 'type'");
    const auto kind = kind_from_name(j["type"].get<std::string>());
    if (!kind) throw std::invalid_argument("unknown packet type '" + j["type"].get<std::string>() + "'");
    packet p = make_packet(*kind);
    std::visit([&](auto& alt) { value_from_json(j, alt, std::string(kind_name(alt.kind))); }, p);
    return p;
}

}  // namespace parley::testing
