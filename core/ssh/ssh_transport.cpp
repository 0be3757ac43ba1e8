#include "core/ssh/ssh_transport.hpp"

#include "core/ssh/ssh_transport_impl.hpp"

namespace flotilla {

SshTransport::SshTransport(std::vector<HostAddress> hosts, SshOptions options)
    : impl_(std::make_unique<Impl>(std::move(hosts), std::move(options))) {}

SshTransport::~SshTransport() = default;

std::vector<Result<CommandResult>> SshTransport::run(const std::vector<HostTask>& tasks,
                                                     const OutputFn& on_output) {
  return impl_->run(tasks, on_output);
}

void SshTransport::cancel() { impl_->cancelled = true; }

void SshTransport::resume() {
  impl_->cancelled = false;
  impl_->abandoned = false;
}

void SshTransport::abandon() {
  impl_->cancelled = true;
  impl_->abandoned = true;
}

void SshTransport::hold_interrupts() { ++impl_->holds; }

void SshTransport::release_interrupts() { --impl_->holds; }

std::string SshTransport::library_version() { return std::string("libssh2 ") + libssh2_version(0); }

bool SshTransport::supports_rsa_sha2() { return LIBSSH2_VERSION_NUM >= 0x010b00; }

}  // namespace flotilla
