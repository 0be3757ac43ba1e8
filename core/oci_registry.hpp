#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/stored_files.hpp"

namespace flotilla {

// Where a registry is and how to log in. Credentials are secrets: they go
// into request headers and nowhere else (never into a message).
struct RegistryAccess {
  std::string url;         // "https://host[:port]"
  std::string repository;  // "studio/reward"
  std::string username;    // with `password`: basic credentials
  std::string password;
  std::string token;    // or a bearer token
  std::string ca_file;  // a private CA (PEM); "" = the system's
  // artifacts.plain_http: http:// allowed (a lab registry). Without it a
  // token service on http:// is refused before any credential goes to it.
  bool plain_http = false;
};

// A client of the OCI distribution API (cpp-httplib, TLS verified): just
// what publishing an artifact needs — blob exists?, blob upload (POST then
// a monolithic PUT, streamed), manifest upload — and the credentials hosts
// pull with. Authentication as registries do it: Basic, a static bearer
// token, or the token service a 401's `WWW-Authenticate: Bearer realm=...`
// names (Harbor, ECR, GCR, Docker Hub), asked with the basic credentials.
class OciRegistry {
 public:
  // Connects and authenticates (GET /v2/). kUnreachable when the registry
  // does not answer or its certificate is not trusted; kBadInput when it
  // refuses the credentials.
  static Result<std::unique_ptr<OciRegistry>> open(const RegistryAccess& access);
  ~OciRegistry();
  OciRegistry(const OciRegistry&) = delete;
  OciRegistry& operator=(const OciRegistry&) = delete;

  // HEAD /v2/NAME/blobs/sha256:HEX.
  Result<bool> has_blob(const std::string& sha256);

  // Uploads a blob. `read` yields its bytes in order (see stored_files.hpp);
  // the registry checks the digest, so a wrong byte fails the upload.
  Result<void> put_blob(const std::string& sha256, std::uint64_t size, const ChunkReader& read);

  // PUT /v2/NAME/manifests/TAG.
  Result<void> put_manifest(const std::string& tag, const std::string& media_type,
                            const std::string& body);

  // The Authorization header value hosts pull with ("" when the registry
  // needs none): the basic credentials, the bearer token, or a token the
  // token service grants for pulling this repository only.
  Result<std::string> pull_authorization();

  std::uint64_t bytes_uploaded() const;

 private:
  struct Impl;
  explicit OciRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
