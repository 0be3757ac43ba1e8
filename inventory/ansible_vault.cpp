#include "inventory/ansible_vault.hpp"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/local_command.hpp"

namespace flotilla {
namespace {

constexpr std::string_view kHeader = "$ANSIBLE_VAULT;";
constexpr int kRounds = 10000;  // ansible-core's VaultAES256 PBKDF2 iterations

std::string strip(std::string s) {
  const char* space = " \t\r\n\f\v";
  s.erase(s.find_last_not_of(space) + 1);
  s.erase(0, s.find_first_not_of(space));
  return s;
}

// binascii.unhexlify: an even number of hex digits, nothing else.
std::optional<std::string> unhexlify(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

Result<VaultSecret> read_vault_password_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: vault password file: {}", path, std::strerror(errno)));
  }
  std::string text;
  if (S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) != 0) {
    // A script: Ansible runs it and reads the password it prints.
    // A name without a slash would be looked up in PATH: it means this directory.
    auto printed = run_local({path.find('/') == std::string::npos ? "./" + path : path});
    if (!printed) return tl::unexpected(printed.error());
    if (printed->exit_status != 0) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("{}: the vault password script failed (exit {})", path,
                              printed->exit_status));
    }
    text = std::move(printed->out);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(ErrorKind::kBadInput, fmt::format("{}: cannot be read", path));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  text = strip(std::move(text));
  if (text.empty()) {
    return fail(ErrorKind::kBadInput, fmt::format("{}: the vault password is empty", path));
  }
  return VaultSecret{std::move(text), fmt::format("--vault-password-file {}", path)};
}

bool is_vault_envelope(std::string_view text) {
  std::size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && text.substr(start).starts_with(kHeader);
}

namespace {

Error malformed_vault(std::string_view why) {
  return Error{ErrorKind::kBadInput, fmt::format("not a valid Ansible Vault value: {}", why)};
}

// A vault envelope's parts: salt, HMAC and ciphertext, checked for shape.
struct VaultBody {
  std::string salt;
  std::string mac;
  std::string ciphertext;
};

Result<VaultBody> parse_envelope(std::string_view envelope) {
  std::istringstream lines{std::string(strip(std::string(envelope)))};
  std::string header;
  std::getline(lines, header);
  header = strip(header);
  std::vector<std::string> fields;
  for (std::size_t start = 0; start <= header.size();) {
    std::size_t end = std::min(header.find(';', start), header.size());
    fields.push_back(header.substr(start, end - start));
    start = end + 1;
  }
  if (fields.size() < 3 || fields[0] != "$ANSIBLE_VAULT") {
    return tl::unexpected(malformed_vault("no $ANSIBLE_VAULT header"));
  }
  if (fields[1] != "1.1" && fields[1] != "1.2") {
    return tl::unexpected(
        malformed_vault(fmt::format("format {} (flotilla reads 1.1 and 1.2)", fields[1])));
  }
  if (fields[2] != "AES256") {
    return tl::unexpected(
        malformed_vault(fmt::format("cipher {} (ansible-core writes AES256 only)", fields[2])));
  }
  std::string hex, line;
  while (std::getline(lines, line)) hex += strip(line);
  auto body = unhexlify(hex);
  if (!body) return tl::unexpected(malformed_vault("its body is not hexadecimal"));
  // salt_hex \n hmac_hex \n ciphertext_hex
  std::size_t first = body->find('\n');
  std::size_t second = first == std::string::npos ? first : body->find('\n', first + 1);
  if (second == std::string::npos) {
    return tl::unexpected(malformed_vault("its body has no salt, HMAC and ciphertext"));
  }
  auto salt = unhexlify(body->substr(0, first));
  auto mac = unhexlify(body->substr(first + 1, second - first - 1));
  auto ciphertext = unhexlify(strip(body->substr(second + 1)));
  if (!salt || !mac || !ciphertext || mac->size() != 32 || ciphertext->empty() ||
      ciphertext->size() % 16 != 0) {
    return tl::unexpected(malformed_vault("its salt, HMAC or ciphertext is damaged"));
  }
  return VaultBody{std::move(*salt), std::move(*mac), std::move(*ciphertext)};
}

// The plaintext with `password`, or nullopt when its HMAC does not match.
Result<std::optional<std::string>> open_with(const VaultBody& vault, const std::string& password) {
  // 32 bytes AES key, 32 bytes HMAC key, 16 bytes initial counter.
  std::array<unsigned char, 80> keys{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(vault.salt.data()),
                        static_cast<int>(vault.salt.size()), kRounds, EVP_sha256(),
                        static_cast<int>(keys.size()), keys.data()) != 1) {
    return fail(ErrorKind::kFailed, "PBKDF2 failed");
  }
  const std::string& ciphertext = vault.ciphertext;
  std::array<unsigned char, 32> expected{};
  unsigned int expected_size = 0;
  HMAC(EVP_sha256(), keys.data() + 32, 32,
       reinterpret_cast<const unsigned char*>(ciphertext.data()), ciphertext.size(),
       expected.data(), &expected_size);
  if (expected_size != 32 || CRYPTO_memcmp(expected.data(), vault.mac.data(), 32) != 0) {
    OPENSSL_cleanse(keys.data(), keys.size());
    return std::optional<std::string>();  // not this password
  }
  std::string plain(ciphertext.size() + 16, '\0');
  int written = 0, final_written = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx, EVP_aes_256_ctr(), nullptr, keys.data(), keys.data() + 64) == 1 &&
      EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &written,
                        reinterpret_cast<const unsigned char*>(ciphertext.data()),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data()) + written,
                          &final_written) == 1;
  EVP_CIPHER_CTX_free(ctx);
  OPENSSL_cleanse(keys.data(), keys.size());
  if (!ok) return fail(ErrorKind::kFailed, "AES-256-CTR decryption failed");
  plain.resize(static_cast<std::size_t>(written + final_written));
  // PKCS#7 padding, which ansible-core adds although CTR needs none.
  unsigned char pad = plain.empty() ? 0 : static_cast<unsigned char>(plain.back());
  if (pad == 0 || pad > 16 || pad > plain.size()) {
    return tl::unexpected(malformed_vault("its padding is damaged"));
  }
  for (std::size_t i = plain.size() - pad; i < plain.size(); ++i) {
    if (static_cast<unsigned char>(plain[i]) != pad) {
      return tl::unexpected(malformed_vault("its padding is damaged"));
    }
  }
  plain.resize(plain.size() - pad);
  return std::optional<std::string>(std::move(plain));
}

}  // namespace

Result<std::string> vault_decrypt(std::string_view envelope,
                                  const std::vector<VaultSecret>& secrets) {
  auto vault = parse_envelope(envelope);
  if (!vault) return tl::unexpected(vault.error());
  if (secrets.empty()) {
    return fail(ErrorKind::kBadInput,
                "it is encrypted with Ansible Vault and no vault password was given (use "
                "--vault-password-file FILE or set ANSIBLE_VAULT_PASSWORD_FILE)");
  }
  for (const auto& secret : secrets) {
    auto opened = open_with(*vault, secret.password);
    if (!opened) return tl::unexpected(opened.error());
    if (*opened) return std::move(**opened);
  }
  std::vector<std::string> sources;
  for (const auto& secret : secrets) sources.push_back(secret.source);
  return fail(ErrorKind::kBadInput,
              fmt::format("it is encrypted with Ansible Vault and the password from {} does not "
                          "open it (HMAC mismatch: a wrong password or damaged data)",
                          fmt::join(sources, ", ")));
}

bool is_vault_value(const nlohmann::json& value) {
  return value.is_object() && value.size() == 1 && value.contains("__ansible_vault") &&
         value["__ansible_vault"].is_string();
}

Result<nlohmann::json> reveal_vault_value(const nlohmann::json& value,
                                          const std::vector<VaultSecret>& secrets) {
  if (!is_vault_value(value)) return value;
  auto plain = vault_decrypt(value["__ansible_vault"].get<std::string>(), secrets);
  if (!plain) return tl::unexpected(plain.error());
  return nlohmann::json(std::move(*plain));
}

}  // namespace flotilla
