#include "core/script_command.hpp"

#include "core/shell_quote.hpp"

namespace flotilla {

RemoteCommand script_command(HostScript script, const std::vector<std::string>& args,
                             std::string stdin_data, Duration timeout) {
  std::string command = "sh -c " + shell_quote(std::string(host_script_text(script))) + " flotilla";
  for (const auto& arg : args) command += " " + shell_quote(arg);
  RemoteCommand out{std::move(command), std::move(stdin_data), timeout,
                    std::string(host_script_name(script))};
  out.script = script;
  return out;
}

bool exited_with(const CommandResult& result, HostExit code) {
  return result.exit_signal.empty() && result.exit_status == static_cast<int>(code);
}

}  // namespace flotilla
