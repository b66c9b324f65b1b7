// Packets as JSON objects: {"type": "send_message", "room_id": 1, ...}.
//
// The vocabulary of the golden vectors (tests/vectors/), the conformance
// runner and the load generator's logs. Field names and order come from each
// packet's field list; enums are their names ("like"), integers numbers.
#pragma once

#include "protocol/packets.hpp"

#include <nlohmann/json.hpp>

namespace parley::testing {

nlohmann::ordered_json packet_to_json(const protocol::packet& p);

/** @throws std::invalid_argument naming the offending field when `j` is not
 *  a packet object (unknown type, missing or mistyped field). */
protocol::packet packet_from_json(const nlohmann::ordered_json& j);

}  // namespace parley::testing
