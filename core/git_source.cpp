#include "core/git_source.hpp"

#include <git2.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "core/sha256.hpp"
#include "core/ssh/known_hosts.hpp"

namespace flotilla {
namespace {

// libgit2's global state, released at exit (LeakSanitizer checks that).
struct LibGit2 {
  LibGit2() { git_libgit2_init(); }
  ~LibGit2() { git_libgit2_shutdown(); }
};

void init_libgit2_once() { static LibGit2 library; }

std::string last_git_error() {
  const git_error* e = git_error_last();
  return e != nullptr && e->message != nullptr ? e->message : "unknown libgit2 error";
}

bool is_url(const std::string& repo) {
  return repo.find("://") != std::string::npos ||
         (repo.find('@') != std::string::npos && repo.find(':') != std::string::npos);
}

std::string oid_hex(const git_oid* oid) {
  char buffer[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buffer, sizeof buffer, oid);
  return buffer;
}

// Payload for libgit2's callbacks on SSH remotes.
struct RemoteCallbacks {
  const GitAccess* access = nullptr;
  int port = 22;
  std::size_t next_identity = 0;
  bool tried_agent = false;
  std::string refused;  // why a host key was refused, for the error message
};

int port_of(const std::string& url) {
  static const std::regex re(R"(^ssh://(?:[^@/]+@)?(?:\[[^\]]+\]|[^:/]+):(\d+)/)");
  std::smatch m;
  if (std::regex_search(url, m, re)) return std::stoi(m[1]);
  return 22;
}

const char* raw_key_type(git_cert_ssh_raw_type_t type) {
  switch (type) {
    case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519:
      return "ssh-ed25519";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256:
      return "ecdsa-sha2-nistp256";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384:
      return "ecdsa-sha2-nistp384";
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521:
      return "ecdsa-sha2-nistp521";
    case GIT_CERT_SSH_RAW_TYPE_RSA:
      return "ssh-rsa";
    default:
      return "";
  }
}

// libgit2 checks no SSH host key unless told to: only a known_hosts match passes.
int certificate_check(git_cert* cert, int valid, const char* host, void* payload) {
  auto* cb = static_cast<RemoteCallbacks*>(payload);
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return valid ? 0 : GIT_ECERTIFICATE;
  auto* hostkey = reinterpret_cast<git_cert_hostkey*>(cert);
  if ((hostkey->type & GIT_CERT_SSH_RAW) == 0) {
    cb->refused = fmt::format("{}: libgit2 gave no raw host key to verify", host);
    return GIT_ECERTIFICATE;
  }
  auto verdict =
      check_known_host(cb->access->known_hosts_files, host, cb->port,
                       raw_key_type(hostkey->raw_type), hostkey->hostkey, hostkey->hostkey_len);
  if (verdict == KnownHostVerdict::kMatch) return 0;
  cb->refused =
      verdict == KnownHostVerdict::kMismatch
          ? fmt::format("HOST KEY CHANGED for git remote {}: refusing to fetch", host)
          : fmt::format("unknown host key for git remote {}: add it to known_hosts", host);
  return GIT_ECERTIFICATE;
}

int credentials(git_credential** out, const char* /*url*/, const char* username_from_url,
                unsigned int allowed, void* payload) {
  auto* cb = static_cast<RemoteCallbacks*>(payload);
  const char* user = username_from_url != nullptr ? username_from_url : cb->access->user.c_str();
  if ((allowed & GIT_CREDENTIAL_USERNAME) != 0) return git_credential_username_new(out, user);
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) == 0) return GIT_PASSTHROUGH;
  if (!cb->tried_agent) {
    cb->tried_agent = true;
    const char* sock = std::getenv("SSH_AUTH_SOCK");
    if (sock != nullptr && *sock != '\0') return git_credential_ssh_key_from_agent(out, user);
  }
  while (cb->next_identity < cb->access->identity_files.size()) {
    const std::string& key = cb->access->identity_files[cb->next_identity++];
    if (std::filesystem::exists(key)) {
      return git_credential_ssh_key_new(out, user, nullptr, key.c_str(), nullptr);
    }
  }
  return GIT_PASSTHROUGH;  // no more keys: authentication fails
}

}  // namespace

struct GitSource::Impl {
  git_repository* repo = nullptr;
  ~Impl() {
    if (repo != nullptr) git_repository_free(repo);
  }
};

GitSource::GitSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GitSource::GitSource(GitSource&&) noexcept = default;
GitSource& GitSource::operator=(GitSource&&) noexcept = default;
GitSource::~GitSource() = default;

Result<GitSource> GitSource::open(const std::string& repo, const std::string& cache_dir,
                                  const GitAccess& access) {
  init_libgit2_once();
  auto impl = std::make_unique<Impl>();
  if (!is_url(repo)) {
    if (git_repository_open_ext(&impl->repo, repo.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH,
                                nullptr) != 0) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("cannot open git repository {}: {}", repo, last_git_error()));
    }
    return GitSource(std::move(impl));
  }
  RemoteCallbacks payload{&access, port_of(repo), 0, false, {}};
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  callbacks.certificate_check = certificate_check;
  callbacks.credentials = credentials;
  callbacks.payload = &payload;
  std::string mirror = cache_dir + "/" + sha256_hex(repo).substr(0, 16) + ".git";
  int rc = 0;
  if (std::filesystem::exists(mirror)) {
    rc = git_repository_open_bare(&impl->repo, mirror.c_str());
  } else {
    std::filesystem::create_directories(cache_dir);
    std::string partial = mirror + ".partial";
    std::filesystem::remove_all(partial);
    rc = git_repository_init(&impl->repo, partial.c_str(), /*is_bare=*/1);
    git_remote* remote = nullptr;
    if (rc == 0) rc = git_remote_create(&remote, impl->repo, "origin", repo.c_str());
    git_remote_free(remote);
    if (rc == 0) {
      git_repository_free(impl->repo);
      impl->repo = nullptr;
      std::filesystem::rename(partial, mirror);
      rc = git_repository_open_bare(&impl->repo, mirror.c_str());
    } else {
      std::filesystem::remove_all(partial);
    }
  }
  // Mirror the remote's branches and tags as this cache's own refs, pruning
  // what the remote deleted: a ref resolves here as it does there.
  git_remote* remote = nullptr;
  if (rc == 0) rc = git_remote_lookup(&remote, impl->repo, "origin");
  if (rc == 0) {
    git_fetch_options fetch = GIT_FETCH_OPTIONS_INIT;
    fetch.callbacks = callbacks;
    fetch.prune = GIT_FETCH_PRUNE;
    fetch.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    char heads[] = "+refs/heads/*:refs/heads/*";
    char tags[] = "+refs/tags/*:refs/tags/*";
    char* specs[] = {heads, tags};
    git_strarray refspecs{specs, 2};
    rc = git_remote_fetch(remote, &refspecs, &fetch, "flotilla fetch");
  }
  git_remote_free(remote);
  if (rc != 0) {
    std::string why = payload.refused.empty() ? last_git_error() : payload.refused;
    return fail(payload.refused.empty() ? ErrorKind::kFailed : ErrorKind::kUnreachable,
                fmt::format("cannot fetch {}: {}", repo, why));
  }
  return GitSource(std::move(impl));
}

Result<ResolvedRef> GitSource::resolve(const std::string& ref) const {
  git_repository* repo = impl_->repo;
  ResolvedRef out;
  out.given = ref;
  if (ref.empty() || ref.starts_with("-"))
    return fail(ErrorKind::kBadInput, fmt::format("invalid ref '{}'", ref));

  auto peel = [&](const std::string& name, git_oid& oid) -> bool {
    git_reference* reference = nullptr;
    if (git_reference_lookup(&reference, repo, name.c_str()) != 0) return false;
    git_object* target = nullptr;
    bool ok = git_reference_peel(&target, reference, GIT_OBJECT_COMMIT) == 0;
    if (ok) git_oid_cpy(&oid, git_object_id(target));
    git_object_free(target);
    git_reference_free(reference);
    return ok;
  };
  git_oid branch_oid{}, tag_oid{}, commit_oid{};
  bool is_branch = peel("refs/heads/" + ref, branch_oid);
  bool is_tag = peel("refs/tags/" + ref, tag_oid);
  if (is_branch && is_tag && !git_oid_equal(&branch_oid, &tag_oid)) {
    return fail(ErrorKind::kBadInput,
                fmt::format("ref '{}' is ambiguous: a branch and a tag of that name point at "
                            "different commits; use heads/{} or tags/{}",
                            ref, ref, ref));
  }
  if (is_branch) {
    out.branch = ref;
    commit_oid = branch_oid;
  } else if (is_tag) {
    out.tag = ref;
    commit_oid = tag_oid;
  } else if (ref.starts_with("heads/") && peel("refs/" + ref, commit_oid)) {
    out.branch = ref.substr(6);
  } else if (ref.starts_with("tags/") && peel("refs/" + ref, commit_oid)) {
    out.tag = ref.substr(5);
  } else {
    static const std::regex hex("[0-9a-fA-F]{4,40}");
    if (!std::regex_match(ref, hex)) {
      return fail(ErrorKind::kBadInput, fmt::format("no branch, tag or commit named '{}'", ref));
    }
    git_oid prefix{};
    git_oid_fromstrn(&prefix, ref.c_str(), ref.size());
    git_object* object = nullptr;
    int rc = git_object_lookup_prefix(&object, repo, &prefix, ref.size(), GIT_OBJECT_COMMIT);
    if (rc == GIT_EAMBIGUOUS) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("commit id '{}' is ambiguous: give more digits", ref));
    }
    if (rc != 0)
      return fail(ErrorKind::kBadInput, fmt::format("no branch, tag or commit named '{}'", ref));
    git_oid_cpy(&commit_oid, git_object_id(object));
    git_object_free(object);
  }
  git_commit* commit = nullptr;
  if (git_commit_lookup(&commit, repo, &commit_oid) != 0) {
    return fail(ErrorKind::kBadInput, fmt::format("'{}' is not a commit", ref));
  }
  out.commit = oid_hex(&commit_oid);
  const char* summary = git_commit_summary(commit);
  out.summary = summary != nullptr ? summary : "";
  out.time = git_commit_time(commit);
  git_commit_free(commit);
  return out;
}

Result<std::vector<std::string>> GitSource::branches_containing(const std::string& commit) const {
  git_oid target{};
  if (git_oid_fromstr(&target, commit.c_str()) != 0)
    return fail(ErrorKind::kBadInput, "bad commit id");
  std::vector<std::string> names;
  git_branch_iterator* it = nullptr;
  if (git_branch_iterator_new(&it, impl_->repo, GIT_BRANCH_LOCAL) != 0) {
    return fail(ErrorKind::kFailed, last_git_error());
  }
  git_reference* ref = nullptr;
  git_branch_t type;
  while (git_branch_next(&ref, &type, it) == 0) {
    const char* name = nullptr;
    git_branch_name(&name, ref);
    git_object* tip = nullptr;
    if (name != nullptr && git_reference_peel(&tip, ref, GIT_OBJECT_COMMIT) == 0) {
      const git_oid* tip_oid = git_object_id(tip);
      if (git_oid_equal(tip_oid, &target) ||
          git_graph_descendant_of(impl_->repo, tip_oid, &target) == 1) {
        names.push_back(name);
      }
    }
    git_object_free(tip);
    git_reference_free(ref);
  }
  git_branch_iterator_free(it);
  return names;
}

Result<std::vector<std::string>> GitSource::log_between(const std::string& from,
                                                        const std::string& to,
                                                        std::size_t limit) const {
  git_oid from_oid{}, to_oid{};
  if (git_oid_fromstr(&to_oid, to.c_str()) != 0) return fail(ErrorKind::kBadInput, "bad commit id");
  git_revwalk* walk = nullptr;
  if (git_revwalk_new(&walk, impl_->repo) != 0) return fail(ErrorKind::kFailed, last_git_error());
  std::unique_ptr<git_revwalk, decltype(&git_revwalk_free)> owned(walk, git_revwalk_free);
  git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  if (git_revwalk_push(walk, &to_oid) != 0) return fail(ErrorKind::kBadInput, last_git_error());
  if (!from.empty()) {
    if (git_oid_fromstr(&from_oid, from.c_str()) != 0 || git_revwalk_hide(walk, &from_oid) != 0) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("commit {} is not in this repository", from.substr(0, 12)));
    }
  }
  std::vector<std::string> out;
  git_oid oid{};
  while (out.size() < limit && git_revwalk_next(&oid, walk) == 0) {
    git_commit* commit = nullptr;
    if (git_commit_lookup(&commit, impl_->repo, &oid) != 0) break;
    const char* summary = git_commit_summary(commit);
    char id[GIT_OID_HEXSZ + 1] = {};
    git_oid_tostr(id, sizeof id, &oid);
    out.push_back(fmt::format("{} {}", std::string(id).substr(0, 12), summary ? summary : ""));
    git_commit_free(commit);
  }
  return out;
}

Result<void> GitSource::checkout(const std::string& commit, const std::string& dir) const {
  git_oid oid{};
  git_oid_fromstr(&oid, commit.c_str());
  git_commit* c = nullptr;
  if (git_commit_lookup(&c, impl_->repo, &oid) != 0)
    return fail(ErrorKind::kFailed, last_git_error());
  git_tree* tree = nullptr;
  int rc = git_commit_tree(&tree, c);
  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
  options.target_directory = dir.c_str();
  std::filesystem::create_directories(dir);
  if (rc == 0) rc = git_checkout_tree(impl_->repo, reinterpret_cast<git_object*>(tree), &options);
  git_tree_free(tree);
  git_commit_free(c);
  if (rc != 0)
    return fail(ErrorKind::kFailed,
                fmt::format("checkout of {} failed: {}", commit, last_git_error()));
  return {};
}

}  // namespace flotilla
