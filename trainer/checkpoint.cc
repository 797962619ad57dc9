#include "trainer/checkpoint.h"

#include <filesystem>
#include <mutex>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "engine/base/fsutil.h"

namespace reel::trainer {

Status SaveCheckpoint(const std::string& path, TwoTower& model, torch::optim::Optimizer& optimizer,
                      const CheckpointInfo& info) {
  std::ostringstream bytes;
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive, optimizer_archive;
    model->save(model_archive);
    optimizer.save(optimizer_archive);
    archive.write("model", model_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("epochs_done", c10::IValue(static_cast<std::int64_t>(info.epochs_done)));
    archive.write("last_loss", c10::IValue(info.last_loss));
    archive.write("fingerprint", c10::IValue(info.fingerprint));
    archive.write("torch_cpu_rng", at::detail::getDefaultCPUGenerator().get_state());
    archive.save_to(bytes);
  } catch (const std::exception& e) {
    return Status::IoError(fmt::format("cannot serialize the checkpoint: {}", e.what()));
  }
  return WriteFileAtomic(path, bytes.str());
}

Result<std::optional<CheckpointInfo>> LoadCheckpoint(const std::string& path,
                                                     const std::string& fingerprint, int max_epochs,
                                                     TwoTower& model,
                                                     torch::optim::Optimizer& optimizer,
                                                     const torch::Device& device) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<CheckpointInfo>();
  CheckpointInfo info;
  // Everything is read before anything is restored: a damaged file (a crash while it was
  // written elsewhere, a bad disk) leaves the model and optimizer as they were, and training
  // starts over instead of failing every retry.
  torch::serialize::InputArchive model_archive, optimizer_archive;
  torch::Tensor rng;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    c10::IValue value;
    archive.read("fingerprint", value);
    info.fingerprint = value.toStringRef();
    archive.read("epochs_done", value);
    info.epochs_done = static_cast<int>(value.toInt());
    archive.read("last_loss", value);
    info.last_loss = value.toDouble();
    if (info.fingerprint != fingerprint || info.epochs_done > max_epochs) {
      return std::optional<CheckpointInfo>(info);
    }
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    archive.read("torch_cpu_rng", rng);
  } catch (const std::exception& e) {
    info.damaged = e.what();
    return std::optional<CheckpointInfo>(info);
  }
  try {
    model->load(model_archive);
    optimizer.load(optimizer_archive);
    at::Generator global = at::detail::getDefaultCPUGenerator();  // a handle to the shared one
    std::lock_guard<std::mutex> lock(global.mutex());
    global.set_state(rng.to(torch::kCPU));
    info.restored = true;
  } catch (const std::exception& e) {
    return Status::IoError(
        fmt::format("cannot restore the checkpoint {}: {} (delete it to start training from "
                    "scratch)",
                    path, e.what()));
  }
  return std::optional<CheckpointInfo>(info);
}

}  // namespace reel::trainer
