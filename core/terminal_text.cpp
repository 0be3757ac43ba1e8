#include "core/terminal_text.hpp"

#include <cctype>

#include <fmt/format.h>

namespace flotilla {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at `at`, 0 if there is none.
std::size_t sequence_length(std::string_view s, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = byte(at);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xE  ? 3
                  : (c >> 3) == 0x1E ? 4
                                     : 0;
  if (n == 0 || at + n > s.size()) return 0;
  unsigned code = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(at + i) & 0x3Fu);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  static const unsigned kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMin[n] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return 0;
  return n;
}

// An SGR sequence (colors) at `at`: ESC [ digits/semicolons m. Its length, or 0.
std::size_t color_sequence(std::string_view s, std::size_t at) {
  if (at + 2 >= s.size() || s[at + 1] != '[') return 0;
  std::size_t i = at + 2;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == ';')) ++i;
  return i < s.size() && s[i] == 'm' ? i + 1 - at : 0;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    std::size_t n = sequence_length(text, at);
    if (n == 0) {
      out += kReplacement;
      ++at;
    } else {
      out.append(text.substr(at, n));
      at += n;
    }
  }
  return out;
}

std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    std::size_t n = sequence_length(text, at);
    auto c = static_cast<unsigned char>(text[at]);
    if (n == 0) {
      out += kReplacement;
      ++at;
    } else if (n == 1 && c == 0x1B && color_sequence(text, at) > 0) {
      std::size_t len = color_sequence(text, at);
      out.append(text.substr(at, len));
      at += len;
    } else if (n == 1 && ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)) {
      out += fmt::format("\\u{:04x}", c);  // a JSON escape too: valid in either mode
      ++at;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[at + 1]) < 0xA0) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[at + 1]));  // C1 controls
      at += 2;
    } else {
      out.append(text.substr(at, n));
      at += n;
    }
  }
  return out;
}

}  // namespace flotilla
