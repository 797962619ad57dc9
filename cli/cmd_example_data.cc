// `reel example-data --out DIR [--shape viewing|ratings --users N --items N --days N --seed S
// --start YYYY-MM-DD --events-per-day N]`: writes a synthetic viewing history or ratings log
// (facts/example_data.h) and prints a one-line summary.
#include <cstdio>
#include <memory>

#include "cli/common.h"
#include "facts/example_data.h"

namespace reel::cli {

void AddExampleDataCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand(
      "example-data",
      "Write a synthetic viewing history (items, users, viewing_history, thumbs as CSV) or, "
      "with --shape ratings, a ratings log (ratings.csv) for demos and benchmarks");
  auto out = std::make_shared<std::string>();
  auto opts = std::make_shared<ExampleDataOptions>();
  cmd->add_option("--out", *out, "folder to write the CSV files into (created if missing)")
      ->required();
  auto shape = std::make_shared<std::string>("viewing");
  cmd->add_option("--shape", *shape,
                  "viewing: items, users, viewing_history, thumbs; ratings: ratings.csv "
                  "(userId,movieId,rating,timestamp), by default ~100k ratings over 4 years "
                  "from 2020-01-01 by 3000 users on 4000 items")
      ->capture_default_str();
  cmd->add_option("--users", opts->users, "number of users")->capture_default_str();
  cmd->add_option("--items", opts->items, "number of items")->capture_default_str();
  cmd->add_option("--days", opts->days, "number of days of events")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "random seed; the same seed gives the same files")
      ->capture_default_str();
  cmd->add_option("--start", opts->start, "first day of events, YYYY-MM-DD (UTC)")
      ->capture_default_str();
  cmd->add_option("--events-per-day", opts->events_per_day,
                  "average viewing events a day (weekends higher, weekdays lower)")
      ->capture_default_str();
  cmd->callback([&options, cmd, out, opts, shape] {
    // A shape's own defaults, for the sizes not given on the command line.
    ExampleDataOptions given = *opts;
    opts->shape = *shape;
    ApplyShapeDefaults(*opts);
    if (cmd->count("--users")) opts->users = given.users;
    if (cmd->count("--items")) opts->items = given.items;
    if (cmd->count("--days")) opts->days = given.days;
    if (cmd->count("--start")) opts->start = given.start;
    if (cmd->count("--events-per-day")) opts->events_per_day = given.events_per_day;
    options.action = [out, opts]() -> int {
      Status valid = ValidateExampleDataOptions(*opts);
      if (!valid.ok()) {
        PrintError(valid.message());
        return kExitUsage;
      }
      auto summary = WriteExampleData(*out, *opts);
      if (!summary.ok()) {
        PrintError(summary.status().message());
        return summary.status().code() == Status::Code::kInvalidArgument ? kExitUsage
                                                                         : kExitInternal;
      }
      const ExampleDataSummary& s = *summary;
      if (opts->shape == "ratings") {
        std::printf("wrote %lld ratings by %lld users on %lld items, %s..%s, to %s in %.2fs\n",
                    static_cast<long long>(s.events), static_cast<long long>(s.users),
                    static_cast<long long>(s.items), s.first_day.c_str(), s.last_day.c_str(),
                    out->c_str(), s.seconds);
        return kExitOk;
      }
      std::printf(
          "wrote %lld viewing events and %lld thumbs by %lld users on %lld items, %s..%s, to %s "
          "in %.2fs (%.0f events/s)\n",
          static_cast<long long>(s.events), static_cast<long long>(s.thumbs),
          static_cast<long long>(s.users), static_cast<long long>(s.items), s.first_day.c_str(),
          s.last_day.c_str(), out->c_str(), s.seconds,
          s.seconds > 0 ? static_cast<double>(s.events) / s.seconds : 0.0);
      return kExitOk;
    };
  });
}

}  // namespace reel::cli
