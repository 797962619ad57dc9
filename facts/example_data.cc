#include "facts/example_data.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include <date/date.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/base/csv.h"
#include "engine/base/fsutil.h"
#include "facts/internal/example_data_random.h"
#include "facts/time.h"

namespace reel {
using example_data::CumulativeSampler;
using example_data::Rng;
using example_data::Sigmoid;
using example_data::SplitMix64;

namespace {

const char* const kCountries[] = {"US", "GB", "DE", "FR", "BR", "IN", "JP", "CA", "MX", "ES"};
const double kCountryWeights[] = {.35, .10, .08, .07, .10, .10, .06, .05, .05, .04};
const char* const kPlans[] = {"basic", "standard", "premium"};
const double kPlanWeights[] = {.35, .45, .20};
const char* const kDevices[] = {"tv", "mobile", "web", "tablet"};
const double kDeviceWeights[] = {.45, .30, .15, .10};
const char* const kAdjectives[] = {"Silent",  "Broken",  "Golden", "Last",    "Hidden", "Midnight",
                                   "Crimson", "Endless", "Wild",   "Lost",    "Frozen", "Electric",
                                   "Quiet",   "Burning", "Secret", "Distant", "Hollow", "Brave",
                                   "Final",   "Paper",   "Iron",   "Velvet",  "Neon",   "Little"};
const char* const kNouns[] = {"Harbor",   "Kingdom",   "Signal",  "Garden",  "Summer",  "Witness",
                              "Frontier", "Orchard",   "Machine", "River",   "Empire",  "Letter",
                              "Island",   "Detective", "Road",    "Horizon", "Family",  "Engine",
                              "Mirror",   "Season",    "Circus",  "Planet",  "Promise", "Storm"};
// Weekly rhythm indexed by weekday (0 = Sunday); the mean is 1.
const double kWeekday[] = {1.12, 0.90, 0.88, 0.90, 0.95, 1.08, 1.17};
// Hour-of-day rhythm (UTC; the synthetic audience is treated as one time zone).
const double kHours[] = {0.60, 0.35, 0.20, 0.12, 0.10, 0.12, 0.20, 0.35, 0.45, 0.50, 0.55, 0.60,
                         0.70, 0.70, 0.70, 0.75, 0.85, 1.00, 1.30, 1.60, 1.80, 1.70, 1.30, 0.90};

template <std::size_t N>
int Pick(Rng& rng, const double (&weights)[N]) {
  double u = rng.Uniform();
  for (std::size_t i = 0; i < N; ++i) {
    if ((u -= weights[i]) < 0) return static_cast<int>(i);
  }
  return N - 1;
}

constexpr int kGenres = 12;
constexpr double kInClusterShare = 0.8;

}  // namespace

const std::vector<std::string>& ExampleWorld::Genres() {
  static const std::vector<std::string> genres = {"drama",       "comedy",    "action", "thriller",
                                                  "documentary", "animation", "horror", "romance",
                                                  "sci-fi",      "crime",     "family", "reality"};
  return genres;
}

bool ExampleWorld::UserLikesGenre(std::int64_t user_id, int genre) const {
  const auto& g = cluster_genres_[UserCluster(user_id)];
  return std::find(g.begin(), g.end(), genre) != g.end();
}

const std::vector<std::string>& ExampleDataShapes() {
  static const std::vector<std::string> shapes = {"viewing", "ratings"};
  return shapes;
}

void ApplyShapeDefaults(ExampleDataOptions& o) {
  if (o.shape != "ratings") return;
  // About 100k ratings over four years.
  o.users = 3000;
  o.items = 4000;
  o.days = 1461;
  o.start = "2020-01-01";
  o.events_per_day = 70;
}

Status ValidateExampleDataOptions(const ExampleDataOptions& o) {
  const auto& shapes = ExampleDataShapes();
  if (std::find(shapes.begin(), shapes.end(), o.shape) == shapes.end()) {
    return Status::InvalidArgument(
        fmt::format("--shape must be {}, got '{}'", fmt::join(shapes, " or "), o.shape));
  }
  if (o.users < 1 || o.users > 100'000'000)
    return Status::InvalidArgument("--users must be in 1..10^8");
  if (o.items < 1 || o.items > 10'000'000)
    return Status::InvalidArgument("--items must be in 1..10^7");
  if (o.days < 1 || o.days > 36600) return Status::InvalidArgument("--days must be in 1..36600");
  if (o.events_per_day < 0) return Status::InvalidArgument("--events-per-day must be >= 0");
  if (o.events_per_day * static_cast<double>(o.days) > 1e9) {
    return Status::InvalidArgument("--events-per-day x --days must be at most 10^9 events");
  }
  if (o.shape == "ratings" && o.events_per_day * static_cast<double>(o.days) > 2e8) {
    return Status::InvalidArgument(
        "--events-per-day x --days must be at most 2*10^8 ratings (they are held in memory)");
  }
  auto start = ParseDay(o.start);
  if (!start.ok()) return Status::InvalidArgument("--start: " + start.status().message());
  return Status::Ok();
}

// Builds the world (users, items, tastes) and streams the events of each day.
class ExampleGenerator {
 public:
  explicit ExampleGenerator(const ExampleDataOptions& o)
      : o_(o),
        start_(*ParseDay(o.start)),
        world_rng_(SplitMix64(o.seed ^ 0x5157)),
        event_rng_(SplitMix64(o.seed ^ 0xE7E27)) {}

  void BuildWorld();
  Result<ExampleDataSummary> Write(const std::filesystem::path& dir);
  ExampleWorld& world() { return world_; }

 private:
  struct Event {
    std::int64_t t;  // epoch seconds
    std::int32_t user, item, watch;
    std::int8_t device, thumb;
  };
  double Affinity(std::int32_t user, std::int32_t item) const;
  void GenerateDay(std::int32_t day, std::vector<Event>& events, std::vector<Event>& thumbs);

  ExampleDataOptions o_;
  std::int32_t start_;
  Rng world_rng_, event_rng_;
  ExampleWorld world_;
  int clusters_ = 0;
  // Items (0-based index = id - 1).
  std::vector<std::int32_t> release_day_, runtime_;
  std::vector<double> popularity_;
  std::vector<std::vector<double>> taste_;  // [cluster][item]: in-cluster weight, 0 off-genre
  std::vector<std::string> titles_;
  std::vector<std::int32_t> items_by_release_;
  // Users.
  std::vector<std::int32_t> signup_day_;
  std::vector<std::int8_t> country_, plan_, device_;
  std::vector<std::int32_t> users_by_signup_;
  CumulativeSampler user_sampler_;
  CumulativeSampler global_sampler_;
  std::vector<CumulativeSampler> cluster_samplers_;
};

void ExampleGenerator::BuildWorld() {
  Rng& rng = world_rng_;
  const auto n_items = static_cast<std::size_t>(o_.items);
  const auto n_users = static_cast<std::size_t>(o_.users);
  clusters_ = static_cast<int>(std::min<std::int64_t>(8, o_.users));
  std::vector<int> perm(kGenres);
  std::iota(perm.begin(), perm.end(), 0);
  for (int i = kGenres - 1; i > 0; --i) std::swap(perm[i], perm[rng.Below(i + 1)]);
  world_.cluster_genres_.assign(clusters_, {});
  for (int c = 0; c < clusters_; ++c) {
    int main = perm[c % kGenres];
    int second = main;
    while (second == main) second = static_cast<int>(rng.Below(kGenres));
    world_.cluster_genres_[c] = {main, second};
  }

  world_.item_genre_.resize(n_items);
  release_day_.resize(n_items);
  runtime_.resize(n_items);
  popularity_.resize(n_items);
  titles_.resize(n_items);
  std::vector<std::size_t> rank(n_items);
  std::iota(rank.begin(), rank.end(), 0);
  for (std::size_t i = n_items - 1; i > 0; --i) std::swap(rank[i], rank[rng.Below(i + 1)]);
  for (std::size_t i = 0; i < n_items; ++i) {
    world_.item_genre_[i] = static_cast<int>(rng.Below(kGenres));
    popularity_[i] = 1.0 / std::pow(static_cast<double>(rank[i] + 1), 0.9);
    bool catalog = i == 0 || rng.Chance(0.75);
    release_day_[i] = catalog ? start_ - 1 - static_cast<std::int32_t>(rng.Below(3 * 365))
                              : start_ + static_cast<std::int32_t>(rng.Below(o_.days));
    runtime_[i] = 60 * (20 + static_cast<std::int32_t>(rng.Below(100)));
    std::string title = fmt::format("{} {}", kAdjectives[rng.Below(24)], kNouns[rng.Below(24)]);
    double u = rng.Uniform();
    if (u < 0.12)
      title += fmt::format(", Part {}", 2 + rng.Below(4));
    else if (u < 0.16)
      title = fmt::format("The \"{}\"", title);
    titles_[i] = std::move(title);
  }
  taste_.assign(clusters_, std::vector<double>(n_items, 0.0));
  for (int c = 0; c < clusters_; ++c) {
    const auto& genres = world_.cluster_genres_[c];
    for (std::size_t i = 0; i < n_items; ++i) {
      int g = world_.item_genre_[i];
      double noise = std::exp(0.8 * rng.Normal());
      if (g == genres[0])
        taste_[c][i] = 1.5 * noise;
      else if (g == genres[1])
        taste_[c][i] = noise;
    }
  }
  items_by_release_.resize(n_items);
  std::iota(items_by_release_.begin(), items_by_release_.end(), 0);
  std::stable_sort(items_by_release_.begin(), items_by_release_.end(),
                   [&](int a, int b) { return release_day_[a] < release_day_[b]; });

  world_.user_cluster_.resize(n_users);
  signup_day_.resize(n_users);
  country_.resize(n_users);
  plan_.resize(n_users);
  device_.resize(n_users);
  std::vector<double> activity(n_users);
  for (std::size_t u = 0; u < n_users; ++u) {
    world_.user_cluster_[u] = static_cast<int>(rng.Below(clusters_));
    bool existing = u == 0 || rng.Chance(0.8);
    signup_day_[u] = existing ? start_ - 1 - static_cast<std::int32_t>(rng.Below(2 * 365))
                              : start_ + static_cast<std::int32_t>(rng.Below(o_.days));
    country_[u] = static_cast<std::int8_t>(Pick(rng, kCountryWeights));
    plan_[u] = static_cast<std::int8_t>(Pick(rng, kPlanWeights));
    device_[u] = static_cast<std::int8_t>(Pick(rng, kDeviceWeights));
    activity[u] = std::exp(1.0 * rng.Normal());
  }
  users_by_signup_.resize(n_users);
  std::iota(users_by_signup_.begin(), users_by_signup_.end(), 0);
  std::stable_sort(users_by_signup_.begin(), users_by_signup_.end(),
                   [&](int a, int b) { return signup_day_[a] < signup_day_[b]; });
  std::vector<double> ordered(n_users);
  for (std::size_t k = 0; k < n_users; ++k) ordered[k] = activity[users_by_signup_[k]];
  user_sampler_.Assign(ordered);
  global_sampler_.Assign(std::vector<double>(n_items, 0.0));
  cluster_samplers_.resize(clusters_);
  for (auto& s : cluster_samplers_) s.Assign(std::vector<double>(n_items, 0.0));
}

double ExampleGenerator::Affinity(std::int32_t user, std::int32_t item) const {
  const auto& genres = world_.cluster_genres_[world_.user_cluster_[user]];
  int g = world_.item_genre_[item];
  if (g == genres[0]) return 1.2;
  if (g == genres[1]) return 0.9;
  return -0.6;
}

void ExampleGenerator::GenerateDay(std::int32_t day, std::vector<Event>& events,
                                   std::vector<Event>& thumbs) {
  events.clear();
  thumbs.clear();
  Rng& rng = event_rng_;
  auto n_rel = static_cast<std::size_t>(
      std::upper_bound(items_by_release_.begin(), items_by_release_.end(), day,
                       [&](std::int32_t d, int i) { return d < release_day_[i]; }) -
      items_by_release_.begin());
  auto n_usr = static_cast<std::size_t>(
      std::upper_bound(users_by_signup_.begin(), users_by_signup_.end(), day,
                       [&](std::int32_t d, int u) { return d < signup_day_[u]; }) -
      users_by_signup_.begin());
  // Day-specific item weights: popularity with a launch boost that fades over ~a week.
  double global_sum = 0;
  std::vector<double> cluster_sum(clusters_, 0.0);
  for (std::size_t k = 0; k < n_rel; ++k) {
    int i = items_by_release_[k];
    double age = day - release_day_[i];
    double w =
        popularity_[i] * (release_day_[i] >= start_ ? 1.0 + 4.0 * std::exp(-age / 7.0) : 1.0);
    global_sampler_.cumulative()[k] = (global_sum += w);
    for (int c = 0; c < clusters_; ++c) {
      cluster_samplers_[c].cumulative()[k] = (cluster_sum[c] += w * taste_[c][i]);
    }
  }
  if (n_rel == 0 || n_usr == 0) return;
  int weekday = static_cast<int>(date::weekday(date::sys_days(date::days(day))).c_encoding());
  double expected =
      static_cast<double>(o_.events_per_day) * kWeekday[weekday] * std::exp(0.05 * rng.Normal());
  auto n = static_cast<std::int64_t>(expected + 0.5);
  static const double hour_total = std::accumulate(std::begin(kHours), std::end(kHours), 0.0);
  const std::int64_t day_start = std::int64_t{day} * 86400;
  for (std::int64_t e = 0; e < n; ++e) {
    Event ev{};
    ev.user = users_by_signup_[user_sampler_.Sample(rng, n_usr)];
    int c = world_.user_cluster_[ev.user];
    bool in_cluster = cluster_sum[c] > 0 && rng.Chance(kInClusterShare);
    std::size_t k =
        in_cluster ? cluster_samplers_[c].Sample(rng, n_rel) : global_sampler_.Sample(rng, n_rel);
    ev.item = items_by_release_[k];
    double h = rng.Uniform() * hour_total;
    int hour = 0;
    while (hour < 23 && (h -= kHours[hour]) >= 0) ++hour;
    ev.t = day_start + hour * 3600 + static_cast<std::int64_t>(rng.Below(3600));
    double a = Affinity(ev.user, ev.item);
    double frac = Sigmoid(1.5 * a - 0.3 + 0.7 * rng.Normal());
    ev.watch = std::clamp(static_cast<std::int32_t>(runtime_[ev.item] * frac + 0.5), 30,
                          runtime_[ev.item]);
    ev.device =
        rng.Chance(0.7) ? device_[ev.user] : static_cast<std::int8_t>(Pick(rng, kDeviceWeights));
    events.push_back(ev);
    if (rng.Chance(0.12)) {
      Event th = ev;
      th.t = ev.t + ev.watch + static_cast<std::int64_t>(rng.Below(300));
      th.thumb = rng.Uniform() < Sigmoid(2.5 * a + 0.6 * rng.Normal()) ? 1 : -1;
      thumbs.push_back(th);
    }
  }
  auto by_time = [](const Event& x, const Event& y) {
    if (x.t != y.t) return x.t < y.t;
    if (x.user != y.user) return x.user < y.user;
    return x.item < y.item;
  };
  std::stable_sort(events.begin(), events.end(), by_time);
  std::stable_sort(thumbs.begin(), thumbs.end(), by_time);
}

namespace {

// Buffers CSV text and streams it to an AtomicFile in large writes.
class BufferedCsv {
 public:
  explicit BufferedCsv(AtomicFile file) : file_(std::move(file)) { buf_.reserve(kChunk + 4096); }
  std::string& buf() { return buf_; }
  Status MaybeFlush() { return buf_.size() >= kChunk ? Flush() : Status::Ok(); }
  Status Commit(const std::filesystem::path& target) {
    REEL_RETURN_IF_ERROR(Flush());
    return file_.Commit(target);
  }
  void Int(std::int64_t v) {
    fmt::format_int f(v);
    buf_.append(f.data(), f.size());
  }
  void Time(std::int64_t t) {  // epoch seconds -> ISO-8601 UTC
    std::int32_t day = DayOfMs(t * 1000);
    if (day != cached_day_) {
      cached_day_ = day;
      day_text_ = FormatDay(day) + "T";
    }
    int s = static_cast<int>(t - std::int64_t{day} * 86400);
    char hms[10] = {
        static_cast<char>('0' + s / 36000),   static_cast<char>('0' + s / 3600 % 10), ':',
        static_cast<char>('0' + s / 600 % 6), static_cast<char>('0' + s / 60 % 10),   ':',
        static_cast<char>('0' + s % 60 / 10), static_cast<char>('0' + s % 10),        'Z'};
    buf_.append(day_text_);
    buf_.append(hms, 9);
  }

 private:
  static constexpr std::size_t kChunk = 1 << 20;
  Status Flush() {
    REEL_RETURN_IF_ERROR(file_.Append(buf_));
    buf_.clear();
    return Status::Ok();
  }
  AtomicFile file_;
  std::string buf_;
  std::int32_t cached_day_ = INT32_MIN;
  std::string day_text_;
};

Result<BufferedCsv> OpenCsv(const std::filesystem::path& dir, std::string_view header) {
  REEL_ASSIGN_OR_RETURN(auto file, AtomicFile::Create(dir));
  BufferedCsv out(std::move(file));
  out.buf().append(header);
  return out;
}

}  // namespace

Result<ExampleDataSummary> ExampleGenerator::Write(const std::filesystem::path& dir) {
  auto started = std::chrono::steady_clock::now();
  REEL_RETURN_IF_ERROR(MakeDirs(dir));
  const auto& genres = ExampleWorld::Genres();
  REEL_ASSIGN_OR_RETURN(auto items,
                        OpenCsv(dir, "item_id,title,genre,release_date,runtime_seconds\n"));
  for (std::size_t i = 0; i < titles_.size(); ++i) {
    std::string& b = items.buf();
    items.Int(static_cast<std::int64_t>(i + 1));
    b += ',';
    AppendCsvField(b, titles_[i]);
    b += ',';
    b += genres[world_.item_genre_[i]];
    b += ',';
    b += FormatDay(release_day_[i]);
    b += ',';
    items.Int(runtime_[i]);
    b += '\n';
    REEL_RETURN_IF_ERROR(items.MaybeFlush());
  }
  REEL_ASSIGN_OR_RETURN(auto users,
                        OpenCsv(dir, "user_id,signup_date,country,plan,preferred_device\n"));
  for (std::size_t u = 0; u < signup_day_.size(); ++u) {
    std::string& b = users.buf();
    users.Int(static_cast<std::int64_t>(u + 1));
    b += ',';
    b += FormatDay(signup_day_[u]);
    b += ',';
    b += kCountries[country_[u]];
    b += ',';
    b += kPlans[plan_[u]];
    b += ',';
    b += kDevices[device_[u]];
    b += '\n';
    REEL_RETURN_IF_ERROR(users.MaybeFlush());
  }
  REEL_ASSIGN_OR_RETURN(auto views,
                        OpenCsv(dir, "event_id,user_id,item_id,event_time,watch_seconds,device\n"));
  REEL_ASSIGN_OR_RETURN(auto thumbs, OpenCsv(dir, "user_id,item_id,event_time,thumb\n"));

  ExampleDataSummary summary;
  std::vector<Event> events, day_thumbs;
  for (std::int32_t d = 0; d < o_.days; ++d) {
    GenerateDay(start_ + d, events, day_thumbs);
    for (const Event& ev : events) {
      std::string& b = views.buf();
      views.Int(++summary.events);
      b += ',';
      views.Int(ev.user + 1);
      b += ',';
      views.Int(ev.item + 1);
      b += ',';
      views.Time(ev.t);
      b += ',';
      views.Int(ev.watch);
      b += ',';
      b += kDevices[ev.device];
      b += '\n';
      REEL_RETURN_IF_ERROR(views.MaybeFlush());
    }
    for (const Event& th : day_thumbs) {
      std::string& b = thumbs.buf();
      thumbs.Int(th.user + 1);
      b += ',';
      thumbs.Int(th.item + 1);
      b += ',';
      thumbs.Time(th.t);
      b += th.thumb > 0 ? ",1\n" : ",-1\n";
      ++summary.thumbs;
      REEL_RETURN_IF_ERROR(thumbs.MaybeFlush());
    }
  }
  REEL_RETURN_IF_ERROR(items.Commit(dir / "items.csv"));
  REEL_RETURN_IF_ERROR(users.Commit(dir / "users.csv"));
  REEL_RETURN_IF_ERROR(views.Commit(dir / "viewing_history.csv"));
  REEL_RETURN_IF_ERROR(thumbs.Commit(dir / "thumbs.csv"));
  summary.users = o_.users;
  summary.items = o_.items;
  summary.first_day = FormatDay(start_);
  summary.last_day = FormatDay(start_ + o_.days - 1);
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

Result<ExampleDataSummary> WriteExampleData(const std::filesystem::path& out_dir,
                                            const ExampleDataOptions& options) {
  REEL_RETURN_IF_ERROR(ValidateExampleDataOptions(options));
  if (options.shape == "ratings") return WriteRatingsData(out_dir, options);
  ExampleGenerator gen(options);
  gen.BuildWorld();
  return gen.Write(out_dir);
}

Result<ExampleWorld> ExampleWorld::Build(const ExampleDataOptions& options) {
  REEL_RETURN_IF_ERROR(ValidateExampleDataOptions(options));
  ExampleGenerator gen(options);
  gen.BuildWorld();
  return std::move(gen.world());
}

}  // namespace reel
