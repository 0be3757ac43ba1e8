"""The man page and the completions come from the same CLI11 definition as
--help (issue 31): every command --help lists is in the man page (rendered by
man itself) and completes in bash (the real bash completion function) and
zsh (the real function, with compadd recording what it offers)."""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import BIN, TempDir, run  # noqa: E402


def help_commands():
    out = run("--help").stdout
    return re.findall(r"^  ([a-z]+)\s", out.split("Subcommands:")[1], re.M)


class ReferenceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_the_man_page_lists_every_command(self):
        page = self.tmp.write("flotilla.1", run("manpage").stdout)
        proc = subprocess.run(["man", "-l", "-P", "cat", page], capture_output=True, text=True,
                              env=dict(os.environ, MANWIDTH="200"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("flotilla - deploy and patch fleets of game servers", proc.stdout)
        commands = help_commands()
        self.assertIn("doctor", commands)
        for command in commands:
            self.assertRegex(proc.stdout, rf"\n\s+flotilla {command}\b", command)
        self.assertIn("--accept-new-host-keys", proc.stdout)
        self.assertIn("EXIT STATUS", proc.stdout)

    def bash_complete(self, *words):
        script = self.tmp.write("complete.bash", run("completion", "bash").stdout)
        line = " ".join(f"'{w}'" for w in words)
        proc = subprocess.run(
            ["bash", "-c", f'set -u; . {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _flotilla; '
                           'printf "%s\\n" "${COMPREPLY[@]}"'], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.split()

    def test_bash_completes_commands_subcommands_and_options(self):
        self.assertEqual(sorted(self.bash_complete("flotilla", "")), sorted(help_commands()))
        self.assertEqual(self.bash_complete("flotilla", "-e", "prod", "dep"), ["deploy"])
        self.assertEqual(self.bash_complete("flotilla", "lock", "st"), ["status"])
        self.assertEqual(self.bash_complete("flotilla", "deploy", "--re"), ["--ref"])
        self.assertIn("--json", self.bash_complete("flotilla", "doctor", "--js"))
        self.assertNotIn("manpage", self.bash_complete("flotilla", "man"))  # hidden: for the build

    @unittest.skipUnless(shutil.which("zsh"), "zsh is not installed")
    def test_zsh_offers_the_same_words(self):
        script = self.tmp.write("_flotilla", run("completion", "zsh").stdout)
        self.assertEqual(subprocess.run(["zsh", "-n", script]).returncode, 0)
        driver = self.tmp.write("drive.zsh", f"""
compadd() {{ [[ $1 == -- ]] && shift; print -r -- "$*"; }}
_files() {{ print -r -- FILES; }}
source {script} >/dev/null
words=("$@"); CURRENT=$#
_flotilla
""")

        def offered(*words):
            proc = subprocess.run(["zsh", "-f", driver, *words], capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return proc.stdout.split()

        self.assertEqual(sorted(offered("flotilla", "")), sorted(help_commands()))
        self.assertEqual(sorted(offered("flotilla", "lock", "st")), ["acquire", "release", "status"])
        self.assertIn("--ref", offered("flotilla", "-e", "prod", "deploy", "--re"))
        self.assertEqual(offered("flotilla", "-f", ""), ["FILES"])


if __name__ == "__main__":
    unittest.main()
