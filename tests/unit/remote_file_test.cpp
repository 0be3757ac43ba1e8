#include "core/remote_file.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace flotilla;
namespace fs = std::filesystem;

namespace {

// Runs a RemoteCommand with the local /bin/sh, as sshd would run it.
int run_locally(const RemoteCommand& cmd) {
  fs::path input = fs::temp_directory_path() / "flotilla-stdin";
  std::ofstream(input, std::ios::binary) << cmd.stdin_data;
  fs::path script = fs::temp_directory_path() / "flotilla-script.sh";
  std::ofstream(script) << cmd.command;
  int status =
      std::system(("sh " + script.string() + " < " + input.string() + " 2>/dev/null").c_str());
  fs::remove(script);
  fs::remove(input);
  return WEXITSTATUS(status);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("sha256_hex") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("upload: atomic, verified, with mode; hostile paths stay literal") {
  fs::path dir = fs::temp_directory_path() / "flotilla-upload-test";
  fs::remove_all(dir);
  fs::path target = dir / "a dir $(x)" / "file 'q'";
  std::string data = "hello\nworld\n";
  data.push_back('\0');
  CHECK(run_locally(upload_command(target.string(), data, 0640, std::chrono::seconds(5))) == 0);
  CHECK(slurp(target) == data);
  struct stat st {};
  ::stat(target.c_str(), &st);
  CHECK((st.st_mode & 0777) == 0640);

  // Bytes that differ from what the checksum was computed over are refused,
  // and the old file stays.
  RemoteCommand tampered = upload_command(target.string(), "new", 0600, std::chrono::seconds(5));
  tampered.stdin_data = "evil";
  CHECK(run_locally(tampered) == 65);
  CHECK(slurp(target) == data);
  std::size_t files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(target.parent_path())) ++files;
  CHECK(files == 1);  // no temp file left behind
  fs::remove_all(dir);
}
