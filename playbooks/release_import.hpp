#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact.hpp"
#include "core/artifact_store.hpp"
#include "core/reporter.hpp"
#include "core/transport.hpp"

namespace flotilla {

// A release this controller's artifact store lacks (another controller
// built it), taken from hosts that run it: the first host that has it
// streams the release's tree; it is unpacked securely, scanned like a
// build output and kept only if its content id is exactly `id` — a host
// cannot make it anything but those bytes. Stored under an import record,
// never under a build recipe, so a later build of that commit still builds.
// `hosts` are transport indexes, tried in order; `deploy_to` is the unit's.
Result<Manifest> import_release(Transport& transport, const std::vector<std::size_t>& hosts,
                                const std::vector<std::string>& host_names,
                                const std::string& deploy_to, const std::string& id,
                                ArtifactStore& store, const nlohmann::json& provenance,
                                Reporter& reporter);

}  // namespace flotilla
