// result<T>: a value or a decode_error, in the spirit of C++23 std::expected.
#pragma once

#include "protocol/errors.hpp"

#include <cassert>
#include <utility>
#include <variant>

namespace parley::protocol {

/// Wraps an error so that result<T> can be built from it unambiguously.
struct failure {
    decode_error error;
};

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    result(failure f) : state_(std::in_place_index<1>, f.error) {}
    result(decode_error e) : state_(std::in_place_index<1>, e) {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { assert(has_value()); return std::get<0>(state_); }
    const T& value() const& { assert(has_value()); return std::get<0>(state_); }
    T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    decode_error error() const noexcept {
        assert(!has_value());
        return std::get<1>(state_);
    }

private:
    std::variant<T, decode_error> state_;
};

}  // namespace parley::protocol
