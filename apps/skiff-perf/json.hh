#pragma once
// A small JSON value with a strict reader and a writer: enough for iperf3's parameter and result
// messages and for -J output. The reader never throws and never recurses deeper than a limit; any bad
// input (truncated, malformed, too deep, trailing bytes) gives std::nullopt and a one-line reason.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace perf {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;
  static Json boolean(bool v);
  static Json number(double v);
  static Json integer(int64_t v);
  static Json uinteger(uint64_t v);
  static Json string(std::string v);
  static Json array();
  static Json object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Conversions with a default for the wrong type. Integers beyond int64 wrap as C does (iperf3 writes
  // -1 as 18446744073709551615, which reads back as -1); doubles out of range give `def`.
  bool as_bool(bool def = false) const;
  double as_double(double def = 0) const;
  int64_t as_int(int64_t def = 0) const;
  const std::string& as_string() const;  // empty unless a string

  // Object members (first match) and array items.
  const Json* get(std::string_view key) const;
  Json& set(std::string key, Json v);  // replaces an existing member, else appends (keeps insertion order)
  Json& push(Json v);
  const std::vector<Json>& items() const { return items_; }
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }
  size_t size() const { return type_ == Type::Array ? items_.size() : members_.size(); }

  // Compact (no spaces) or pretty (tabs, like iperf3's -J).
  std::string dump(bool pretty = false) const;

  static std::optional<Json> parse(std::string_view text, std::string* error = nullptr, unsigned max_depth = 64);

 private:
  void write(std::string& out, bool pretty, unsigned indent) const;

  Type type_ = Type::Null;
  bool bool_ = false;
  enum class Num : uint8_t { Double, Int, UInt } num_kind_ = Num::Double;
  double dbl_ = 0;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  std::string str_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;

  friend class JsonReader;
};

// Appends `s` as a JSON string literal (quotes and escapes).
void json_quote(std::string& out, std::string_view s);

}  // namespace perf
