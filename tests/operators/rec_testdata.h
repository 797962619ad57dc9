// A small synthetic recommendation dataset with planted structure, for training tests: users
// fall into clusters, each cluster prefers one group of items. Each user has one held-out
// item from its own group; a model that learned the structure ranks it near the top, a
// popularity ranking does not.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/model_file.h"

namespace reel::testing {

struct RecTestData {
  std::string interactions_csv;                        // user_id,item_id,weight,ts
  std::string user_features_csv;                       // user_id,f0,f1 (noisy cluster signal)
  std::string item_features_csv;                       // item_id,g0,g1
  std::map<std::string, std::set<std::string>> train;  // user -> items seen in training
  std::map<std::string, std::string> holdout;          // user -> held-out item
  std::vector<std::string> items;
};

inline RecTestData MakeRecTestData(int clusters = 6, int users_per_cluster = 40,
                                   int items_per_group = 20, int per_user = 14,
                                   std::uint32_t seed = 7) {
  RecTestData d;
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.5);
  int num_items = clusters * items_per_group;
  for (int i = 0; i < num_items; ++i) d.items.push_back(fmt::format("item{:03d}", i));
  d.interactions_csv = "user_id,item_id,weight,ts\n";
  d.user_features_csv = "user_id,f0,f1\n";
  d.item_features_csv = "item_id,g0,g1\n";
  for (int i = 0; i < num_items; ++i) {
    int g = i / items_per_group;
    d.item_features_csv +=
        fmt::format("{},{:.3f},{:.3f}\n", d.items[i], g % 2 + noise(rng), g / 2 + noise(rng));
  }
  long ts = 1700000000;
  for (int c = 0; c < clusters; ++c) {
    for (int k = 0; k < users_per_cluster; ++k) {
      std::string user = fmt::format("user{:04d}", c * users_per_cluster + k);
      d.user_features_csv +=
          fmt::format("{},{:.3f},{:.3f}\n", user, c % 2 + noise(rng), c / 2 + noise(rng));
      std::vector<int> group(items_per_group);
      for (int j = 0; j < items_per_group; ++j) group[j] = c * items_per_group + j;
      std::shuffle(group.begin(), group.end(), rng);
      d.holdout[user] = d.items[group[0]];
      std::set<std::string>& seen = d.train[user];
      for (int j = 1; j <= per_user - 2; ++j) seen.insert(d.items[group[j]]);
      while (static_cast<int>(seen.size()) < per_user) {  // a little noise outside the group
        seen.insert(d.items[std::uniform_int_distribution<int>(0, num_items - 1)(rng)]);
      }
      seen.erase(d.holdout[user]);
      for (const auto& item : seen) {
        d.interactions_csv += fmt::format("{},{},1,{}\n", user, item, ts++);
      }
    }
  }
  return d;
}

// Fraction of users whose held-out item is among the model's top-k unseen items.
inline double ModelRecallAtK(const RecModel& model, const RecTestData& d, std::size_t k) {
  int hits = 0;
  for (const auto& [user, held] : d.holdout) {
    auto u = model.UserIndex(user);
    if (!u) continue;
    std::vector<std::size_t> seen;
    for (const auto& item : d.train.at(user)) {
      if (auto i = model.ItemIndex(item)) seen.push_back(*i);
    }
    for (const auto& [row, score] : model.TopK(*u, k, seen)) {
      if (model.items[row] == held) ++hits;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(d.holdout.size());
}

// The same measure for "recommend the most popular unseen items".
inline double PopularityRecallAtK(const RecTestData& d, std::size_t k) {
  std::map<std::string, int> count;
  for (const auto& [user, items] : d.train) {
    for (const auto& item : items) ++count[item];
  }
  std::vector<std::string> by_popularity = d.items;
  std::stable_sort(by_popularity.begin(), by_popularity.end(),
                   [&](const auto& a, const auto& b) { return count[a] > count[b]; });
  int hits = 0;
  for (const auto& [user, held] : d.holdout) {
    std::size_t taken = 0;
    for (const auto& item : by_popularity) {
      if (taken == k) break;
      if (d.train.at(user).count(item)) continue;
      ++taken;
      if (item == held) ++hits;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(d.holdout.size());
}

}  // namespace reel::testing
