// docs/protocol.md against the reference: the spec's vocabulary tables list
// exactly what protocol/vocabulary.hpp lists, and its worked examples show
// exactly the bytes of the golden vectors.
//
// Format. The spec is Markdown with setext top-level headings ("8. Packet
// kinds" over a line of dashes) and "### 14.1 ..." subsections. A table row
// is a line that starts with '|'; its cells are split on '|' and trimmed, and
// a cell that names something holds it in backticks (`0x4E`, `room_reset`).
//
// Algorithm. Each check reads the rows (or headings) of one section into
// (number, name) pairs, builds the same pairs from the X-macro lists, and
// reports every missing, extra or duplicated row by section, number and name,
// so a failure says which line of the spec to add, remove or fix.
#include "protocol/vocabulary.hpp"

#include "protocol/codec.hpp"
#include "protocol/errors.hpp"
#include "protocol/packets.hpp"
#include "tests/support/packet_json.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace parley::protocol;

/// (number, name, description): one row of a vocabulary table.
struct word {
    unsigned number = 0;
    std::string name;
    std::string description;
};

std::string source_dir() {
    if (const char* dir = std::getenv("PARLEY_SOURCE_DIR")) return dir;
    return PARLEY_SPEC_SOURCE_DIR;  // running the binary by hand, outside CTest
}

std::string read_file(const std::string& relative) {
    std::ifstream in(source_dir() + "/" + relative);
    EXPECT_TRUE(in.good()) << relative << " not found under " << source_dir();
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const std::string& spec() {
    static const std::string text = read_file("docs/protocol.md");
    return text;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

bool is_top_heading(const std::vector<std::string>& lines, std::size_t i) {
    static const std::regex numbered(R"(^\d+\. \S.*$)");
    return i + 1 < lines.size() && std::regex_match(lines[i], numbered) && lines[i + 1].starts_with("---");
}

/// The text of top-level section `n` ("8. Packet kinds"), up to the next one.
std::string top_section(unsigned n) {
    const auto lines = lines_of(spec());
    const std::string prefix = std::to_string(n) + ". ";
    std::string out;
    bool inside = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (is_top_heading(lines, i)) inside = lines[i].starts_with(prefix);
        if (inside) out += lines[i] + "\n";
    }
    EXPECT_FALSE(out.empty()) << "docs/protocol.md has no section " << n;
    return out;
}

/// The text of subsection `number` ("14.1") of `section`, up to the next "### ".
std::string subsection(const std::string& section, const std::string& number) {
    std::string out;
    bool inside = false;
    for (const auto& line : lines_of(section)) {
        if (line.starts_with("### ")) inside = line.starts_with("### " + number + " ");
        if (inside) out += line + "\n";
    }
    EXPECT_FALSE(out.empty()) << "docs/protocol.md has no section " << number;
    return out;
}

std::string trim(std::string s) {
    const auto first = s.find_first_not_of(" \t");
    const auto last = s.find_last_not_of(" \t");
    return first == std::string::npos ? std::string{} : s.substr(first, last - first + 1);
}

/// The cells of every table row of `text` (lines that start with '|').
std::vector<std::vector<std::string>> table_rows(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& line : lines_of(text)) {
        if (!line.starts_with("|")) continue;
        std::vector<std::string> cells;
        std::istringstream in(line.substr(1));
        for (std::string cell; std::getline(in, cell, '|');) cells.push_back(trim(cell));
        rows.push_back(std::move(cells));
    }
    return rows;
}

/// `x` -> x; anything else -> "".
std::string quoted(const std::string& cell) {
    static const std::regex one_name("^`([^`]+)`$");
    std::smatch m;
    return std::regex_match(cell, m, one_name) ? m[1].str() : std::string{};
}

/// How a row reads in a report: "0x4E `room_reset`", "115 `room_unavailable` "the room ..."".
std::string describe_row(const word& w, bool hex, bool with_description) {
    std::ostringstream s;
    if (hex) s << "0x" << std::uppercase << std::hex << (w.number < 16 ? "0" : "") << w.number;
    else s << w.number;
    s << " `" << w.name << "`";
    if (with_description) s << " \"" << w.description << "\"";
    return s.str();
}

/// Every difference between what the code lists and what the spec lists, one
/// line each; empty when they agree. Descriptions are compared when the code
/// has them (errors).
std::string compare(const std::string& where, const std::vector<word>& code, const std::vector<word>& doc, bool hex) {
    const bool with_description = !code.empty() && !code.front().description.empty();
    auto describe = [&](const word& w) { return describe_row(w, hex, with_description); };
    std::ostringstream report;
    std::map<unsigned, word> in_doc;
    for (const auto& w : doc)
        if (!in_doc.emplace(w.number, w).second) report << where << ": duplicate row " << describe(w) << "\n";
    std::map<unsigned, word> in_code;
    for (const auto& w : code) in_code.emplace(w.number, w);
    for (const auto& [n, w] : in_code) {
        auto it = in_doc.find(n);
        if (it == in_doc.end()) {
            report << where << ": missing row " << describe(w) << " (the code has it)\n";
        } else if (it->second.name != w.name || (with_description && it->second.description != w.description)) {
            report << where << ": row " << describe(it->second) << " should be " << describe(w) << "\n";
        }
    }
    for (const auto& [n, w] : in_doc)
        if (!in_code.contains(n)) report << where << ": extra row " << describe(w) << " (the code has none)\n";
    return report.str();
}

/// Fails with one line per difference, naming the rows of the spec to fix.
void expect_same(const std::string& where, const std::vector<word>& code, const std::vector<word>& doc,
                 bool hex = false, const std::string& source = "protocol/vocabulary.hpp") {
    const std::string report = compare(where, code, doc, hex);
    EXPECT_TRUE(report.empty()) << "docs/protocol.md disagrees with " << source << ":\n" << report;
}

// ---- what the code lists ------------------------------------------------------------

std::vector<word> code_kinds() {
    return {
#define PARLEY_WORD(name, byte) {byte, #name, ""},
        PARLEY_PACKET_KINDS(PARLEY_WORD)
#undef PARLEY_WORD
    };
}

std::vector<word> code_decode_errors() {
    return {
#define PARLEY_WORD(name, number, description) {number, #name, description},
        PARLEY_DECODE_ERRORS(PARLEY_WORD)
#undef PARLEY_WORD
    };
}

std::vector<word> code_server_errors() {
    return {
#define PARLEY_WORD(name, number, description) {number, #name, description},
        PARLEY_SERVER_ERRORS(PARLEY_WORD)
#undef PARLEY_WORD
    };
}

template <class E>
std::vector<word> code_enum() {
    std::vector<word> out;
    for (std::uint8_t i = 0; i < enum_count(E{}); ++i) out.push_back({i, std::string(enum_name(static_cast<E>(i))), ""});
    return out;
}

// ---- what the spec lists -------------------------------------------------------------

/// Rows of `text` whose first cell is a number (decimal or `0xNN`) and whose
/// second is one name in backticks; the third cell is kept as the description.
std::vector<word> spec_rows(const std::string& text, bool hex) {
    static const std::regex hex_cell("^`0x([0-9A-F]{2})`$");
    static const std::regex dec_cell(R"(^(\d+)$)");
    std::vector<word> out;
    for (const auto& cells : table_rows(text)) {
        std::smatch m;
        if (cells.size() < 2 || quoted(cells[1]).empty()) continue;
        if (!std::regex_match(cells[0], m, hex ? hex_cell : dec_cell)) continue;
        const auto number = static_cast<unsigned>(std::stoul(m[1].str(), nullptr, hex ? 16 : 10));
        out.push_back({number, quoted(cells[1]), cells.size() > 2 ? cells[2] : ""});
    }
    return out;
}

std::string join(const std::vector<word>& words) {
    std::string s;
    for (const auto& w : words) s += (s.empty() ? "" : ", ") + w.name;
    return s;
}

// ---- the checks ----------------------------------------------------------------------

TEST(Spec, KindTableListsExactlyTheVocabulary) {
    auto rows = spec_rows(top_section(8), true);
    std::erase_if(rows, [](const word& w) { return w.number == 0x7F; });
    expect_same("section 8 (packet kinds)", code_kinds(), rows, true);
}

TEST(Spec, KindTableNamesBatchAndEachKindsDirectionAndSection) {
    std::map<std::string, std::string> heading_of;  // name -> "10.15"
    static const std::regex heading(R"(^### (\d+\.\d+) `(\w+)` \(0x[0-9A-F]{2}\)$)");
    for (const auto& line : lines_of(spec())) {
        std::smatch m;
        if (std::regex_match(line, m, heading)) heading_of[m[2].str()] = m[1].str();
    }
    bool batch = false;
    for (const auto& cells : table_rows(top_section(8))) {
        if (cells.size() < 5 || quoted(cells[0]).empty() || quoted(cells[1]).empty()) continue;
        const std::string name = quoted(cells[1]);
        if (name == "batch") {
            batch = quoted(cells[0]) == "0x7F";
            continue;
        }
        const auto byte = std::stoul(quoted(cells[0]), nullptr, 16);
        EXPECT_EQ(cells[2], byte < 0x40 ? "client → server" : "server → client") << "section 8, row `" << name << "`";
        EXPECT_EQ(cells[4], heading_of[name]) << "section 8, row `" << name << "`: its Section column";
    }
    EXPECT_TRUE(batch) << "section 8 lacks the row | `0x7F` | `batch` |";
}

TEST(Spec, EveryKindHasAPacketSectionWithItsByte) {
    static const std::regex heading(R"(^### (9|10)\.\d+ `(\w+)` \(0x([0-9A-F]{2})\)$)");
    std::vector<word> headings;
    for (const auto& line : lines_of(top_section(9) + top_section(10))) {
        std::smatch m;
        if (!std::regex_match(line, m, heading)) continue;
        const auto byte = static_cast<unsigned>(std::stoul(m[3].str(), nullptr, 16));
        headings.push_back({byte, m[2].str(), ""});
        EXPECT_EQ(m[1].str(), byte < 0x40 ? "9" : "10") << line << ": in the other direction's section";
    }
    expect_same("sections 9-10 (### headings)", code_kinds(), headings, true);
}

TEST(Spec, KindCountsInTheTextMatchTheVocabulary) {
    static const std::regex count(R"(the (\d+) (?:packet )?kinds)");
    const std::string n = std::to_string(code_kinds().size());
    int seen = 0;
    for (std::sregex_iterator it(spec().begin(), spec().end(), count), end; it != end; ++it, ++seen)
        EXPECT_EQ((*it)[1].str(), n) << "docs/protocol.md says \"" << it->str() << "\"";
    EXPECT_GT(seen, 0) << "no \"the N kinds\" in docs/protocol.md: update this test";
}

TEST(Spec, ErrorTablesListExactlyTheVocabulary) {
    const std::string section = top_section(14);
    expect_same("section 14.1 (decode errors)", code_decode_errors(), spec_rows(subsection(section, "14.1"), false));
    expect_same("section 14.2 (server errors)", code_server_errors(), spec_rows(subsection(section, "14.2"), false));
}

TEST(Spec, ErrorRangesAreTheAssignedCodes) {
    auto range = [](const std::vector<word>& w) {
        return std::to_string(w.front().number) + "-" + std::to_string(w.back().number);
    };
    std::vector<std::string> assigned;
    for (const auto& cells : table_rows(top_section(14)))
        if (cells.size() >= 2 && cells[1].find("(assigned)") != std::string::npos) assigned.push_back(cells[0]);
    EXPECT_EQ(assigned, (std::vector<std::string>{range(code_decode_errors()), range(code_server_errors())}))
        << "section 14's range table: the rows marked (assigned)";
}

TEST(Spec, EnumerationTablesListExactlyTheEnumerators) {
    struct enumeration {
        std::string number, name;
        std::vector<word> code;
    };
    const std::vector<enumeration> all{
        {"12.1", "reaction_kind", code_enum<reaction_kind>()},
        {"12.2", "presence_change", code_enum<presence_change>()},
        {"12.3", "history_mode", code_enum<history_mode>()},
        {"12.4", "room_kind", code_enum<room_kind>()},
        {"12.5", "room_role", code_enum<room_role>()},
        {"12.6", "membership", code_enum<membership>()},
        {"12.7", "room_action", code_enum<room_action>()},
        {"12.8", "leave_reason", code_enum<leave_reason>()},
    };
    for (const auto& e : all) {
        const std::string text = subsection(top_section(12), e.number);
        const std::string title = "### " + e.number + " `" + e.name + "` (count " + std::to_string(e.code.size()) + ")";
        EXPECT_TRUE(text.starts_with(title + "\n")) << "section " << e.number << " should be titled " << title
                                                    << " (values: " << join(e.code) << ")";
        expect_same("section " + e.number + " (" + e.name + ")", e.code, spec_rows(text, false), false,
                    "protocol/packets.hpp and protocol/names.cpp");
    }
}

// ---- worked examples -----------------------------------------------------------------

struct example {
    std::string title, vector;
    std::size_t size = 0;
    std::string hex;  ///< the first code block, whitespace removed
};

std::vector<example> worked_examples() {
    static const std::regex title(R"(^### (19\.\d+) .*\((?:vector `(\w+)`, )?([\d,]+) bytes\)$)");
    std::vector<example> out;
    bool in_block = false;
    for (const auto& line : lines_of(top_section(19))) {
        std::smatch m;
        if (std::regex_match(line, m, title)) {
            std::string size = m[3].str();
            std::erase(size, ',');
            out.push_back({m[1].str(), m[2].str(), std::stoul(size), ""});
        } else if (line.starts_with("```") && !out.empty() && (in_block || out.back().hex.empty())) {
            in_block = !in_block;
        } else if (in_block) {
            for (char c : line)
                if (c != ' ') out.back().hex += c;
        }
    }
    return out;
}

bytes from_hex(const std::string& hex) {
    bytes b;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        b.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return b;
}

TEST(Spec, WorkedExamplesShowTheVectorsBytes) {
    const auto vectors = nlohmann::ordered_json::parse(read_file("tests/vectors/packets.json"));
    std::map<std::string, std::string> hex_of;
    for (const auto& v : vectors["vectors"]) hex_of[v["name"].get<std::string>()] = v["hex"].get<std::string>();
    const auto examples = worked_examples();
    EXPECT_GE(examples.size(), 5u) << "section 19's example titles end in \"(vector `name`, N bytes)\"";
    for (const auto& e : examples) {
        EXPECT_EQ(e.hex.size(), 2 * e.size) << e.title << ": its title says " << e.size << " bytes";
        EXPECT_TRUE(decode_message(from_hex(e.hex)).has_value()) << e.title << ": its bytes do not decode";
        if (e.vector.empty()) continue;
        ASSERT_TRUE(hex_of.contains(e.vector)) << e.title << ": no vector named " << e.vector;
        EXPECT_EQ(e.hex, hex_of[e.vector]) << e.title << ": the bytes differ from vector " << e.vector;
    }
}

}  // namespace
