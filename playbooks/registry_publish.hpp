#pragma once

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/oci_registry.hpp"
#include "core/reporter.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/project.hpp"
#include "playbooks/rollout.hpp"

namespace flotilla {

// The registry as the project names it, its password or token read now
// (kBadInput naming the source, never the value, when one is missing).
Result<RegistryAccess> registry_access(const RegistrySettings& settings);

struct PublishReport {
  std::size_t blobs = 0;     // distinct files of the release, plus its manifest
  std::size_t uploaded = 0;  // of those, the ones the registry lacked
  std::uint64_t bytes_uploaded = 0;
};

// Puts a release into the registry: each distinct file the registry lacks
// (HEAD first) as a blob, streamed out of the stored artifact; flotilla's
// manifest as the config blob; and an OCI image manifest tagged with the
// release id, so the registry keeps the blobs together and another
// controller can find them.
Result<PublishReport> publish_release(OciRegistry& registry, const ReleaseSource& release);

// Before any host changes: publishes every release a host of `plan` has
// to pull and returns what the hosts pull with. Events: "registry_publish".
Result<RegistryPull> publish_for_plan(const RegistrySettings& settings, const DeployPlan& plan,
                                      const RolloutSources& sources, Reporter& reporter);

}  // namespace flotilla
