// `reel facts tables|partitions TABLE|as-of TABLE WHEN`: inspect the fact store
// (<home>/facts.db). Unknown tables and bad dates are usage errors (exit 2).
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/common.h"
#include "engine/base/csv.h"
#include "facts/fact_store.h"

namespace reel::cli {
namespace {

struct FactsArgs {
  std::string table;
  std::string when;
  std::int64_t limit = 20;
  bool count = false;
  bool json = false;
};

std::filesystem::path FactsDb(const GlobalOptions& options) {
  return std::filesystem::path(ResolveHome(options)) / "facts.db";
}

// A malformed argument exits 2; a table or fact store that does not exist, 1.
int Fail(const Status& s) { return ReportFailure(s); }

Json ValueJson(const FactRow& row, int i) {
  if (row.IsNull(i)) return nullptr;
  switch (row.schema().columns[i].type) {
    case ColumnType::kInt:
      return row.Int(i);
    case ColumnType::kFloat:
      return row.Float(i);
    case ColumnType::kTimestamp:
      return FormatIso8601Ms(row.Int(i));
    case ColumnType::kString:
      break;
  }
  return std::string(row.Text(i));
}

std::string ValueText(const FactRow& row, int i) {
  if (row.IsNull(i)) return "";
  if (row.schema().columns[i].type == ColumnType::kTimestamp) return FormatIso8601Ms(row.Int(i));
  return std::string(row.Text(i));
}

int RunTables(const GlobalOptions& options, const FactsArgs& args) {
  auto store = FactStore::Open(FactsDb(options), /*create=*/false);
  if (!store.ok() && store.status().code() == Status::Code::kNotFound) {
    if (args.json)
      std::printf("[]\n");
    else
      std::printf("no fact tables yet (%s does not exist)\n", FactsDb(options).c_str());
    return kExitOk;
  }
  if (!store.ok()) return Fail(store.status());
  auto tables = (*store)->Tables();
  if (!tables.ok()) return Fail(tables.status());
  if (args.json) {
    Json out = Json::array();
    for (const auto& t : *tables) {
      out.push_back({{"table", t.name},
                     {"kind", FactKindName(t.kind)},
                     {"partitions", t.partitions},
                     {"rows", t.rows},
                     {"first_ds", t.first_ds},
                     {"last_ds", t.last_ds},
                     {"schema", t.schema.ToJson()}});
    }
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  if (tables->empty()) {
    std::printf("no fact tables yet\n");
    return kExitOk;
  }
  std::cout << fmt::format("{:<24} {:<6} {:>10} {:>12}  {:<23}  {}\n", "TABLE", "KIND",
                           "PARTITIONS", "ROWS", "DAYS", "COLUMNS");
  for (const auto& t : *tables) {
    std::string days = t.partitions ? t.first_ds + ".." + t.last_ds : "-";
    std::cout << fmt::format("{:<24} {:<6} {:>10} {:>12}  {:<23}  {}\n", t.name,
                             FactKindName(t.kind), t.partitions, t.rows, days, t.schema.Describe());
  }
  return kExitOk;
}

int RunPartitions(const GlobalOptions& options, const FactsArgs& args) {
  auto store = FactStore::Open(FactsDb(options), /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto parts = (*store)->Partitions(args.table);
  if (!parts.ok()) return Fail(parts.status());
  if (args.json) {
    Json out = Json::array();
    for (const auto& p : *parts) {
      out.push_back({{"ds", p.ds},
                     {"kind", FactKindName(p.kind)},
                     {"rows", p.rows},
                     {"content_hash", p.content_hash},
                     {"written_at", p.written_at},
                     {"run_id", p.run_id}});
    }
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<10}  {:<5} {:>10}  {:<12}  {:<20}  {}\n", "DS", "KIND", "ROWS",
                           "SHA256", "WRITTEN_AT", "RUN_ID");
  for (const auto& p : *parts) {
    std::cout << fmt::format("{:<10}  {:<5} {:>10}  {:<12}  {:<20}  {}\n", p.ds,
                             FactKindName(p.kind), p.rows, p.content_hash.substr(0, 12),
                             p.written_at, p.run_id);
  }
  return kExitOk;
}

int RunAsOf(const GlobalOptions& options, const FactsArgs& args) {
  auto t = ParseInstant(args.when);
  if (!t.ok()) return Fail(t.status());
  if (args.limit < 0) return Fail(Status::InvalidArgument("--limit must be >= 0 (0: all rows)"));
  auto store = FactStore::Open(FactsDb(options), /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  if (args.count) {
    auto n = (*store)->CountAsOf(args.table, *t);
    if (!n.ok()) return Fail(n.status());
    std::printf("%lld\n", static_cast<long long>(*n));
    return kExitOk;
  }
  auto info = (*store)->Table(args.table);
  if (!info.ok()) return Fail(info.status());
  std::int64_t shown = 0;
  bool more = false;
  Json rows = Json::array();
  std::string line;
  if (!args.json) {
    for (std::size_t i = 0; i < info->schema.columns.size(); ++i) {
      if (i) line += ',';
      AppendCsvField(line, info->schema.columns[i].name);
    }
    std::cout << line << "\n";
  }
  Status s = (*store)->AsOf(args.table, *t, [&](const FactRow& row) {
    if (args.limit > 0 && shown == args.limit) {
      more = true;
      return false;
    }
    ++shown;
    if (args.json) {
      Json obj = Json::object();
      for (int i = 0; i < row.size(); ++i) obj[row.schema().columns[i].name] = ValueJson(row, i);
      rows.push_back(std::move(obj));
    } else {
      line.clear();
      for (int i = 0; i < row.size(); ++i) {
        if (i) line += ',';
        AppendCsvField(line, ValueText(row, i));
      }
      std::cout << line << "\n";
    }
    return true;
  });
  if (!s.ok()) return Fail(s);
  if (args.json) std::cout << JsonText(rows) << "\n";
  if (more) {
    std::fprintf(stderr,
                 "(showing the first %lld rows; --limit 0 shows all, --count counts them)\n",
                 static_cast<long long>(shown));
  }
  return kExitOk;
}

}  // namespace

void AddFactsCommand(CLI::App& app, GlobalOptions& options) {
  auto* facts = app.add_subcommand("facts", "Inspect the fact store (<home>/facts.db)");
  facts->require_subcommand(1);
  auto args = std::make_shared<FactsArgs>();

  auto* tables = facts->add_subcommand("tables", "List fact tables with their partitions");
  tables->add_flag("--json", args->json, "print JSON");
  tables->callback([&options, args] {
    options.action = [&options, args] { return RunTables(options, *args); };
  });

  auto* parts = facts->add_subcommand("partitions", "List a table's daily partitions");
  parts->add_option("TABLE", args->table, "fact table")->required();
  parts->add_flag("--json", args->json, "print JSON");
  parts->callback([&options, args] {
    options.action = [&options, args] { return RunPartitions(options, *args); };
  });

  auto* asof = facts->add_subcommand(
      "as-of",
      "Print a table as it was at an instant: events before it, or the latest state partition "
      "ending by it");
  asof->add_option("TABLE", args->table, "fact table")->required();
  asof->add_option("WHEN", args->when,
                   "YYYY-MM-DD (00:00 UTC that day) or an ISO-8601 instant such as "
                   "2024-03-01T12:00:00Z")
      ->required();
  asof->add_option("--limit", args->limit, "print at most N rows (0: all)")
      ->transform(NumberIn(0, 1e15, true))
      ->capture_default_str();
  asof->add_flag("--count", args->count, "print only the number of rows");
  asof->add_flag("--json", args->json, "print a JSON array of row objects");
  asof->callback(
      [&options, args] { options.action = [&options, args] { return RunAsOf(options, *args); }; });
}

}  // namespace reel::cli
