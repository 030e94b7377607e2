#include "config/config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "config/yaml_util.h"
#include "yaml-cpp/yaml.h"

namespace sprout::config {
namespace {

// The Collector's cap on nested and recursive expansion.
constexpr int kMaxExpansionDepth = 1000;
constexpr char kUnsetWarning[] = "Configuration references unset environment variable";

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// ^[a-zA-Z_][a-zA-Z0-9_]*$
bool IsValidEnvName(std::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// The Collector's URI scheme syntax: ^[A-Za-z][A-Za-z0-9+.-]+ (at least two characters).
bool IsValidScheme(std::string_view scheme) {
  if (scheme.size() < 2 || !absl::ascii_isalpha(scheme[0])) return false;
  for (char c : scheme) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '.' && c != '-') return false;
  }
  return true;
}

absl::Status InvalidEnvName(std::string_view name) {
  return Invalid(absl::StrCat("environment variable \"", AV(name),
                              "\" has invalid name: must match regex ^[a-zA-Z_][a-zA-Z0-9_]*$"));
}

void AddUnsetWarning(std::string_view name, std::vector<Warning>* warnings) {
  if (warnings == nullptr) return;
  // One warning per variable, however often it is referenced.
  for (const Warning& w : *warnings) {
    if (w.message == kUnsetWarning && w.name == name) return;
  }
  warnings->push_back(Warning{kUnsetWarning, std::string(name)});
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  auto fail = [&path](int err) {
    std::string message =
        absl::StrCat("cannot read config file \"", path, "\": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) return fail(errno);
  std::string text;
  char buffer[8192];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) text.append(buffer, n);
  // Reading a directory opens fine and fails here with EISDIR.
  if (std::ferror(file.get())) return fail(errno);
  return text;
}

// Parses `text` and returns the document or a "yaml: line L, column C: ..." error.
absl::StatusOr<YAML::Node> ParseDocument(std::string_view text) {
  YAML::Node parsed;
  try {
    parsed = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where;
    if (!e.mark.is_null()) {
      where = absl::StrCat("line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ");
    }
    return Invalid(absl::StrCat("yaml: ", where, e.msg));
  }
  return internal::CopyParsed(parsed);
}

// One `--config` source as a map; an empty document is an empty map.
absl::StatusOr<YAML::Node> ParseSource(std::string_view text, std::string_view source_name) {
  ASSIGN_OR_RETURN(YAML::Node node, ParseYaml(text, source_name));
  const internal::ValueKind kind = internal::KindOf(node);
  if (kind == internal::ValueKind::kNull) return YAML::Node(YAML::NodeType::Map);
  if (kind != internal::ValueKind::kMap) {
    return Invalid(absl::StrCat("cannot parse config \"", AV(source_name),
                                "\": the top level must be a map, got '",
                                internal::GoKindName(kind), "'"));
  }
  return node;
}

// The value of an `env` URI's opaque part, "VAR" or "VAR:-default". nullopt: unset, no default.
absl::StatusOr<std::optional<std::string>> LookupEnv(std::string_view opaque, const EnvLookup& env,
                                                     std::vector<Warning>* warnings) {
  std::string_view name = opaque;
  std::optional<std::string_view> fallback;
  if (size_t sep = opaque.find(":-"); sep != std::string_view::npos) {
    name = opaque.substr(0, sep);
    fallback = opaque.substr(sep + 2);
  }
  if (!IsValidEnvName(name)) return InvalidEnvName(name);
  // A variable set to "" counts as set: the default applies only to unset ones.
  if (std::optional<std::string> value = env(name)) return value;
  if (fallback) return std::optional<std::string>(std::string(*fallback));
  AddUnsetWarning(name, warnings);
  return std::optional<std::string>();
}

absl::StatusOr<YAML::Node> RetrieveSource(const std::string& uri, const EnvLookup& env,
                                          std::vector<Warning>* warnings) {
  const size_t colon = uri.find(':');
  if (colon == std::string::npos || !IsValidScheme(std::string_view(uri).substr(0, colon))) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(uri));
    return ParseSource(text, uri);
  }
  const std::string scheme = uri.substr(0, colon);
  const std::string opaque = uri.substr(colon + 1);
  if (scheme == "file") {
    ASSIGN_OR_RETURN(std::string text, ReadFile(opaque));
    return ParseSource(text, opaque);
  }
  if (scheme == "env") {
    ASSIGN_OR_RETURN(std::optional<std::string> value, LookupEnv(opaque, env, warnings));
    return ParseSource(value.value_or(""), uri);
  }
  if (scheme == "yaml") return ParseSource(opaque, uri);
  return Invalid(absl::StrCat("unsupported scheme \"", scheme, "\" in --config \"", uri,
                              "\" (supported: file, env, yaml)"));
}

// Finds the `}` closing a `${` whose content starts at `begin`, skipping nested `${...}` and
// `$$` escapes; npos when unterminated.
size_t FindClose(std::string_view text, size_t begin) {
  int open = 1;
  for (size_t i = begin; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size()) {
      if (text[i + 1] == '$') {
        ++i;
      } else if (text[i + 1] == '{') {
        ++open;
        ++i;
      }
    } else if (text[i] == '}' && --open == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Expands `${...}` references. Every nested default and every re-expansion of a retrieved value
// (the Collector expands what a variable holds, too) goes one level deeper; past
// kMaxExpansionDepth the value is rejected, which also ends self-references like A=${env:A}.
class Expander {
 public:
  Expander(const EnvLookup& env, std::vector<Warning>* warnings) : env_(env), warnings_(warnings) {}

  // Expands every scalar below `node` in place. `path` names the node in errors.
  absl::Status Walk(YAML::Node node, const std::string& path, int depth) {
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        RETURN_IF_ERROR(
            Walk(it->second, internal::JoinPath(path, internal::KeyText(it->first)), depth));
      }
    } else if (node.IsSequence()) {
      size_t i = 0;
      for (auto it = node.begin(); it != node.end(); ++it, ++i) {
        RETURN_IF_ERROR(Walk(*it, absl::StrCat(path, "[", i, "]"), depth));
      }
    } else if (node.IsScalar()) {
      absl::StatusOr<std::optional<YAML::Node>> replacement = ExpandScalar(node.Scalar(), depth);
      if (!replacement.ok()) {
        return Annotate(replacement.status(), absl::StrCat("expanding '", path, "'"));
      }
      // `node` is a handle on the parent's entry: assigning rebinds that entry.
      if (*replacement) node = **replacement;
    }
    return absl::OkStatus();
  }

 private:
  // The new value of a scalar, or nullopt when it stays as it is.
  absl::StatusOr<std::optional<YAML::Node>> ExpandScalar(std::string_view text, int depth) {
    if (text.find('$') == std::string_view::npos) return std::optional<YAML::Node>();
    if (text.size() >= 3 && text.substr(0, 2) == "${" && FindClose(text, 2) == text.size() - 1) {
      // Exactly one reference: the value keeps its YAML type.
      ASSIGN_OR_RETURN(std::optional<std::string> raw,
                       Resolve(text.substr(2, text.size() - 3), depth + 1));
      ASSIGN_OR_RETURN(YAML::Node value, TypedValue(raw, depth + 1));
      return std::optional<YAML::Node>(value);
    }
    ASSIGN_OR_RETURN(std::string expanded, ExpandText(text, depth));
    if (expanded == text) return std::optional<YAML::Node>();
    // Substitution inside a longer text always yields a string, never an int or a bool.
    YAML::Node value(expanded);
    value.SetTag("!");
    return std::optional<YAML::Node>(value);
  }

  // A whole-value reference: the variable's text read as YAML (a string when it is not YAML),
  // then expanded itself.
  absl::StatusOr<YAML::Node> TypedValue(const std::optional<std::string>& raw, int depth) {
    if (!raw || raw->empty()) return YAML::Node(YAML::NodeType::Null);
    absl::StatusOr<YAML::Node> parsed = ParseDocument(*raw);
    YAML::Node value = parsed.ok() ? *parsed : YAML::Node(*raw);
    if (!parsed.ok()) value.SetTag("!");
    if (value.IsScalar()) {
      ASSIGN_OR_RETURN(std::optional<YAML::Node> again, ExpandScalar(value.Scalar(), depth));
      return again ? *again : value;
    }
    RETURN_IF_ERROR(WalkNested(value, depth));
    return value;
  }

  // Expands the scalars of a retrieved map or list; errors are annotated by the outer Walk.
  absl::Status WalkNested(YAML::Node node, int depth) {
    if (node.IsScalar()) {
      ASSIGN_OR_RETURN(std::optional<YAML::Node> replacement, ExpandScalar(node.Scalar(), depth));
      if (replacement) node = *replacement;
      return absl::OkStatus();
    }
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        RETURN_IF_ERROR(WalkNested(it->second, depth));
      }
    } else if (node.IsSequence()) {
      for (auto it = node.begin(); it != node.end(); ++it) RETURN_IF_ERROR(WalkNested(*it, depth));
    }
    return absl::OkStatus();
  }

  // Text substitution of every reference in `text`, plus `$$` → `$`.
  absl::StatusOr<std::string> ExpandText(std::string_view text, int depth) {
    if (depth > kMaxExpansionDepth) return Invalid("too many recursive expansions");
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      const char next = i + 1 < text.size() ? text[i + 1] : '\0';
      if (c == '$' && next == '$') {
        out.push_back('$');
        i += 2;
      } else if (c == '$' && next == '{') {
        const size_t close = FindClose(text, i + 2);
        if (close == std::string_view::npos) {  // unterminated: literal text
          out.append(text.substr(i));
          break;
        }
        ASSIGN_OR_RETURN(std::optional<std::string> raw,
                         Resolve(text.substr(i + 2, close - i - 2), depth + 1));
        if (raw) {
          ASSIGN_OR_RETURN(std::string expanded, ExpandText(*raw, depth + 1));
          out.append(expanded);
        }
        i = close + 1;
      } else {
        out.push_back(c);
        ++i;
      }
    }
    return out;
  }

  // The text a reference's content (between `${` and `}`) stands for. nullopt: unset variable.
  absl::StatusOr<std::optional<std::string>> Resolve(std::string_view content, int depth) {
    if (depth > kMaxExpansionDepth) return Invalid("too many recursive expansions");
    // Inner references first, so that `${env:A:-${env:B}}` sees B's value as its default.
    ASSIGN_OR_RETURN(const std::string uri, ExpandText(content, depth));
    std::string scheme = "env";  // `${VAR}`: otelcol's default scheme
    std::string_view opaque = uri;
    if (const size_t colon = uri.find(':'); colon != std::string::npos) {
      scheme = uri.substr(0, colon);
      opaque = std::string_view(uri).substr(colon + 1);
      if (!IsValidScheme(scheme)) return Invalid(absl::StrCat("invalid uri: \"", uri, "\""));
    }
    if (opaque.find('$') != std::string_view::npos) {
      return Invalid(absl::StrCat("the uri \"", scheme, ":", AV(opaque),
                                  "\" contains unsupported characters ('$')"));
    }
    if (scheme == "env") return LookupEnv(opaque, env_, warnings_);
    if (scheme == "file") {
      ASSIGN_OR_RETURN(std::string text, ReadFile(std::string(opaque)));
      return std::optional<std::string>(std::move(text));
    }
    return Invalid(absl::StrCat("unsupported scheme \"", scheme, "\" in \"${", uri,
                                "}\" (supported: env, file)"));
  }

  const EnvLookup& env_;
  std::vector<Warning>* warnings_;
};

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<YAML::Node> ParseYaml(std::string_view text, std::string_view source_name) {
  absl::StatusOr<YAML::Node> node = ParseDocument(text);
  if (!node.ok()) {
    return Annotate(node.status(), absl::StrCat("cannot parse config \"", AV(source_name), "\""));
  }
  return node;
}

void MergeInto(YAML::Node& base, const YAML::Node& overlay) {
  absl::StatusOr<YAML::Node> copy = internal::DeepCopy(overlay, /*split_keys=*/false);
  // Only a self-referencing or exploding alias structure fails to copy; yaml-cpp's own clone
  // still keeps `base` from aliasing the caller's overlay tree.
  internal::MergeOwned(base, copy.ok() ? *copy : YAML::Clone(overlay));
}

absl::Status ApplySet(YAML::Node& root, std::string_view set_value) {
  const std::string quoted = absl::StrCat("\"", AV(set_value), "\"");
  const size_t eq = set_value.find('=');
  if (eq == std::string_view::npos) {
    return Invalid(absl::StrCat("invalid --set ", quoted, ": missing \"=\""));
  }
  const absl::string_view key = absl::StripAsciiWhitespace(AV(set_value.substr(0, eq)));
  const absl::string_view text = absl::StripAsciiWhitespace(AV(set_value.substr(eq + 1)));
  std::vector<std::string> segments = absl::StrSplit(key, "::");
  for (const std::string& segment : segments) {
    if (segment.empty()) return Invalid(absl::StrCat("invalid --set ", quoted, ": empty key"));
  }
  absl::StatusOr<YAML::Node> value = ParseDocument(std::string_view(text.data(), text.size()));
  if (!value.ok()) return Annotate(value.status(), absl::StrCat("invalid --set ", quoted));
  YAML::Node overlay = *value;
  for (size_t i = segments.size(); i-- > 0;) {
    YAML::Node wrapper(YAML::NodeType::Map);
    wrapper.force_insert(segments[i], overlay);
    overlay.reset(wrapper);  // rebinds the handle; `=` would write through it
  }
  internal::MergeOwned(root, overlay);
  return absl::OkStatus();
}

absl::Status Expand(YAML::Node& root, const EnvLookup& env, std::vector<Warning>* warnings) {
  // Aliased nodes are shared in yaml-cpp; expanding one must not expand (or un-escape) it twice.
  ASSIGN_OR_RETURN(YAML::Node copy, internal::DeepCopy(root, /*split_keys=*/false));
  root = copy;
  Expander expander(env, warnings);
  return expander.Walk(root, "", 0);
}

absl::StatusOr<Loaded> Load(const LoadOptions& options) {
  const EnvLookup env = options.env ? options.env : ProcessEnv();
  Loaded loaded;
  loaded.root.reset(YAML::Node(YAML::NodeType::Map));
  for (const std::string& uri : options.uris) {
    ASSIGN_OR_RETURN(YAML::Node source, RetrieveSource(uri, env, &loaded.warnings));
    internal::MergeOwned(loaded.root, source);
  }
  for (const std::string& set_value : options.set_overrides) {
    RETURN_IF_ERROR(ApplySet(loaded.root, set_value));
  }
  RETURN_IF_ERROR(Expand(loaded.root, env, &loaded.warnings));
  return loaded;
}

}  // namespace sprout::config
