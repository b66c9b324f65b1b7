// The one SQL scanner the drivers share: walks portable SQL (sql.hpp),
// leaves string literals, quoted names and comments alone, and hands every
// bare word and every parameter to the driver, which may spell it its own way.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace parley::server {

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

/**
 * Copies `sql`, letting `word(w, out)` replace a bare word (return true after
 * appending to `out`), and `param(n, out)` spell parameter `?n` (`n` counts
 * bare `?` from 1, as SQLite does). A null `param` keeps parameters as they are.
 */
template <class Word, class Param>
std::string rewrite_sql(std::string_view sql, Word word, Param param) {
    std::string out;
    out.reserve(sql.size() + 16);
    int next_param = 1;
    std::size_t i = 0;
    auto is_word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    while (i < sql.size()) {
        const char c = sql[i];
        if (c == '\'' || c == '"') {  // a literal or a quoted name; a doubled quote stays inside
            std::size_t j = i + 1;
            while (j < sql.size() && !(sql[j] == c && (j + 1 >= sql.size() || sql[j + 1] != c))) j += sql[j] == c ? 2 : 1;
            j = std::min(j + 1, sql.size());
            out.append(sql.substr(i, j - i));
            i = j;
        } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
            const std::size_t end = sql.find('\n', i);
            const std::size_t j = end == std::string_view::npos ? sql.size() : end;
            out.append(sql.substr(i, j - i));
            i = j;
        } else if (c == '?') {
            std::size_t j = i + 1;
            while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
            int n = 0;
            if (j == i + 1) n = next_param++;
            else
                for (std::size_t k = i + 1; k < j; ++k) n = n * 10 + (sql[k] - '0');
            if (n >= next_param) next_param = n + 1;
            if constexpr (std::is_same_v<Param, std::nullptr_t>) out.append(sql.substr(i, j - i));
            else param(n, out);
            i = j;
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t j = i;
            while (j < sql.size() && is_word_char(sql[j])) ++j;
            const std::string_view w = sql.substr(i, j - i);
            if (!word(w, out)) out.append(w);
            i = j;
        } else {
            out.push_back(c);
            ++i;
        }
    }
    return out;
}

}  // namespace parley::server
