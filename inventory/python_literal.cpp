#include "inventory/python_literal.hpp"

#include <cctype>
#include <cmath>
#include <string>

namespace flotilla {
namespace {

// A recursive-descent reader of Python literal syntax; any failure means
// "not a literal" (Ansible then keeps the text).
class LiteralReader {
 public:
  explicit LiteralReader(std::string_view text) : s_(text) {}

  std::optional<nlohmann::json> read() {
    auto value = expression(0);
    skip_space();
    if (!value || pos_ != s_.size()) return std::nullopt;
    return value;
  }

 private:
  static constexpr int kMaxDepth = 64;

  void skip_space() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '#') {  // a comment runs to the end of the line
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  bool eat(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::optional<nlohmann::json> expression(int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    skip_space();
    if (pos_ >= s_.size()) return std::nullopt;
    char c = s_[pos_];
    if (c == '[') return sequence(']', depth);
    if (c == '(') return sequence(')', depth);
    if (c == '{') return mapping(depth);
    if (c == '\'' || c == '"') return string_literal();
    if (depth == 0 && bytes_prefix_at(pos_)) return bytes_literal();
    if (c == '-' || c == '+') {
      // A sign applies to a number only (Python refuses -True, --1).
      ++pos_;
      skip_space();
      if (pos_ >= s_.size() ||
          !(std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) {
        return std::nullopt;
      }
      auto number_value = number();
      if (!number_value) return std::nullopt;
      if (c == '+') return number_value;
      if (number_value->is_number_float()) return -number_value->get<double>();
      return -number_value->get<long long>();
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    return name();
  }

  std::optional<nlohmann::json> name() {
    std::size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) {
      ++pos_;
    }
    std::string_view word = s_.substr(start, pos_ - start);
    if (word == "True") return true;
    if (word == "False") return false;
    if (word == "None") return nlohmann::json();
    return std::nullopt;
  }

  std::optional<nlohmann::json> sequence(char close, int depth) {
    ++pos_;
    nlohmann::json out = nlohmann::json::array();
    bool saw_comma = false;
    while (true) {
      if (eat(close)) break;
      auto item = expression(depth + 1);
      if (!item) return std::nullopt;
      out.push_back(std::move(*item));
      if (eat(',')) {
        saw_comma = true;
        continue;
      }
      if (!eat(close)) return std::nullopt;
      break;
    }
    // (x) is x in parentheses, not a tuple.
    if (close == ')' && out.size() == 1 && !saw_comma) return out[0];
    if (close == ')' && out.empty() && saw_comma) return std::nullopt;
    return out;
  }

  std::optional<nlohmann::json> mapping(int depth) {
    ++pos_;
    nlohmann::json out = nlohmann::json::object();
    if (eat('}')) return out;
    while (true) {
      auto key = expression(depth + 1);
      if (!key || !eat(':')) return std::nullopt;  // a set, or not a literal
      auto value = expression(depth + 1);
      if (!value) return std::nullopt;
      if (key->is_object() || key->is_array()) return std::nullopt;  // unhashable
      // As json.dumps writes Python keys: 1 -> "1", True -> "true", None -> "null".
      std::string k = key->is_string() ? key->get<std::string>() : key->dump();
      out[k] = std::move(*value);
      if (eat(',')) {
        if (eat('}')) break;
        continue;
      }
      if (!eat('}')) return std::nullopt;
      break;
    }
    return out;
  }

  bool quote_at(std::size_t at) const {
    return at < s_.size() && (s_[at] == '\'' || s_[at] == '"');
  }
  bool bytes_prefix_at(std::size_t at) const {
    return at < s_.size() && (s_[at] == 'b' || s_[at] == 'B') && quote_at(at + 1);
  }

  std::optional<nlohmann::json> string_literal(bool bytes = false) {
    std::string out;
    // Adjacent literals concatenate: 'a' "b" is 'ab'; bytes only with bytes.
    while (bytes ? bytes_prefix_at(pos_) : quote_at(pos_)) {
      if (bytes) ++pos_;
      char quote = s_[pos_];
      bool triple = s_.substr(pos_, 3) == std::string(3, quote);
      pos_ += triple ? 3 : 1;
      while (true) {
        if (pos_ >= s_.size()) return std::nullopt;
        char c = s_[pos_];
        if (triple ? s_.substr(pos_, 3) == std::string(3, quote) : c == quote) {
          pos_ += triple ? 3 : 1;
          break;
        }
        if (c == '\n' && !triple) return std::nullopt;
        if (c == '\\' && pos_ + 1 < s_.size()) {
          char e = s_[pos_ + 1];
          pos_ += 2;
          switch (e) {
            case 'n':
              out += '\n';
              break;
            case 't':
              out += '\t';
              break;
            case 'r':
              out += '\r';
              break;
            case '\\':
              out += '\\';
              break;
            case '\'':
              out += '\'';
              break;
            case '"':
              out += '"';
              break;
            case '\n':
              break;
            case '0':
              out += '\0';
              break;
            default:  // unknown escapes stay as written
              out += '\\';
              out += e;
          }
          continue;
        }
        out += c;
        ++pos_;
      }
      std::size_t before = pos_;
      skip_space();
      if (bytes ? quote_at(pos_) : bytes_prefix_at(pos_)) return std::nullopt;  // mixed
      if (!(bytes ? bytes_prefix_at(pos_) : quote_at(pos_))) {
        pos_ = before;
        break;
      }
    }
    return out;
  }

  // b'x': Ansible's ini plugin turns the bytes literal_eval gives into
  // text, so the value is the string x. Bytes hold ASCII only.
  std::optional<nlohmann::json> bytes_literal() {
    std::size_t start = pos_;
    auto text = string_literal(true);
    for (std::size_t i = start; i < pos_; ++i) {
      if (static_cast<unsigned char>(s_[i]) >= 0x80) return std::nullopt;
    }
    return text;
  }

  std::optional<nlohmann::json> number() {
    std::size_t start = pos_;
    auto digits = [&](auto accept) {
      std::size_t begin = pos_;
      while (pos_ < s_.size() && (accept(s_[pos_]) || s_[pos_] == '_')) {
        // An underscore only between digits.
        if (s_[pos_] == '_' && (pos_ == begin || pos_ + 1 >= s_.size() || !accept(s_[pos_ + 1]))) {
          return false;
        }
        ++pos_;
      }
      return pos_ > begin;
    };
    auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    std::string clean;
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() &&
        std::string_view("xXoObB").find(s_[pos_ + 1]) != std::string_view::npos) {
      char base = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_ + 1])));
      pos_ += 2;
      if (pos_ < s_.size() && s_[pos_] == '_') ++pos_;
      auto accept = [base](char c) {
        if (base == 'x') return std::isxdigit(static_cast<unsigned char>(c)) != 0;
        if (base == 'o') return c >= '0' && c <= '7';
        return c == '0' || c == '1';
      };
      std::size_t begin = pos_;
      if (!digits(accept)) return std::nullopt;
      for (std::size_t i = begin; i < pos_; ++i) {
        if (s_[i] != '_') clean += s_[i];
      }
      if (clean.size() > 15) return std::nullopt;
      return std::stoll(clean, nullptr, base == 'x' ? 16 : base == 'o' ? 8 : 2);
    }
    bool is_float = false;
    if (s_[pos_] != '.' && !digits(is_digit)) return std::nullopt;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      is_float = true;
      ++pos_;
      if (pos_ < s_.size() && is_digit(s_[pos_]) && !digits(is_digit)) return std::nullopt;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      is_float = true;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits(is_digit)) return std::nullopt;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'j' || s_[pos_] == 'J')) return std::nullopt;  // complex
    for (std::size_t i = start; i < pos_; ++i) {
      if (s_[i] != '_') clean += s_[i];
    }
    if (clean == ".") return std::nullopt;
    if (is_float) {
      double v = std::strtod(clean.c_str(), nullptr);
      if (!std::isfinite(v)) return std::nullopt;
      return v;
    }
    // Python refuses leading zeros in decimal integers ("08"), except "0", "00".
    if (clean.size() > 1 && clean[0] == '0' && clean.find_first_not_of('0') != std::string::npos) {
      return std::nullopt;
    }
    if (clean.size() > 18) return std::nullopt;  // beyond JSON's exact integers
    return std::stoll(clean);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<nlohmann::json> python_literal(std::string_view text) {
  return LiteralReader(text).read();
}

}  // namespace flotilla
