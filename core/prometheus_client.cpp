#include "core/prometheus_client.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace flotilla {
namespace {

// "1.5", "NaN", "+Inf", "-Inf": Prometheus's sample values are strings.
std::optional<double> sample_value(const nlohmann::json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) return std::nullopt;
  const std::string text = pair[1].get<std::string>();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string excerpt(const std::string& text) {
  std::string out = text.substr(0, 200);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

}  // namespace

Result<std::vector<PromSample>> parse_prometheus_answer(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(ErrorKind::kFailed,
                "Prometheus answered something that is not JSON: " + excerpt(body));
  }
  if (doc.value("status", "") != "success") {
    return fail(ErrorKind::kFailed,
                fmt::format("Prometheus refused the query: {}",
                            excerpt(doc.value("error", std::string("no reason given")))));
  }
  const auto& data = doc["data"];
  if (!data.is_object() || !data.contains("result")) {
    return fail(ErrorKind::kFailed, "Prometheus's answer has no data.result");
  }
  const std::string type = data.value("resultType", "");
  const auto& result = data["result"];
  std::vector<PromSample> samples;
  if (type == "scalar") {
    auto v = sample_value(result);
    if (!v) return fail(ErrorKind::kFailed, "Prometheus's scalar answer is malformed");
    samples.push_back({{}, *v});
    return samples;
  }
  if (type != "vector" || !result.is_array()) {
    return fail(ErrorKind::kFailed,
                fmt::format("Prometheus answered a {}, not an instant vector (a range selector "
                            "needs a function like rate())",
                            type.empty() ? "malformed result" : type));
  }
  for (const auto& series : result) {
    if (!series.is_object())
      return fail(ErrorKind::kFailed, "a series in Prometheus's answer is malformed");
    PromSample sample;
    auto v = sample_value(series.value("value", nlohmann::json()));
    if (!v) return fail(ErrorKind::kFailed, "a sample in Prometheus's answer is malformed");
    sample.value = *v;
    if (auto labels = series.find("metric"); labels != series.end() && labels->is_object()) {
      for (const auto& [k, val] : labels->items()) {
        if (val.is_string()) sample.labels[k] = val.get<std::string>();
      }
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

struct PrometheusClient::Impl {
  std::string url;
  std::string path;  // the prefix before /api/v1
  std::unique_ptr<httplib::Client> client;
};

PrometheusClient::PrometheusClient(const std::string& base_url, Duration timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->url = base_url;
  std::size_t scheme = base_url.find("://");
  std::size_t slash = base_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string origin = base_url.substr(0, slash);
  impl_->path = slash == std::string::npos ? "" : base_url.substr(slash);
  while (!impl_->path.empty() && impl_->path.back() == '/') impl_->path.pop_back();
  impl_->client = std::make_unique<httplib::Client>(origin);
  impl_->client->enable_server_certificate_verification(true);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout - seconds);
  impl_->client->set_connection_timeout(seconds.count(), micros.count());
  impl_->client->set_read_timeout(seconds.count(), micros.count());
  impl_->client->set_keep_alive(true);
}

PrometheusClient::~PrometheusClient() = default;

Result<std::vector<PromSample>> PrometheusClient::query(const std::string& promql) {
  httplib::Params params{{"query", promql}};
  auto res = impl_->client->Get(impl_->path + "/api/v1/query", params, httplib::Headers{});
  if (!res) {
    std::string why = res.error() == httplib::Error::Connection
                          ? "cannot connect (is it running, and reachable from here?)"
                          : httplib::to_string(res.error());
    return fail(ErrorKind::kUnreachable, fmt::format("Prometheus {}: {}", impl_->url, why));
  }
  if (res->status != 200 && res->status != 400 && res->status != 422) {
    return fail(ErrorKind::kUnreachable,
                fmt::format("Prometheus {}: HTTP {}", impl_->url, res->status));
  }
  return parse_prometheus_answer(res->body);
}

}  // namespace flotilla
