#include "server/store/postgres.hpp"

#include "server/store/sql_text.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <memory>
#include <optional>
#include <vector>

namespace parley::server {

namespace {

// SQLSTATE classes worth a retry: the connection (08), a serialization
// failure or deadlock (40), resources (53), operator intervention such as a
// shutdown (57), the system (58), a lock not available (55P03).
db_error::kind kind_of(std::string_view state) {
    if (state.size() != 5) return db_error::kind::transient;  // no SQLSTATE: the connection failed
    const std::string_view cls = state.substr(0, 2);
    if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || state == "55P03")
        return db_error::kind::transient;
    if (cls == "23") return db_error::kind::constraint;
    return db_error::kind::other;
}

std::string trimmed(const char* message) {
    std::string s = message ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

/// Throws pg_error unless `r` succeeded.
void check_result(const PGresult* r, PGconn* conn, std::string_view what) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    // A dead connection leaves no SQLSTATE (or one of class 08): transient.
    std::string message = r ? trimmed(PQresultErrorMessage(r)) : "";
    if (message.empty()) message = trimmed(PQerrorMessage(conn));
    throw pg_error(state ? state : "", std::string(what) + ": " + message);
}

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class pg_statement final : public statement_backend {
public:
    pg_statement(pg_connection& db, std::string_view sql) : db_(db) {
        text_ = postgres_dialect(sql, &param_count_);
        params_.resize(static_cast<std::size_t>(param_count_));
    }

    void bind(int index, std::int64_t v) override { slot(index) = std::to_string(v); }
    void bind(int index, std::string_view text) override { slot(index) = std::string(text); }
    void bind_blob(int index, const void* data, std::size_t size) override {
        std::string hex = "\\x";
        hex.reserve(2 + size * 2);
        for (const auto* p = static_cast<const unsigned char*>(data); size-- > 0; ++p) {
            hex.push_back(hex_digits[*p >> 4]);
            hex.push_back(hex_digits[*p & 15]);
        }
        slot(index) = std::move(hex);
    }
    void bind_null(int index) override { slot(index).reset(); }

    bool step() override {
        if (!result_) {
            execute();
            row_ = 0;
        } else {
            ++row_;
        }
        return row_ < PQntuples(result_.get());
    }
    void reset() noexcept override {
        result_.reset();
        for (auto& p : params_) p.reset();
    }

    std::int64_t column_int(int col) const override {
        const char* v = value(col);
        std::int64_t n = 0;
        std::from_chars(v, v + PQgetlength(result_.get(), row_, col), n);
        return n;
    }
    std::string column_text(int col) const override {
        return std::string(value(col), static_cast<std::size_t>(PQgetlength(result_.get(), row_, col)));
    }
    std::string column_blob(int col) const override {
        const std::string text = column_text(col);
        if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') return text;  // not bytea's hex form
        std::string out;
        out.reserve((text.size() - 2) / 2);
        for (std::size_t i = 2; i + 1 < text.size(); i += 2) {
            const int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
            if (hi < 0 || lo < 0) break;
            out.push_back(static_cast<char>(hi << 4 | lo));
        }
        return out;
    }
    bool column_is_null(int col) const override { return PQgetisnull(result_.get(), row_, col) != 0; }

private:
    std::optional<std::string>& slot(int index) {
        if (index < 1 || index > param_count_)
            throw pg_error("42P02", "bind: parameter " + std::to_string(index) + " of " + std::to_string(param_count_));
        return params_[static_cast<std::size_t>(index - 1)];
    }
    const char* value(int col) const {
        if (col < 0 || col >= PQnfields(result_.get())) throw pg_error("42703", "column " + std::to_string(col));
        return PQgetvalue(result_.get(), row_, col);
    }

    void execute() {
        PGconn* conn = db_.live();
        if (prepared_in_ != db_.generation() || name_.empty()) {
            name_ = db_.next_statement_name();
            result_ptr made(PQprepare(conn, name_.c_str(), text_.c_str(), 0, nullptr));
            check_result(made.get(), conn, "prepare");
            prepared_in_ = db_.generation();
        }
        std::vector<const char*> values(params_.size());
        for (std::size_t i = 0; i < params_.size(); ++i) values[i] = params_[i] ? params_[i]->c_str() : nullptr;
        result_ptr r(PQexecPrepared(conn, name_.c_str(), param_count_, values.data(), nullptr, nullptr, 0));
        check_result(r.get(), conn, "execute");
        const char* affected = PQcmdTuples(r.get());
        std::int64_t n = 0;
        if (affected && *affected) std::from_chars(affected, affected + std::char_traits<char>::length(affected), n);
        db_.set_changes(n);
        result_ = std::move(r);
    }

    pg_connection& db_;
    std::string text_;
    int param_count_ = 0;
    std::vector<std::optional<std::string>> params_;
    std::string name_;
    std::uint64_t prepared_in_ = 0;
    result_ptr result_;
    int row_ = 0;
};

}  // namespace

pg_error::pg_error(std::string sqlstate, const std::string& what)
    : db_error(kind_of(sqlstate), sqlstate == "23505", what), sqlstate_(std::move(sqlstate)) {}

pg_connection::pg_connection(const std::string& conninfo, store_url::access a) : conninfo_(conninfo), access_(a) {
    connect();
}

pg_connection::~pg_connection() { PQfinish(conn_); }

void pg_connection::connect() {
    PQfinish(conn_);
    const char* keys[] = {"dbname", "application_name", "connect_timeout", nullptr};
    const char* values[] = {conninfo_.c_str(), "parley", "5", nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    ++generation_;
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string why = trimmed(PQerrorMessage(conn_));
        throw pg_error("", "connect to PostgreSQL: " + why);
    }
    // Quiet NOTICEs (IF NOT EXISTS and the like) instead of libpq printing them.
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    exec(access_ == store_url::access::read_only ? "SET default_transaction_read_only = on; SET TIME ZONE 'UTC'"
                                                 : "SET TIME ZONE 'UTC'");
}

pg_conn* pg_connection::live() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
    if (in_transaction_) throw pg_error("08006", "the connection to PostgreSQL was lost inside a transaction");
    connect();
    return conn_;
}

std::string pg_connection::next_statement_name() { return "parley_" + std::to_string(++statements_); }

void pg_connection::exec(std::string_view sql) {
    PGconn* conn = live();
    const std::string text(sql);
    result_ptr r(PQexec(conn, text.c_str()));
    check_result(r.get(), conn, "exec");
}

statement pg_connection::prepare(std::string_view sql) {
    return statement(std::make_unique<pg_statement>(*this, sql));
}

void pg_connection::begin(transaction t) {
    switch (t) {
        case transaction::write: exec("BEGIN"); break;
        // One lock key for every Parley process on this database: 0x70617231 ("par1").
        case transaction::exclusive: exec("BEGIN; SELECT pg_advisory_xact_lock(1885434417)"); break;
        case transaction::snapshot: exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); break;
    }
    in_transaction_ = true;
}

void pg_connection::commit() {
    PGconn* conn = live();
    result_ptr r(PQexec(conn, "COMMIT"));
    in_transaction_ = false;
    check_result(r.get(), conn, "commit");
    // COMMIT of a transaction that already failed answers ROLLBACK, not an error.
    if (std::string_view(PQcmdStatus(r.get())) == "ROLLBACK")
        throw pg_error("40000", "commit: the transaction had failed and was rolled back");
}

void pg_connection::rollback() noexcept {
    in_transaction_ = false;
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
}

std::string postgres_dialect(std::string_view sql, int* params) {
    int highest = 0;
    std::string out = rewrite_sql(
        sql, [](std::string_view, std::string&) { return false; },
        [&highest](int n, std::string& to) {
            highest = std::max(highest, n);
            to += '$';
            to += std::to_string(n);
        });
    if (params) *params = highest;
    return out;
}

}  // namespace parley::server
