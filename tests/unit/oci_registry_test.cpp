// OciRegistry against an in-process registry that answers as distribution
// and token services do (the real docker-registry runs in
// tests/integration/test_registry.py; this one covers what it cannot: a
// token service, uploads continued elsewhere, refusals).
#include "core/oci_registry.hpp"

#include <doctest/doctest.h>
#include <httplib.h>

#include <map>
#include <set>
#include <thread>

#include "core/base64.hpp"
#include "core/sha256.hpp"

using namespace flotilla;

namespace {

struct FakeRegistry {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::map<std::string, std::string> blobs;
  std::vector<std::string> scopes;  // what the token service was asked for
  int uploads = 0;

  FakeRegistry() {
    std::string basic = "Basic " + base64_encode("ci:pw");
    auto authorized = [](const httplib::Request& req) {
      return req.get_header_value("Authorization") == "Bearer push-token";
    };
    auto challenge = [this](httplib::Response& res) {
      res.status = 401;
      res.set_header("WWW-Authenticate",
                     "Bearer realm=\"http://127.0.0.1:" + std::to_string(port) +
                         "/token\",service=\"fake\",scope=\"repository:studio/web:pull\"");
    };
    server.Get("/v2/",
               [authorized, challenge](const httplib::Request& req, httplib::Response& res) {
                 if (!authorized(req)) return challenge(res);
                 res.set_content("{}", "application/json");
               });
    server.Get("/token", [this, basic](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != basic) {
        res.status = 401;
        return;
      }
      std::string scope = req.get_param_value("scope");
      scopes.push_back(scope);
      res.set_content(scope.find("push") != std::string::npos ? R"({"token":"push-token"})"
                                                              : R"({"access_token":"pull-token"})",
                      "application/json");
    });
    // httplib answers HEAD with the GET handler, body dropped.
    server.Get(R"(/v2/studio/web/blobs/sha256:([0-9a-f]+))",
               [this, authorized, challenge](const httplib::Request& req, httplib::Response& res) {
                 if (!authorized(req)) return challenge(res);
                 res.status = blobs.count(req.matches[1]) ? 200 : 404;
               });
    server.Post("/v2/studio/web/blobs/uploads/",
                [this, authorized, challenge](const httplib::Request& req, httplib::Response& res) {
                  if (!authorized(req)) return challenge(res);
                  res.status = 202;
                  // The first upload continues at a relative path, the next at an absolute URL.
                  std::string path =
                      "/v2/studio/web/blobs/uploads/u" + std::to_string(++uploads) + "?_state=x";
                  res.set_header(
                      "Location",
                      uploads == 1 ? path : "http://127.0.0.1:" + std::to_string(port) + path);
                });
    server.Put(
        R"(/v2/studio/web/blobs/uploads/u\d+)",
        [this, authorized, challenge](const httplib::Request& req, httplib::Response& res) {
          if (!authorized(req)) return challenge(res);
          std::string digest = req.get_param_value("digest");
          if (req.get_param_value("_state") != "x" || digest != "sha256:" + sha256_hex(req.body)) {
            res.status = 400;
            res.set_content(R"({"errors":[{"code":"DIGEST_INVALID"}]})", "application/json");
            return;
          }
          blobs[digest.substr(7)] = req.body;
          res.status = 201;
        });
    server.Put(R"(/v2/studio/web/manifests/([\w.-]+))",
               [this, authorized, challenge](const httplib::Request& req, httplib::Response& res) {
                 if (!authorized(req)) return challenge(res);
                 res.status = req.get_header_value("Content-Type").find("oci.image.manifest") !=
                                      std::string::npos
                                  ? 201
                                  : 400;
               });
    port = server.bind_to_any_port("127.0.0.1");
    // Bound and listening already: requests queue until the loop accepts them.
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~FakeRegistry() {
    server.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// `text` in chunks of `n` bytes.
ChunkReader chunks(const std::string& text, std::size_t n) {
  auto offset = std::make_shared<std::size_t>(0);
  return [text, n, offset]() -> Result<std::string_view> {
    std::string_view rest = std::string_view(text).substr(std::min(*offset, text.size()));
    rest = rest.substr(0, n);
    *offset += rest.size();
    return rest;
  };
}

}  // namespace

TEST_CASE("oci registry: a token service's push token, streamed uploads, a pull-only token") {
  FakeRegistry fake;
  RegistryAccess access{fake.url(), "studio/web", "ci", "pw", "", "", true};
  auto registry = OciRegistry::open(access);
  REQUIRE_MESSAGE(registry, (registry ? "" : registry.error().message));
  std::string blob(100000, 'x');
  std::string sha = sha256_hex(blob);
  CHECK((*registry)->has_blob(sha).value() == false);
  REQUIRE((*registry)->put_blob(sha, blob.size(), chunks(blob, 4096)));
  CHECK(fake.blobs.at(sha) == blob);
  CHECK((*registry)->has_blob(sha).value() == true);
  CHECK((*registry)->bytes_uploaded() == blob.size());

  // A wrong byte: the registry refuses the digest, the message says so.
  std::string other = "other";
  auto bad = (*registry)->put_blob(sha256_hex("something else"), other.size(), chunks(other, 2));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("HTTP 400") != std::string::npos);
  CHECK(bad.error().message.find("DIGEST_INVALID") != std::string::npos);

  CHECK((*registry)->put_manifest("v1", "application/vnd.oci.image.manifest.v1+json", "{}"));
  auto pull = (*registry)->pull_authorization();
  REQUIRE(pull);
  CHECK(*pull == "Bearer pull-token");
  CHECK(fake.scopes ==
        std::vector<std::string>{"repository:studio/web:pull,push", "repository:studio/web:pull"});
}

TEST_CASE("oci registry: refused credentials and an absent registry are one-line errors") {
  FakeRegistry fake;
  auto refused = OciRegistry::open({fake.url(), "studio/web", "ci", "wrong", "", "", true});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::kBadInput);
  CHECK(refused.error().message.find("token service: HTTP 401") != std::string::npos);
  CHECK(refused.error().message.find("wrong") == std::string::npos);  // never the password

  auto absent = OciRegistry::open({"http://127.0.0.1:1", "studio/web", "", "", "", "", true});
  REQUIRE_FALSE(absent);
  CHECK(absent.error().kind == ErrorKind::kUnreachable);
}

TEST_CASE("oci registry: a token service on plain http gets no credentials without plain_http") {
  FakeRegistry fake;
  auto refused = OciRegistry::open({fake.url(), "studio/web", "ci", "pw", "", ""});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::kBadInput);
  CHECK(refused.error().message.find("plain http") != std::string::npos);
  CHECK(fake.scopes.empty());  // the token service was never asked
}
