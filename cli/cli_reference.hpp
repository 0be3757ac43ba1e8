#pragma once

#include <string>

#include <CLI/App.hpp>

#include "cli/global_options.hpp"

namespace flotilla {

// The man page and the shell completions, generated from the same CLI11
// definition as --help: a command or option added anywhere shows up in all
// of them, and none is written twice. The build runs `flotilla manpage` and
// `flotilla completion bash|zsh` to install them.
std::string man_page(const CLI::App& app);
std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);

// `completion bash|zsh` (public) and `manpage` (hidden: for the build).
void add_reference_commands(CLI::App& app, CommandAction& action);

}  // namespace flotilla
