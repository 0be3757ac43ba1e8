#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "playbooks/rollout_observer.hpp"

namespace flotilla {

// What a step's judge concluded: go on, or fail the batch (its hosts go
// back with auto_rollback), or the user pressed Ctrl-C meanwhile.
struct Judgement {
  enum class Verdict { kPassed, kFailed, kInterrupted };
  Verdict verdict = Verdict::kPassed;
  std::string why;        // kFailed: the metric, its value, the threshold, the hosts
  nlohmann::json record;  // the step as the snapshot keeps it
};

// Asked by a rollout once a batch's hosts serve (during the canary's bake,
// after every other batch), before the next batch starts. `changed`: the
// hosts the batch changed; `baseline`: the hosts not yet changed.
class BatchJudge {
 public:
  virtual ~BatchJudge() = default;
  virtual Judgement judge(const std::string& step, const std::vector<std::string>& changed,
                          const std::vector<std::string>& baseline, RolloutObserver& observer,
                          const std::function<bool()>& interrupted) = 0;
};

}  // namespace flotilla
