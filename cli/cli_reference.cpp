#include "cli/cli_reference.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace flotilla {
namespace {

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::vector<const CLI::Option*> named_options(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return o->nonpositional(); });
}

std::vector<const CLI::Option*> positionals(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return o->get_positional(); });
}

std::vector<std::string> words_of(const CLI::Option* option) {
  std::vector<std::string> words;
  for (const auto& s : option->get_snames()) words.push_back("-" + s);
  for (const auto& l : option->get_lnames()) words.push_back("--" + l);
  return words;
}

// Flags (--json, --help) have no type name; options that take a value do.
bool takes_value(const CLI::Option* option) {
  return option->get_type_size() != 0 && !option->get_type_name().empty();
}

// Text as roff reads it: no request at a line's start, backslashes and
// hyphens escaped.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string man_options(const CLI::App& app) {
  std::string out;
  for (const auto* option : named_options(app)) {
    std::vector<std::string> words;
    for (const auto& w : words_of(option)) words.push_back("\\fB" + roff(w) + "\\fR");
    out += ".TP\n" + fmt::format("{}", fmt::join(words, ", "));
    if (takes_value(option)) out += " \\fI" + roff(option->get_type_name()) + "\\fR";
    out += "\n" + roff(option->get_description()) + "\n";
  }
  return out;
}

std::string usage_of(const CLI::App& command, const std::string& path) {
  std::string usage = path;
  for (const auto* p : positionals(command))
    usage += p->get_required() ? " " + p->get_name(true) : " [" + p->get_name(true) + "]";
  if (!visible_subcommands(command).empty()) usage += " SUBCOMMAND";
  return usage;
}

void man_commands(const CLI::App& app, const std::string& path, std::string& out) {
  for (const auto* sub : visible_subcommands(app)) {
    std::string name = path + " " + sub->get_name();
    out += ".SS \"" + roff(usage_of(*sub, name)) + "\"\n" + roff(sub->get_description()) + "\n";
    for (const auto* p : positionals(*sub))
      out += ".TP\n\\fI" + roff(p->get_name(true)) + "\\fR\n" + roff(p->get_description()) + "\n";
    out += man_options(*sub);
    man_commands(*sub, name, out);
  }
}

// The command tree as "path" -> words, for the completions.
struct CompletionNode {
  std::string path;  // "deploy", "lock status"; "" for flotilla itself
  std::vector<std::string> subcommands;
  std::vector<std::string> options;
  std::vector<std::string> value_options;  // options that take a value
};

void collect(const CLI::App& app, const std::string& path, std::vector<CompletionNode>& nodes) {
  CompletionNode node{path, {}, {}, {}};
  for (const auto* sub : visible_subcommands(app)) node.subcommands.push_back(sub->get_name());
  for (const auto* option : named_options(app)) {
    for (const auto& w : words_of(option)) {
      node.options.push_back(w);
      if (takes_value(option)) node.value_options.push_back(w);
    }
  }
  nodes.push_back(node);
  for (const auto* sub : visible_subcommands(app))
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), nodes);
}

std::string words(const std::vector<std::string>& list) {
  return fmt::format("{}", fmt::join(list, " "));
}

}  // namespace

std::string man_page(const CLI::App& app) {
  std::string out = fmt::format(
      ".TH FLOTILLA 1 \"\" \"flotilla {}\" \"User Commands\"\n"
      ".SH NAME\nflotilla \\- deploy and patch fleets of game servers over SSH\n"
      ".SH SYNOPSIS\n.B flotilla\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGUMENTS\\fR]\n"
      ".SH DESCRIPTION\n{}\n.PP\n"
      "It reads the studio's Ansible inventories, builds artifacts from git, pushes them "
      "over SSH in parallel, restarts services in rolling batches that never take a "
      "redundant pair down, records every change as a snapshot on the hosts, and rolls "
      "back without rebuilding. Global options may come before or after the command; "
      "\\fB\\-\\-json\\fR gives machine\\-readable output and no prompts.\n"
      ".SH OPTIONS\n",
      FLOTILLA_VERSION, roff(app.get_description()));
  out += man_options(app);
  out += ".SH COMMANDS\n";
  man_commands(app, "flotilla", out);
  out +=
      ".SH EXIT STATUS\n"
      ".TP\n0\ndone, and every host is as asked\n"
      ".TP\n1\nthe operation failed (or was interrupted); the fleet was left consistent\n"
      ".TP\n2\nbad input: usage, project file, inventory, policy; nothing was changed\n"
      ".TP\n3\nthe environment's deploy lock is held by someone else\n"
      ".TP\n4\na host could not be reached or refused the connection\n"
      ".SH FILES\n"
      ".TP\n\\fIflotilla.yaml\\fR\nthe project: environments, units, rollouts "
      "(\\fBflotilla init\\fR writes one)\n"
      ".TP\n\\fI~/.ssh/known_hosts\\fR\nhost keys, checked strictly\n"
      ".SH ENVIRONMENT\n"
      ".TP\nFLOTILLA_SIGNING_KEY\nthe key snapshot records are signed with\n"
      ".TP\nANSIBLE_VAULT_PASSWORD_FILE\nthe password file for Ansible Vault values\n"
      ".TP\nNO_COLOR\nno colors\n"
      ".SH SEE ALSO\n\\fBssh\\fR(1), \\fBssh_config\\fR(5), \\fBansible\\-inventory\\fR(1); "
      "the docs/ directory of the flotilla sources\n";
  return out;
}

std::string bash_completion(const CLI::App& app) {
  std::vector<CompletionNode> nodes;
  collect(app, "", nodes);
  std::string cases;
  for (const auto& node : nodes) {
    cases += fmt::format("    '{}') subs='{}'; opts='{}'; values='{}' ;;\n", node.path,
                         words(node.subcommands), words(node.options), words(node.value_options));
  }
  const CompletionNode& top = nodes.front();
  return fmt::format(
      R"(# bash completion for flotilla (generated from its command line definition)
_flotilla() {{
  local cur prev cmdpath= word subs= opts= values= globals global_values known=
  cur=${{COMP_WORDS[COMP_CWORD]}}
  prev=${{COMP_WORDS[COMP_CWORD-1]}}
  globals='{}'
  global_values='{}'
  cmdpath=
  local i=1
  while [ "$i" -lt "$COMP_CWORD" ]; do
    word=${{COMP_WORDS[i]}}
    case " $global_values $values " in
      *" $word "*) i=$((i + 2)); continue ;;
    esac
    if [ "${{word#-}}" = "$word" ]; then
      _flotilla_node "${{cmdpath:+$cmdpath }}$word"
      if [ -n "$known" ]; then cmdpath=${{cmdpath:+$cmdpath }}$word; fi
    fi
    _flotilla_node "$cmdpath"
    i=$((i + 1))
  done
  _flotilla_node "$cmdpath"
  case " $global_values $values " in
    *" $prev "*) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [ "${{cur#-}}" != "$cur" ]; then
    COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  fi
}}
_flotilla_node() {{
  known=1
  case $1 in
{}    *) known=; subs=; opts=; values= ;;
  esac
}}
complete -F _flotilla flotilla
)",
      words(top.options), words(top.value_options), cases);
}

std::string zsh_completion(const CLI::App& app) {
  std::vector<CompletionNode> nodes;
  collect(app, "", nodes);
  std::string cases;
  for (const auto& node : nodes) {
    cases += fmt::format("    '{}') subs=({}); opts=({}); values=({}) ;;\n", node.path,
                         words(node.subcommands), words(node.options), words(node.value_options));
  }
  const CompletionNode& top = nodes.front();
  return fmt::format(
      R"(#compdef flotilla
# zsh completion for flotilla (generated from its command line definition)
_flotilla() {{
  local -a subs opts values globals global_values
  local cmdpath= word i
  globals=({})
  global_values=({})
  _flotilla_node() {{
    case $1 in
{}      *) return 1 ;;
    esac
  }}
  _flotilla_node ''
  for (( i = 2; i < CURRENT; i++ )); do
    word=${{words[i]}}
    if (( ${{global_values[(Ie)$word]}} || ${{values[(Ie)$word]}} )); then (( i++ )); continue; fi
    if [[ $word != -* ]] && _flotilla_node "${{cmdpath:+$cmdpath }}$word"; then
      cmdpath=${{cmdpath:+$cmdpath }}$word
    else
      _flotilla_node "$cmdpath"
    fi
  done
  _flotilla_node "$cmdpath"
  if (( ${{global_values[(Ie)${{words[CURRENT-1]}}]}} || ${{values[(Ie)${{words[CURRENT-1]}}]}} )); then
    _files
  elif [[ ${{words[CURRENT]}} == -* ]]; then
    compadd -- $opts $globals
  else
    compadd -- $subs
  fi
}}
_flotilla "$@"
)",
      words(top.options), words(top.value_options), cases);
}

void add_reference_commands(CLI::App& app, CommandAction& action) {
  auto shell = std::make_shared<std::string>();
  auto* completion =
      app.add_subcommand("completion", "Print the shell completion script (bash or zsh)");
  completion->add_option("shell", *shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion->callback([&app, &action, shell] {
    action = [&app, shell]() -> Result<Outcome> {
      std::string text = *shell == "bash" ? bash_completion(app) : zsh_completion(app);
      std::fwrite(text.data(), 1, text.size(), stdout);
      return Outcome{};
    };
  });
  auto* manpage = app.add_subcommand("manpage", "Print the man page (roff)")->group("");
  manpage->callback([&app, &action] {
    action = [&app]() -> Result<Outcome> {
      std::string text = man_page(app);
      std::fwrite(text.data(), 1, text.size(), stdout);
      return Outcome{};
    };
  });
}

}  // namespace flotilla
