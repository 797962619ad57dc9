// An operator shipped outside reel, as a shared library: `word_count` counts the lines, words
// and bytes of a text file and publishes them as outputs and metrics.
//
//   steps:
//     count:
//       operator: word_count
//       with: {path: README.md}
//
// Build it against reel's include/reel/operator.h (see CMakeLists.txt here) and load it with
// `reel --plugin libreel_word_count.so ...` or REEL_PLUGIN_PATH; a workflow may name it in
// `plugins: [...]` once it is trusted that way (see docs/operators.md).
#include <fstream>
#include <sstream>

#include "reel/operator.h"

namespace {

class WordCountOperator : public reel::Operator {
 public:
  static reel::OperatorInfo Info() {
    reel::OperatorInfo info;
    info.name = "word_count";
    info.description = "Counts lines, words and bytes of a text file (an example plugin).";
    info.config = {
        {"path", reel::ConfigType::kString, true, nullptr, "the file to count"},
        {"min_words", reel::ConfigType::kInt, false, 0, "fail when the file has fewer words"},
    };
    info.example = "count:\n  operator: word_count\n  with: {path: README.md}\n";
    // What Execute publishes: `reel validate` checks steps.count.outputs.KEY against it.
    info.declares_outputs = true;
    info.outputs = {
        {.name = "lines", .type = reel::ConfigType::kInt, .description = "newlines in the file"},
        {.name = "words", .type = reel::ConfigType::kInt, .description = "words in the file"},
        {.name = "bytes", .type = reel::ConfigType::kInt, .description = "bytes in the file"},
    };
    return info;
  }

  reel::Status Execute(reel::Context& ctx) override {
    std::string path = ctx.config().at("path").get<std::string>();
    std::ifstream in(path, std::ios::binary);
    if (!in) return reel::Status::NotFound("word_count: cannot open '" + path + "'");
    long lines = 0, words = 0, bytes = 0;
    bool in_word = false;
    char c;
    while (in.get(c)) {
      if (ctx.cancellation().cancelled()) return reel::Status::Cancelled("word_count cancelled");
      ++bytes;
      if (c == '\n') ++lines;
      bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
      if (!space && !in_word) ++words;
      in_word = !space;
    }
    std::ostringstream msg;
    msg << path << ": " << lines << " lines, " << words << " words, " << bytes << " bytes";
    ctx.Log(reel::LogLevel::kInfo, msg.str());
    ctx.SetOutput("lines", lines);
    ctx.SetOutput("words", words);
    ctx.SetOutput("bytes", bytes);
    ctx.LogMetric("words", static_cast<double>(words));
    if (words < ctx.config().value("min_words", 0)) {
      return reel::Status::Failed("word_count: '" + path + "' has only " + std::to_string(words) +
                                  " words");
    }
    return reel::Status::Ok();
  }
};

}  // namespace

REEL_PLUGIN_ENTRY_POINTS(registrar) {
  (void)registrar->Register(reel::MakeOperatorDef<WordCountOperator>());
}
