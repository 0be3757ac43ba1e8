// Ansible Vault decryption against texts made by ansible-vault itself
// (ansible-core 2.14, password "correct horse").
#include <doctest/doctest.h>

#include <filesystem>

#include "core/yaml_document.hpp"
#include "inventory/ansible_vault.hpp"
#include "inventory/ansible_yaml_inventory.hpp"
#include "support/scratch_dir.hpp"

using namespace flotilla;

namespace {

const std::vector<VaultSecret> kRight = {{"correct horse", "test"}};
const std::vector<VaultSecret> kWrong = {{"battery staple", "--vault-password-file wrong"}};

// ansible-vault encrypt_string 'p@ss w0rd!'
const char* const kFormat11 =
    "$ANSIBLE_VAULT;1.1;AES256\n"
    "33353330313566303061306136356635643637393135353432663638633531376134623566356366\n"
    "3831336662623063383863366663656265663436316266640a613666333436633130393963393339\n"
    "63323430613039373034616462666663663836613535643836623762613161383434663861306139\n"
    "3839626563366130300a623939303430313537343735616430613830633035636634343762643962\n"
    "6230";

// ansible-vault encrypt_string --vault-id prod@FILE 'label value'
const char* const kFormat12 =
    "$ANSIBLE_VAULT;1.2;AES256;prod\n"
    "36373037313230323962396335613337333936346438643536626262666564393431633732646134\n"
    "3835396562343661393634633562643363383063373030310a613639333338666235613230383764\n"
    "61643839616266336664633266643039623035626335623664333038653737656461653862383563\n"
    "3435633363653161330a643231376562313832323663303361313732323763633534643964383938\n"
    "3961";

// 'exactly sixteen!': a whole block of PKCS#7 padding follows it.
const char* const kSixteen =
    "$ANSIBLE_VAULT;1.1;AES256\n"
    "34386239643031333337623962383764383039643166326533333632313035623862663237373963\n"
    "6538666161663635316262343563663432323131373631630a363962613833336135643434393462\n"
    "30333266383532626233383131376562313266623161623966313334653034633033393033393538\n"
    "3463353630393633360a656637396136623331333339643432343534383334636438323230336537\n"
    "63326366353330633364643830663635313238323338353137323931343436643232";

}  // namespace

TEST_CASE("vault: formats 1.1 and 1.2 decrypt with the right password") {
  auto plain = vault_decrypt(kFormat11, kRight);
  REQUIRE(plain);
  CHECK(*plain == "p@ss w0rd!");
  auto labelled = vault_decrypt(kFormat12, kRight);
  REQUIRE(labelled);
  CHECK(*labelled == "label value");
  auto sixteen = vault_decrypt(kSixteen, kRight);
  REQUIRE(sixteen);
  CHECK(*sixteen == "exactly sixteen!");
  // The first password that opens it is used.
  std::vector<VaultSecret> both = {kWrong[0], kRight[0]};
  CHECK(vault_decrypt(kFormat11, both).value_or("") == "p@ss w0rd!");
}

TEST_CASE("vault: a wrong password, no password, or damaged data is a one-line error") {
  auto wrong = vault_decrypt(kFormat11, kWrong);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().kind == ErrorKind::kBadInput);
  CHECK(wrong.error().message.find("--vault-password-file wrong does not open it") !=
        std::string::npos);
  CHECK(wrong.error().message.find('\n') == std::string::npos);
  auto none = vault_decrypt(kFormat11, {});
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("no vault password was given") != std::string::npos);

  // One flipped ciphertext digit fails the HMAC: nothing is decrypted.
  std::string tampered = kFormat11;
  tampered[tampered.size() - 1] = tampered.back() == '0' ? '1' : '0';
  CHECK_FALSE(vault_decrypt(tampered, kRight));
  CHECK_FALSE(vault_decrypt("$ANSIBLE_VAULT;1.1;AES256\nzz", kRight));
  CHECK_FALSE(vault_decrypt("$ANSIBLE_VAULT;1.0;AES\n6162", kRight));
  CHECK_FALSE(vault_decrypt("$ANSIBLE_VAULT;1.1;AES256\n", kRight));
  CHECK_FALSE(vault_decrypt("plain text", kRight));
}

TEST_CASE("vault: a !vault value is kept as Ansible's JSON form until it is needed") {
  std::string text = "all:\n  hosts:\n    h1:\n      db_password: !vault |\n";
  std::string envelope = kFormat11;
  for (std::size_t start = 0; start < envelope.size();) {
    std::size_t end = std::min(envelope.find('\n', start), envelope.size());
    text += "        " + envelope.substr(start, end - start) + "\n";
    start = end + 1;
  }
  auto doc = parse_yaml(text, "inv.yml");
  REQUIRE(doc);
  auto loaded = parse_ansible_yaml_inventory(*doc);
  REQUIRE(loaded);
  const auto& inventory = loaded->inventory;
  auto value = inventory.resolved_vars(0)["db_password"];
  REQUIRE(is_vault_value(value));
  CHECK(value["__ansible_vault"].get<std::string>().starts_with("$ANSIBLE_VAULT;1.1;AES256"));
  CHECK_FALSE(inventory.reveal(value));  // no password yet
  loaded->inventory.set_vault_secrets(kRight);
  auto revealed = loaded->inventory.reveal(value);
  REQUIRE(revealed);
  CHECK(*revealed == "p@ss w0rd!");
  CHECK(loaded->inventory.opened_vault_values() == std::vector<std::string>{"p@ss w0rd!"});
  CHECK(loaded->inventory.reveal(nlohmann::json("plain")).value() == "plain");

  auto not_vault = parse_yaml("all:\n  vars:\n    x: !vault hello\n", "inv.yml");
  REQUIRE(not_vault);
  auto refused = parse_ansible_yaml_inventory(*not_vault);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("inv.yml:3:") == 0);
}

TEST_CASE("vault: password files are read as Ansible reads them") {
  ScratchDir dir;
  std::string plain = dir.write("pass", "  correct horse \n\n").string();
  auto secret = read_vault_password_file(plain);
  REQUIRE(secret);
  CHECK(secret->password == "correct horse");
  CHECK(secret->source == "--vault-password-file " + plain);

  std::string script = dir.write("pass.sh", "#!/bin/sh\necho 'correct horse'\n").string();
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  auto printed = read_vault_password_file(script);
  REQUIRE(printed);
  CHECK(printed->password == "correct horse");

  std::string failing = dir.write("fail.sh", "#!/bin/sh\nexit 3\n").string();
  std::filesystem::permissions(failing, std::filesystem::perms::owner_all);
  auto failed = read_vault_password_file(failing);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message.find("(exit 3)") != std::string::npos);

  CHECK_FALSE(read_vault_password_file(dir.write("empty", "\n").string()));
  CHECK_FALSE(read_vault_password_file((dir.path / "missing").string()));
}
