#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flotilla {

// The closest candidate by edit distance, if it is close enough to be a
// plausible typo; empty otherwise.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// ", did you mean 'x'?" or "" — ready to append to a message.
std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace flotilla
