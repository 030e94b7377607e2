// Conversions (collector.md §7.8): Int, Double, String, Bool, Hex, SHA256, TraceID, SpanID.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "base/go_duration.h"
#include "base/hex.h"
#include "ottl/funcs_internal.h"

namespace sprout::ottl::funcs {
namespace {

std::optional<double> ParseGoFloat(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  std::string lower = absl::AsciiStrToLower(AV(s));
  if (lower == "inf" || lower == "infinity" || lower == "-inf" || lower == "-infinity") {
    return lower[0] == '-' ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity();
  }
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  double d = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

absl::StatusOr<Value> Int(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kInt:
      return v;
    case Type::kDouble:
      if (!std::isfinite(v.u.d) || std::fabs(v.u.d) >= 9.2233720368547758e18) return Value::Nil();
      return Value::Int(static_cast<int64_t>(v.u.d));
    case Type::kBool:
      return Value::Int(v.u.b ? 1 : 0);
    case Type::kString: {
      std::string_view s = v.s;
      if (!s.empty() && s[0] == '+') s.remove_prefix(1);
      int64_t i = 0;
      auto res = std::from_chars(s.data(), s.data() + s.size(), i);
      if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) {
        return Value::Nil();
      }
      return Value::Int(i);
    }
    default:
      return Value::Nil();
  }
}

absl::StatusOr<Value> Double(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kDouble:
      return v;
    case Type::kInt:
      return Value::Double(static_cast<double>(v.u.i));
    case Type::kBool:
      return Value::Double(v.u.b ? 1 : 0);
    case Type::kString: {
      auto d = ParseGoFloat(v.s);
      return d ? Value::Double(*d) : Value::Nil();
    }
    default:
      return Value::Nil();
  }
}

absl::StatusOr<Value> String(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kNil:
      return Value::Nil();
    case Type::kString:
      return v;
    case Type::kBytes:
    case Type::kTraceId:
    case Type::kSpanId:
      return Value::OwnedStr(HexEncode(v.s));
    case Type::kDuration:
      return Value::OwnedStr(FormatGoDuration(absl::Nanoseconds(v.u.i)));
    default: {
      std::string s;
      StringLike(v, &s);
      return Value::OwnedStr(std::move(s));
    }
  }
}

absl::StatusOr<Value> Bool(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  switch (v.type) {
    case Type::kBool:
      return v;
    case Type::kInt:
      return Value::Bool(v.u.i != 0);
    case Type::kDouble:
      return Value::Bool(v.u.d != 0);
    case Type::kString: {
      static constexpr std::string_view kTrue[] = {"1", "t", "T", "true", "TRUE", "True"};
      static constexpr std::string_view kFalse[] = {"0", "f", "F", "false", "FALSE", "False"};
      for (std::string_view t : kTrue) {
        if (v.s == t) return Value::Bool(true);
      }
      for (std::string_view f : kFalse) {
        if (v.s == f) return Value::Bool(false);
      }
      return Value::Nil();
    }
    default:
      return Value::Nil();
  }
}

absl::StatusOr<Value> Hex(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  std::string bytes;
  switch (v.type) {
    case Type::kString:
    case Type::kBytes:
    case Type::kTraceId:
    case Type::kSpanId:
      return Value::OwnedStr(HexEncode(v.s));
    case Type::kInt:
    case Type::kDouble: {
      uint64_t bits;
      if (v.type == Type::kInt) {
        bits = static_cast<uint64_t>(v.u.i);
      } else {
        std::memcpy(&bits, &v.u.d, sizeof(bits));
      }
      for (int shift = 56; shift >= 0; shift -= 8)
        bytes.push_back(static_cast<char>(bits >> shift));
      return Value::OwnedStr(HexEncode(bytes));
    }
    case Type::kBool:
      return Value::Str(v.u.b ? "01" : "00");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("Hex: unsupported type ", AV(TypeForError(v))));
  }
}

// SHA-256 (FIPS 180-4).
std::string Sha256(std::string_view data) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string msg(data);
  const uint64_t bit_len = static_cast<uint64_t>(data.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) msg.push_back(static_cast<char>(bit_len >> shift));
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  for (size_t block = 0; block < msg.size(); block += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + block + 4 * i);
      w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = hh + S1 + ch + k[i] + w[i];
      const uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  std::string digest;
  for (uint32_t word : h) {
    for (int shift = 24; shift >= 0; shift -= 8) digest.push_back(static_cast<char>(word >> shift));
  }
  return digest;
}

absl::StatusOr<Value> SHA256(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  return Value::OwnedStr(HexEncode(Sha256(v.s)));
}

template <Type kType>
absl::StatusOr<Value> MakeId(const FunctionCall& c, const EvalContext& ctx) {
  constexpr size_t n = kType == Type::kTraceId ? 16 : 8;
  constexpr std::string_view fn = kType == Type::kTraceId ? "TraceID" : "SpanID";
  ASSIGN_OR_RETURN(Value v, c.arg(0, ctx));
  if ((v.type == Type::kBytes || v.type == kType) && v.s.size() == n) {
    return Value::Owned(kType, std::string(v.s));
  }
  if (v.type == Type::kString && v.s.size() == 2 * n) {
    if (auto bytes = HexDecode(v.s)) return Value::Owned(kType, std::move(*bytes));
  }
  return Err(fn, absl::StrCat(kType == Type::kTraceId ? "trace" : "span", " ids must be ", n,
                              " bytes (or ", 2 * n, " hex characters)"));
}

}  // namespace

void AddConversionFunctions(std::vector<FunctionSpec>* specs) {
  specs->insert(specs->end(), {
                                  {"Int", {kValue}, Int},
                                  {"Double", {kValue}, Double},
                                  {"String", {kValue}, String},
                                  {"Bool", {kValue}, Bool},
                                  {"Hex", {kValue}, Hex},
                                  {"SHA256", {kValue}, SHA256},
                                  {"TraceID", {{"bytes"}}, MakeId<Type::kTraceId>},
                                  {"SpanID", {{"bytes"}}, MakeId<Type::kSpanId>},
                              });
}

}  // namespace sprout::ottl::funcs
