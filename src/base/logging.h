// Structured logging in the Collector's console shape:
//   2026-11-25T10:00:00.123Z<TAB>info<TAB>message<TAB>{"key": "value", "n": 3}
//
// Thread-safe: any thread may log through any Logger. Loggers are cheap values; `With` makes a
// child carrying extra fields (component kind and id, for example). Output goes to stderr through
// spdlog (compiled mode); the level is process-wide (service.telemetry.logs.level).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace sprout::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

struct Field {
  using Value = std::variant<std::string, int64_t, double, bool>;
  Field(std::string k, std::string_view v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, const char* v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, const std::string& v) : key(std::move(k)), value(v) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v) {}
  Field(std::string k, double v) : key(std::move(k)), value(v) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Field(std::string k, T v) : key(std::move(k)), value(static_cast<int64_t>(v)) {}
  std::string key;
  Value value;
};
using Fields = std::vector<Field>;

// Process-wide level; messages below it are not formatted at all.
void SetLevel(Level level);
Level GetLevel();
// Parses "debug", "info", "warn", "error" (case-insensitive); false when unknown.
bool ParseLevel(std::string_view text, Level* level);

class Logger {
 public:
  Logger() = default;
  explicit Logger(Fields fields) : fields_(std::make_shared<const Fields>(std::move(fields))) {}

  // A child logger whose lines also carry `more` (after this logger's own fields).
  Logger With(Fields more) const;

  static bool Enabled(Level level) { return level >= GetLevel(); }
  void Log(Level level, std::string_view msg, const Fields& fields = {}) const;
  void Debug(std::string_view msg, const Fields& fields = {}) const {
    Log(Level::kDebug, msg, fields);
  }
  void Info(std::string_view msg, const Fields& fields = {}) const {
    Log(Level::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, const Fields& fields = {}) const {
    Log(Level::kWarn, msg, fields);
  }
  void Error(std::string_view msg, const Fields& fields = {}) const {
    Log(Level::kError, msg, fields);
  }

 private:
  std::shared_ptr<const Fields> fields_;
};

// Appends `fields` as a JSON object ({"k": v, ...}) in zap's console style.
void AppendFieldsJson(const Fields& a, const Fields& b, std::string* out);

}  // namespace sprout::log
