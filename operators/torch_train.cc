#include "operators/torch_train.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <system_error>

#include "engine/base/fsutil.h"
#include "engine/base/json.h"
#include "engine/base/process.h"
#include "operators/torch_train_ranks.h"

namespace reel {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWorkerName = "reel-train-worker";
constexpr int kMaxWorldSize = 64;

// Reads the JSON-lines metrics file that rank 0 appends to, from where the last call stopped,
// and records each complete line as metrics of the attempt.
class MetricsTail {
 public:
  explicit MetricsTail(fs::path path) : path_(std::move(path)) {}

  void Poll(Context& ctx) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), {});
    offset_ += chunk.size();
    partial_ += chunk;
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      Record(ctx, partial_.substr(start, nl - start));
    }
    partial_.erase(0, start);
  }

  int epochs_seen() const { return epochs_seen_; }

 private:
  void Record(Context& ctx, const std::string& line) {
    if (JsonTextDepth(line) > kMaxJsonDepth) return;  // not a metrics line
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("epoch")) return;
    auto epoch = j["epoch"].get<std::int64_t>();
    if (j.contains("loss") && j["loss"].is_number()) {
      ctx.LogMetric("train.loss", j["loss"].get<double>(), epoch);
    }
    if (j.contains("examples_per_s") && j["examples_per_s"].is_number()) {
      ctx.LogMetric("train.examples_per_s", j["examples_per_s"].get<double>(), epoch);
    }
    ++epochs_seen_;
  }

  fs::path path_;
  std::size_t offset_ = 0;
  std::string partial_;
  int epochs_seen_ = 0;
};

// The rendered config, with the schema's defaults for absent keys and types checked (the engine
// does both before Execute; this keeps the operator safe when called directly).
class Settings {
 public:
  explicit Settings(const Json& config) : config_(config) {}

  Result<std::int64_t> Int(const std::string& key, std::int64_t def, std::int64_t min,
                           std::int64_t max) const {
    auto it = config_.find(key);
    if (it == config_.end() || it->is_null()) return def;
    if (!it->is_number_integer()) return Bad(key, "an integer", *it);
    auto v = it->get<std::int64_t>();
    if (v < min || v > max) {
      return Status::InvalidArgument(
          fmt::format("torch_train: `{}` must be in [{}, {}], got {}", key, min, max, v));
    }
    return v;
  }
  Result<double> Float(const std::string& key, double def, double min, bool min_open) const {
    auto it = config_.find(key);
    if (it == config_.end() || it->is_null()) return def;
    if (!it->is_number()) return Bad(key, "a number", *it);
    double v = it->get<double>();
    if (v < min || (min_open && v == min)) {
      return Status::InvalidArgument(fmt::format("torch_train: `{}` must be {} {}, got {}", key,
                                                 min_open ? ">" : ">=", min, v));
    }
    return v;
  }
  Result<std::string> String(const std::string& key, const std::string& def) const {
    auto it = config_.find(key);
    if (it == config_.end() || it->is_null()) return def;
    if (!it->is_string()) return Bad(key, "a string", *it);
    return it->get<std::string>();
  }

 private:
  static Status Bad(const std::string& key, const char* want, const Json& got) {
    return Status::InvalidArgument(
        fmt::format("torch_train: `{}` must be {}, got {}", key, want, got.dump()));
  }
  const Json& config_;
};

// An input named by an artifact uri, or (for hand-written workflows) a plain file path.
Result<fs::path> ResolveInput(Context& ctx, const std::string& key, const std::string& value) {
  auto path = ctx.ArtifactPath(value);
  if (path.ok()) return path;
  bool has_scheme = value.find(':') != std::string::npos;
  std::error_code ec;
  if (!has_scheme && fs::is_regular_file(value, ec)) return fs::absolute(value);
  return Status::NotFound(
      fmt::format("torch_train: `{}`: {} (pass the uri of an upstream output, e.g. "
                  "\"{{{{ steps.features.outputs.interactions }}}}\", or the path of a CSV file)",
                  key, path.status().message()));
}

// Builds the worker's job description (trainer/train_config.h) from the step's settings.
Result<Json> BuildJob(Context& ctx, const fs::path& attempt_dir, const fs::path& checkpoint_dir) {
  Settings s(ctx.config());
  Json job = Json::object();
  std::string interactions, user_features, item_features, loss, model_name;
  REEL_ASSIGN_OR_RETURN(interactions, s.String("interactions", ""));
  if (interactions.empty()) {
    return Status::InvalidArgument("torch_train: `interactions` is required (an artifact uri)");
  }
  REEL_ASSIGN_OR_RETURN(user_features, s.String("user_features", ""));
  REEL_ASSIGN_OR_RETURN(item_features, s.String("item_features", ""));
  Json trained_on = {{"interactions", interactions}};
  for (auto* input : {&interactions, &user_features, &item_features}) {
    if (input->empty()) continue;
    const char* key = input == &interactions    ? "interactions"
                      : input == &user_features ? "user_features"
                                                : "item_features";
    fs::path path;
    REEL_ASSIGN_OR_RETURN(path, ResolveInput(ctx, key, *input));
    job[key] = path.string();
    trained_on[key] = *input;
  }
  std::int64_t v = 0;
  REEL_ASSIGN_OR_RETURN(v, s.Int("epochs", 5, 0, 100000));
  job["epochs"] = v;
  REEL_ASSIGN_OR_RETURN(v, s.Int("batch_size", 512, 1, 1 << 24));
  job["batch_size"] = v;
  REEL_ASSIGN_OR_RETURN(v, s.Int("dim", 32, 1, 4096));
  job["dim"] = v;
  REEL_ASSIGN_OR_RETURN(v, s.Int("threads", 1, 1, 256));
  job["threads"] = v;
  REEL_ASSIGN_OR_RETURN(v, s.Int("seed", 42, 0, INT64_MAX));
  job["seed"] = v;
  REEL_ASSIGN_OR_RETURN(v, s.Int("world_size", 1, 1, kMaxWorldSize));
  job["world_size"] = v;
  REEL_ASSIGN_OR_RETURN(v, s.Int("negatives", 4, 1, 100000));
  job["negatives"] = v;
  REEL_ASSIGN_OR_RETURN(v, s.Int("gpus", 0, 0, 1024));
  job["device"] = v > 0 ? "cuda" : "cpu";
  double f = 0;
  REEL_ASSIGN_OR_RETURN(f, s.Float("lr", 0.05, 0.0, /*min_open=*/true));
  job["lr"] = f;
  REEL_ASSIGN_OR_RETURN(f, s.Float("weight_decay", 0.0, 0.0, /*min_open=*/false));
  job["weight_decay"] = f;
  REEL_ASSIGN_OR_RETURN(f, s.Float("feature_clip", 5.0, 0.0, /*min_open=*/true));
  job["feature_clip"] = f;
  REEL_ASSIGN_OR_RETURN(v, s.Int("uniform_negatives", 0, 0, 1000000));
  job["uniform_negatives"] = v;
  const Json& logq =
      ctx.config().contains("logq_correction") ? ctx.config()["logq_correction"] : Json(true);
  if (!logq.is_boolean()) {
    return Status::InvalidArgument("torch_train: `logq_correction` must be true or false, got " +
                                   logq.dump());
  }
  job["logq_correction"] = logq.get<bool>();
  REEL_ASSIGN_OR_RETURN(loss, s.String("loss", "softmax"));
  if (loss != "softmax" && loss != "bpr") {
    return Status::InvalidArgument(
        fmt::format("torch_train: `loss` must be softmax or bpr, got \"{}\"", loss));
  }
  job["loss"] = loss;
  REEL_ASSIGN_OR_RETURN(model_name, s.String("model_name", ctx.workflow_name()));
  std::string kind;
  REEL_ASSIGN_OR_RETURN(kind, s.String("model", "two_tower"));
  if (kind != "two_tower" && kind != "item_knn" && kind != "ease") {
    return Status::InvalidArgument(
        fmt::format("torch_train: `model` must be two_tower, item_knn or ease, got \"{}\"", kind));
  }
  job["model"] = kind;
  REEL_ASSIGN_OR_RETURN(v, s.Int("neighbors", 100, 1, 1000000));
  job["neighbors"] = v;
  REEL_ASSIGN_OR_RETURN(f, s.Float("shrinkage", 10.0, 0.0, /*min_open=*/false));
  job["shrinkage"] = f;
  REEL_ASSIGN_OR_RETURN(f, s.Float("lambda", 500.0, 0.0, /*min_open=*/true));
  job["ease_lambda"] = f;

  job["master_addr"] = "127.0.0.1";
  job["master_port"] = 0;
  if (job["world_size"].get<int>() > 1) {
    int port = 0;
    REEL_ASSIGN_OR_RETURN(port, PickFreeLocalPort());
    job["master_port"] = port;
  }
  job["checkpoint_dir"] = checkpoint_dir.string();
  job["resume"] = ctx.attempt() > 1;
  job["metrics_path"] = (attempt_dir / "metrics.jsonl").string();
  job["model_path"] = (attempt_dir / "model.reelmdl").string();
  job["result_path"] = (attempt_dir / "result.json").string();
  trained_on["workflow"] = ctx.workflow_name();
  trained_on["run_id"] = ctx.run_id();
  trained_on["step"] = ctx.step_name();
  trained_on["logical_date"] = ctx.logical_date();
  job["model_header"] = {{"model_name", model_name}, {"trained_on", trained_on}};
  return job;
}

Status ResetDir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot clear {}: {}", dir.string(), ec.message()));
  return MakeDirs(dir);
}

}  // namespace

OperatorInfo TorchTrainOperator::Info() {
  OperatorInfo info;
  info.name = "torch_train";
  info.description =
      "Trains a recommender: a two-tower model with LibTorch, data-parallel over world_size "
      "processes (Gloo on CPU, NCCL on GPUs), checkpointed every epoch and resumed on retry; or "
      "the classical item_knn or ease, in closed form. Outputs: model (artifact), final_loss, "
      "epochs, examples_per_s.";
  info.config = {
      {"interactions", ConfigType::kString, true, nullptr,
       "artifact uri of a CSV with user_id,item_id[,weight][,ts]"},
      {"user_features", ConfigType::kString, false, nullptr,
       "artifact uri of a CSV user_id,<numeric columns...>"},
      {"item_features", ConfigType::kString, false, nullptr,
       "artifact uri of a CSV item_id,<numeric columns...>"},
      {"epochs", ConfigType::kInt, false, 5, "passes over the data; 0 gives an untrained model"},
      {"batch_size", ConfigType::kInt, false, 512, "examples per rank per step"},
      {"lr", ConfigType::kFloat, false, 0.05, "Adagrad learning rate"},
      {"dim", ConfigType::kInt, false, 32, "embedding dimension"},
      {"threads", ConfigType::kInt, false, 1, "intra-op threads per rank"},
      {"seed", ConfigType::kInt, false, 42, "seeds initialization, shuffles and negatives"},
      {"world_size", ConfigType::kInt, false, 1, "number of data-parallel rank processes"},
      {"loss", ConfigType::kString, false, "softmax",
       "softmax (in-batch negatives) or bpr (sampled negatives)"},
      {"negatives", ConfigType::kInt, false, 4, "sampled negatives per positive (bpr)"},
      {"weight_decay", ConfigType::kFloat, false, 0.0, "L2 penalty"},
      {"logq_correction", ConfigType::kBool, false, true,
       "softmax: correct each logit by the log of its item's sampling probability (removes "
       "the in-batch popularity bias)"},
      {"uniform_negatives", ConfigType::kInt, false, 0,
       "softmax: items drawn uniformly per batch, added to the in-batch negatives"},
      {"feature_clip", ConfigType::kFloat, false, 5.0,
       "features are log1p-scaled, standardized, then clipped to [-clip, clip]"},
      {"gpus", ConfigType::kInt, false, 0,
       "GPUs per rank; > 0 trains on CUDA with NCCL when LibTorch has CUDA"},
      {"model_name", ConfigType::kString, false, nullptr, "defaults to the workflow name"},
      {"model", ConfigType::kString, false, "two_tower",
       "two_tower (learnt embeddings), item_knn (cosine item neighbours) or ease (closed-form "
       "linear item-item model); the classical ones are computed in one pass, no epochs"},
      {"neighbors", ConfigType::kInt, false, 100, "item_knn: neighbours kept per item"},
      {"shrinkage", ConfigType::kFloat, false, 10.0,
       "item_knn: added to the cosine's denominator, damping pairs seen together rarely"},
      {"lambda", ConfigType::kFloat, false, 500.0, "ease: L2 regularization of the weights"},
  };
  info.example =
      "train:\n"
      "  operator: torch_train\n"
      "  needs: [features]\n"
      "  with:\n"
      "    interactions: \"{{ steps.features.outputs.interactions }}\"\n"
      "    item_features: \"{{ steps.features.outputs.item_features }}\"\n"
      "    epochs: \"{{ params.epochs }}\"\n"
      "    world_size: 2\n";
  info.declares_outputs = true;
  info.outputs = {
      {.name = "model",
       .type = ConfigType::kString,
       .description = "artifact uri of the trained model file"},
      {.name = "final_loss",
       .type = ConfigType::kFloat,
       .description = "the last epoch's mean loss"},
      {.name = "epochs", .type = ConfigType::kInt, .description = "epochs trained"},
      {.name = "examples_per_s", .type = ConfigType::kFloat, .description = "training throughput"},
  };
  info.artifacts = {"model"};
  return info;
}

Result<fs::path> FindTrainWorker() {
  fs::path worker;
  if (const char* env = std::getenv("REEL_TRAIN_WORKER"); env != nullptr && *env != '\0') {
    worker = env;
  } else {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return Status::Internal("torch_train: cannot read /proc/self/exe: " + ec.message());
    worker = self.parent_path() / kWorkerName;
  }
  if (::access(worker.c_str(), X_OK) != 0) {
    return Status::NotFound(fmt::format(
        "reel was built without LibTorch (REEL_WITH_TORCH=OFF): torch_train is unavailable "
        "(no executable {}; build reel with LibTorch installed, or point REEL_TRAIN_WORKER at a "
        "reel-train-worker)",
        worker.string()));
  }
  return worker;
}

// Runs `argv` and returns what it printed; an error when it fails.
Result<std::string> Capture(const std::vector<std::string>& argv) {
  ProcessSpec spec;
  spec.argv = argv;
  REEL_ASSIGN_OR_RETURN(CapturedRun run, RunToCompletion(std::move(spec)));
  if (run.exit_code != 0) {
    return Status::Failed(fmt::format("{} exited {}: {}", argv[0], run.exit_code, run.output));
  }
  return run.output;
}

// Inside a Slurm job of several tasks (the Slurm executor runs the operator in the job's batch
// step, on its first node): the ranks are the job's tasks, started by one srun, and rendezvous
// at this node, which runs task 0. Nullopt outside such a job.
struct SlurmRanks {
  int tasks = 0;
  std::string master_addr;  // the first node's address, as Slurm reaches it (NodeAddr)
};

Result<std::optional<SlurmRanks>> FindSlurmRanks() {
  const char* executor = std::getenv("REEL_EXECUTOR");
  const char* ntasks = std::getenv("SLURM_NTASKS");
  const char* nodelist = std::getenv("SLURM_JOB_NODELIST");
  if (executor == nullptr || std::string_view(executor) != "slurm" || ntasks == nullptr ||
      nodelist == nullptr) {
    return std::optional<SlurmRanks>();
  }
  SlurmRanks ranks;
  ranks.tasks = std::atoi(ntasks);
  if (ranks.tasks <= 1) return std::optional<SlurmRanks>();
  REEL_ASSIGN_OR_RETURN(std::string hosts, Capture({"scontrol", "show", "hostnames", nodelist}));
  std::string first = hosts.substr(0, hosts.find('\n'));
  REEL_ASSIGN_OR_RETURN(std::string node,
                        Capture({"scontrol", "show", "node", "--oneliner", first}));
  ranks.master_addr = first;
  size_t at = node.find("NodeAddr=");
  if (at != std::string::npos) {
    at += 9;
    ranks.master_addr = node.substr(at, node.find_first_of(" \n", at) - at);
  }
  return std::optional<SlurmRanks>(ranks);
}

Status TorchTrainOperator::Execute(Context& ctx) {
  fs::path root = ctx.work_dir() / "torch_train";
  fs::path checkpoint_dir = root / "checkpoints";
  fs::path attempt_dir = root / fmt::format("attempt-{}", ctx.attempt());
  REEL_ASSIGN_OR_RETURN(auto job, BuildJob(ctx, attempt_dir, checkpoint_dir));
  REEL_ASSIGN_OR_RETURN(auto worker, FindTrainWorker());
  REEL_ASSIGN_OR_RETURN(auto slurm, FindSlurmRanks());
  if (slurm) {
    if (ctx.config().contains("world_size") && job["world_size"].get<int>() != slurm->tasks) {
      return Status::InvalidArgument(fmt::format(
          "torch_train: world_size {} differs from the Slurm job's {} tasks (one rank per "
          "task: set resources.nodes x tasks_per_node to {}, or drop world_size)",
          job["world_size"].get<int>(), slurm->tasks, job["world_size"].get<int>()));
    }
    job["world_size"] = slurm->tasks;
    job["master_addr"] = slurm->master_addr;
    REEL_ASSIGN_OR_RETURN(int port, PickFreeLocalPort());
    job["master_port"] = port;
  }
  REEL_RETURN_IF_ERROR(ResetDir(attempt_dir));
  // A first attempt starts from scratch; only retries resume.
  if (ctx.attempt() <= 1) REEL_RETURN_IF_ERROR(ResetDir(checkpoint_dir));
  REEL_RETURN_IF_ERROR(MakeDirs(checkpoint_dir));
  fs::path config_path = attempt_dir / "config.json";
  REEL_RETURN_IF_ERROR(WriteFileAtomic(config_path, job.dump(2) + "\n"));

  int world_size = job["world_size"].get<int>();
  ctx.Info("torch_train: {} rank(s) of {}, {} epochs, device {}", world_size, worker.string(),
           job["epochs"].get<int>(), job["device"].get<std::string>());
  MetricsTail metrics(attempt_dir / "metrics.jsonl");
  RankJob ranks;
  ranks.worker = worker;
  ranks.config = config_path;
  ranks.world_size = world_size;
  if (slurm) {
    // One task per rank, across the job's nodes; one failing rank stops the others.
    ranks.launcher = {"srun", fmt::format("--ntasks={}", world_size), "--kill-on-bad-exit=1",
                      "--unbuffered"};
    ctx.Info("torch_train: {} ranks as the tasks of Slurm job {}, rendezvous at {}:{}", world_size,
             std::getenv("SLURM_JOB_ID") ? std::getenv("SLURM_JOB_ID") : "?",
             job["master_addr"].get<std::string>(), job["master_port"].get<int>());
  }
  ranks.on_poll = [&] { metrics.Poll(ctx); };
  REEL_RETURN_IF_ERROR(RunRanks(ctx, ranks));
  metrics.Poll(ctx);

  auto result_text = ReadFileToString(attempt_dir / "result.json");
  if (!result_text.ok()) {
    return Status::Internal("torch_train: the ranks finished without a result: " +
                            result_text.status().message());
  }
  Json result = JsonTextDepth(*result_text) > kMaxJsonDepth
                    ? Json()
                    : Json::parse(*result_text, nullptr, /*allow_exceptions=*/false);
  if (!result.is_object()) return Status::Internal("torch_train: result.json is not a JSON object");
  REEL_ASSIGN_OR_RETURN(auto model, ctx.PutArtifact("model", attempt_dir / "model.reelmdl"));
  ctx.SetOutput("model", model.uri);
  ctx.SetOutput("final_loss", result.value("final_loss", Json()));
  ctx.SetOutput("epochs", result.value("epochs", 0));
  ctx.SetOutput("examples_per_s", result.value("examples_per_s", Json()));
  if (result["final_loss"].is_number())
    ctx.LogMetric("train.final_loss", result["final_loss"].get<double>());
  ctx.Info("torch_train: model {} ({} users, {} items), final loss {}, resumed from epoch {}",
           model.uri, result.value("num_users", 0), result.value("num_items", 0),
           result.value("final_loss", Json()).dump(), result.value("resumed_from_epoch", 0));
  return Status::Ok();
}

}  // namespace reel
