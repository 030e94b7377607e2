#include "base/logging.h"

#include <atomic>
#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/json_escape.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace sprout::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

// zap names its levels "debug", "info", "warn", "error"; spdlog says "warning", so the level
// column is written by this flag formatter.
class ZapLevelFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view name = "info";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        name = "debug";
        break;
      case spdlog::level::warn:
        name = "warn";
        break;
      case spdlog::level::err:
      case spdlog::level::critical:
        name = "error";
        break;
      default:
        break;
    }
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<ZapLevelFlag>();
  }
};

spdlog::logger& Sink() {
  static spdlog::logger* logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<ZapLevelFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ\t%*\t%v");
    sink->set_formatter(std::move(formatter));
    auto* l = new spdlog::logger("sprout", sink);
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

void AppendField(const Field& f, bool first, std::string* out) {
  if (!first) *out += ", ";
  AppendJsonString(f.key, out);
  *out += ": ";
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          AppendJsonString(v, out);
        } else if constexpr (std::is_same_v<T, bool>) {
          *out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            absl::StrAppend(out, v);
          } else {
            AppendJsonString(std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"), out);
          }
        } else {
          absl::StrAppend(out, v);
        }
      },
      f.value);
}

}  // namespace

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }
Level GetLevel() { return g_level.load(std::memory_order_relaxed); }

bool ParseLevel(std::string_view text, Level* level) {
  const std::string lower = absl::AsciiStrToLower(absl::string_view(text.data(), text.size()));
  if (lower == "debug")
    *level = Level::kDebug;
  else if (lower == "info")
    *level = Level::kInfo;
  else if (lower == "warn")
    *level = Level::kWarn;
  else if (lower == "error")
    *level = Level::kError;
  else
    return false;
  return true;
}

Logger Logger::With(Fields more) const {
  Fields all;
  if (fields_) all = *fields_;
  for (auto& f : more) all.push_back(std::move(f));
  return Logger(std::move(all));
}

void AppendFieldsJson(const Fields& a, const Fields& b, std::string* out) {
  *out += "{";
  bool first = true;
  for (const Field& f : a) {
    AppendField(f, first, out);
    first = false;
  }
  for (const Field& f : b) {
    AppendField(f, first, out);
    first = false;
  }
  *out += "}";
}

void Logger::Log(Level level, std::string_view msg, const Fields& fields) const {
  if (!Enabled(level) || level == Level::kOff) return;
  std::string line(msg);
  static const Fields kNone;
  const Fields& own = fields_ ? *fields_ : kNone;
  if (!own.empty() || !fields.empty()) {
    line += "\t";
    AppendFieldsJson(own, fields, &line);
  }
  Sink().log(ToSpd(level), spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace sprout::log
