#include "models/model_file.h"

#include <doctest/doctest.h>

#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::ReadFile;
using reel::testing::TempDir;
using reel::testing::WriteFile;

namespace {

RecModel SmallModel() {
  RecModel m;
  m.dim = 2;
  m.users = {"alice", "bob", "carol"};
  m.items = {"i1", "i2", "i3", "i4"};
  m.user_vecs = {1, 0, 0, 1, 0.5f, 0.5f};
  m.item_vecs = {1, 0, 0, 1, -1, 0, 0.25f, 0.25f};
  m.header = {{"model_name", "demo"}, {"metrics", {{"final_loss", 0.5}}}};
  m.Reindex();
  return m;
}

}  // namespace

TEST_CASE("model file: save and load round-trip ids, vectors and header") {
  TempDir dir;
  RecModel m = SmallModel();
  REQUIRE(SaveRecModel(m, dir / "m.reelmdl").ok());
  auto loaded = LoadRecModel(dir / "m.reelmdl");
  REQUIRE(loaded.ok());
  CHECK(loaded->dim == 2);
  CHECK(loaded->users == m.users);
  CHECK(loaded->items == m.items);
  CHECK(loaded->user_vecs == m.user_vecs);
  CHECK(loaded->item_vecs == m.item_vecs);
  CHECK(loaded->header["model_name"] == "demo");
  CHECK(loaded->header["metrics"]["final_loss"] == 0.5);
  CHECK_FALSE(loaded->header.contains("users"));  // ids live in the fields, not the header
  CHECK(loaded->UserIndex("bob") == 1u);
  CHECK(loaded->ItemIndex("i4") == 3u);
  CHECK_FALSE(loaded->UserIndex("nobody").has_value());
}

TEST_CASE("model file: the layout is magic, u32 header length, JSON, float32 vectors") {
  TempDir dir;
  REQUIRE(SaveRecModel(SmallModel(), dir / "m.reelmdl").ok());
  std::string bytes = ReadFile(dir / "m.reelmdl");
  REQUIRE(bytes.size() > 12);
  CHECK(bytes.substr(0, 8) == "REELMDL1");
  std::uint32_t len = 0;
  for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(bytes[8 + i]);
  auto header = nlohmann::json::parse(bytes.substr(12, len));
  CHECK(header["format_version"] == 1);
  CHECK(header["num_users"] == 3);
  CHECK(header["items"][2] == "i3");
  CHECK(bytes.size() == 12 + len + (3 + 4) * 2 * 4);
  float first_item_x = 0;
  std::memcpy(&first_item_x, bytes.data() + 12 + len + 3 * 2 * 4, 4);
  CHECK(first_item_x == 1.0f);
}

TEST_CASE("model file: TopK ranks by dot product, skips excluded items, breaks ties by row") {
  RecModel m = SmallModel();
  auto top = m.TopK(0, 2);  // alice = (1, 0): i1 scores 1, i4 0.25, i2 0, i3 -1
  REQUIRE(top.size() == 2);
  CHECK(top[0].first == 0);
  CHECK(top[1].first == 3);
  auto excluded = m.TopK(0, 10, {0});
  CHECK(excluded.size() == 3);
  CHECK(excluded[0].first == 3);
  auto tie = m.TopK(2, 4);  // carol = (.5, .5): i1 .5, i2 .5, i4 .25, i3 -.5
  CHECK(tie[0].first == 0);
  CHECK(tie[1].first == 1);
  CHECK(tie[3].first == 2);
}

TEST_CASE("model file: damaged or inconsistent files are rejected with a reason") {
  TempDir dir;
  REQUIRE(SaveRecModel(SmallModel(), dir / "m.reelmdl").ok());
  std::string good = ReadFile(dir / "m.reelmdl");

  WriteFile(dir / "magic", "NOTAMODEL" + good.substr(9));
  auto bad_magic = LoadRecModel(dir / "magic");
  REQUIRE_FALSE(bad_magic.ok());
  CHECK(bad_magic.status().message().find("magic") != std::string::npos);

  WriteFile(dir / "short", good.substr(0, good.size() - 4));
  auto truncated = LoadRecModel(dir / "short");
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.status().message().find("bytes of vectors") != std::string::npos);

  std::string huge_header = good;
  huge_header[11] = '\x7f';
  WriteFile(dir / "header", huge_header);
  CHECK_FALSE(LoadRecModel(dir / "header").ok());

  CHECK(LoadRecModel(dir / "absent").status().code() == Status::Code::kNotFound);

  RecModel dup = SmallModel();
  dup.items[1] = "i1";
  auto saved = SaveRecModel(dup, dir / "dup");
  REQUIRE_FALSE(saved.ok());
  CHECK(saved.message().find("appears twice") != std::string::npos);

  RecModel short_vecs = SmallModel();
  short_vecs.user_vecs.pop_back();
  CHECK_FALSE(SaveRecModel(short_vecs, dir / "short_vecs").ok());
}
