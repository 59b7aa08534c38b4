#include "skiff-perf/json.hh"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace perf {

Json Json::boolean(bool v) {
  Json j;
  j.type_ = Type::Bool;
  j.bool_ = v;
  return j;
}

Json Json::number(double v) {
  Json j;
  j.type_ = Type::Number;
  j.dbl_ = v;
  return j;
}

Json Json::integer(int64_t v) {
  Json j;
  j.type_ = Type::Number;
  j.num_kind_ = Num::Int;
  j.int_ = v;
  j.dbl_ = static_cast<double>(v);
  return j;
}

Json Json::uinteger(uint64_t v) {
  Json j;
  j.type_ = Type::Number;
  j.num_kind_ = Num::UInt;
  j.uint_ = v;
  j.dbl_ = static_cast<double>(v);
  return j;
}

Json Json::string(std::string v) {
  Json j;
  j.type_ = Type::String;
  j.str_ = std::move(v);
  return j;
}

Json Json::array() {
  Json j;
  j.type_ = Type::Array;
  return j;
}

Json Json::object() {
  Json j;
  j.type_ = Type::Object;
  return j;
}

bool Json::as_bool(bool def) const {
  if (type_ == Type::Bool) return bool_;
  if (type_ == Type::Number) return dbl_ != 0;  // iperf3 accepts 1/0 for flags
  return def;
}

double Json::as_double(double def) const { return type_ == Type::Number ? dbl_ : def; }

int64_t Json::as_int(int64_t def) const {
  if (type_ != Type::Number) return def;
  switch (num_kind_) {
    case Num::Int: return int_;
    case Num::UInt: return static_cast<int64_t>(uint_);
    case Num::Double:
      if (!std::isfinite(dbl_) || dbl_ >= 9.2e18 || dbl_ <= -9.2e18) return def;
      return static_cast<int64_t>(dbl_);
  }
  return def;
}

const std::string& Json::as_string() const {
  static const std::string empty;
  return type_ == Type::String ? str_ : empty;
}

const Json* Json::get(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& [k, v] : members_)
    if (k == key) return &v;
  return nullptr;
}

Json& Json::set(std::string key, Json v) {
  if (type_ != Type::Object) *this = object();
  for (auto& [k, old] : members_)
    if (k == key) {
      old = std::move(v);
      return old;
    }
  members_.emplace_back(std::move(key), std::move(v));
  return members_.back().second;
}

Json& Json::push(Json v) {
  if (type_ != Type::Array) *this = array();
  items_.push_back(std::move(v));
  return items_.back();
}

void json_quote(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char b[8];
          snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

namespace {
void newline(std::string& out, bool pretty, unsigned indent) {
  if (!pretty) return;
  out += '\n';
  out.append(indent, '\t');
}
}  // namespace

void Json::write(std::string& out, bool pretty, unsigned indent) const {
  char b[40];
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += bool_ ? "true" : "false"; break;
    case Type::Number:
      if (num_kind_ == Num::Int) {
        snprintf(b, sizeof b, "%lld", static_cast<long long>(int_));
      } else if (num_kind_ == Num::UInt) {
        snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(uint_));
      } else if (!std::isfinite(dbl_)) {
        snprintf(b, sizeof b, "0");  // JSON has no inf/nan
      } else if (dbl_ == std::floor(dbl_) && std::fabs(dbl_) < 1e15) {
        snprintf(b, sizeof b, "%.0f", dbl_);
      } else {
        snprintf(b, sizeof b, "%.17g", dbl_);
      }
      out += b;
      break;
    case Type::String: json_quote(out, str_); break;
    case Type::Array:
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += pretty ? ", " : ",";
        items_[i].write(out, pretty, indent);
      }
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        newline(out, pretty, indent + 1);
        json_quote(out, members_[i].first);
        out += pretty ? ":\t" : ":";
        members_[i].second.write(out, pretty, indent + 1);
      }
      if (!members_.empty()) newline(out, pretty, indent);
      out += '}';
      break;
  }
}

std::string Json::dump(bool pretty) const {
  std::string out;
  write(out, pretty, 0);
  return out;
}

// Recursive descent over RFC 8259, with a depth limit.
class JsonReader {
 public:
  JsonReader(std::string_view t, unsigned max_depth) : s_(t), max_depth_(max_depth) {}

  std::optional<Json> run(std::string* error) {
    Json v;
    skip_ws();
    if (!value(v, 0)) {
      if (error) *error = err_ + " at byte " + std::to_string(pos_);
      return std::nullopt;
    }
    skip_ws();
    if (pos_ != s_.size()) {
      if (error) *error = "trailing bytes after the value at byte " + std::to_string(pos_);
      return std::nullopt;
    }
    return v;
  }

 private:
  bool fail(const char* why) {
    if (err_.empty()) err_ = why;
    return false;
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("bad literal");
    pos_ += word.size();
    return true;
  }

  bool value(Json& out, unsigned depth) {
    if (depth > max_depth_) return fail("nested too deeply");
    if (pos_ >= s_.size()) return fail("unexpected end");
    const char c = s_[pos_];
    switch (c) {
      case 'n': out = Json(); return literal("null");
      case 't': out = Json::boolean(true); return literal("true");
      case 'f': out = Json::boolean(false); return literal("false");
      case '"': {
        std::string str;
        if (!string(str)) return false;
        out = Json::string(std::move(str));
        return true;
      }
      case '[': return array(out, depth);
      case '{': return object(out, depth);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number(out);
        return fail("unexpected character");
    }
  }

  bool array(Json& out, unsigned depth) {
    out = Json::array();
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      Json v;
      if (!value(v, depth + 1)) return false;
      out.items_.push_back(std::move(v));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool object(Json& out, unsigned depth) {
    out = Json::object();
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a member name");
      std::string key;
      if (!string(key)) return false;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      Json v;
      if (!value(v, depth + 1)) return false;
      out.members_.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  static void utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool hex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return fail("short \\u escape");
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      r <<= 4;
      if (c >= '0' && c <= '9') {
        r |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        r |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        r |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return fail("bad \\u escape");
      }
    }
    *v = r;
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= s_.size()) return fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {  // high surrogate: a low one must follow
            uint32_t lo = 0;
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') return fail("lone surrogate");
            pos_ += 2;
            if (!hex4(&lo)) return false;
            if (lo < 0xdc00 || lo >= 0xe000) return fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return fail("lone surrogate");
          }
          utf8(out, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
  }

  bool number(Json& out) {
    const size_t start = pos_;
    bool integral = true;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size()) return fail("bad number");
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    } else {
      return fail("bad number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      const size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == d) return fail("bad fraction");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      const size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == d) return fail("bad exponent");
    }
    const std::string text(s_.substr(start, pos_ - start));
    if (integral) {
      errno = 0;
      char* end = nullptr;
      const long long v = strtoll(text.c_str(), &end, 10);
      if (errno == 0 && end && *end == '\0') {
        out = Json::integer(v);
        return true;
      }
      if (text[0] != '-') {
        errno = 0;
        const unsigned long long u = strtoull(text.c_str(), &end, 10);
        if (errno == 0 && end && *end == '\0') {
          out = Json::uinteger(u);
          return true;
        }
      }
    }
    out = Json::number(strtod(text.c_str(), nullptr));
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  unsigned max_depth_;
  std::string err_;
};

std::optional<Json> Json::parse(std::string_view text, std::string* error, unsigned max_depth) {
  return JsonReader(text, max_depth).run(error);
}

}  // namespace perf
