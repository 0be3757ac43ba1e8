#include "core/oci_registry.hpp"

#include <regex>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/base64.hpp"

namespace flotilla {
namespace {

constexpr std::size_t kMaxErrorBody = 300;

// A registry's error body, shortened for a one-line message.
std::string body_excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, kMaxErrorBody)) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

// "scheme://host[:port]" and the rest of a URL.
struct Origin {
  std::string origin;
  std::string path;  // with the query
};
std::optional<Origin> split_url(const std::string& url) {
  static const std::regex re(R"(^(https?://[^/?#]+)([/?].*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) return std::nullopt;
  return Origin{m[1], m[2].matched ? std::string(m[2]) : "/"};
}

// The parameters of `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`.
std::map<std::string, std::string> challenge_parameters(const std::string& header) {
  std::map<std::string, std::string> out;
  static const std::regex param(R"re(([A-Za-z]+)="([^"]*)")re");
  for (std::sregex_iterator it(header.begin(), header.end(), param), end; it != end; ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

std::string query_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

struct OciRegistry::Impl {
  RegistryAccess access;
  std::string origin;
  std::unique_ptr<httplib::Client> client;
  // What authenticates: "" (anonymous), "Basic ..." or "Bearer ...".
  std::string authorization;
  std::map<std::string, std::string> bearer_challenge;  // when a token service is in use
  std::uint64_t uploaded = 0;

  std::unique_ptr<httplib::Client> client_for(const std::string& for_origin) const {
    auto c = std::make_unique<httplib::Client>(for_origin);
    if (!access.ca_file.empty()) c->set_ca_cert_path(access.ca_file);
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(10, 0);
    c->set_read_timeout(120, 0);
    c->set_write_timeout(120, 0);
    c->set_keep_alive(true);
    return c;
  }

  httplib::Headers headers() const {
    httplib::Headers h;
    if (!authorization.empty()) h.emplace("Authorization", authorization);
    return h;
  }

  Error http_error(const std::string& what, const httplib::Result& res) const {
    if (!res) {
      std::string why = res.error() == httplib::Error::Connection
                            ? "cannot connect (is it running, and reachable from here?)"
                            : httplib::to_string(res.error());
      if (res.error() == httplib::Error::SSLServerVerification) {
        why += access.ca_file.empty() ? " (is it signed by a private CA? give artifacts.ca_file)"
                                      : fmt::format(" (not signed by {})", access.ca_file);
      }
      return Error{ErrorKind::kUnreachable,
                   fmt::format("registry {}: {}: {}", access.url, what, why)};
    }
    ErrorKind kind =
        res->status == 401 || res->status == 403 ? ErrorKind::kBadInput : ErrorKind::kFailed;
    std::string hint = res->status == 401   ? " (the registry refused the credentials)"
                       : res->status == 403 ? " (these credentials may not do this)"
                                            : "";
    return Error{kind, fmt::format("registry {}: {}: HTTP {}{}{}", access.url, what, res->status,
                                   hint, res->body.empty() ? "" : ": " + body_excerpt(res->body))};
  }

  // A token from the service a Bearer challenge names, for `scope`.
  Result<std::string> service_token(const std::string& scope) {
    auto realm = split_url(bearer_challenge["realm"]);
    if (!realm) {
      return fail(ErrorKind::kFailed,
                  fmt::format("registry {}: its token service '{}' is not a URL", access.url,
                              bearer_challenge["realm"]));
    }
    if (realm->origin.rfind("http://", 0) == 0 && !access.plain_http) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("registry {}: its token service {} is plain http: the credentials "
                              "would cross the network in clear, so none were sent (artifacts."
                              "plain_http: true allows it, for a lab registry)",
                              access.url, realm->origin));
    }
    auto auth = client_for(realm->origin);
    if (!access.username.empty()) auth->set_basic_auth(access.username, access.password);
    std::string path = realm->path;
    path += path.find('?') == std::string::npos ? '?' : '&';
    path +=
        "service=" + query_escape(bearer_challenge["service"]) + "&scope=" + query_escape(scope);
    auto res = auth->Get(path);
    if (!res || res->status != 200) {
      Error e = http_error("token service", res);
      return tl::unexpected(e);
    }
    auto doc = nlohmann::json::parse(res->body, nullptr, false);
    for (const char* key : {"token", "access_token"}) {
      if (doc.is_object() && doc.contains(key) && doc[key].is_string()) {
        return doc[key].get<std::string>();
      }
    }
    return fail(ErrorKind::kFailed,
                fmt::format("registry {}: the token service answered no token", access.url));
  }

  Result<void> authenticate() {
    if (!access.token.empty()) {
      authorization = "Bearer " + access.token;
    } else if (!access.username.empty()) {
      authorization = "Basic " + base64_encode(access.username + ":" + access.password);
    }
    auto res = client->Get("/v2/", headers());
    if (res && res->status == 401) {
      std::string challenge = res->get_header_value("WWW-Authenticate");
      if (challenge.rfind("Bearer ", 0) == 0 && access.token.empty()) {
        bearer_challenge = challenge_parameters(challenge);
        auto token = service_token(fmt::format("repository:{}:pull,push", access.repository));
        if (!token) return tl::unexpected(token.error());
        authorization = "Bearer " + *token;
        res = client->Get("/v2/", headers());
      }
    }
    if (!res || res->status != 200) return tl::unexpected(http_error("GET /v2/", res));
    return {};
  }

  std::string blob_path(const std::string& sha256) const {
    return fmt::format("/v2/{}/blobs/sha256:{}", access.repository, sha256);
  }
};

OciRegistry::OciRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OciRegistry::~OciRegistry() = default;

Result<std::unique_ptr<OciRegistry>> OciRegistry::open(const RegistryAccess& access) {
  auto impl = std::make_unique<Impl>();
  impl->access = access;
  auto origin = split_url(access.url);
  if (!origin) return fail(ErrorKind::kBadInput, fmt::format("registry {}: not a URL", access.url));
  impl->origin = origin->origin;
  impl->client = impl->client_for(impl->origin);
  if (auto ok = impl->authenticate(); !ok) return tl::unexpected(ok.error());
  return std::unique_ptr<OciRegistry>(new OciRegistry(std::move(impl)));
}

Result<bool> OciRegistry::has_blob(const std::string& sha256) {
  auto res = impl_->client->Head(impl_->blob_path(sha256), impl_->headers());
  if (res && res->status == 200) return true;
  if (res && res->status == 404) return false;
  return tl::unexpected(impl_->http_error(fmt::format("HEAD blob {}", sha256.substr(0, 12)), res));
}

Result<void> OciRegistry::put_blob(const std::string& sha256, std::uint64_t size,
                                   const ChunkReader& read) {
  Impl& m = *impl_;
  std::string what = fmt::format("upload blob {}", sha256.substr(0, 12));
  auto started = m.client->Post(fmt::format("/v2/{}/blobs/uploads/", m.access.repository),
                                m.headers(), "", "application/octet-stream");
  if (!started || started->status != 202) return tl::unexpected(m.http_error(what, started));
  std::string location = started->get_header_value("Location");
  if (location.empty()) {
    return fail(ErrorKind::kFailed,
                fmt::format("registry {}: {}: no Location for the upload", m.access.url, what));
  }
  // The upload may continue at another origin (a storage service): the
  // registry's credentials go only to the registry.
  httplib::Client* target = m.client.get();
  std::unique_ptr<httplib::Client> elsewhere;
  httplib::Headers headers = m.headers();
  if (location[0] != '/') {
    auto split = split_url(location);
    if (!split) {
      return fail(ErrorKind::kFailed, fmt::format("registry {}: {}: a bad Location '{}'",
                                                  m.access.url, what, body_excerpt(location)));
    }
    if (split->origin != m.origin) {
      elsewhere = m.client_for(split->origin);
      target = elsewhere.get();
      headers.clear();
    }
    location = split->path;
  }
  location += location.find('?') == std::string::npos ? '?' : '&';
  location += "digest=sha256:" + sha256;
  std::optional<Error> read_error;
  auto res = target->Put(
      location, headers, static_cast<std::size_t>(size),
      [&](std::size_t, std::size_t, httplib::DataSink& sink) {
        auto chunk = read();
        if (!chunk) {
          read_error = chunk.error();
          return false;
        }
        if (chunk->empty()) {
          read_error = Error{ErrorKind::kFailed,
                             fmt::format("{}: the stored file ended before {} bytes", what, size)};
          return false;
        }
        m.uploaded += chunk->size();
        return sink.write(chunk->data(), chunk->size());
      },
      "application/octet-stream");
  if (read_error) return tl::unexpected(*read_error);
  if (!res || res->status != 201) return tl::unexpected(m.http_error(what, res));
  return {};
}

Result<void> OciRegistry::put_manifest(const std::string& tag, const std::string& media_type,
                                       const std::string& body) {
  auto res = impl_->client->Put(fmt::format("/v2/{}/manifests/{}", impl_->access.repository, tag),
                                impl_->headers(), body, media_type.c_str());
  if (!res || res->status != 201) {
    return tl::unexpected(impl_->http_error(fmt::format("PUT manifest {}", tag), res));
  }
  return {};
}

Result<std::string> OciRegistry::pull_authorization() {
  if (impl_->bearer_challenge.empty()) return impl_->authorization;
  auto token = impl_->service_token(fmt::format("repository:{}:pull", impl_->access.repository));
  if (!token) return tl::unexpected(token.error());
  return "Bearer " + *token;
}

std::uint64_t OciRegistry::bytes_uploaded() const { return impl_->uploaded; }

}  // namespace flotilla
