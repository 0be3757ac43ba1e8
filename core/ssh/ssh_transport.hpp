#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/transport.hpp"

namespace flotilla {

struct SshOptions {
  // known_hosts files to trust; the first is the user's, where keys accepted
  // with `accept_new_host_keys` are recorded.
  std::vector<std::string> known_hosts_files;
  bool accept_new_host_keys = false;
  Duration connect_timeout = std::chrono::seconds(10);
  std::size_t forks = 50;  // hosts worked on at once
  // Commands fanned out across the fleet start only as fast as the hosts'
  // shells start well together (CommandStarts); off: all at once, up to
  // `forks`.
  bool pace_starts = true;
  std::size_t max_output_bytes = 16u << 20;  // per task; the rest is dropped and noted
};

// libssh2 sessions driven by one poll() loop: handshakes and command starts
// run as many at once as do not slow each other down (learned, up to
// `forks`), one connection per host is kept for every later run(),
// deadlines are per operation, and a hung or vanished host fails alone.
// Host keys are checked strictly; only a known_hosts MATCH may authenticate.
// core/ssh/ is the only folder that includes libssh2: one concept per file
// (ssh_transport_impl.hpp lists them).
class SshTransport : public Transport {
 public:
  SshTransport(std::vector<HostAddress> hosts, SshOptions options);
  ~SshTransport() override;
  SshTransport(const SshTransport&) = delete;
  SshTransport& operator=(const SshTransport&) = delete;

  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& tasks,
                                         const OutputFn& on_output = {}) override;
  void cancel() override;
  void resume() override;
  void abandon() override;
  void hold_interrupts() override;
  void release_interrupts() override;

  // "libssh2 1.10.0", and whether RSA user keys can work (needs 1.11).
  static std::string library_version();
  static bool supports_rsa_sha2();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
